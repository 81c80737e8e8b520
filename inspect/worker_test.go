package inspect

import (
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/septa-fw/septa/inspect/packet"
	"github.com/septa-fw/septa/rules/ir"
)

// recorder is a fake queue: it records verdicts.
type recorder struct {
	got []verdict
}

type verdict struct {
	ID     uint32
	Accept bool
	Mark   uint32
}

func (r *recorder) Verdict(id uint32, accept bool, mark uint32) {
	r.got = append(r.got, verdict{id, accept, mark})
}

type sinkRecorder struct{ events []*Event }

func (s *sinkRecorder) Emit(e *Event) { s.events = append(s.events, e) }

const (
	allowMark   = 0x1000
	denyMark    = 0x2000
	verdictMask = 0x3000
)

// tcpConn builds the packets of one TCP connection as the queue sees them.
type tcpConn struct {
	t              testing.TB
	client, server net.IP
	cport, sport   uint16
	cseq, sseq     uint32
}

func (c *tcpConn) pkt(fromClient bool, flags string, payload string) []byte {
	c.t.Helper()
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: c.client, DstIP: c.server}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(c.cport), DstPort: layers.TCPPort(c.sport), Seq: c.cseq, Ack: c.sseq, Window: 502}
	if !fromClient {
		ip.SrcIP, ip.DstIP = c.server, c.client
		tcp.SrcPort, tcp.DstPort = tcp.DstPort, tcp.SrcPort
		tcp.Seq, tcp.Ack = c.sseq, c.cseq
	}
	for _, f := range flags {
		switch f {
		case 'S':
			tcp.SYN = true
		case 'A':
			tcp.ACK = true
		case 'P':
			tcp.PSH = true
		case 'F':
			tcp.FIN = true
		}
	}
	_ = tcp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ip, tcp, gopacket.Payload(payload)); err != nil {
		c.t.Fatal(err)
	}
	n := uint32(len(payload))
	if tcp.SYN {
		n++
	}
	if fromClient {
		c.cseq += n
	} else {
		c.sseq += n
	}
	return append([]byte(nil), buf.Bytes()...)
}

func newTestWorker(t *testing.T, pol *Policy, cfg Config) (*Worker, *recorder, *sinkRecorder) {
	t.Helper()
	var ptr atomic.Pointer[Policy]
	ptr.Store(pol)
	rec, sink := &recorder{}, &sinkRecorder{}
	cfg.AllowMark, cfg.DenyMark, cfg.VerdictMask = allowMark, denyMark, verdictMask
	w := NewWorker(cfg, Deps{Policy: &ptr, Verdicter: rec, Sink: sink,
		Now: func() time.Time { return time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) }})
	return w, rec, sink
}

func TestWorkerAppDecides(t *testing.T) {
	pol := compilePolicy(t, testPolicy, testInventory)
	tests := []struct {
		name    string
		payload string
		want    []verdict
		rule    string
		app     string
		action  ir.Action
	}{
		{
			name:    "postgresql startup is allowed",
			payload: "\x00\x00\x00\x08\x04\xd2\x16\x2f", // SSLRequest, as psql sends first
			want:    []verdict{{1, true, 0}, {2, true, 0}, {3, true, 0}, {4, true, allowMark}},
			rule:    "db", app: "postgresql", action: ir.ActionAllow,
		},
		{
			name:    "ssh on the postgresql port is denied",
			payload: "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n",
			want:    []verdict{{1, true, 0}, {2, true, 0}, {3, true, 0}, {4, true, denyMark}},
			rule:    "", app: "ssh", action: ir.ActionDeny,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, rec, sink := newTestWorker(t, pol, Config{})
			c := &tcpConn{t: t, client: net.IP{10, 3, 2, 1}, server: net.IP{10, 3, 3, 10}, cport: 40000, sport: 5432, cseq: 100, sseq: 900}
			pkts := [][]byte{c.pkt(true, "S", ""), c.pkt(false, "SA", ""), c.pkt(true, "A", ""), c.pkt(true, "PA", tt.payload)}
			for i, b := range pkts {
				w.Handle(&Packet{ID: uint32(i + 1), Payload: b, Hook: HookInput})
			}
			if diff := cmp.Diff(tt.want, rec.got); diff != "" {
				t.Errorf("verdicts (-want +got):\n%s", diff)
			}
			if len(sink.events) != 1 {
				t.Fatalf("%d events, want 1", len(sink.events))
			}
			e := sink.events[0]
			if e.Rule != tt.rule || e.App != tt.app || e.Action != tt.action {
				t.Errorf("event rule %q app %q action %v, want %q %q %v", e.Rule, e.App, e.Action, tt.rule, tt.app, tt.action)
			}
			// A packet queued before the kernel took over gets the same verdict.
			w.Handle(&Packet{ID: 9, Payload: c.pkt(false, "A", ""), Hook: HookOutput})
			if last := rec.got[len(rec.got)-1]; last.Mark != tt.want[3].Mark {
				t.Errorf("late packet mark %#x, want %#x", last.Mark, tt.want[3].Mark)
			}
		})
	}
}

