package flowmap

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/septa-fw/septa/daemon/events"
)

// Verdict is what happened to a recorded flow.
type Verdict uint8

const (
	// VerdictSeen: the record carries no verdict (Suricata's own flow
	// events); the flow passed.
	VerdictSeen Verdict = iota
	VerdictAllow
	VerdictDeny
	// VerdictWouldDeny: observe mode (of the policy or of the deciding
	// rule) let through a flow it would have denied.
	VerdictWouldDeny
	numVerdicts
)

var verdictNames = [numVerdicts]string{"seen", "allow", "deny", "would-deny"}

func (v Verdict) String() string {
	if v < numVerdicts {
		return verdictNames[v]
	}
	return "unknown"
}

// ParseVerdict parses a verdict's name.
func ParseVerdict(s string) (Verdict, error) {
	for i, n := range verdictNames {
		if n == s {
			return Verdict(i), nil
		}
	}
	return 0, fmt.Errorf("verdict %q is not one of %s", s, strings.Join(verdictNames[:], ", "))
}

// VerdictOf returns the verdict of a flow record.
func VerdictOf(e *events.Event) Verdict {
	switch {
	case e.Observe:
		return VerdictWouldDeny
	case e.Kind == events.KindDrop || e.Action == "deny" || e.Action == "reject":
		return VerdictDeny
	case e.Action == "allow":
		return VerdictAllow
	}
	return VerdictSeen
}

// Filter selects flow records; every non-empty field must hold.
type Filter struct {
	// Zones: either end is in one of these zones.
	Zones []string
	// Groups: either end is in one of these policy groups.
	Groups []string
	// Apps: the flow's application is one of these.
	Apps []string
	// Since and Until: the flow overlaps [Since, Until); zero for open.
	Since, Until time.Time
	// Verdicts: the flow's verdict is one of these.
	Verdicts []Verdict
}

// Window returns when a record's flow ran: from its start to its end;
// the event's time stands in for what the record lacks.
func Window(e *events.Event) (start, end time.Time) {
	start, end = e.Start, e.End
	if start.IsZero() {
		start = e.Time
	}
	if end.IsZero() {
		end = e.Time
	}
	if end.Before(start) {
		end = start
	}
	return start, end
}

// matchCheap checks what needs no address resolution.
func (f *Filter) matchCheap(e *events.Event) bool {
	if len(f.Verdicts) > 0 && !slices.Contains(f.Verdicts, VerdictOf(e)) {
		return false
	}
	if len(f.Apps) > 0 && !slices.Contains(f.Apps, e.App) {
		return false
	}
	if !f.Since.IsZero() || !f.Until.IsZero() {
		start, end := Window(e)
		if !f.Since.IsZero() && end.Before(f.Since) {
			return false
		}
		if !f.Until.IsZero() && !start.Before(f.Until) {
			return false
		}
	}
	return true
}

// matchEnds checks the zones and groups of both ends.
func (f *Filter) matchEnds(r *Resolver, e *events.Event, zsrc, zdst string) bool {
	if len(f.Zones) > 0 && !slices.Contains(f.Zones, zsrc) && !slices.Contains(f.Zones, zdst) {
		return false
	}
	if len(f.Groups) > 0 {
		in := false
		for _, g := range f.Groups {
			if r.InGroup(e.Src.Addr(), e.GroupsSrc, g) || r.InGroup(e.Dst.Addr(), e.GroupsDst, g) {
				in = true
				break
			}
		}
		if !in {
			return false
		}
	}
	return true
}

// Map is the communication map: nodes and the edges between them.
type Map struct {
	Nodes []Node `json:"nodes"`
	Edges []Edge `json:"edges"`
	// Flows is how many records the map holds, Filtered how many the
	// filter left out.
	Flows    uint64 `json:"flows"`
	Filtered uint64 `json:"filtered"`
}

