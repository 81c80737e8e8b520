package flowmap

import (
	"bytes"
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/septa-fw/septa/daemon/events"
	"github.com/septa-fw/septa/inspect/appid"
	"github.com/septa-fw/septa/rules"
	"github.com/septa-fw/septa/rules/ir"
)

// Scope limits a recommendation to the flows of one group or one zone:
// a flow is in scope when either end is.
type Scope struct {
	Kind string // "group" or "zone"; "" for every flow
	Name string
}

// ParseScope parses "group:NAME" or "zone:NAME".
func ParseScope(s string) (Scope, error) {
	kind, name, ok := strings.Cut(s, ":")
	if !ok || name == "" || kind != "group" && kind != "zone" {
		return Scope{}, fmt.Errorf("scope %q is not group:NAME or zone:NAME", s)
	}
	return Scope{Kind: kind, Name: name}, nil
}

func (s Scope) String() string {
	if s.Kind == "" {
		return "every flow"
	}
	return s.Kind + ":" + s.Name
}

// RecommendOptions tune a recommendation.
type RecommendOptions struct {
	// Inventory groups workloads by tags (nil: by zones).
	Inventory *rules.Inventory
	// Policy is the current policy, for its zones (which the proposal
	// keeps) and the groups a scope may name; nil for none.
	Policy *ir.Policy
	Scope  Scope
	// Since leaves out flows that ended before it; zero for none.
	Since time.Time
	// AllowedOnly leaves out the flows that observe mode let pass as
	// would-deny by the policy default.
	AllowedOnly bool
}

// Recommender builds a policy proposal from flow records: one allow rule
// per observed (source, destination, application), with the destination
// ports collapsed into named services.
//
// Which flows it allows: those the policy allowed; those without a
// verdict (Suricata's records: no septa policy judged them, and they
// passed); and those that observe mode let pass as would-deny by the
// policy's default, that is flows no written rule covers, which are
// exactly what a proposal is for when a policy is first run in observe
// mode (AllowedOnly leaves them out). It leaves out flows that were
// denied, and would-deny flows that an explicit rule or a zone's
// isolation denies: the policy already says those are not wanted, and
// observe mode only let them through. The comments of the output count
// what it left out and why.
type Recommender struct {
	opts  RecommendOptions
	res   *Resolver
	cat   *Catalogue
	edges map[edgeKey]*recEdge
	ends  map[string]*principal
	seen  uint64
	used  uint64
	// left counts flows left out, by reason.
	left map[string]uint64
}

type edgeKey struct {
	from, to string // principal refs
	port     portKey
}

type recEdge struct {
	flows, bytes uint64
	apps         map[string]uint64 // "" for flows without an identified app
	users        map[string]struct{}
	verdicts     [numVerdicts]uint64
	first, last  time.Time
	// addrs are the addresses seen at each end (at most maxAddrs), to
	// say what a zone stands for in the rule's comment.
	addrs [2]map[netip.Addr]struct{}
}

// principal is one end of a proposed rule: a tag group, a host group,
// a zone or an address.
type principal struct {
	ref      string // as a rule writes it: "group:shop-prod-web", "zone:prod", "10.9.0.7"
	kind     string // "tags", "hosts", "zone", "addr"
	name     string // group or zone name
	selector string // a tag group's selector
	host     string // a host group's host
	note     string // why it is what it is, when it is not attributed
	hosts    map[string]struct{}
}

// NewRecommender returns a recommender.
func NewRecommender(opts RecommendOptions) (*Recommender, error) {
	cat, err := NewCatalogue(nil)
	if err != nil {
		return nil, err
	}
	if opts.Scope.Kind == "zone" && opts.Policy != nil {
		if NewResolver(nil, opts.Policy).ZonePrefixes(opts.Scope.Name) == nil {
			return nil, fmt.Errorf("scope: the policy has no zone %q", opts.Scope.Name)
		}
	}
	if opts.Scope.Kind == "group" && opts.Policy != nil && opts.Policy.Set("group:"+opts.Scope.Name) == nil {
		return nil, fmt.Errorf("scope: the policy has no group %q", opts.Scope.Name)
	}
	return &Recommender{
		opts: opts, res: NewResolver(opts.Inventory, opts.Policy), cat: cat,
		edges: map[edgeKey]*recEdge{}, ends: map[string]*principal{}, left: map[string]uint64{},
	}, nil
}

