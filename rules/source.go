package rules

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/septa-fw/septa/rules/ir"
)

// This file reads each policy file into definitions, checking every value
// on its own. Cross-references are resolved in compile.go once all files
// are read.

// source is everything the files of a policy define, in file order.
type source struct {
	settings    *settingsDef
	zones       []*zoneDef
	groups      []*groupDef
	services    []*serviceDef
	identities  []*identityDef
	rules       []*ruleDef
	ids         *idsDef
	zoneByName  map[string]*zoneDef
	groupByName map[string]*groupDef
	svcByName   map[string]*serviceDef
	idByName    map[string]*identityDef
	ruleByName  map[string]*ruleDef
}

type settingsDef struct {
	pos        Pos
	def        ir.Action
	mode       ir.Mode
	failMode   ir.FailMode
	log        ir.LogLevel
	failsafe   []ir.Port
	failsafeOK bool // failsafe was written (possibly empty)
}

type zoneDef struct {
	name  string
	pos   Pos
	cidrs []prefixItem
}

type prefixItem struct {
	p   netip.Prefix
	pos Pos
}

type groupDef struct {
	name     string
	pos      Pos
	sel      Selector
	selPos   Pos
	hosts    []item
	cidrs    []prefixItem
	includes []item
}

type serviceDef struct {
	name   string
	pos    Pos
	ports  []ir.Port
	app    string
	appPos Pos
}

type identityDef struct {
	name    string
	pos     Pos
	members []string // "user:alice", "group:finance"
}

type refKind int

const (
	refAny refKind = iota + 1
	refSelf
	refZone
	refGroup
	refPrefix
)

// ref is one entry of a rule's from or to.
type ref struct {
	kind   refKind
	name   string
	prefix netip.Prefix
	pos    Pos
}

type ruleDef struct {
	name       string
	pos        Pos
	namePos    Pos
	file       string
	t          *table // for positions of fields during resolution
	section    ir.Section
	dir        ir.Direction
	from, to   []ref
	services   []item
	ports      []ir.Port
	app        item
	sni        []string
	httpHost   []string
	users      []item
	processes  []string
	action     ir.Action
	ids        ir.IDSMode
	log        *bool
	observe    bool
	passFirst  bool
	fpPos      Pos
	quarantine time.Duration
	qPos       Pos
	expires    time.Time
	expPos     Pos
}

type idsDef struct {
	pos        Pos
	signatures []item
	disable    []uint32
	addrVars   map[string][]ref
	addrPos    map[string]Pos
	portVars   map[string]string
	actions    map[uint32]string
}

func newSource() *source {
	return &source{
		zoneByName:  map[string]*zoneDef{},
		groupByName: map[string]*groupDef{},
		svcByName:   map[string]*serviceDef{},
		idByName:    map[string]*identityDef{},
		ruleByName:  map[string]*ruleDef{},
	}
}

// readFile adds one file's definitions to the source.
func (src *source) readFile(name string, data []byte, errs *errorsf) {
	root := decodeFile(name, data, errs)
	if root == nil {
		return
	}
	if t := root.table("settings", "settings"); t != nil {
		src.readSettings(t)
	}
	for _, t := range root.tables("zones", "zone") {
		src.readZone(t)
	}
	for _, t := range root.tables("groups", "group") {
		src.readGroup(t)
	}
	for _, t := range root.tables("services", "service") {
		src.readService(t)
	}
	for _, t := range root.tables("identities", "identity") {
		src.readIdentity(t)
	}
	for i, t := range root.array("rules", "rule") {
		src.readRule(name, i, t)
	}
	if t := root.table("ids", "ids"); t != nil {
		src.readIDS(t)
	}
	root.done()
}

