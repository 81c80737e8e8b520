//go:build linux

package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/septa-fw/septa/integration/lab"
)

// recordingServer keeps what each connection sent, by client address.
type recordingServer struct {
	mu   sync.Mutex
	got  map[netip.AddrPort][]byte
	done map[netip.AddrPort]bool
}

func serveRecording(t *testing.T, h *lab.Host, port uint16) *recordingServer {
	t.Helper()
	ln, err := h.ListenTCP(port)
	if err != nil {
		t.Fatal(err)
	}
	s := &recordingServer{got: map[netip.AddrPort][]byte{}, done: map[netip.AddrPort]bool{}}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				from := netip.MustParseAddrPort(c.RemoteAddr().String())
				buf := make([]byte, 4096)
				for {
					c.SetReadDeadline(time.Now().Add(3 * time.Second))
					n, err := c.Read(buf)
					s.mu.Lock()
					s.got[from] = append(s.got[from], buf[:n]...)
					if err != nil {
						s.done[from] = true
					}
					s.mu.Unlock()
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return s
}

// received returns what the server read from a client so far.
func (s *recordingServer) received(from netip.AddrPort) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.got[from])
}

const evasionPolicy = `
[settings]
default = "deny"
[[rules]]
name = "web-ids"
direction = "in"
from = "any"
to = "self"
ports = ["tcp/80"]
ids = "prevent"
action = "allow"
[ids]
signatures = [%q]
`