func (r *Recommender) inScope(e *events.Event) bool {
	s := r.opts.Scope
	switch s.Kind {
	case "group":
		return r.res.InGroup(e.Src.Addr(), e.GroupsSrc, s.Name) || r.res.InGroup(e.Dst.Addr(), e.GroupsDst, s.Name) ||
			r.tagGroupNamed(e.Src.Addr(), s.Name) || r.tagGroupNamed(e.Dst.Addr(), s.Name)
	case "zone":
		return r.res.Zone(e.Src.Addr(), e.ZoneSrc) == s.Name || r.res.Zone(e.Dst.Addr(), e.ZoneDst) == s.Name
	}
	return true
}

// tagGroupNamed reports whether an address's host carries the scope's
// name as a tag value (app=shop is in scope group:shop) when no policy
// defines the group.
func (r *Recommender) tagGroupNamed(a netip.Addr, name string) bool {
	if r.opts.Policy != nil && r.opts.Policy.Set("group:"+name) != nil {
		return false
	}
	h := r.res.Host(a)
	if h == nil {
		return false
	}
	for _, v := range h.Tags {
		if v == name {
			return true
		}
	}
	return false
}

// Add takes one flow record.
func (r *Recommender) Add(e *events.Event) {
	r.seen++
	_, end := Window(e)
	if !r.opts.Since.IsZero() && end.Before(r.opts.Since) {
		r.left["ended before --since"]++
		return
	}
	if !r.inScope(e) {
		r.left["out of scope"]++
		return
	}
	v := VerdictOf(e)
	rule := e.Rule
	if rule == "" {
		rule = "the default"
	} else {
		rule = "rule " + rule
	}
	switch {
	case v == VerdictDeny:
		r.left["denied by "+rule]++
		return
	case v == VerdictWouldDeny && e.Rule != "":
		r.left["would-deny by "+rule+" (an explicit deny or a zone's isolation)"]++
		return
	case v == VerdictWouldDeny && r.opts.AllowedOnly:
		r.left["would-deny by the default (left out by --allowed-only)"]++
		return
	}
	r.used++
	from := r.principal(e.Src.Addr(), e.ZoneSrc)
	to := r.principal(e.Dst.Addr(), e.ZoneDst)
	port := e.Dst.Port()
	if !hasPorts(e.Proto) {
		port = 0
	}
	k := edgeKey{from: from.ref, to: to.ref, port: portKey{e.Proto, port}}
	ed := r.edges[k]
	if ed == nil {
		ed = &recEdge{apps: map[string]uint64{}, users: map[string]struct{}{},
			addrs: [2]map[netip.Addr]struct{}{{}, {}}}
		r.edges[k] = ed
	}
	for i, a := range [2]netip.Addr{e.Src.Addr().Unmap(), e.Dst.Addr().Unmap()} {
		if len(ed.addrs[i]) < maxAddrs {
			ed.addrs[i][a] = struct{}{}
		}
	}
	ed.flows++
	ed.bytes += e.BytesToServer + e.BytesToClient
	app := e.App
	if app == "unknown" {
		app = ""
	}
	ed.apps[app]++
	if e.User != "" {
		ed.users[e.User] = struct{}{}
	}
	ed.verdicts[v]++
	start, _ := Window(e)
	if ed.first.IsZero() || start.Before(ed.first) {
		ed.first = start
	}
	if end.After(ed.last) {
		ed.last = end
	}
}