// checkName accepts the names of zones, groups, services, identities,
// rules and hosts: they appear in set names, logs and kernel comments.
func checkName(s string) error {
	if s == "" {
		return fmt.Errorf("empty name")
	}
	if len(s) > 63 {
		return fmt.Errorf("name %q is longer than 63 characters", s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			i > 0 && (c == '-' || c == '_' || c == '.')
		if !ok {
			r, _ := utf8.DecodeRuneInString(s[i:])
			return fmt.Errorf("name %q: %q is not allowed (letters, digits, and - _ . after the first)", s, r)
		}
	}
	return nil
}

func enumValue[T any](t *table, key string, values map[string]T, want string) (T, Pos, bool) {
	var zero T
	it, ok := t.str(key)
	if !ok {
		return zero, Pos{}, false
	}
	v, ok := values[it.s]
	if !ok {
		t.errorf(it.pos, key, "%q is not one of %s", it.s, want)
		return zero, it.pos, false
	}
	return v, it.pos, true
}

var (
	defaultActions = map[string]ir.Action{"allow": ir.ActionAllow, "deny": ir.ActionDeny, "reject": ir.ActionReject}
	ruleActions    = defaultActions
	modes          = map[string]ir.Mode{"enforce": ir.ModeEnforce, "observe": ir.ModeObserve}
	failModes      = map[string]ir.FailMode{"open": ir.FailOpen, "closed": ir.FailClosed}
	logLevels      = map[string]ir.LogLevel{"none": ir.LogNone, "deny": ir.LogDeny, "all": ir.LogAll}
	sections       = map[string]ir.Section{
		"emergency": ir.SectionEmergency, "infrastructure": ir.SectionInfrastructure,
		"environment": ir.SectionEnvironment, "application": ir.SectionApplication,
	}
	directions = map[string]ir.Direction{"in": ir.DirIn, "out": ir.DirOut, "both": ir.DirBoth}
	idsModes   = map[string]ir.IDSMode{"off": ir.IDSOff, "detect": ir.IDSDetect, "prevent": ir.IDSPrevent}
)

func (src *source) readSettings(t *table) {
	if src.settings != nil {
		t.errorf(t.pos(), "", "[settings] already defined at %s", src.settings.pos)
		t.known("default", "mode", "fail_mode", "log", "failsafe")
		return
	}
	s := &settingsDef{pos: t.pos()}
	src.settings = s
	s.def, _, _ = enumValue(t, "default", defaultActions, `"deny", "reject" or "allow"`)
	s.mode, _, _ = enumValue(t, "mode", modes, `"enforce" or "observe"`)
	s.failMode, _, _ = enumValue(t, "fail_mode", failModes, `"open" or "closed"`)
	s.log, _, _ = enumValue(t, "log", logLevels, `"none", "deny" or "all"`)
	if items, ok := t.portItems("failsafe"); ok || t.has("failsafe") {
		s.failsafeOK = true
		s.failsafe = parsePorts(t, "failsafe", items)
	}
	t.done()
}

func (src *source) readZone(t *table) {
	if !src.define(t, "zone", func() (Pos, bool) {
		z, ok := src.zoneByName[t.name]
		if ok {
			return z.pos, true
		}
		return Pos{}, false
	}) {
		return
	}
	z := &zoneDef{name: t.name, pos: t.pos()}
	src.zones = append(src.zones, z)
	src.zoneByName[z.name] = z
	items, _ := t.strs("cidrs")
	z.cidrs = parsePrefixes(t, "cidrs", items)
	if len(items) == 0 && !t.has("cidrs") {
		t.errorf(t.pos(), "cidrs", "required: a zone is a list of address ranges")
	}
	t.known("description")
	t.done()
}

// define checks a named definition's name and that it is not defined
// twice, and reports whether to go on reading it.
func (src *source) define(t *table, what string, prev func() (Pos, bool)) bool {
	if err := checkName(t.name); err != nil {
		t.errorf(t.pos(), "", "%v", err)
	}
	if p, dup := prev(); dup {
		t.errorf(t.pos(), "", "%s already defined at %s", what, p)
		for k := range t.m {
			t.known(k)
		}
		return false
	}
	return true
}

func (src *source) readGroup(t *table) {
	if !src.define(t, "group", func() (Pos, bool) {
		g, ok := src.groupByName[t.name]
		if ok {
			return g.pos, true
		}
		return Pos{}, false
	}) {
		return
	}
	g := &groupDef{name: t.name, pos: t.pos()}
	src.groups = append(src.groups, g)
	src.groupByName[g.name] = g
	if it, ok := t.str("select"); ok {
		g.selPos = it.pos
		sel, err := ParseSelector(it.s)
		if err != nil {
			pos := it.pos
			if se, ok := err.(*SelectorError); ok {
				pos = t.ps.inString(it.pos, se.Offset)
			}
			t.errorf(pos, "select", "%v", err)
		}
		g.sel = sel
	}
	g.hosts, _ = t.strs("hosts")
	for _, h := range g.hosts {
		if err := checkName(h.s); err != nil {
			t.errorf(h.pos, "hosts", "%v", err)
		}
	}
	items, _ := t.strs("cidrs")
	g.cidrs = parsePrefixes(t, "cidrs", items)
	g.includes, _ = t.strs("include")
	if !t.has("select") && !t.has("hosts") && !t.has("cidrs") && !t.has("include") {
		t.errorf(t.pos(), "", "a group needs at least one of select, hosts, cidrs or include")
	}
	t.known("description")
	t.done()
}

func (src *source) readService(t *table) {
	if !src.define(t, "service", func() (Pos, bool) {
		s, ok := src.svcByName[t.name]
		if ok {
			return s.pos, true
		}
		return Pos{}, false
	}) {
		return
	}
	s := &serviceDef{name: t.name, pos: t.pos()}
	src.services = append(src.services, s)
	src.svcByName[s.name] = s
	items, ok := t.portItems("ports")
	if !ok && !t.has("ports") {
		t.errorf(t.pos(), "ports", "required")
	}
	s.ports = parsePorts(t, "ports", items)
	if it, ok := t.str("app"); ok {
		s.app, s.appPos = it.s, it.pos
		checkApp(t, "app", it)
	}
	t.known("description")
	t.done()
}

func checkApp(t *table, key string, it item) bool {
	if _, found := slices.BinarySearch(ir.Apps, it.s); !found {
		t.errorf(it.pos, key, "unknown application %q (known: %s)", it.s, strings.Join(ir.Apps, ", "))
		return false
	}
	return true
}

func (src *source) readIdentity(t *table) {
	if !src.define(t, "identity", func() (Pos, bool) {
		i, ok := src.idByName[t.name]
		if ok {
			return i.pos, true
		}
		return Pos{}, false
	}) {
		return
	}
	id := &identityDef{name: t.name, pos: t.pos()}
	src.identities = append(src.identities, id)
	src.idByName[id.name] = id
	users, _ := t.strs("users")
	groups, _ := t.strs("groups")
	for _, u := range users {
		if checkAccount(t, "users", u) {
			id.members = append(id.members, "user:"+u.s)
		}
	}
	for _, g := range groups {
		if checkAccount(t, "groups", g) {
			id.members = append(id.members, "group:"+g.s)
		}
	}
	if len(users)+len(groups) == 0 {
		t.errorf(t.pos(), "", "an identity needs users or groups")
	}
	slices.Sort(id.members)
	id.members = slices.Compact(id.members)
	t.known("description")
	t.done()
}

// checkAccount accepts user and group names as the system's user database
// does (POSIX portable names, plus the @ and \ of directory services).
func checkAccount(t *table, key string, it item) bool {
	s := it.s
	if s == "" || len(s) > 256 {
		t.errorf(it.pos, key, "%q is not a user or group name", s)
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c == ':' || c == ',' || c == '/' || c >= 0x7f {
			t.errorf(it.pos, key, "%q is not a user or group name", s)
			return false
		}
	}
	return true
}

func parsePrefixes(t *table, key string, items []item) []prefixItem {
	out := make([]prefixItem, 0, len(items))
	for _, it := range items {
		p, err := parsePrefix(it.s)
		if err != nil {
			t.errorf(it.pos, key, "%v", err)
			continue
		}
		out = append(out, prefixItem{p: p, pos: it.pos})
	}
	return out
}

// parsePrefix reads a CIDR or a single address.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			addr, bits, _ := strings.Cut(s, "/")
			if a, aerr := netip.ParseAddr(addr); aerr == nil {
				if n, nerr := strconv.Atoi(bits); nerr != nil || n < 0 || n > a.BitLen() {
					return netip.Prefix{}, fmt.Errorf("%q: prefix length out of range (0 to %d)", s, a.BitLen())
				}
			}
			return netip.Prefix{}, fmt.Errorf("%q is not an address range (CIDR)", s)
		}
		if p.Addr().Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q: addresses with a zone are not allowed", s)
		}
		if p.Masked() != p {
			return netip.Prefix{}, fmt.Errorf("%q has host bits set (did you mean %s?)", s, p.Masked())
		}
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or address range", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// parsePorts reads port specifications: "tcp/443", "udp/53",
// "tcp/8000-8100", "tcp" (every TCP port), "icmp", "icmpv6", "any".
func parsePorts(t *table, key string, items []item) []ir.Port {
	var out []ir.Port
	for _, it := range items {
		p, err := parsePort(it.s)
		if err != nil {
			t.errorf(it.pos, key, "%v", err)
			continue
		}
		out = append(out, p)
	}
	return out
}