// Edge is the flows from one node to another (From is the client side).
type Edge struct {
	From     string   `json:"from"`
	To       string   `json:"to"`
	Flows    uint64   `json:"flows"`
	Packets  uint64   `json:"packets"`
	Bytes    uint64   `json:"bytes"`
	Verdicts Verdicts `json:"verdicts"`
	// Services are the destination ports, named where the catalogue
	// names them.
	Services []Count `json:"services"`
	Apps     []Count `json:"apps,omitempty"`
	Users    []Count `json:"users,omitempty"`
	// Rules are the deciding rules ("" is the policy default, written
	// "(default)").
	Rules []Count `json:"rules,omitempty"`
}

// Verdicts counts flows by verdict.
type Verdicts struct {
	Allow     uint64 `json:"allow,omitempty"`
	Deny      uint64 `json:"deny,omitempty"`
	WouldDeny uint64 `json:"would_deny,omitempty"`
	Seen      uint64 `json:"seen,omitempty"`
}

// Count is a label with how many flows had it.
type Count struct {
	Name  string `json:"name"`
	Flows uint64 `json:"flows"`
}

// Aggregator builds a Map from flow records, one at a time. It keeps one
// entry per node and per edge, not per record, so memory follows the
// size of the map, not the number of records.
type Aggregator struct {
	res    *Resolver
	cat    *Catalogue
	filter Filter

	nodeIdx map[nodeKey]int32
	nodes   []*nodeAcc
	byID    map[string]int32
	edges   map[[2]int32]*edgeAcc
	flows   uint64
	skipped uint64
}

type nodeKey struct {
	addr   netip.Addr
	zone   string
	groups string
}

type nodeAcc struct {
	Node
	hosts map[string]struct{}
	addrs map[netip.Addr]struct{}
}

type edgeAcc struct {
	flows, packets, bytes uint64
	verdicts              [numVerdicts]uint64
	services              map[portKey]uint64
	apps, users, rules    map[string]uint64
}

// NewAggregator returns an aggregator; cat names services (nil: ports
// only).
func NewAggregator(r *Resolver, cat *Catalogue, f Filter) *Aggregator {
	return &Aggregator{
		res: r, cat: cat, filter: f,
		nodeIdx: map[nodeKey]int32{}, byID: map[string]int32{}, edges: map[[2]int32]*edgeAcc{},
	}
}

// node returns the index of the node of one end of a record.
func (a *Aggregator) node(ap netip.AddrPort, zone string, groups []string) int32 {
	k := nodeKey{addr: ap.Addr().Unmap(), zone: zone}
	switch len(groups) {
	case 0:
	case 1:
		k.groups = groups[0]
	default:
		k.groups = strings.Join(groups, "\x00")
	}
	if i, ok := a.nodeIdx[k]; ok {
		return i
	}
	n := a.res.Node(k.addr, zone, groups)
	i, ok := a.byID[n.ID]
	if !ok {
		i = int32(len(a.nodes))
		a.byID[n.ID] = i
		a.nodes = append(a.nodes, &nodeAcc{Node: n, hosts: map[string]struct{}{}, addrs: map[netip.Addr]struct{}{}})
	}
	acc := a.nodes[i]
	if h := a.res.Host(k.addr); h != nil {
		acc.hosts[h.Name] = struct{}{}
	} else if (n.Kind == KindZone || n.Kind == KindNet || n.Kind == KindGroup) && len(acc.addrs) < maxAddrs {
		acc.addrs[k.addr] = struct{}{}
	}
	a.nodeIdx[k] = i
	return i
}