// principal places an address: a tag group when the inventory has tags
// for its host, a host group for a host without tags in a tagged
// inventory, its zone otherwise, and the address itself when it is in no
// zone (marked as not attributed).
func (r *Recommender) principal(a netip.Addr, recordedZone string) *principal {
	a = a.Unmap()
	var p principal
	zone := r.res.Zone(a, "")
	h := r.res.Host(a)
	switch {
	case h != nil && r.res.Tagged() && len(h.Tags) > 0:
		p = principal{kind: "tags", selector: selectorOf(h.Tags)}
		p.name = tagGroupName(h.Tags)
		p.ref = "group:" + p.name
	case h != nil && r.res.Tagged():
		p = principal{kind: "hosts", host: h.Name, name: "host-" + sanitizeName(h.Name)}
		p.ref = "group:" + p.name
	case zone != "":
		p = principal{kind: "zone", name: zone, ref: "zone:" + zone}
	default:
		bits := a.BitLen()
		p = principal{kind: "addr", ref: netip.PrefixFrom(a, bits).String()}
		p.note = "not attributed: in no inventory host and no zone of the policy"
		if h != nil {
			p.note = fmt.Sprintf("not attributed: inventory host %q has no tags and is in no zone of the policy", h.Name)
		}
		if recordedZone != "" {
			p.note = fmt.Sprintf("not attributed: septad placed it in zone %q, which --policy does not define", recordedZone)
		}
	}
	if q, ok := r.ends[p.ref]; ok {
		if h != nil {
			q.hosts[h.Name] = struct{}{}
		}
		return q
	}
	p.hosts = map[string]struct{}{}
	if h != nil {
		p.hosts[h.Name] = struct{}{}
	}
	r.ends[p.ref] = &p
	return &p
}

// selectorOf is the selector of exactly a host's tags.
func selectorOf(tags map[string]string) string {
	return strings.ReplaceAll(TagString(tags), ",", ", ")
}

// tagGroupName names a tag group by its tag values in key order
// ("shop-prod-web" for app=shop, env=prod, tier=web).
func tagGroupName(tags map[string]string) string {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	vals := make([]string, len(keys))
	for i, k := range keys {
		vals[i] = tags[k]
	}
	return sanitizeName(strings.Join(vals, "-"))
}

// sanitizeName makes a name the policy language accepts: letters,
// digits, and - _ . after the first, at most 63 characters.
func sanitizeName(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			b.Len() > 0 && (c == '-' || c == '_' || c == '.')
		if ok {
			b.WriteByte(c)
		} else if b.Len() > 0 {
			b.WriteByte('-')
		}
	}
	out := b.String()
	if out == "" {
		out = "x"
	}
	if len(out) > 63 {
		out = out[:63]
	}
	return out
}

// recRule is one proposed rule.
type recRule struct {
	name     string
	from, to *principal
	app      string
	services []string // named services
	ports    []string // ports no service names
	flows    uint64
	bytes    uint64
	verdicts [numVerdicts]uint64
	users    map[string]struct{}
	addrs    [2]map[netip.Addr]struct{}
	notes    []string
	first    time.Time
	last     time.Time
}

// Recommendation is a proposed policy.
type Recommendation struct {
	// TOML is the policy, one file, validated by the policy compiler.
	TOML []byte
	// Seen and Used count the records read and those the rules allow.
	Seen, Used uint64
	Rules      int
}

// Result builds the proposal and validates it with the policy compiler
// (the code of septa check); a proposal that does not validate is an
// error, never output.
func (r *Recommender) Result() (*Recommendation, error) {
	type ruleKey struct{ from, to, app string }
	byKey := map[ruleKey]*recRule{}
	for k, ed := range r.edges {
		app, note := singleApp(ed.apps, k.port)
		rk := ruleKey{k.from, k.to, app}
		rr := byKey[rk]
		if rr == nil {
			rr = &recRule{from: r.ends[k.from], to: r.ends[k.to], app: app, users: map[string]struct{}{},
				addrs: [2]map[netip.Addr]struct{}{{}, {}}}
			byKey[rk] = rr
		}
		if note != "" {
			rr.notes = append(rr.notes, note)
		}
		ps := PortString(k.port.proto, k.port.port)
		if name := r.cat.Name(k.port.proto, k.port.port); name != "" {
			if !slices.Contains(rr.services, name) {
				rr.services = append(rr.services, name)
			}
		} else {
			rr.ports = append(rr.ports, ps)
		}
		rr.flows += ed.flows
		rr.bytes += ed.bytes
		for i, n := range ed.verdicts {
			rr.verdicts[i] += n
		}
		for u := range ed.users {
			rr.users[u] = struct{}{}
		}
		for i := range ed.addrs {
			for a := range ed.addrs[i] {
				rr.addrs[i][a] = struct{}{}
			}
		}
		if rr.first.IsZero() || ed.first.Before(rr.first) {
			rr.first = ed.first
		}
		if ed.last.After(rr.last) {
			rr.last = ed.last
		}
	}
	var list []*recRule
	for _, rr := range byKey {
		slices.Sort(rr.services)
		slices.SortFunc(rr.ports, comparePorts)
		slices.Sort(rr.notes)
		list = append(list, rr)
	}
	slices.SortFunc(list, func(a, b *recRule) int {
		return cmp.Or(cmp.Compare(a.from.ref, b.from.ref), cmp.Compare(a.to.ref, b.to.ref), cmp.Compare(a.app, b.app))
	})
	names := map[string]int{}
	for _, rr := range list {
		base := sanitizeName(refName(rr.from) + "-to-" + refName(rr.to))
		if rr.app != "" {
			base = sanitizeName(base + "-" + rr.app)
		}
		names[base]++
		rr.name = base
		if n := names[base]; n > 1 {
			rr.name = sanitizeName(base + "-" + strconv.Itoa(n))
		}
	}
	out := r.write(list)
	if err := validateProposal(out, r.opts.Inventory); err != nil {
		return nil, err
	}
	return &Recommendation{TOML: out, Seen: r.seen, Used: r.used, Rules: len(list)}, nil
}

