package daemon

import (
	"cmp"
	"fmt"
	"net/netip"
	"os"
	"slices"

	"github.com/septa-fw/septa/daemon/events"
	"github.com/septa-fw/septa/nft"
	"github.com/ti-mo/conntrack"
)

// acctSysctl turns on conntrack's per-flow counters (KERNEL.md: counters
// come only with nf_conntrack_acct=1).
const acctSysctl = "/proc/sys/net/netfilter/nf_conntrack_acct"

// enableConntrackAccounting switches the counters on in this network
// namespace, if it can.
func enableConntrackAccounting() error {
	return os.WriteFile(acctSysctl, []byte("1"), 0)
}

// liveCounters returns conntrack's counters of the live flows, by their
// original tuple, for the flows of events (septa flows shows their bytes).
func liveCounters() (map[flowTuple]conntrack.Flow, error) {
	c, err := conntrack.Dial(nil)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	flows, err := c.Dump(nil)
	if err != nil {
		return nil, err
	}
	out := make(map[flowTuple]conntrack.Flow, min(len(flows), maxTopDump))
	for i, f := range flows {
		if i >= maxTopDump {
			break
		}
		t := f.TupleOrig
		out[flowTuple{netip.AddrPortFrom(t.IP.SourceAddress, t.Proto.SourcePort),
			netip.AddrPortFrom(t.IP.DestinationAddress, t.Proto.DestinationPort), t.Proto.Protocol}] = f
	}
	return out, nil
}

// maxTopDump bounds the flows a top request reads from conntrack.
const maxTopDump = 1 << 20

// TopFlows returns the n busiest live flows by bytes, from a dump of the
// conntrack table (on request only: never per packet).
func (d *Daemon) TopFlows(n int) ([]FlowSummary, error) {
	c, err := conntrack.Dial(nil)
	if err != nil {
		return nil, fmt.Errorf("conntrack: %w", err)
	}
	defer c.Close()
	flows, err := c.Dump(nil)
	if err != nil {
		return nil, fmt.Errorf("conntrack: dump: %w", err)
	}
	if len(flows) > maxTopDump {
		flows = flows[:maxTopDump]
	}
	slices.SortFunc(flows, func(a, b conntrack.Flow) int {
		return cmp.Compare(b.CountersOrig.Bytes+b.CountersReply.Bytes, a.CountersOrig.Bytes+a.CountersReply.Bytes)
	})
	flows = flows[:min(n, len(flows))]
	layout := d.fw.MarkLayout()
	d.mu.Lock()
	gen := d.gen
	d.mu.Unlock()
	p := d.policy.Load()
	out := make([]FlowSummary, 0, len(flows))
	for _, f := range flows {
		t := f.TupleOrig
		s := FlowSummary{
			Src:             netip.AddrPortFrom(t.IP.SourceAddress, t.Proto.SourcePort),
			Dst:             netip.AddrPortFrom(t.IP.DestinationAddress, t.Proto.DestinationPort),
			Proto:           t.Proto.Protocol,
			PacketsToServer: f.CountersOrig.Packets, BytesToServer: f.CountersOrig.Bytes,
			PacketsToClient: f.CountersReply.Packets, BytesToClient: f.CountersReply.Bytes,
		}
		if f.Timestamp.Start.Unix() > 0 {
			s.Start = f.Timestamp.Start
		}
		v, g := layout.Decode(f.Mark)
		s.Verdict = v.String()
		if v != nft.MarkUndecided && g != gen%layout.Generations() {
			s.Verdict = "stale"
		}
		if p != nil {
			s.ZoneSrc, s.GroupsSrc = membership(p.IR(), s.Src.Addr())
			s.ZoneDst, s.GroupsDst = membership(p.IR(), s.Dst.Addr())
		}
		out = append(out, s)
	}
	return out, nil
}

// withLiveCounters fills, for the flows that are still live, the bytes and
// packets so far from one conntrack dump. The ring's events are shared:
// it fills copies.
func withLiveCounters(es []*events.Event) []*events.Event {
	live, err := liveCounters()
	if err != nil {
		return es
	}
	for i, e := range es {
		if f, ok := live[flowTuple{e.Src, e.Dst, e.Proto}]; ok {
			c := *e
			c.PacketsToServer, c.BytesToServer = f.CountersOrig.Packets, f.CountersOrig.Bytes
			c.PacketsToClient, c.BytesToClient = f.CountersReply.Packets, f.CountersReply.Bytes
			es[i] = &c
		}
	}
	return es
}
