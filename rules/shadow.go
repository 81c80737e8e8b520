package rules

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/septa-fw/septa/rules/ir"
)

// checkShadowing warns about written rules that can never match because
// an earlier rule matches all of their traffic first. It is conservative:
// it warns only when it is sure, and group sets, whose members change with
// the inventory, cover only themselves.
//
// It compares every pair of rules, so each rule's endpoints are resolved
// once, up front, to the prefixes of their zones.
func (c *compiler) checkShadowing(p *ir.Policy) {
	from := make([]endView, len(p.Rules))
	to := make([]endView, len(p.Rules))
	for i := range p.Rules {
		from[i] = newEndView(p, p.Rules[i].From)
		to[i] = newEndView(p, p.Rules[i].To)
	}
	for i := range p.Rules {
		later := &p.Rules[i]
		if later.Section == ir.SectionFailsafe || later.Section == ir.SectionImplicit {
			continue
		}
		for j := range i {
			early := &p.Rules[j]
			if early.Section == ir.SectionFailsafe || !covers(early, later) ||
				!setsMayCover(&from[j], &from[i]) || !setsMayCover(&to[j], &to[i]) ||
				!endpointCovers(&from[j], &from[i]) || !endpointCovers(&to[j], &to[i]) {
				continue
			}
			pos := Pos{File: later.Origin.File, Line: later.Origin.Line, Col: 1}
			if r, ok := c.src.ruleByName[later.ID]; ok {
				pos = r.pos
			}
			c.warns = append(c.warns, &Warning{Pos: pos, What: "rule", Name: later.ID,
				Err: fmt.Errorf("never matches: rule %q (%s) matches all of its traffic first", early.ID, early.Origin)})
			break
		}
	}
}

// endView is an endpoint with the prefixes of its zone sets looked up.
type endView struct {
	any, self bool
	sets      []string         // sorted
	zone      []bool           // whether sets[i] is a zone
	zonePfx   [][]netip.Prefix // the prefixes of sets[i] if it is a zone
	prefixes  []netip.Prefix
}

func newEndView(p *ir.Policy, e ir.Endpoint) endView {
	v := endView{any: e.Any, self: e.Self, sets: e.Sets, prefixes: e.Prefixes,
		zone: make([]bool, len(e.Sets)), zonePfx: make([][]netip.Prefix, len(e.Sets))}
	for i, name := range e.Sets {
		if set := p.Set(name); set != nil && set.Kind == ir.SetZone {
			v.zone[i], v.zonePfx[i] = true, set.Prefixes
		}
	}
	return v
}

// covers reports whether a matches every packet that b matches, as far as
// direction, application, users, processes and ports go; endpointCovers
// checks the addresses. It runs for every pair of rules, so the cheap
// checks come first.
func covers(a, b *ir.Rule) bool {
	if !a.Expires.IsZero() {
		return false
	}
	if a.Dir != ir.DirBoth && a.Dir != b.Dir {
		return false
	}
	if !a.App.IsZero() && !appEqual(a.App, b.App) {
		return false
	}
	if len(a.Users) > 0 && !slices.Equal(a.Users, b.Users) {
		return false
	}
	if len(a.Processes) > 0 && !slices.Equal(a.Processes, b.Processes) {
		return false
	}
	return portsCover(a.Ports, b.Ports)
}

func appEqual(a, b ir.AppMatch) bool {
	return a.Name == b.Name && slices.Equal(a.SNI, b.SNI) && slices.Equal(a.HTTPHost, b.HTTPHost)
}

// setsMayCover is endpointCovers without looking at addresses: it rules
// out most pairs of rules (different groups, any against a set) before
// the address searches.
func setsMayCover(a, b *endView) bool {
	if a.any {
		return true
	}
	if b.any || b.self && !a.self {
		return false
	}
	for i, s := range b.sets {
		if !b.zone[i] {
			if _, found := slices.BinarySearch(a.sets, s); !found {
				return false
			}
		}
	}
	return true
}

// endpointCovers reports whether every address b matches, a matches.
func endpointCovers(a, b *endView) bool {
	if a.any {
		return true
	}
	if b.any {
		return false
	}
	if b.self && !a.self {
		return false
	}
	for i, s := range b.sets {
		if _, found := slices.BinarySearch(a.sets, s); found {
			continue
		}
		if !b.zone[i] || !prefixesCovered(a, b.zonePfx[i]) {
			return false
		}
	}
	return prefixesCovered(a, b.prefixes)
}

// prefixesCovered reports whether every prefix lies inside a's literal
// prefixes or a's zones (whose members are fixed by the policy).
func prefixesCovered(a *endView, ps []netip.Prefix) bool {
	for _, x := range ps {
		if !inside(x, a.prefixes) && !insideZones(a, x) {
			return false
		}
	}
	return true
}

func insideZones(a *endView, x netip.Prefix) bool {
	for i := range a.sets {
		if a.zone[i] && inside(x, a.zonePfx[i]) {
			return true
		}
	}
	return false
}

// inside reports whether x lies inside one of in, which is merged (as
// ir.MergePrefixes leaves it: IPv4 first, sorted, disjoint). Only the last
// prefix that starts at or before x can contain it: any later one that also
// did would lie inside it. Zones hold thousands of prefixes and this runs
// for pairs of rules, so it searches rather than scans.
func inside(x netip.Prefix, in []netip.Prefix) bool {
	a := x.Addr()
	// Binary search for the first prefix that starts after a.
	lo, hi := 0, len(in)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if startsAtOrBefore(in[m].Addr(), a) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == 0 {
		return false
	}
	y := in[lo-1]
	return y.Bits() <= x.Bits() && y.Addr().Is4() == a.Is4() && y.Contains(a)
}

// startsAtOrBefore orders addresses as ir.MergePrefixes does, IPv4 first.
func startsAtOrBefore(y, a netip.Addr) bool {
	if y4, a4 := y.Is4(), a.Is4(); y4 != a4 {
		return y4
	}
	return y.Compare(a) <= 0
}

func portsCover(a, b []ir.Port) bool {
	if len(a) == 0 {
		return true
	}
	if len(b) == 0 {
		return false
	}
	for _, pb := range b {
		ok := false
		for _, pa := range a {
			if pa.Proto == ir.ProtoAny || pa.Proto == pb.Proto && (pa.AllPorts() || !pb.AllPorts() && pa.First <= pb.First && pb.Last <= pa.Last) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}