func TestWorkerHoldsUntilIdentified(t *testing.T) {
	pol := compilePolicy(t, testPolicy, testInventory)
	w, rec, _ := newTestWorker(t, pol, Config{})
	c := &tcpConn{t: t, client: net.IP{10, 3, 2, 1}, server: net.IP{10, 3, 3, 10}, cport: 40001, sport: 5432, cseq: 100, sseq: 900}
	w.Handle(&Packet{ID: 1, Payload: c.pkt(true, "S", ""), Hook: HookInput})
	w.Handle(&Packet{ID: 2, Payload: c.pkt(false, "SA", ""), Hook: HookOutput})
	// The request in two segments: the first is held, the second decides.
	w.Handle(&Packet{ID: 3, Payload: c.pkt(true, "PA", "\x00\x00\x00"), Hook: HookInput})
	if len(rec.got) != 2 {
		t.Fatalf("the first data segment must be held: verdicts %v", rec.got)
	}
	w.Handle(&Packet{ID: 4, Payload: c.pkt(true, "PA", "\x08\x04\xd2\x16\x2f"), Hook: HookInput})
	want := []verdict{{1, true, 0}, {2, true, 0}, {3, true, allowMark}, {4, true, allowMark}}
	if diff := cmp.Diff(want, rec.got); diff != "" {
		t.Errorf("verdicts (-want +got):\n%s", diff)
	}
}

// TestWorkerPassFirstPackets: a rule with first_packets = "pass" lets the
// client's data through while the flow is decided.
func TestWorkerPassFirstPackets(t *testing.T) {
	pol := compilePolicy(t, `
[[rules]]
name = "db"
from = "any"
to = "any"
ports = ["tcp/5432"]
app = "postgresql"
first_packets = "pass"
action = "allow"
`, "")
	w, rec, _ := newTestWorker(t, pol, Config{})
	c := &tcpConn{t: t, client: net.IP{10, 3, 2, 1}, server: net.IP{10, 3, 3, 10}, cport: 40001, sport: 5432, cseq: 100, sseq: 900}
	w.Handle(&Packet{ID: 1, Payload: c.pkt(true, "A", ""), Hook: HookInput})
	w.Handle(&Packet{ID: 2, Payload: c.pkt(true, "PA", "\x00\x00\x00"), Hook: HookInput})
	w.Handle(&Packet{ID: 3, Payload: c.pkt(true, "PA", "\x08\x04\xd2\x16\x2f"), Hook: HookInput})
	want := []verdict{{1, true, 0}, {2, true, 0}, {3, true, allowMark}}
	if diff := cmp.Diff(want, rec.got); diff != "" {
		t.Errorf("verdicts (-want +got):\n%s", diff)
	}
}