// singleApp returns the application a port's flows all had, or "" with a
// note when they had none or several.
func singleApp(apps map[string]uint64, port portKey) (string, string) {
	ps := PortString(port.proto, port.port)
	var known []string
	for a := range apps {
		if a != "" {
			known = append(known, a)
		}
	}
	slices.Sort(known)
	switch {
	case len(known) == 1 && apps[""] == 0:
		if _, ok := appid.ParseApp(known[0]); ok {
			return known[0], ""
		}
		return "", fmt.Sprintf("%s: application %q is not one septa identifies; ports only", ps, known[0])
	case len(known) == 0:
		return "", fmt.Sprintf("%s: application not identified (app-ID did not run or did not recognise it); ports only", ps)
	case apps[""] > 0:
		return "", fmt.Sprintf("%s: %s on some flows, not identified on %d; ports only", ps, strings.Join(known, ", "), apps[""])
	}
	return "", fmt.Sprintf("%s: several applications (%s); ports only", ps, strings.Join(known, ", "))
}

func comparePorts(a, b string) int {
	pa, na, _ := strings.Cut(a, "/")
	pb, nb, _ := strings.Cut(b, "/")
	x, _ := strconv.Atoi(na)
	y, _ := strconv.Atoi(nb)
	return cmp.Or(cmp.Compare(pa, pb), cmp.Compare(x, y))
}

func refName(p *principal) string {
	switch p.kind {
	case "addr":
		return strings.ReplaceAll(strings.ReplaceAll(strings.Split(p.ref, "/")[0], ":", "-"), ".", "-")
	}
	return p.name
}

