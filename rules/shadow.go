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
func (c *compiler) checkShadowing(p *ir.Policy) {
	for i := range p.Rules {
		later := &p.Rules[i]
		if later.Section == ir.SectionFailsafe || later.Section == ir.SectionImplicit {
			continue
		}
		for j := range i {
			early := &p.Rules[j]
			if early.Section == ir.SectionFailsafe || !covers(p, early, later) {
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

// covers reports whether every packet that b matches is matched by a.
func covers(p *ir.Policy, a, b *ir.Rule) bool {
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
	return endpointCovers(p, a.From, b.From) && endpointCovers(p, a.To, b.To) && portsCover(a.Ports, b.Ports)
}

func appEqual(a, b ir.AppMatch) bool {
	return a.Name == b.Name && slices.Equal(a.SNI, b.SNI) && slices.Equal(a.HTTPHost, b.HTTPHost)
}

func endpointCovers(p *ir.Policy, a, b ir.Endpoint) bool {
	if a.Any {
		return true
	}
	if b.Any {
		return false
	}
	if b.Self && !a.Self {
		return false
	}
	for _, s := range b.Sets {
		if slices.Contains(a.Sets, s) {
			continue
		}
		set := p.Set(s)
		if set == nil || set.Kind != ir.SetZone || !prefixesCovered(p, a, set.Prefixes) {
			return false
		}
	}
	return prefixesCovered(p, a, b.Prefixes)
}

// prefixesCovered reports whether every prefix lies inside a's literal
// prefixes or a's zones (whose members are fixed by the policy).
func prefixesCovered(p *ir.Policy, a ir.Endpoint, ps []netip.Prefix) bool {
	for _, x := range ps {
		if !inside(x, a.Prefixes) && !insideZones(p, x, a.Sets) {
			return false
		}
	}
	return true
}

func insideZones(p *ir.Policy, x netip.Prefix, sets []string) bool {
	for _, s := range sets {
		if set := p.Set(s); set != nil && set.Kind == ir.SetZone && inside(x, set.Prefixes) {
			return true
		}
	}
	return false
}

func inside(x netip.Prefix, in []netip.Prefix) bool {
	for _, y := range in {
		if y.Bits() <= x.Bits() && y.Contains(x.Addr()) && y.Addr().Is4() == x.Addr().Is4() {
			return true
		}
	}
	return false
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