func TestWorkerHoldTimeout(t *testing.T) {
	pol := compilePolicy(t, testPolicy, testInventory)
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	var ptr atomic.Pointer[Policy]
	ptr.Store(pol)
	rec := &recorder{}
	w := NewWorker(Config{AllowMark: allowMark, DenyMark: denyMark, VerdictMask: verdictMask},
		Deps{Policy: &ptr, Verdicter: rec, Now: func() time.Time { return now }})
	c := &tcpConn{t: t, client: net.IP{10, 3, 2, 1}, server: net.IP{10, 3, 3, 10}, cport: 40002, sport: 5432, cseq: 1, sseq: 1}
	w.Handle(&Packet{ID: 1, Payload: c.pkt(true, "S", ""), Hook: HookInput})
	w.Handle(&Packet{ID: 2, Payload: c.pkt(true, "PA", "\x00\x00"), Hook: HookInput})
	w.Sweep()
	if len(rec.got) != 1 {
		t.Fatalf("held packet released before the timeout: %v", rec.got)
	}
	now = now.Add(DefaultHoldTimeout)
	w.Sweep()
	// Unknown application on a port whose service expects PostgreSQL:
	// the default denies it.
	if diff := cmp.Diff([]verdict{{1, true, 0}, {2, true, denyMark}}, rec.got); diff != "" {
		t.Errorf("verdicts (-want +got):\n%s", diff)
	}
	if w.Stats.HoldTimeout.Load() != 1 {
		t.Errorf("hold timeouts %d, want 1", w.Stats.HoldTimeout.Load())
	}
}

func TestWorkerEvictsOldest(t *testing.T) {
	pol := compilePolicy(t, testPolicy, testInventory)
	w, _, _ := newTestWorker(t, pol, Config{MaxFlows: 4})
	for i := range 10 {
		c := &tcpConn{t: t, client: net.IP{10, 3, 2, byte(i)}, server: net.IP{10, 3, 3, 10}, cport: 40000, sport: 5432, cseq: 1, sseq: 1}
		w.Handle(&Packet{ID: uint32(i), Payload: c.pkt(true, "S", ""), Hook: HookInput})
	}
	if n := w.Len(); n != 4 {
		t.Errorf("%d flows tracked, want the bound 4", n)
	}
	if n := w.Stats.Evicted.Load(); n != 6 {
		t.Errorf("%d evictions, want 6", n)
	}
	// The newest flows are the ones kept.
	c := &tcpConn{t: t, client: net.IP{10, 3, 2, 9}, server: net.IP{10, 3, 3, 10}, cport: 40000, sport: 5432, cseq: 1, sseq: 1}
	c.pkt(true, "S", "")
	var p packet.Packet
	packet.Decode(c.pkt(true, "A", ""), &p)
	k, _ := p.Key()
	if w.table.lookup(k) == nil {
		t.Errorf("the newest flow was evicted")
	}
}

func TestWorkerPanicFailMode(t *testing.T) {
	for _, mode := range []string{"open", "closed"} {
		t.Run(mode, func(t *testing.T) {
			pol := compilePolicy(t, "[settings]\nfail_mode = \""+mode+"\"\n", "")
			w, rec, _ := newTestWorker(t, pol, Config{})
			w.verdicter = &panicOnce{rec: rec}
			c := &tcpConn{t: t, client: net.IP{10, 3, 2, 1}, server: net.IP{10, 3, 3, 10}, cport: 1, sport: 2, cseq: 1, sseq: 1}
			w.Handle(&Packet{ID: 7, Payload: c.pkt(true, "S", ""), Hook: HookInput})
			if w.Stats.Panics.Load() != 1 || len(rec.got) != 1 || rec.got[0].Accept != (mode == "open") {
				t.Errorf("panics %d verdicts %v; want one recovered panic and accept=%v", w.Stats.Panics.Load(), rec.got, mode == "open")
			}
		})
	}
}

// panicOnce panics on the first verdict, as a bug in the packet path
// would, and records the rest.
type panicOnce struct {
	rec      *recorder
	panicked bool
}

func (p *panicOnce) Verdict(id uint32, accept bool, mark uint32) {
	if !p.panicked {
		p.panicked = true
		panic("test panic")
	}
	p.rec.Verdict(id, accept, mark)
}

