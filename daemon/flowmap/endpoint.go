package flowmap

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/septa-fw/septa/rules"
	"github.com/septa-fw/septa/rules/ir"
)

// Kind is what a node of the map stands for.
type Kind string

const (
	// KindWorkload is the inventory hosts that share a set of tags
	// ("app=shop,env=prod,tier=web"): the unit a policy selects.
	KindWorkload Kind = "workload"
	// KindHost is an inventory host without tags.
	KindHost Kind = "host"
	// KindGroup is addresses that septad put in policy groups, for
	// records made without the inventory at hand.
	KindGroup Kind = "group"
	// KindZone is addresses of a zone that the inventory does not know.
	KindZone Kind = "zone"
	// KindNet is addresses in no zone and no inventory: an external
	// network, a /24 (IPv4) or /64 (IPv6).
	KindNet Kind = "net"
)

// Node is one end of the map's edges.
type Node struct {
	// ID is unique in the map: "KIND:NAME".
	ID   string `json:"id"`
	Kind Kind   `json:"kind"`
	Name string `json:"name"`
	// Zone is the zone the node's addresses are in, "" for none.
	Zone string `json:"zone,omitempty"`
	// Tags are a workload's tags.
	Tags map[string]string `json:"tags,omitempty"`
	// Hosts are the inventory hosts seen behind the node, sorted.
	Hosts []string `json:"hosts,omitempty"`
	// Addrs are the addresses seen behind a zone or a net node, sorted;
	// at most maxAddrs of them.
	Addrs []netip.Addr `json:"addrs,omitempty"`
}

// maxAddrs bounds the addresses a node lists.
const maxAddrs = 16

// Resolver places addresses: in the inventory (by host, and by tags when
// the inventory has tags), in the zones and groups of a policy, or in an
// external network. What the policy and inventory do not say, the record
// may (septad's zones and groups of each end).
type Resolver struct {
	hosts  map[netip.Addr]*rules.Host
	tagged bool
	zones  []ir.Set
	groups []ir.Set
}

// NewResolver returns a resolver; inv and p may be nil.
func NewResolver(inv *rules.Inventory, p *ir.Policy) *Resolver {
	r := &Resolver{hosts: map[netip.Addr]*rules.Host{}}
	if inv != nil {
		for i := range inv.Hosts {
			h := &inv.Hosts[i]
			for _, a := range h.Addresses {
				if _, ok := r.hosts[a]; !ok {
					r.hosts[a] = h
				}
			}
			if len(h.Tags) > 0 {
				r.tagged = true
			}
		}
	}
	if p != nil {
		for _, s := range p.Sets {
			switch s.Kind {
			case ir.SetZone:
				r.zones = append(r.zones, s)
			case ir.SetGroup:
				r.groups = append(r.groups, s)
			}
		}
	}
	return r
}

// Tagged reports whether the inventory has tags, so that workloads are
// grouped by them.
func (r *Resolver) Tagged() bool { return r.tagged }

// Host returns the inventory host of an address, or nil.
func (r *Resolver) Host(a netip.Addr) *rules.Host { return r.hosts[a.Unmap()] }

// Zone returns the zone of an address by the policy's zones, else
// recorded (what septad wrote in the record).
func (r *Resolver) Zone(a netip.Addr, recorded string) string {
	a = a.Unmap()
	for _, z := range r.zones {
		if inPrefixes(a, z.Prefixes) {
			return strings.TrimPrefix(z.Name, "zone:")
		}
	}
	return recorded
}

// ZonePrefixes returns the policy's prefixes of a zone, nil when the
// policy does not define it.
func (r *Resolver) ZonePrefixes(name string) []netip.Prefix {
	for _, z := range r.zones {
		if z.Name == "zone:"+name {
			return z.Prefixes
		}
	}
	return nil
}

// InGroup reports whether an address is in the policy group name, or
// recorded says so.
func (r *Resolver) InGroup(a netip.Addr, recorded []string, name string) bool {
	if slices.Contains(recorded, name) {
		return true
	}
	a = a.Unmap()
	for _, g := range r.groups {
		if g.Name == "group:"+name {
			return inPrefixes(a, g.Prefixes)
		}
	}
	return false
}

func inPrefixes(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Node returns the node of an address; zone and groups are what the
// record says of it.
func (r *Resolver) Node(a netip.Addr, zone string, groups []string) Node {
	a = a.Unmap()
	zone = r.Zone(a, zone)
	if h := r.hosts[a]; h != nil {
		if r.tagged && len(h.Tags) > 0 {
			name := TagString(h.Tags)
			return Node{ID: string(KindWorkload) + ":" + name, Kind: KindWorkload, Name: name, Zone: zone, Tags: h.Tags}
		}
		return Node{ID: string(KindHost) + ":" + h.Name, Kind: KindHost, Name: h.Name, Zone: zone}
	}
	if len(groups) > 0 {
		name := strings.Join(groups, "+")
		return Node{ID: string(KindGroup) + ":" + name, Kind: KindGroup, Name: name, Zone: zone}
	}
	if zone != "" {
		return Node{ID: string(KindZone) + ":" + zone, Kind: KindZone, Name: zone, Zone: zone}
	}
	bits := 24
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return Node{ID: string(KindNet) + ":" + p.String(), Kind: KindNet, Name: p.String()}
}

// TagString is a tag set in canonical form: "key=value" by key, comma
// separated, as a selector writes them.
func TagString(tags map[string]string) string {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(k)
		b.WriteString("=")
		b.WriteString(tags[k])
	}
	return b.String()
}
