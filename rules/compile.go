package rules

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/septa-fw/septa/rules/ir"
)

// builtinServices are the services every policy knows without defining
// them. A policy may define a service of the same name, which then
// replaces the built-in one.
var builtinServices = map[string][]ir.Port{
	"dhcp":       {{Proto: ir.ProtoUDP, First: 67, Last: 68}},
	"dns":        {{Proto: ir.ProtoTCP, First: 53, Last: 53}, {Proto: ir.ProtoUDP, First: 53, Last: 53}},
	"http":       {{Proto: ir.ProtoTCP, First: 80, Last: 80}},
	"https":      {{Proto: ir.ProtoTCP, First: 443, Last: 443}},
	"imap":       {{Proto: ir.ProtoTCP, First: 143, Last: 143}},
	"imaps":      {{Proto: ir.ProtoTCP, First: 993, Last: 993}},
	"kerberos":   {{Proto: ir.ProtoTCP, First: 88, Last: 88}, {Proto: ir.ProtoUDP, First: 88, Last: 88}},
	"ldap":       {{Proto: ir.ProtoTCP, First: 389, Last: 389}, {Proto: ir.ProtoUDP, First: 389, Last: 389}},
	"ldaps":      {{Proto: ir.ProtoTCP, First: 636, Last: 636}},
	"mysql":      {{Proto: ir.ProtoTCP, First: 3306, Last: 3306}},
	"ntp":        {{Proto: ir.ProtoUDP, First: 123, Last: 123}},
	"postgresql": {{Proto: ir.ProtoTCP, First: 5432, Last: 5432}},
	"rdp":        {{Proto: ir.ProtoTCP, First: 3389, Last: 3389}},
	"redis":      {{Proto: ir.ProtoTCP, First: 6379, Last: 6379}},
	"smb":        {{Proto: ir.ProtoTCP, First: 445, Last: 445}},
	"smtp":       {{Proto: ir.ProtoTCP, First: 25, Last: 25}},
	"ssh":        {{Proto: ir.ProtoTCP, First: 22, Last: 22}},
	"syslog":     {{Proto: ir.ProtoUDP, First: 514, Last: 514}},
}