// Add aggregates one record; it reports whether the filter kept it.
func (a *Aggregator) Add(e *events.Event) bool {
	if !a.filter.matchCheap(e) {
		a.skipped++
		return false
	}
	src := a.node(e.Src, e.ZoneSrc, e.GroupsSrc)
	dst := a.node(e.Dst, e.ZoneDst, e.GroupsDst)
	if (len(a.filter.Zones) > 0 || len(a.filter.Groups) > 0) &&
		!a.filter.matchEnds(a.res, e, a.nodes[src].Zone, a.nodes[dst].Zone) {
		a.skipped++
		return false
	}
	ed := a.edges[[2]int32{src, dst}]
	if ed == nil {
		ed = &edgeAcc{services: map[portKey]uint64{}, apps: map[string]uint64{},
			users: map[string]uint64{}, rules: map[string]uint64{}}
		a.edges[[2]int32{src, dst}] = ed
	}
	a.flows++
	ed.flows++
	ed.packets += e.PacketsToServer + e.PacketsToClient
	ed.bytes += e.BytesToServer + e.BytesToClient
	ed.verdicts[VerdictOf(e)]++
	port := e.Dst.Port()
	if !hasPorts(e.Proto) {
		port = 0
	}
	ed.services[portKey{e.Proto, port}]++
	if e.App != "" {
		ed.apps[e.App]++
	}
	if e.User != "" {
		ed.users[e.User]++
	}
	if e.Action != "" {
		ed.rules[e.Rule]++
	}
	return true
}

func hasPorts(proto uint8) bool { return proto == 6 || proto == 17 || proto == 132 }

// Map returns the map of what was added, in a stable order: nodes by ID,
// edges by their ends, labels by count then name.
func (a *Aggregator) Map() *Map {
	m := &Map{Flows: a.flows, Filtered: a.skipped}
	used := map[int32]bool{}
	for k, ed := range a.edges {
		used[k[0]], used[k[1]] = true, true
		e := Edge{
			From: a.nodes[k[0]].ID, To: a.nodes[k[1]].ID,
			Flows: ed.flows, Packets: ed.packets, Bytes: ed.bytes,
			Verdicts: Verdicts{Seen: ed.verdicts[VerdictSeen], Allow: ed.verdicts[VerdictAllow],
				Deny: ed.verdicts[VerdictDeny], WouldDeny: ed.verdicts[VerdictWouldDeny]},
			Apps: counts(ed.apps), Users: counts(ed.users), Rules: counts(ed.rules),
		}
		for i := range e.Rules {
			if e.Rules[i].Name == "" {
				e.Rules[i].Name = "(default)"
			}
		}
		svc := map[string]uint64{}
		for pk, n := range ed.services {
			svc[a.serviceName(pk)] += n
		}
		e.Services = counts(svc)
		m.Edges = append(m.Edges, e)
	}
	slices.SortFunc(m.Edges, func(x, y Edge) int {
		return cmp.Or(cmp.Compare(x.From, y.From), cmp.Compare(x.To, y.To))
	})
	for i, n := range a.nodes {
		if !used[int32(i)] {
			continue
		}
		node := n.Node
		for h := range n.hosts {
			node.Hosts = append(node.Hosts, h)
		}
		slices.Sort(node.Hosts)
		for ad := range n.addrs {
			node.Addrs = append(node.Addrs, ad)
		}
		slices.SortFunc(node.Addrs, netip.Addr.Compare)
		m.Nodes = append(m.Nodes, node)
	}
	slices.SortFunc(m.Nodes, func(x, y Node) int { return cmp.Compare(x.ID, y.ID) })
	return m
}

// serviceName labels a destination port: "ssh (tcp/22)", or "tcp/8080".
func (a *Aggregator) serviceName(pk portKey) string {
	ps := PortString(pk.proto, pk.port)
	if a.cat != nil {
		if n := a.cat.Name(pk.proto, pk.port); n != "" {
			return n + " (" + ps + ")"
		}
	}
	return ps
}

// counts returns a label count map sorted by count (most first), then
// name.
func counts(m map[string]uint64) []Count {
	if len(m) == 0 {
		return nil
	}
	out := make([]Count, 0, len(m))
	for k, v := range m {
		out = append(out, Count{Name: k, Flows: v})
	}
	slices.SortFunc(out, func(x, y Count) int {
		return cmp.Or(cmp.Compare(y.Flows, x.Flows), cmp.Compare(x.Name, y.Name))
	})
	return out
}