func parsePort(s string) (ir.Port, error) {
	proto, rng, hasRange := strings.Cut(s, "/")
	if _, err := strconv.Atoi(proto); err == nil {
		return ir.Port{}, fmt.Errorf("port %q needs a protocol: write \"tcp/%s\" or \"udp/%s\"", s, s, s)
	}
	if proto == "" {
		return ir.Port{}, fmt.Errorf("%q: want PROTO/PORT such as \"tcp/443\", PROTO or any", s)
	}
	p, err := ir.ParseProto(proto)
	if err != nil {
		return ir.Port{}, err
	}
	if !hasRange {
		return ir.Port{Proto: p}, nil
	}
	if !p.HasPorts() {
		return ir.Port{}, fmt.Errorf("%q: protocol %s has no ports", s, p)
	}
	first, last, isRange := strings.Cut(rng, "-")
	lo, err := parsePortNumber(first)
	if err != nil {
		return ir.Port{}, fmt.Errorf("%q: %v", s, err)
	}
	hi := lo
	if isRange {
		if hi, err = parsePortNumber(last); err != nil {
			return ir.Port{}, fmt.Errorf("%q: %v", s, err)
		}
		if hi < lo {
			return ir.Port{}, fmt.Errorf("%q: range ends before it starts", s)
		}
	}
	return ir.Port{Proto: p, First: lo, Last: hi}, nil
}