// TestEvasion (issue 11): an attacker crafts TCP by hand to slip a
// request past the signature that blocks it: split across segments, out
// of order, overlapping with different bytes, retransmitted with other
// content, in IP fragments. Whatever the trick, the server never reads
// the attack; the flow is blocked by the signature, or denied as evasion
// where the segments disagree. A benign request sent with the same
// tricks (but no disagreement) reaches the server whole, so the tricks
// themselves work.
func TestEvasion(t *testing.T) {
	l := newLab(t, lab.DefaultHosts()[2], lab.DefaultHosts()[8])
	web, attacker := l.Host("prod-web"), l.Host("attacker")
	srv := serveRecording(t, web, 80)
	rulesFile := filepath.Join(t.TempDir(), "test.rules")
	if err := os.WriteFile(rulesFile, []byte(idsSignatures), 0o644); err != nil {
		t.Fatal(err)
	}
	sd := startSeptad(t, web, fmt.Sprintf(evasionPolicy, rulesFile), "")

	const attack = "GET /cgi-bin/run?cmd=/bin/sh HTTP/1.1\r\nHost: shop.example\r\n\r\n"
	const benign = "GET /cgi-bin/run?cmd=/bin/ls HTTP/1.1\r\nHost: shop.example\r\n\r\n"
	at := bytes.Index([]byte(attack), []byte("/bin/sh"))
	type seg struct {
		off   int
		data  string
		frags int
	}
	// pieces cuts a request into n segments at the signature's pattern.
	pieces := func(req string, cuts ...int) []seg {
		var out []seg
		prev := 0
		for _, c := range append(cuts, len(req)) {
			out = append(out, seg{off: prev, data: req[prev:c]})
			prev = c
		}
		return out
	}
	reverse := func(s []seg) []seg {
		out := make([]seg, len(s))
		for i := range s {
			out[len(s)-1-i] = s[i]
		}
		return out
	}
	tests := []struct {
		name    string
		segs    []seg
		want    string // what the server must read in full ("" for nothing of the attack)
		verdict string // the reason counted by septad: signature or evasion; "" for none
	}{
		{name: "benign split out of order", segs: reverse(pieces(benign, at+2, at+5)), want: benign},
		{name: "benign in fragments", segs: []seg{{0, benign, 6}}, want: benign},
		{name: "benign in tiny fragments", segs: []seg{{0, benign, 12}}, want: benign},
		{name: "one segment", segs: pieces(attack), verdict: "signature"},
		{name: "split at the pattern", segs: pieces(attack, at+2, at+5), verdict: "signature"},
		{name: "out of order", segs: reverse(pieces(attack, at+2, at+5)), verdict: "signature"},
		{name: "IP fragments", segs: []seg{{0, attack, 4}}, verdict: "signature"},
		{name: "tiny IP fragments", segs: []seg{{0, attack, 12}}, verdict: "signature"},
		{
			// The server reads the first bytes of each range (in order);
			// the rest of the attack comes in a segment that overlaps them.
			name: "overlap in order",
			segs: []seg{{0, benign[:at+6], 0}, {at, attack[at:], 0}}, verdict: "evasion",
		},
		{
			// Linux lets a later out-of-order segment that covers an
			// earlier one replace it: the attack would win in the
			// server's stream while the first bytes look benign.
			name: "overlap out of order",
			segs: []seg{{at + 1, benign[at+1 : at+7], 0}, {at, attack[at:], 0}, {0, attack[:at], 0}}, verdict: "evasion",
		},
		{
			name: "retransmission with other content",
			segs: []seg{{0, benign, 0}, {0, attack, 0}}, verdict: "evasion",
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := sd.verdicts(tt.verdict)
			c, err := attacker.RawTCP(ap(web.V4, 80), uint16(41000+i))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Handshake(3 * time.Second); err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.segs {
				if err := c.Send(s.off, []byte(s.data), s.frags); err != nil {
					t.Fatal(err)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if tt.want != "" {
				if !pollFor(5*time.Second, func() bool { return string(srv.received(c.Src)) == tt.want }) {
					t.Fatalf("the server read %q, want %q", srv.received(c.Src), tt.want)
				}
				return
			}
			if !pollFor(5*time.Second, func() bool { return sd.verdicts(tt.verdict) > before }) {
				t.Errorf("no %s verdict", tt.verdict)
			}
			// Give the server's stack time to deliver anything that got
			// through, then check it read no attack.
			time.Sleep(300 * time.Millisecond)
			if got := srv.received(c.Src); bytes.Contains(got, []byte("/bin/sh")) {
				t.Errorf("the server read the attack: %q", got)
			} else {
				t.Logf("the server read %q", got)
			}
		})
	}
}

// ruleCount is the kernel's count of packets that septa's rules with ID
// id matched (the counters of `nft -j list ruleset`).
func ruleCount(t *testing.T, h *lab.Host, id string) uint64 {
	t.Helper()
	var n uint64
	for _, r := range rulesOf(t, listRuleset(t, h), "septa") {
		if r.Comment != id {
			continue
		}
		for _, e := range r.Expr {
			var c struct {
				Counter *struct{ Packets uint64 } `json:"counter"`
			}
			if json.Unmarshal(e, &c) == nil && c.Counter != nil {
				n += c.Counter.Packets
			}
		}
	}
	return n
}

// TestMalformedTCP (issue 11): segments no TCP stack sends — invalid flag
// combinations, a bad checksum — to a port the policy allows are dropped
// by conntrack's verdict in septa's table, and counted, before the
// server's stack sees them: a closed port answers none of them with a
// reset, while it does answer a valid SYN.
func TestMalformedTCP(t *testing.T) {
	l := newLab(t, lab.DefaultHosts()[2], lab.DefaultHosts()[8])
	web, attacker := l.Host("prod-web"), l.Host("attacker")
	startSeptad(t, web, lifecycle("closed", 81), "")
	tests := []struct {
		name        string
		flags       int
		badChecksum bool
		invalid     bool
	}{
		{name: "valid SYN", flags: lab.TCPSyn},
		{name: "SYN FIN", flags: lab.TCPSyn | lab.TCPFin, invalid: true},
		{name: "no flags", flags: 0, invalid: true},
		{name: "FIN PSH URG", flags: lab.TCPFin | lab.TCPPsh | lab.TCPUrg, invalid: true},
		{name: "SYN RST", flags: lab.TCPSyn | lab.TCPRst, invalid: true},
		{name: "SYN with a bad checksum", flags: lab.TCPSyn, badChecksum: true, invalid: true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := ruleCount(t, web, "septa:invalid")
			c, err := attacker.RawTCP(ap(web.V4, 81), uint16(42000+i))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.SendFlags(tt.flags, nil, tt.badChecksum); err != nil {
				t.Fatal(err)
			}
			replies, err := c.Replies(time.Second)
			if err != nil {
				t.Fatal(err)
			}
			dropped := ruleCount(t, web, "septa:invalid") - before
			switch {
			case tt.invalid && (replies != 0 || dropped != 1):
				t.Errorf("%d replies, %d counted invalid; want none and 1", replies, dropped)
			case !tt.invalid && (replies != 1 || dropped != 0):
				t.Errorf("%d replies, %d counted invalid; want the closed port's reset and none", replies, dropped)
			}
		})
	}
}
