package inspect

import (
	"net"
	"testing"

	"github.com/septa-fw/septa/inspect/packet"
)

// TestWorkerOverlapEvasion: a segment that overlaps bytes already seen
// with different bytes denies a flow still being decided (reason
// evasion); a retransmission of the same bytes does not; in observe mode
// the flow passes and is logged as what enforcing would do.
func TestWorkerOverlapEvasion(t *testing.T) {
	tests := []struct {
		name       string
		mode       string
		second     string // sent at the first segment's sequence number
		wantMark   uint32
		wantReason packet.Reason // counted
		wantEvent  packet.Reason // in the decision's event
	}{
		{name: "different bytes", mode: "enforce", second: "GET /ad", wantMark: denyMark, wantReason: packet.ReasonEvasion, wantEvent: packet.ReasonEvasion},
		{name: "same bytes", mode: "enforce", second: "GET /in", wantMark: allowMark, wantReason: packet.ReasonPolicy, wantEvent: packet.ReasonPolicy},
		{name: "different bytes observed", mode: "observe", second: "GET /ad", wantMark: allowMark, wantReason: packet.ReasonObserve, wantEvent: packet.ReasonEvasion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pol := compilePolicy(t, "[settings]\nmode = \""+tt.mode+"\"\n"+webAppPolicy, "")
			w, rec, sink := newTestWorker(t, pol, Config{})
			c := &tcpConn{t: t, client: net.IP{10, 1, 0, 11}, server: net.IP{10, 3, 1, 10}, cport: 40000, sport: 80, cseq: 1, sseq: 1}
			c.pkt(true, "S", "")
			w.Handle(&Packet{ID: 1, Payload: c.pkt(true, "A", ""), Hook: HookInput})
			seq := c.cseq
			w.Handle(&Packet{ID: 2, Payload: c.pkt(true, "PA", "GET /in"), Hook: HookInput})
			c.cseq = seq
			w.Handle(&Packet{ID: 3, Payload: c.pkt(true, "PA", tt.second), Hook: HookInput})
			w.Handle(&Packet{ID: 4, Payload: c.pkt(true, "PA", "dex.html HTTP/1.1\r\nHost: shop.example\r\n\r\n"), Hook: HookInput})

			last := map[uint32]verdict{}
			for _, v := range rec.got {
				last[v.ID] = v
			}
			if v := last[4]; !v.Accept || v.Mark&verdictMask != tt.wantMark {
				t.Errorf("the request's verdict: %+v, want mark %#x", v, tt.wantMark)
			}
			if n := w.Stats.Verdicts[tt.wantReason].Load(); n != 1 {
				t.Errorf("%d verdicts for reason %s, want 1", n, tt.wantReason)
			}
			if len(sink.events) != 1 || sink.events[0].Reason != tt.wantEvent || sink.events[0].Observe != (tt.mode == "observe") {
				t.Errorf("events %+v: want one for reason %s, observe %v", sink.events, tt.wantEvent, tt.mode == "observe")
			}
		})
	}
}