func parsePortNumber(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%q is not a port number", s)
	}
	if n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %d out of range (1 to 65535)", n)
	}
	return uint16(n), nil
}

// parseRefs reads the entries of a rule's from or to: "any", "self",
// "zone:NAME", "group:NAME", an address or a CIDR.
func parseRefs(t *table, key string, items []item) []ref {
	var out []ref
	for _, it := range items {
		r, err := parseRef(it)
		if err != nil {
			t.errorf(it.pos, key, "%v", err)
			continue
		}
		out = append(out, r)
	}
	return out
}

func parseRef(it item) (ref, error) {
	s := it.s
	switch s {
	case "any":
		return ref{kind: refAny, pos: it.pos}, nil
	case "self":
		return ref{kind: refSelf, pos: it.pos}, nil
	}
	// What comes before a colon is a kind, unless it can start an IPv6
	// address: empty ("::1", "::/0") or up to four hex digits ("fd00:",
	// "face:b00c::1").
	if kind, name, ok := strings.Cut(s, ":"); ok && !isHexGroup(kind) {
		var k refKind
		switch kind {
		case "zone":
			k = refZone
		case "group":
			k = refGroup
		default:
			return ref{}, fmt.Errorf("%q: unknown kind %q (want zone:NAME, group:NAME, an address, any or self)", s, kind)
		}
		if err := checkName(name); err != nil {
			return ref{}, fmt.Errorf("%q: %v", s, err)
		}
		return ref{kind: k, name: name, pos: it.pos}, nil
	}
	p, err := parsePrefix(s)
	if err != nil {
		if !strings.ContainsAny(s, "./:") {
			return ref{}, fmt.Errorf("%q: want zone:%s, group:%s, an address, any or self", s, s, s)
		}
		return ref{}, err
	}
	return ref{kind: refPrefix, prefix: p, pos: it.pos}, nil
}

