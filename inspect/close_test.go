package inspect

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/septa-fw/septa/inspect/ids"
	"github.com/septa-fw/septa/inspect/ids/sig"
)

// idsWorker returns a worker whose policy allows app on port (tcp/80,
// tcp/443) with signatures in detect mode, from the rules text.
func idsWorker(t *testing.T, port, app, rules string, v Verdicter, sink Sink) *Worker {
	t.Helper()
	rulesFile := filepath.Join(t.TempDir(), "test.rules")
	if err := os.WriteFile(rulesFile, []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	pol := compilePolicy(t, fmt.Sprintf(`
[[rules]]
name = "web"
from = "any"
to = "any"
ports = [%q]
app = %q
ids = "detect"
action = "allow"
[ids]
signatures = [%q]
`, port, app, rulesFile), "")
	eng, err := sig.NewFromConfig(ids.Config{Files: []string{rulesFile}})
	if err != nil {
		t.Fatal(err)
	}
	var engPtr atomic.Pointer[IDSEngine]
	engPtr.Store(&IDSEngine{Engine: eng})
	var ptr atomic.Pointer[Policy]
	ptr.Store(pol)
	return NewWorker(Config{AllowMark: allowMark, DenyMark: denyMark, VerdictMask: verdictMask},
		Deps{Policy: &ptr, Verdicter: v, Sink: sink, IDS: &engPtr, Now: testClock.now})
}

// TestIDSFlowEndsAtBothFINs: a flow under signatures leaves the inspector
// (its verdict carries the allow mark, its buffers go back) once both
// sides closed with all their data seen, and not before: a FIN after a
// gap or with a sequence number past the data does not end it.
func TestIDSFlowEndsAtBothFINs(t *testing.T) {
	const req, resp = "GET / HTTP/1.1\r\nHost: shop.example\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	tests := []struct {
		name string
		// run sends the flow after the handshake and returns the id of
		// the packet whose verdict should end inspection (0: none).
		run func(c *tcpConn, send func(id uint32, b []byte)) uint32
	}{
		{"in order", func(c *tcpConn, send func(uint32, []byte)) uint32 {
			send(1, c.pkt(true, "PA", req))
			send(2, c.pkt(false, "PA", resp))
			send(3, c.pkt(true, "FA", ""))
			send(4, c.pkt(false, "FA", ""))
			return 4
		}},
		{"FIN after a gap, then the gap filled", func(c *tcpConn, send func(uint32, []byte)) uint32 {
			send(1, c.pkt(true, "PA", req[:10]))
			first := c.cseq
			c.cseq += 10
			send(2, c.pkt(true, "PA", req[20:]))
			send(3, c.pkt(false, "PA", resp))
			send(4, c.pkt(true, "FA", ""))
			send(5, c.pkt(false, "FA", ""))
			c.cseq = first
			send(6, c.pkt(true, "PA", req[10:20]))
			return 6
		}},
		{"FIN past the data", func(c *tcpConn, send func(uint32, []byte)) uint32 {
			send(1, c.pkt(true, "PA", req))
			send(2, c.pkt(false, "PA", resp))
			c.cseq += 100
			send(3, c.pkt(true, "FA", ""))
			send(4, c.pkt(false, "FA", ""))
			return 0
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			// A signature that never matches keeps the flow inspected.
			w := idsWorker(t, "tcp/80", "http", `alert http any any -> any any (msg:"keeps flows inspected"; flow:to_client; content:"never sent"; sid:2; rev:1;)`+"\n", rec, nil)
			c := &tcpConn{t: t, client: net.IP{10, 1, 0, 11}, server: net.IP{10, 3, 1, 10}, cport: 40001, sport: 80, cseq: 1, sseq: 1}
			c.pkt(true, "S", "")
			c.pkt(false, "SA", "")
			// during[i]: the packet whose handling gave verdict i (held
			// packets get theirs with a later packet's).
			var during []uint32
			send := func(id uint32, b []byte) {
				w.Handle(&Packet{ID: id, Payload: b, Hook: HookInput})
				for len(during) < len(rec.got) {
					during = append(during, id)
				}
			}
			send(100, c.pkt(true, "A", ""))
			end := tt.run(c, send)
			// Only the verdicts given while handling the end packet
			// carry the allow mark.
			ended := false
			for i, v := range rec.got[1:] {
				allowed := v.Mark&verdictMask == allowMark
				ended = ended || v.ID == end
				if want := during[i+1] == end; allowed != want {
					t.Errorf("packet %d (verdict while handling %d): mark %#x, allow mark wanted: %v", v.ID, during[i+1], v.Mark, want)
				}
			}
			if end != 0 && !ended {
				t.Errorf("no verdict for packet %d: %+v", end, rec.got)
			}
			if held := w.pool.inUse; (end != 0) != (held == 0) {
				t.Errorf("%d stream buffers held after the flow", held)
			}
		})
	}
}

// testClock is the IDS test workers' clock; a test that moves it must not
// run in parallel.
var testClock = &clock{t: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// TestIDSFlowOutlivesLinger: a flow still under signatures is not
// forgotten after the linger of decided flows, only after the idle
// timeout: a pause in a keep-alive connection must not end its
// inspection.
func TestIDSFlowOutlivesLinger(t *testing.T) {
	w := idsWorker(t, "tcp/80", "http", `alert http any any -> any any (msg:"keeps flows inspected"; flow:to_client; content:"never sent"; sid:2; rev:1;)`+"\n", nopVerdicter{}, nil)
	c := &tcpConn{t: t, client: net.IP{10, 1, 0, 11}, server: net.IP{10, 3, 1, 10}, cport: 40001, sport: 80, cseq: 1, sseq: 1}
	c.pkt(true, "S", "")
	c.pkt(false, "SA", "")
	w.Handle(&Packet{ID: 1, Payload: c.pkt(true, "A", ""), Hook: HookInput})
	w.Handle(&Packet{ID: 2, Payload: c.pkt(true, "PA", "GET / HTTP/1.1\r\nHost: shop.example\r\n\r\n"), Hook: HookInput})
	// A flow decided after it (no rule allows port 9) lingers and goes.
	d := &tcpConn{t: t, client: net.IP{10, 1, 0, 12}, server: net.IP{10, 3, 1, 10}, cport: 40002, sport: 9, cseq: 1, sseq: 1}
	w.Handle(&Packet{ID: 3, Payload: d.pkt(true, "PA", "hello"), Hook: HookInput})
	if w.Len() != 2 {
		t.Fatalf("%d flows, want 2", w.Len())
	}
	start := testClock.t
	defer func() { testClock.t = start }()
	testClock.t = start.Add(DefaultLinger)
	w.Sweep()
	if w.Len() != 1 {
		t.Fatalf("%d flows after the linger (%v), want the inspected one only", w.Len(), DefaultLinger)
	}
	testClock.t = start.Add(DefaultIdleTimeout)
	w.Sweep()
	if w.Len() != 0 {
		t.Errorf("the inspected flow outlived the idle timeout")
	}
}