func TestFlowSize(t *testing.T) {
	t.Logf("flow entry: %d bytes", FlowSize)
	if FlowSize > 1024 {
		t.Errorf("a flow entry takes %d bytes, want under 1 KiB", FlowSize)
	}
}

// webAppPolicy allows HTTP, by app-ID, to port 80.
const webAppPolicy = `
[[rules]]
name = "web"
from = "any"
to = "any"
ports = ["tcp/80"]
app = "http"
action = "allow"
`

// BenchmarkWorkerHandle is the inspector's own cost per queued packet:
// each op is one new flow's first two queued packets (the client's ACK
// and its HTTP request), decided by an app rule, through Handle with a
// verdicter that records nothing. The queue's syscalls are not included.
func BenchmarkWorkerHandle(b *testing.B) {
	pol := compilePolicy(b, webAppPolicy, "")
	var ptr atomic.Pointer[Policy]
	ptr.Store(pol)
	w := NewWorker(Config{MaxFlows: 1024, AllowMark: allowMark, DenyMark: denyMark, VerdictMask: verdictMask},
		Deps{Policy: &ptr, Verdicter: nopVerdicter{}})
	const flows = 4096
	pkts := make([][2][]byte, flows)
	for i := range pkts {
		c := &tcpConn{t: b, client: net.IP{10, 1, byte(i >> 8), byte(i)}, server: net.IP{10, 3, 1, 10}, cport: 40000, sport: 80, cseq: 1, sseq: 1}
		pkts[i] = [2][]byte{c.pkt(true, "A", ""), c.pkt(true, "PA", "GET / HTTP/1.1\r\nHost: shop.example\r\n\r\n")}
	}
	qp := &Packet{Hook: HookInput}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		p := &pkts[i%flows]
		qp.ID, qp.Payload = uint32(2*i), p[0]
		w.Handle(qp)
		qp.ID, qp.Payload = uint32(2*i+1), p[1]
		w.Handle(qp)
		i++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(2*b.N), "ns/packet")
}

type nopVerdicter struct{}

func (nopVerdicter) Verdict(uint32, bool, uint32) {}

// TestWorkerNoAllocs: a new flow's packets, decided by app-ID, allocate
// nothing in the inspector (no event sink: events are per flow, and off
// the packet path's budget).
func TestWorkerNoAllocs(t *testing.T) {
	pol := compilePolicy(t, testPolicy, testInventory)
	var ptr atomic.Pointer[Policy]
	ptr.Store(pol)
	w := NewWorker(Config{MaxFlows: 64, AllowMark: allowMark, DenyMark: denyMark, VerdictMask: verdictMask},
		Deps{Policy: &ptr, Verdicter: nopVerdicter{}})
	var pkts [][2][]byte
	for i := range 256 {
		c := &tcpConn{t: t, client: net.IP{10, 3, 2, byte(i)}, server: net.IP{10, 3, 3, 10}, cport: 40000, sport: 5432, cseq: 1, sseq: 1}
		pkts = append(pkts, [2][]byte{c.pkt(true, "A", ""), c.pkt(true, "PA", "\x00\x00\x00\x08\x04\xd2\x16\x2f")})
	}
	qp := &Packet{Hook: HookInput}
	i := 0
	n := testing.AllocsPerRun(200, func() {
		p := &pkts[i%len(pkts)]
		qp.Payload = p[0]
		w.Handle(qp)
		qp.Payload = p[1]
		w.Handle(qp)
		i++
	})
	if n != 0 {
		t.Errorf("a new flow's packets allocate %v times, want 0", n)
	}
}