// write renders the proposal. Everything in it is sorted, so that the
// same records give the same bytes.
func (r *Recommender) write(list []*recRule) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Proposed by septa recommend: %d flow records read, %d allowed by the rules below.\n", r.seen, r.used)
	fmt.Fprintf(&b, "# Scope: %s.\n", r.opts.Scope)
	if !r.opts.Since.IsZero() {
		fmt.Fprintf(&b, "# Since: %s.\n", r.opts.Since.UTC().Format(time.RFC3339))
	}
	b.WriteString("# Each rule allows exactly what was observed: its sources, destinations,\n")
	b.WriteString("# services and application. Review it, preview it with septa check --impact,\n")
	b.WriteString("# then apply it.\n")
	if len(r.left) > 0 {
		b.WriteString("#\n# Flows left out:\n")
		reasons := make([]string, 0, len(r.left))
		for k := range r.left {
			reasons = append(reasons, k)
		}
		slices.Sort(reasons)
		for _, k := range reasons {
			fmt.Fprintf(&b, "#   %d %s\n", r.left[k], k)
		}
	}
	b.WriteString("\n[settings]\ndefault = \"deny\"\nmode = \"enforce\"\n")
	b.WriteString("# The failsafe (inbound tcp/22 to every host) stays unless the policy says\n")
	b.WriteString("# failsafe = []; write that once the SSH rules below are what you want.\n")

	// Zones: every zone of the current policy, so that the proposal keeps
	// its macro-segmentation.
	if p := r.opts.Policy; p != nil {
		for _, s := range p.Sets {
			if s.Kind != ir.SetZone {
				continue
			}
			fmt.Fprintf(&b, "\n[zones.%s]\ncidrs = %s\n", strings.TrimPrefix(s.Name, "zone:"), tomlList(prefixStrings(s.Prefixes)))
		}
	}
	// Groups.
	var groups []*principal
	for _, p := range r.ends {
		if p.kind == "tags" || p.kind == "hosts" {
			groups = append(groups, p)
		}
	}
	slices.SortFunc(groups, func(a, b *principal) int { return cmp.Compare(a.name, b.name) })
	for _, g := range groups {
		fmt.Fprintf(&b, "\n[groups.%s]\n", g.name)
		if hs := sortedKeys(g.hosts); len(hs) > 0 {
			fmt.Fprintf(&b, "# seen: %s\n", strings.Join(hs, ", "))
		}
		if g.kind == "tags" {
			fmt.Fprintf(&b, "select = %q\n", g.selector)
		} else {
			b.WriteString("# a host without tags in the inventory: tag it to select it by role\n")
			fmt.Fprintf(&b, "hosts = [%q]\n", g.host)
		}
	}
	for _, rr := range list {
		b.WriteString("\n[[rules]]\n")
		fmt.Fprintf(&b, "# %s, %s, %s to %s\n", plural(rr.flows, "flow"), humanBytes(rr.bytes),
			rr.first.UTC().Format(time.RFC3339), rr.last.UTC().Format(time.RFC3339))
		var vs []string
		for i, n := range rr.verdicts {
			if n > 0 {
				vs = append(vs, fmt.Sprintf("%d %s", n, Verdict(i)))
			}
		}
		fmt.Fprintf(&b, "# observed: %s\n", strings.Join(vs, ", "))
		for i, p := range []*principal{rr.from, rr.to} {
			if p.note != "" {
				fmt.Fprintf(&b, "# %s: %s\n", p.ref, p.note)
			} else if p.kind == "zone" {
				fmt.Fprintf(&b, "# %s stands for %s\n", p.ref, addrList(rr.addrs[i]))
			}
		}
		for _, n := range rr.notes {
			fmt.Fprintf(&b, "# %s\n", n)
		}
		if us := sortedKeys(rr.users); len(us) > 0 {
			fmt.Fprintf(&b, "# users seen: %s\n", strings.Join(us, ", "))
		}
		fmt.Fprintf(&b, "name = %q\n", rr.name)
		fmt.Fprintf(&b, "from = [%q]\n", rr.from.ref)
		fmt.Fprintf(&b, "to = [%q]\n", rr.to.ref)
		if len(rr.services) > 0 {
			fmt.Fprintf(&b, "services = %s\n", tomlList(rr.services))
		}
		if len(rr.ports) > 0 {
			fmt.Fprintf(&b, "ports = %s\n", tomlList(rr.ports))
		}
		if rr.app != "" {
			fmt.Fprintf(&b, "app = %q\n", rr.app)
		}
		b.WriteString("action = \"allow\"\n")
	}
	return b.Bytes()
}

func plural(n uint64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.FormatUint(n, 10) + " " + what + "s"
}

func addrList(m map[netip.Addr]struct{}) string {
	as := make([]netip.Addr, 0, len(m))
	for a := range m {
		as = append(as, a)
	}
	slices.SortFunc(as, netip.Addr.Compare)
	ss := make([]string, len(as))
	for i, a := range as {
		ss[i] = a.String()
	}
	return list(ss, 8)
}

func sortedKeys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func prefixStrings(ps []netip.Prefix) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

func tomlList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// ProposalFile is the file name a proposal is validated under, and the
// name errors in it carry.
const ProposalFile = "recommended.toml"

// validateProposal compiles a proposal as septa check does.
func validateProposal(data []byte, inv *rules.Inventory) error {
	_, err := rules.Compile([]rules.File{{Name: ProposalFile, Data: data}}, rules.Options{Inventory: inv})
	if err != nil {
		return fmt.Errorf("flowmap: the proposal does not validate (a bug; please report it): %w", err)
	}
	return nil
}
