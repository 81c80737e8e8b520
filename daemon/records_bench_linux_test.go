package daemon

import (
	"net/netip"

	"github.com/mdlayher/netlink"
	"testing"
	"time"

	"github.com/septa-fw/septa/daemon/events"
	"github.com/septa-fw/septa/nft"
)

// ctMessage is the DESTROY message the "conntrack" case decodes.
var ctMessage netlink.Message

// BenchmarkRecordPath is the cost of one flow's record: the decision
// joined (or the policy evaluated), and the record encoded as an EVE
// line, which is what the EVE sink does with it. "conntrack" adds the
// decoding of the kernel's DESTROY message.
func BenchmarkRecordPath(b *testing.B) {
	server := netip.AddrPortFrom(recOther, 5432)
	for _, bc := range []struct {
		name string
		// flow runs one flow through the tracker.
		flow func(r *recordRig, i int)
	}{
		{name: "joined", flow: func(r *recordRig, i int) {
			c := netip.AddrPortFrom(recPeer, uint16(i))
			d := decision(events.KindFlow, c, server, "pg-app", "allow", false, events.DeciderInspector, r.now)
			d.App, d.AppProto, d.User = "postgresql", "pgsql", "alice"
			r.t.Write(d)
			r.t.End(r.end(c, server, r.mark(nft.MarkAllow, 1)), r.now)
		}},
		{name: "kernel", flow: func(r *recordRig, i int) {
			r.t.End(r.end(netip.AddrPortFrom(recPeer, uint16(i)), netip.AddrPortFrom(recHost, 8080), r.mark(nft.MarkAllow, 1)), r.now)
		}},
		{name: "conntrack", flow: func(r *recordRig, i int) {
			handleConntrackMessage(r.t, ctMessage, r.now)
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := newRecordRig(b, RecordTrackerConfig{RatePerSecond: 1 << 30})
			c, s := netip.AddrPortFrom(recPeer, 40000), netip.AddrPortFrom(recHost, 8080)
			ctMessage = ctMsg{typ: ipctnlMsgCtDelete, orig: [2]netip.AddrPort{c, s}, reply: [2]netip.AddrPort{s, c}, proto: 6,
				status: ipsSeenReply, tcpState: 7, withCounters: true, counters: [4]uint64{12, 2048, 10, 40960},
				withTimestamp: true, start: recT0, stop: recT0.Add(time.Second), mark: r.mark(nft.MarkAllow, 1)}.message(b)
			enc := events.NewEVEEncoder()
			n := 0
			r.t.cfg.Publish = func(e *events.Event) {
				if _, err := enc.Encode(e); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				bc.flow(r, i)
			}
			if n != i {
				b.Fatalf("%d records for %d flows", n, i)
			}
		})
	}
}