// TestWorkerDecideIdle: Sweep forgets an idle undecided flow; with
// DecideIdle (replay) it decides it first, so that its event is written.
func TestWorkerDecideIdle(t *testing.T) {
	pol := compilePolicy(t, testPolicy, testInventory)
	for _, decide := range []bool{false, true} {
		now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
		var ptr atomic.Pointer[Policy]
		ptr.Store(pol)
		sink := &sinkRecorder{}
		w := NewWorker(Config{AllowMark: allowMark, DenyMark: denyMark, VerdictMask: verdictMask, PassFirstPackets: true, DecideIdle: decide},
			Deps{Policy: &ptr, Verdicter: nopVerdicter{}, Sink: sink, Now: func() time.Time { return now }})
		c := &tcpConn{t: t, client: net.IP{10, 3, 2, 1}, server: net.IP{10, 3, 3, 10}, cport: 40003, sport: 5432, cseq: 1, sseq: 1}
		w.Handle(&Packet{ID: 1, Payload: c.pkt(true, "S", ""), Hook: HookInput})
		w.Handle(&Packet{ID: 2, Payload: c.pkt(true, "PA", "\x00\x00"), Hook: HookInput})
		now = now.Add(DefaultIdleTimeout)
		w.Sweep()
		if w.Len() != 0 {
			t.Errorf("DecideIdle %v: %d flows left after the idle timeout", decide, w.Len())
		}
		if got := len(sink.events); got != map[bool]int{false: 0, true: 1}[decide] {
			t.Errorf("DecideIdle %v: %d events", decide, got)
		} else if decide && sink.events[0].Action != ir.ActionDeny {
			t.Errorf("idle flow decided %v, want the default's deny (no PostgreSQL seen)", sink.events[0].Action)
		}
	}
}

// verdictRecorder records verdicts in order.
type verdictRecorder struct{ ids []uint32 }

func (v *verdictRecorder) Verdict(id uint32, _ bool, _ uint32) { v.ids = append(v.ids, id) }

// TestWorkerBatchDefersEvents: within a batch, a decision's verdict is
// given at once and its event waits for EndBatch; outside a batch the
// event is emitted at once.
func TestWorkerBatchDefersEvents(t *testing.T) {
	pol := compilePolicy(t, webAppPolicy, "")
	var ptr atomic.Pointer[Policy]
	ptr.Store(pol)
	sink, verdicts := &sinkRecorder{}, &verdictRecorder{}
	w := NewWorker(Config{AllowMark: allowMark, DenyMark: denyMark, VerdictMask: verdictMask},
		Deps{Policy: &ptr, Verdicter: verdicts, Sink: sink})
	request := func(i byte) [2][]byte {
		c := &tcpConn{t: t, client: net.IP{10, 1, 0, i}, server: net.IP{10, 3, 1, 10}, cport: 40000, sport: 80, cseq: 1, sseq: 1}
		return [2][]byte{c.pkt(true, "A", ""), c.pkt(true, "PA", "GET / HTTP/1.1\r\nHost: shop.example\r\n\r\n")}
	}
	id := uint32(0)
	handle := func(p [2][]byte) {
		for _, b := range p {
			id++
			w.Handle(&Packet{ID: id, Payload: b, Hook: HookInput})
		}
	}

	w.BeginBatch()
	handle(request(1))
	handle(request(2))
	if len(verdicts.ids) != 4 {
		t.Fatalf("%d verdicts within the batch, want 4 (each packet answered at once)", len(verdicts.ids))
	}
	if len(sink.events) != 0 {
		t.Fatalf("%d events emitted within the batch, want 0 until EndBatch", len(sink.events))
	}
	w.EndBatch()
	if len(sink.events) != 2 {
		t.Fatalf("%d events after EndBatch, want 2", len(sink.events))
	}
	for i, e := range sink.events {
		if want := netip.AddrFrom4([4]byte{10, 1, 0, byte(i + 1)}); e.Src.Addr() != want || e.App != "http" {
			t.Errorf("event %d: %v app %q, want from %v, http", i, e.Src, e.App, want)
		}
	}

	handle(request(3)) // no batch: at once
	if len(sink.events) != 3 {
		t.Errorf("%d events after a decision outside a batch, want 3", len(sink.events))
	}
	w.BeginBatch()
	w.EndBatch() // an empty batch emits nothing again
	if len(sink.events) != 3 {
		t.Errorf("%d events after an empty batch, want 3", len(sink.events))
	}
}