// isHexGroup reports whether s can be the first group of an IPv6 address.
func isHexGroup(s string) bool {
	if len(s) > 4 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func (src *source) readRule(file string, i int, t *table) {
	r := &ruleDef{pos: t.pos(), file: file, t: t, section: ir.SectionApplication, dir: ir.DirBoth, ids: ir.IDSOff}
	t.name = "#" + strconv.Itoa(i+1)
	if it, ok := t.str("name"); ok {
		r.namePos = it.pos
		if err := checkName(it.s); err != nil {
			t.errorf(it.pos, "name", "%v", err)
		} else {
			t.name = it.s
			if prev, dup := src.ruleByName[it.s]; dup {
				t.errorf(it.pos, "name", "rule already defined at %s", prev.namePos)
			} else {
				src.ruleByName[it.s] = r
			}
		}
		r.name = it.s
	} else if !t.has("name") {
		t.errorf(t.pos(), "name", "required")
	}
	if s, _, ok := enumValue(t, "section", sections, `"emergency", "infrastructure", "environment" or "application"`); ok {
		r.section = s
	}
	if d, _, ok := enumValue(t, "direction", directions, `"in", "out" or "both"`); ok {
		r.dir = d
	}
	for _, key := range []string{"from", "to"} {
		items, _ := t.strs(key)
		if !t.has(key) {
			t.errorf(t.pos(), key, "required (write \"any\" for every address)")
		} else if len(items) == 0 && t.m[key] != nil {
			if _, isArr := t.m[key].([]any); isArr && len(t.m[key].([]any)) == 0 {
				t.errorf(t.valPos(key, -1), key, "empty: the rule would never match (write \"any\" for every address)")
			}
		}
		refs := parseRefs(t, key, items)
		if key == "from" {
			r.from = refs
		} else {
			r.to = refs
		}
	}
	r.services, _ = t.strs("services")
	portItems, _ := t.portItems("ports")
	r.ports = parsePorts(t, "ports", portItems)
	if it, ok := t.str("app"); ok {
		if checkApp(t, "app", it) {
			r.app = it
		}
	}
	sni, _ := t.strs("sni")
	r.sni = hostPatterns(t, "sni", sni)
	hh, _ := t.strs("http_host")
	r.httpHost = hostPatterns(t, "http_host", hh)
	r.users, _ = t.strs("users")
	procs, _ := t.strs("process")
	for _, p := range procs {
		if !strings.HasPrefix(p.s, "/") {
			t.errorf(p.pos, "process", "%q: want the absolute path of an executable", p.s)
			continue
		}
		r.processes = append(r.processes, p.s)
	}
	if a, _, ok := enumValue(t, "action", ruleActions, `"allow", "deny" or "reject"`); ok {
		r.action = a
	} else if !t.has("action") {
		t.errorf(t.pos(), "action", "required")
	}
	if m, _, ok := enumValue(t, "ids", idsModes, `"off", "detect" or "prevent"`); ok {
		r.ids = m
	}
	if b, _, ok := t.boolean("log"); ok {
		r.log = &b
	}
	if b, _, ok := t.boolean("observe"); ok {
		r.observe = b
	}
	if it, ok := t.str("quarantine"); ok {
		d, err := time.ParseDuration(it.s)
		switch {
		case err != nil:
			t.errorf(it.pos, "quarantine", "%q is not a duration such as \"10m\" or \"1h\"", it.s)
		case d < time.Second || d > 30*24*time.Hour:
			t.errorf(it.pos, "quarantine", "%s: between 1s and 30 days", d)
		default:
			r.quarantine, r.qPos = d, it.pos
		}
	}
	if v, pos, ok := enumValue(t, "first_packets", map[string]bool{"hold": false, "pass": true}, `"hold" or "pass"`); ok {
		r.passFirst, r.fpPos = v, pos
	}
	if v, ok := t.get("expires"); ok {
		r.expPos = t.valPos("expires", -1)
		switch v := v.(type) {
		case time.Time:
			// toml gives a local time (18:00:00) the date 0000-01-01,
			// which would expire the rule at once.
			if v.Location().String() == "time-local" {
				t.errorf(r.expPos, "expires", "a time of day needs a date, such as 2026-12-31T18:00:00Z")
				break
			}
			r.expires = v
		case string:
			tm, err := time.Parse(time.RFC3339, v)
			if err != nil {
				t.errorf(r.expPos, "expires", "%q is not a date-time such as 2026-12-31T18:00:00Z", v)
			}
			r.expires = tm
		default:
			t.errorf(r.expPos, "expires", "want a date-time such as 2026-12-31T18:00:00Z, not %s", tomlType(v))
		}
	}
	t.known("description")
	t.done()
	src.rules = append(src.rules, r)
}

// hostPatterns reads host name patterns: a DNS name, optionally starting
// with "*." for any name below it. They are compared in lower case.
func hostPatterns(t *table, key string, items []item) []string {
	var out []string
	for _, it := range items {
		s := strings.ToLower(it.s)
		name := strings.TrimPrefix(s, "*.")
		ok := name != "" && len(s) <= 253
		for _, label := range strings.Split(name, ".") {
			if label == "" || len(label) > 63 {
				ok = false
			}
			for i := 0; i < len(label); i++ {
				c := label[i]
				if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
					ok = false
				}
			}
		}
		if !ok {
			t.errorf(it.pos, key, "%q is not a host name or a pattern such as *.example.com", it.s)
			continue
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (src *source) readIDS(t *table) {
	if src.ids != nil {
		t.errorf(t.pos(), "", "[ids] already defined at %s", src.ids.pos)
		for k := range t.m {
			t.known(k)
		}
		return
	}
	d := &idsDef{pos: t.pos(), addrVars: map[string][]ref{}, addrPos: map[string]Pos{}, portVars: map[string]string{}}
	src.ids = d
	d.signatures, _ = t.strs("signatures")
	for _, s := range d.signatures {
		if s.s == "" {
			t.errorf(s.pos, "signatures", "empty path")
		}
	}
	if v, ok := t.get("disable"); ok {
		arr, isArr := v.([]any)
		if !isArr {
			t.errorf(t.valPos("disable", -1), "disable", "want an array of signature ids, not %s", tomlType(v))
		}
		for i, e := range arr {
			n, isInt := e.(int64)
			if !isInt || n < 1 || n > 1<<32-1 {
				t.errorf(t.valPos("disable", i), "disable", "want a signature id (1 to 4294967295)")
				continue
			}
			d.disable = append(d.disable, uint32(n))
		}
	}
	if av := t.table("address_vars", "ids"); av != nil {
		for name := range av.m {
			items, _ := av.strs(name)
			if !isVarName(name) {
				av.errorf(av.keyPos(name), "address_vars", "%q is not a variable name (upper case letters, digits and _)", name)
				continue
			}
			d.addrVars[name] = parseRefs(av, "address_vars."+name, items)
			d.addrPos[name] = av.keyPos(name)
		}
		av.done()
	}
	if at := t.table("actions", "ids"); at != nil {
		d.actions = map[uint32]string{}
		for key := range at.m {
			it, ok := at.str(key)
			sid, err := strconv.ParseUint(key, 10, 32)
			if err != nil || sid == 0 {
				at.errorf(at.keyPos(key), "actions", "%q is not a signature id", key)
				continue
			}
			if !ok {
				continue
			}
			switch it.s {
			case "alert", "drop", "reject", "pass":
				d.actions[uint32(sid)] = it.s
			default:
				at.errorf(it.pos, "actions", "%q is not one of \"alert\", \"drop\", \"reject\" or \"pass\"", it.s)
			}
		}
		at.done()
	}
	if pv := t.table("port_vars", "ids"); pv != nil {
		for name := range pv.m {
			items, _ := pv.portItems(name)
			if !isVarName(name) {
				pv.errorf(pv.keyPos(name), "port_vars", "%q is not a variable name (upper case letters, digits and _)", name)
				continue
			}
			var parts []string
			for _, it := range items {
				lo, hi, isRange := strings.Cut(it.s, "-")
				_, err := parsePortNumber(lo)
				if err == nil && isRange {
					_, err = parsePortNumber(hi)
				}
				if err != nil {
					if isRange {
						err = fmt.Errorf("%q: %v", it.s, err)
					}
					pv.errorf(it.pos, "port_vars."+name, "%v", err)
					continue
				}
				parts = append(parts, strings.Replace(it.s, "-", ":", 1))
			}
			d.portVars[name] = "[" + strings.Join(parts, ",") + "]"
		}
		pv.done()
	}
	t.done()
}

func isVarName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c == '_' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