// BuiltinServices returns the names of the built-in services, sorted.
func BuiltinServices() []string {
	names := make([]string, 0, len(builtinServices))
	for n := range builtinServices {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// defaultFailsafe is the failsafe when the policy does not say: SSH to
// this host stays open, so that installing septa cannot lock the operator
// out. A policy removes it with `failsafe = []`.
var defaultFailsafe = []ir.Port{{Proto: ir.ProtoTCP, First: 22, Last: 22}}

// compiler resolves a source into an IR policy.
type compiler struct {
	src      *source
	inv      *Inventory
	errs     *errorsf
	warns    []*Warning
	now      time.Time
	dir      string // policy directory for relative signature paths, "" if none
	groupSet map[string][]netip.Prefix
	groupHst map[string][]string
	usedSvc  map[string]bool
	usedIDs  map[string]bool
}

func (c *compiler) compile() *ir.Policy {
	p := &ir.Policy{Settings: c.settings()}
	c.checkZones()
	for _, z := range c.src.zones {
		var ps []netip.Prefix
		for _, ci := range z.cidrs {
			ps = append(ps, ci.p)
		}
		p.Sets = append(p.Sets, ir.Set{
			Name: "zone:" + z.name, Kind: ir.SetZone, Prefixes: ir.MergePrefixes(ps),
			Origin: ir.Origin{File: z.pos.File, Line: z.pos.Line},
		})
	}
	c.resolveGroups()
	for _, g := range c.src.groups {
		sel := ""
		if g.sel != nil {
			sel = g.sel.String()
		}
		p.Sets = append(p.Sets, ir.Set{
			Name: "group:" + g.name, Kind: ir.SetGroup, Prefixes: c.groupSet[g.name],
			Selector: sel, Hosts: c.groupHst[g.name],
			Origin: ir.Origin{File: g.pos.File, Line: g.pos.Line},
		})
	}
	c.usedSvc = map[string]bool{}
	c.usedIDs = map[string]bool{}
	p.Rules = append(p.Rules, c.failsafeRules(p.Settings)...)
	var written []ir.Rule
	for _, r := range c.src.rules {
		if rr, ok := c.rule(r, p.Settings); ok {
			written = append(written, rr)
		}
	}
	// Sections run in their fixed order; within one, rules keep the order
	// of files and of the rules in each file.
	slices.SortStableFunc(written, func(a, b ir.Rule) int { return cmp.Compare(a.Section, b.Section) })
	p.Rules = append(p.Rules, written...)
	p.Rules = append(p.Rules, c.zoneIsolation(p.Settings)...)
	for i := range p.Rules {
		p.Rules[i].Index = i
	}
	for id := range c.usedIDs {
		p.Sets = append(p.Sets, ir.Set{Name: "identity:" + id, Kind: ir.SetIdentity, Origin: ir.Origin{File: "<identity map>"}})
	}
	slices.SortFunc(p.Sets, func(a, b ir.Set) int { return cmp.Compare(a.Name, b.Name) })
	p.Services = c.services()
	p.IDS = c.ids()
	c.checkShadowing(p)
	return p
}

func (c *compiler) settings() ir.Settings {
	s := ir.Settings{Default: ir.ActionDeny, Mode: ir.ModeEnforce, FailMode: ir.FailClosed, Log: ir.LogDeny}
	d := c.src.settings
	if d == nil {
		return s
	}
	if d.def != ir.ActionUnknown {
		s.Default = d.def
	}
	if d.mode != ir.ModeUnknown {
		s.Mode = d.mode
	}
	if d.failMode != ir.FailUnknown {
		s.FailMode = d.failMode
	}
	if d.log != ir.LogUnknown {
		s.Log = d.log
	}
	return s
}

func (c *compiler) failsafeRules(s ir.Settings) []ir.Rule {
	ports, origin := defaultFailsafe, ir.Origin{File: "<failsafe>"}
	if d := c.src.settings; d != nil && d.failsafeOK {
		ports, origin = d.failsafe, ir.Origin{File: d.pos.File, Line: d.pos.Line}
	}
	if len(ports) == 0 {
		return nil
	}
	return []ir.Rule{{
		ID: "failsafe", Origin: origin, Section: ir.SectionFailsafe, Dir: ir.DirIn,
		From: ir.Endpoint{Any: true}, To: ir.Endpoint{Self: true},
		Ports: mergePorts(ports), Action: ir.ActionAllow, IDS: ir.IDSOff, Log: s.Log == ir.LogAll,
	}}
}

// checkZones makes zones disjoint: an address belongs to one zone at most,
// or isolation between zones would have no clear meaning. Each overlap is
// reported at the CIDR written later (by file order, then line), naming the
// earlier one.
//
// The CIDRs of all zones are sorted by address, so that each one needs
// comparing only with the chain of CIDRs that contain its first address:
// two prefixes overlap exactly when one contains the other.
func (c *compiler) checkZones() {
	type entry struct {
		z    *zoneDef
		ci   prefixItem
		rank int // order of the zone's file
	}
	fileRank := map[string]int{}
	var all []entry
	for _, z := range c.src.zones {
		if _, ok := fileRank[z.pos.File]; !ok {
			fileRank[z.pos.File] = len(fileRank)
		}
		for _, ci := range z.cidrs {
			all = append(all, entry{z: z, ci: ci, rank: fileRank[z.pos.File]})
		}
	}
	slices.SortStableFunc(all, func(a, b entry) int { return ir.ComparePrefix(a.ci.p, b.ci.p) })
	later := func(a, b entry) bool {
		return cmp.Or(cmp.Compare(a.rank, b.rank), cmp.Compare(a.ci.pos.Line, b.ci.pos.Line), cmp.Compare(a.ci.pos.Col, b.ci.pos.Col)) > 0
	}
	var chain []entry // CIDRs containing the current one, outermost first
	for _, e := range all {
		for len(chain) > 0 && !chain[len(chain)-1].ci.p.Overlaps(e.ci.p) {
			chain = chain[:len(chain)-1]
		}
		for _, o := range chain {
			if o.z == e.z {
				continue
			}
			a, b := e, o
			if later(b, a) {
				a, b = b, a
			}
			c.errs.addf(a.ci.pos, "zone", a.z.name, "cidrs", "%s overlaps %s of zone %q (%s): an address belongs to one zone at most", a.ci.p, b.ci.p, b.z.name, b.ci.pos)
		}
		chain = append(chain, e)
	}
}

// resolveGroups computes each group's addresses: the inventory hosts its
// selector and host list name, its CIDRs, and the groups it includes.
func (c *compiler) resolveGroups() {
	c.groupSet = map[string][]netip.Prefix{}
	c.groupHst = map[string][]string{}
	state := map[string]int{} // 0 new, 1 in progress, 2 done
	var visit func(g *groupDef, stack []string) ([]netip.Prefix, []string)
	visit = func(g *groupDef, stack []string) ([]netip.Prefix, []string) {
		switch state[g.name] {
		case 1:
			return nil, nil
		case 2:
			return c.groupSet[g.name], c.groupHst[g.name]
		}
		state[g.name] = 1
		var ps []netip.Prefix
		var hosts []string
		addHost := func(h *Host) {
			hosts = append(hosts, h.Name)
			for _, a := range h.Addresses {
				ps = append(ps, netip.PrefixFrom(a, a.BitLen()))
			}
		}
		if g.sel != nil && c.inv != nil {
			for i := range c.inv.Hosts {
				if g.sel.Matches(c.inv.Hosts[i].Tags) {
					addHost(&c.inv.Hosts[i])
				}
			}
		}
		for _, h := range g.hosts {
			// A host that is not in the inventory yet is allowed: the
			// group gains its addresses when it appears.
			if host := c.inv.Host(h.s); host != nil {
				addHost(host)
			}
		}
		for _, ci := range g.cidrs {
			ps = append(ps, ci.p)
		}
		for _, inc := range g.includes {
			other, ok := c.src.groupByName[inc.s]
			if !ok {
				c.errs.addf(inc.pos, "group", g.name, "include", "unknown group %q", inc.s)
				continue
			}
			if state[other.name] == 1 {
				c.errs.addf(inc.pos, "group", g.name, "include", "group %q includes itself (through %s)", inc.s, strings.Join(append(stack, g.name, inc.s), " -> "))
				continue
			}
			ops, ohosts := visit(other, append(stack, g.name))
			ps = append(ps, ops...)
			hosts = append(hosts, ohosts...)
		}
		slices.Sort(hosts)
		hosts = slices.Compact(hosts)
		merged := ir.MergePrefixes(ps)
		c.groupSet[g.name], c.groupHst[g.name] = merged, hosts
		state[g.name] = 2
		return merged, hosts
	}
	for _, g := range c.src.groups {
		visit(g, nil)
	}
}

// endpoint resolves a rule's from or to.
func (c *compiler) endpoint(r *ruleDef, key string, refs []ref) ir.Endpoint {
	var e ir.Endpoint
	var ps []netip.Prefix
	for _, x := range refs {
		switch x.kind {
		case refAny:
			e.Any = true
			if len(refs) > 1 {
				c.errs.addf(x.pos, "rule", r.t.name, key, `"any" already matches every address: remove the other entries`)
			}
		case refSelf:
			e.Self = true
		case refZone:
			if _, ok := c.src.zoneByName[x.name]; !ok {
				c.errs.addf(x.pos, "rule", r.t.name, key, "unknown zone %q%s", x.name, suggest(x.name, keysOf(c.src.zoneByName)))
				continue
			}
			e.Sets = append(e.Sets, "zone:"+x.name)
		case refGroup:
			if _, ok := c.src.groupByName[x.name]; !ok {
				c.errs.addf(x.pos, "rule", r.t.name, key, "unknown group %q%s", x.name, suggest(x.name, keysOf(c.src.groupByName)))
				continue
			}
			e.Sets = append(e.Sets, "group:"+x.name)
		case refPrefix:
			ps = append(ps, x.prefix)
		}
	}
	if e.Any {
		return ir.Endpoint{Any: true}
	}
	slices.Sort(e.Sets)
	e.Sets = slices.Compact(e.Sets)
	e.Prefixes = ir.MergePrefixes(ps)
	return e
}

func keysOf[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// suggest returns " (did you mean X?)" for a near miss among names.
func suggest(name string, names []string) string {
	known := map[string]bool{}
	for _, n := range names {
		known[n] = true
	}
	if hint := closest(name, known); hint != "" {
		return fmt.Sprintf(" (did you mean %q?)", hint)
	}
	return ""
}

func (c *compiler) rule(r *ruleDef, s ir.Settings) (ir.Rule, bool) {
	t := r.t
	out := ir.Rule{
		ID: r.name, Origin: ir.Origin{File: r.pos.File, Line: r.pos.Line},
		Section: r.section, Dir: r.dir, Action: r.action, IDS: r.ids, Observe: r.observe,
		Expires: r.expires.UTC(),
	}
	if r.expires.IsZero() {
		out.Expires = time.Time{}
	}
	out.From = c.endpoint(r, "from", r.from)
	out.To = c.endpoint(r, "to", r.to)
	if r.dir == ir.DirIn && out.From.Self && !out.From.Any && len(out.From.Sets) == 0 && len(out.From.Prefixes) == 0 {
		c.errs.addf(t.valPos("from", -1), "rule", t.name, "from", `"self" as the only source of an inbound rule never matches`)
	}
	if r.dir == ir.DirOut && out.To.Self && !out.To.Any && len(out.To.Sets) == 0 && len(out.To.Prefixes) == 0 {
		c.errs.addf(t.valPos("to", -1), "rule", t.name, "to", `"self" as the only destination of an outbound rule never matches`)
	}
	ports := slices.Clone(r.ports)
	svcApp, svcAppOK := "", true
	var withApp, withoutApp []string
	for _, it := range r.services {
		if def, ok := c.src.svcByName[it.s]; ok {
			c.usedSvc[it.s] = true
			ports = append(ports, def.ports...)
			if def.app != "" {
				withApp = append(withApp, it.s)
				if svcApp != "" && svcApp != def.app {
					c.errs.addf(it.pos, "rule", t.name, "services", "service %q expects app %q but service %q expects %q: split the rule", it.s, def.app, withApp[0], svcApp)
					svcAppOK = false
				}
				svcApp = def.app
			} else {
				withoutApp = append(withoutApp, it.s)
			}
			continue
		}
		if bp, ok := builtinServices[it.s]; ok {
			c.usedSvc[it.s] = true
			ports = append(ports, bp...)
			withoutApp = append(withoutApp, it.s)
			continue
		}
		c.errs.addf(it.pos, "rule", t.name, "services", "unknown service %q%s", it.s, suggest(it.s, append(keysOf(c.src.svcByName), BuiltinServices()...)))
	}
	if len(withApp) > 0 && (len(withoutApp) > 0 || len(r.ports) > 0) {
		c.errs.addf(t.valPos("services", -1), "rule", t.name, "services", "service %q expects app %q, so every port of the rule must: put the other services and ports in a rule of their own", withApp[0], svcApp)
	}
	out.Ports = mergePorts(ports)
	if (t.has("services") || t.has("ports")) && len(out.Ports) == 0 {
		return out, false // every entry was wrong and reported
	}
	// The application: from the rule, or expected by its services.
	app := r.app.s
	if svcApp != "" && svcAppOK {
		if app != "" && app != svcApp {
			c.errs.addf(r.app.pos, "rule", t.name, "app", "%q contradicts app %q that service %q expects", app, svcApp, withApp[0])
		}
		app = svcApp
	}
	if len(r.sni) > 0 {
		switch app {
		case "":
			app = "tls"
		case "tls", "quic":
		default:
			c.errs.addf(t.valPos("sni", -1), "rule", t.name, "sni", "a server name needs app \"tls\" or \"quic\", not %q", app)
		}
	}
	if len(r.httpHost) > 0 {
		switch app {
		case "":
			app = "http"
		case "http":
		default:
			c.errs.addf(t.valPos("http_host", -1), "rule", t.name, "http_host", "a host header needs app \"http\", not %q", app)
		}
	}
	out.App = ir.AppMatch{Name: app, SNI: r.sni, HTTPHost: r.httpHost}
	if app != "" && len(out.Ports) > 0 {
		for _, p := range out.Ports {
			if p.Proto != ir.ProtoTCP && p.Proto != ir.ProtoUDP {
				c.errs.addf(t.valPos("ports", -1), "rule", t.name, "app", "app-ID needs TCP or UDP, but the rule covers %s", p)
				break
			}
		}
	}
	// Users: identity names, or user:NAME and group:NAME directly.
	var users []string
	for _, u := range r.users {
		kind, name, ok := strings.Cut(u.s, ":")
		if ok && (kind == "user" || kind == "group") {
			if checkAccount(t, "users", item{s: name, pos: u.pos}) {
				users = append(users, u.s)
			}
			continue
		}
		id, found := c.src.idByName[u.s]
		if !found {
			c.errs.addf(u.pos, "rule", t.name, "users", "unknown identity %q (define [identities.%s], or write user:NAME or group:NAME)%s", u.s, u.s, suggest(u.s, keysOf(c.src.idByName)))
			continue
		}
		users = append(users, id.members...)
	}
	slices.Sort(users)
	out.Users = slices.Compact(users)
	for _, u := range out.Users {
		c.usedIDs[u] = true
	}
	out.Processes = slices.Compact(slices.Sorted(slices.Values(r.processes)))
	if r.log != nil {
		out.Log = *r.log
	} else {
		out.Log = s.Log == ir.LogAll || s.Log == ir.LogDeny && r.action != ir.ActionAllow
	}
	if r.ids != ir.IDSOff && r.action != ir.ActionAllow {
		c.errs.addf(t.valPos("ids", -1), "rule", t.name, "ids", "signatures inspect allowed traffic: a %s rule has none", r.action)
	}
	if r.ids != ir.IDSOff && (c.src.ids == nil || len(c.src.ids.signatures) == 0) {
		c.errs.addf(t.valPos("ids", -1), "rule", t.name, "ids", "no signatures: add signatures to the [ids] table")
	}
	if r.observe && r.action == ir.ActionAllow {
		c.warns = append(c.warns, &Warning{Pos: t.valPos("observe", -1), What: "rule", Name: t.name, Field: "observe",
			Err: fmt.Errorf("an allow rule denies nothing, so observe changes nothing")})
	}
	out.Needs = needs(out)
	out.PassFirstPackets = r.passFirst
	out.Quarantine = r.quarantine
	if r.quarantine > 0 && r.ids != ir.IDSPrevent {
		c.errs.addf(r.qPos, "rule", t.name, "quarantine", `quarantines follow signature blocks: it needs ids = "prevent"`)
	}
	if r.fpPos.Line > 0 && out.Needs&(ir.NeedApp|ir.NeedUser|ir.NeedProcess) == 0 {
		c.warns = append(c.warns, &Warning{Pos: r.fpPos, What: "rule", Name: t.name, Field: "first_packets",
			Err: fmt.Errorf("the rule is decided without waiting for data, so the setting changes nothing")})
	}
	if !r.expires.IsZero() && !r.expires.After(c.now) {
		c.warns = append(c.warns, &Warning{Pos: r.expPos, What: "rule", Name: t.name, Field: "expires",
			Err: fmt.Errorf("expired at %s: the rule is left out", r.expires.UTC().Format(time.RFC3339))})
		return out, false
	}
	return out, r.name != "" && r.action != ir.ActionUnknown
}

func needs(r ir.Rule) ir.Need {
	var n ir.Need
	if !r.App.IsZero() {
		n |= ir.NeedApp
	}
	if len(r.Users) > 0 {
		n |= ir.NeedUser
	}
	if len(r.Processes) > 0 {
		n |= ir.NeedProcess
	}
	if r.IDS == ir.IDSDetect || r.IDS == ir.IDSPrevent {
		n |= ir.NeedIDS
	}
	return n
}

// mergePorts sorts ports and merges overlapping or adjacent ranges of one
// protocol; a protocol's every-port entry absorbs its ranges, and "any"
// absorbs everything.
func mergePorts(in []ir.Port) []ir.Port {
	if len(in) == 0 {
		return nil
	}
	ps := slices.Clone(in)
	for _, p := range ps {
		if p.Proto == ir.ProtoAny {
			return []ir.Port{{Proto: ir.ProtoAny}}
		}
	}
	slices.SortFunc(ps, func(a, b ir.Port) int {
		return cmp.Or(cmp.Compare(a.Proto, b.Proto), cmp.Compare(a.First, b.First), cmp.Compare(a.Last, b.Last))
	})
	out := ps[:0]
	for _, p := range ps {
		if n := len(out); n > 0 && out[n-1].Proto == p.Proto {
			last := &out[n-1]
			if last.AllPorts() {
				continue
			}
			if p.AllPorts() {
				*last = p
				continue
			}
			if uint32(p.First) <= uint32(last.Last)+1 {
				last.Last = max(last.Last, p.Last)
				continue
			}
		}
		out = append(out, p)
	}
	return slices.Clip(out)
}

// zoneIsolation adds, after every written rule, one rule per zone that
// denies traffic from it to every other zone: zones are isolated unless a
// rule allows a crossing.
func (c *compiler) zoneIsolation(s ir.Settings) []ir.Rule {
	if len(c.src.zones) < 2 {
		return nil
	}
	var out []ir.Rule
	for _, z := range c.src.zones {
		var others []string
		for _, o := range c.src.zones {
			if o != z {
				others = append(others, "zone:"+o.name)
			}
		}
		slices.Sort(others)
		out = append(out, ir.Rule{
			ID: "zone-isolation:" + z.name, Origin: ir.Origin{File: z.pos.File, Line: z.pos.Line},
			Section: ir.SectionImplicit, Dir: ir.DirBoth,
			From: ir.Endpoint{Sets: []string{"zone:" + z.name}}, To: ir.Endpoint{Sets: others},
			Action: ir.ActionDeny, IDS: ir.IDSOff, Log: s.Log != ir.LogNone,
		})
	}
	slices.SortFunc(out, func(a, b ir.Rule) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

func (c *compiler) services() []ir.Service {
	var out []ir.Service
	for name := range c.usedSvc {
		if def, ok := c.src.svcByName[name]; ok {
			out = append(out, ir.Service{Name: name, Ports: mergePorts(def.ports), App: def.app,
				Origin: ir.Origin{File: def.pos.File, Line: def.pos.Line}})
			continue
		}
		out = append(out, ir.Service{Name: name, Ports: builtinServices[name], Origin: ir.Origin{File: "<builtin>"}})
	}
	for _, def := range c.src.services {
		if !c.usedSvc[def.name] {
			out = append(out, ir.Service{Name: def.name, Ports: mergePorts(def.ports), App: def.app,
				Origin: ir.Origin{File: def.pos.File, Line: def.pos.Line}})
		}
	}
	slices.SortFunc(out, func(a, b ir.Service) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// rfc1918 and the IPv6 unique local range: HOME_NET when the policy has
// no zones to derive it from (Suricata's default, plus fc00::/7).
var privateNets = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("fc00::/7"),
}

func (c *compiler) ids() *ir.IDS {
	d := c.src.ids
	if d == nil {
		return nil
	}
	out := &ir.IDS{}
	for _, s := range d.signatures {
		path := s.s
		if c.dir != "" && !filepath.IsAbs(path) {
			path = filepath.Join(c.dir, path)
		}
		if c.dir != "" {
			if strings.ContainsAny(path, "*?[") {
				if m, err := filepath.Glob(path); err != nil || len(m) == 0 {
					c.warns = append(c.warns, &Warning{Pos: s.pos, What: "ids", Field: "signatures",
						Err: fmt.Errorf("%q matches no file", s.s)})
				}
			} else if _, err := os.Stat(path); err != nil {
				c.errs.addf(s.pos, "ids", "", "signatures", "%q: %v", s.s, statErr(err))
			}
		}
		out.Files = append(out.Files, path)
	}
	vars := map[string]ir.AddressVar{}
	for name, refs := range d.addrVars {
		var ps []netip.Prefix
		any := false
		field := "address_vars." + name
		for _, x := range refs {
			switch x.kind {
			case refAny:
				any = true
			case refSelf:
				c.errs.addf(x.pos, "ids", "", field, `"self" differs from host to host: name a zone, a group or addresses`)
			case refZone:
				if _, ok := c.src.zoneByName[x.name]; !ok {
					c.errs.addf(x.pos, "ids", "", field, "unknown zone %q%s", x.name, suggest(x.name, keysOf(c.src.zoneByName)))
					continue
				}
				ps = append(ps, c.zonePrefixes(x.name)...)
			case refGroup:
				if _, ok := c.src.groupByName[x.name]; !ok {
					c.errs.addf(x.pos, "ids", "", field, "unknown group %q%s", x.name, suggest(x.name, keysOf(c.src.groupByName)))
					continue
				}
				ps = append(ps, c.groupSet[x.name]...)
			case refPrefix:
				ps = append(ps, x.prefix)
			}
		}
		if any {
			ps = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}
		}
		vars[name] = ir.AddressVar{Name: name, Prefixes: ir.MergePrefixes(ps)}
	}
	if _, ok := vars["HOME_NET"]; !ok {
		var ps []netip.Prefix
		for _, z := range c.src.zones {
			ps = append(ps, c.zonePrefixes(z.name)...)
		}
		if len(ps) == 0 {
			ps = privateNets
		}
		vars["HOME_NET"] = ir.AddressVar{Name: "HOME_NET", Prefixes: ir.MergePrefixes(ps)}
	}
	if _, ok := vars["EXTERNAL_NET"]; !ok {
		home := vars["HOME_NET"]
		vars["EXTERNAL_NET"] = ir.AddressVar{Name: "EXTERNAL_NET", Prefixes: home.Prefixes, Negated: true}
	}
	for _, name := range keysOf(vars) {
		out.AddressVars = append(out.AddressVars, vars[name])
	}
	for _, name := range keysOf(d.portVars) {
		out.PortVars = append(out.PortVars, ir.PortVar{Name: name, Value: d.portVars[name]})
	}
	out.Disabled = slices.Compact(slices.Sorted(slices.Values(d.disable)))
	for _, sid := range slices.Sorted(maps.Keys(d.actions)) {
		out.Actions = append(out.Actions, ir.SigAction{SID: sid, Action: d.actions[sid]})
	}
	return out
}

func statErr(err error) error {
	if os.IsNotExist(err) {
		return fmt.Errorf("no such file")
	}
	return err
}

func (c *compiler) zonePrefixes(name string) []netip.Prefix {
	var ps []netip.Prefix
	for _, ci := range c.src.zoneByName[name].cidrs {
		ps = append(ps, ci.p)
	}
	return ps
}
