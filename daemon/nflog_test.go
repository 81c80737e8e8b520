//go:build linux

package daemon

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/septa-fw/septa/daemon/events"
	"github.com/septa-fw/septa/inspect"
	"github.com/septa-fw/septa/rules/ir"
	"golang.org/x/sys/unix"
)

// The log messages below are built the way the kernel builds them
// (__build_packet_message in net/netfilter/nfnetlink_log.c), for
// `nft add rule inet septa rules_in ... log group 1 prefix "ssh-deny"`:
//
//	struct nlmsghdr   u32 len, u16 type = NFNL_SUBSYS_ULOG<<8 | NFULNL_MSG_PACKET (0x0400),
//	                  u16 flags (NLM_F_MULTI in a batch), u32 seq, u32 portid   (host-endian)
//	struct nfgenmsg   u8 family (NFPROTO_IPV4 2 / NFPROTO_IPV6 10), u8 version 0, be16 group
//	attributes        struct nlattr { u16 len; u16 type } + value, each padded to 4 bytes,
//	                  in the kernel's order:
//	  NFULA_PACKET_HDR (1)      be16 hw_protocol, u8 hook, u8 pad
//	  NFULA_PREFIX (10)         the prefix and its NUL
//	  NFULA_IFINDEX_INDEV (4)   be32
//	  NFULA_MARK (2)            be32
//	  NFULA_PAYLOAD (9)         the packet from its IP header, cut at the copy range
//
// A batch of several messages ends with NLMSG_DONE.

// testLog is one logged packet to encode.
type testLog struct {
	family  uint8
	group   uint16
	hook    uint8
	prefix  string // "" for none
	payload []byte
}

func nlattr(typ uint16, v []byte) []byte {
	b := binary.NativeEndian.AppendUint16(nil, uint16(4+len(v)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func nlmsg(typ, flags uint16, seq uint32, body []byte) []byte {
	b := binary.NativeEndian.AppendUint32(nil, uint32(16+len(body)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = binary.NativeEndian.AppendUint16(b, flags)
	b = binary.NativeEndian.AppendUint32(b, seq)
	b = binary.NativeEndian.AppendUint32(b, 0)
	b = append(b, body...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func (m testLog) body() []byte {
	hw := uint16(0x0800)
	if m.family == unix.AF_INET6 {
		hw = 0x86dd
	}
	b := []byte{m.family, 0, byte(m.group >> 8), byte(m.group)}
	b = append(b, nlattr(nfulaPacketHdr, []byte{byte(hw >> 8), byte(hw), m.hook, 0})...)
	if m.prefix != "" {
		b = append(b, nlattr(nfulaPrefix, append([]byte(m.prefix), 0))...)
	}
	b = append(b, nlattr(4, []byte{0, 0, 0, 2})...)        // NFULA_IFINDEX_INDEV 2
	b = append(b, nlattr(2|0x4000, []byte{0, 0, 0, 0})...) // NFULA_MARK, with NLA_F_NET_BYTEORDER set
	return append(b, nlattr(nfulaPayload, m.payload)...)
}

func (m testLog) msg() []byte { return nlmsg(nfnlSubsysULOG<<8|nfulnlMsgPacket, 0, 0, m.body()) }

// batch is a datagram of several log messages, as the kernel flushes
// them: NLM_F_MULTI on each, then NLMSG_DONE.
func batch(ms ...testLog) []byte {
	var b []byte
	for _, m := range ms {
		b = append(b, nlmsg(nfnlSubsysULOG<<8|nfulnlMsgPacket, unix.NLM_F_MULTI, 0, m.body())...)
	}
	return append(b, nlmsg(unix.NLMSG_DONE, unix.NLM_F_MULTI, 0, []byte{0, 0, 0, 0})...)
}

// ipv4TCP is an IPv4 header (20 bytes, RFC 791) and a TCP header (20
// bytes, RFC 9293) with the given flags; total is the IP total length
// (0: exactly the headers), so that a packet longer than what the kernel
// copied can be built. Checksums are zero: nobody checks them here.
func ipv4TCP(src, dst string, sport, dport uint16, flags uint8, total int) []byte {
	if total == 0 {
		total = 40
	}
	b := make([]byte, 40)
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:4], uint16(total))
	b[8], b[9] = 64, 6
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	copy(b[12:16], s[:])
	copy(b[16:20], d[:])
	binary.BigEndian.PutUint16(b[20:22], sport)
	binary.BigEndian.PutUint16(b[22:24], dport)
	b[32] = 5 << 4
	b[33] = flags
	return b
}

// ipv6UDP is an IPv6 header (40 bytes, RFC 8200) and a UDP header (8
// bytes, RFC 768) followed by n payload bytes, cut at capture bytes when
// capture is not 0 (as the copy range cuts it).
func ipv6UDP(src, dst string, sport, dport uint16, n, capture int) []byte {
	b := make([]byte, 48+n)
	b[0] = 0x60
	binary.BigEndian.PutUint16(b[4:6], uint16(8+n))
	b[6], b[7] = 17, 64
	s, d := netip.MustParseAddr(src).As16(), netip.MustParseAddr(dst).As16()
	copy(b[8:24], s[:])
	copy(b[24:40], d[:])
	binary.BigEndian.PutUint16(b[40:42], sport)
	binary.BigEndian.PutUint16(b[42:44], dport)
	binary.BigEndian.PutUint16(b[44:46], uint16(8+n))
	if capture > 0 && capture < len(b) {
		b = b[:capture]
	}
	return b
}

func TestParseNFLOGPacket(t *testing.T) {
	syn := ipv4TCP("10.66.0.11", "10.3.3.10", 40000, 5432, 0x02, 0)
	tests := []struct {
		name string
		body []byte
		want nflogPacket
		ok   bool
	}{
		{
			name: "deny rule",
			body: testLog{family: unix.AF_INET, group: 1, hook: unix.NF_INET_LOCAL_IN, prefix: "ssh-deny", payload: syn}.body(),
			want: nflogPacket{Family: unix.AF_INET, Group: 1, Hook: unix.NF_INET_LOCAL_IN, HasHdr: true, Prefix: []byte("ssh-deny"), Payload: syn},
			ok:   true,
		},
		{
			name: "no prefix, output hook, group 3",
			body: testLog{family: unix.AF_INET, group: 3, hook: unix.NF_INET_LOCAL_OUT, payload: syn}.body(),
			want: nflogPacket{Family: unix.AF_INET, Group: 3, Hook: unix.NF_INET_LOCAL_OUT, HasHdr: true, Payload: syn},
			ok:   true,
		},
		{
			name: "no attributes",
			body: []byte{unix.AF_INET6, 0, 0, 2},
			want: nflogPacket{Family: unix.AF_INET6, Group: 2},
			ok:   true,
		},
		{
			name: "short nfgenmsg",
			body: []byte{2, 0, 0},
		},
		{
			name: "attribute past the end",
			body: append([]byte{2, 0, 0, 1}, 40, 0, nfulaPayload, 0, 1, 2, 3, 4),
			want: nflogPacket{Family: 2, Group: 1},
		},
		{
			name: "attribute shorter than its header",
			body: append([]byte{2, 0, 0, 1}, 2, 0, nfulaPayload, 0),
			want: nflogPacket{Family: 2, Group: 1},
		},
		{
			name: "short packet header is skipped",
			body: append([]byte{2, 0, 0, 1}, nlattr(nfulaPacketHdr, []byte{8, 0})...),
			want: nflogPacket{Family: 2, Group: 1},
			ok:   true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got nflogPacket
			ok := parseNFLOGPacket(tt.body, &got)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(nflogPacket{})); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestNextNetlinkMessage(t *testing.T) {
	m := testLog{family: 2, group: 1, prefix: "a", payload: []byte{0x45}}
	b := batch(m, m)
	var types []uint16
	for {
		msg, rest, ok := nextNetlinkMessage(b)
		if !ok {
			break
		}
		if !msg.valid {
			t.Fatalf("invalid message after %v", types)
		}
		types = append(types, msg.typ)
		b = rest
	}
	want := []uint16{0x0400, 0x0400, unix.NLMSG_DONE}
	if diff := cmp.Diff(want, types); diff != "" {
		t.Errorf("types (-want +got)\n%s", diff)
	}

	bad := m.msg()
	binary.NativeEndian.PutUint32(bad[0:4], uint32(len(bad)+4))
	if msg, rest, ok := nextNetlinkMessage(bad); !ok || msg.valid || len(rest) != 0 {
		t.Errorf("overlong message: ok %v valid %v rest %d, want true false 0", ok, msg.valid, len(rest))
	}
}

// TestNFLOGConfigRequest pins the bind request, as libnetfilter_log's
// nflog_bind_group, nflog_set_mode, nflog_set_timeout and
// nflog_set_qthresh would send it in one message.
func TestNFLOGConfigRequest(t *testing.T) {
	got := nflogConfigRequest(2, 128, 10, 32)
	ne := func(v uint16) []byte { return binary.NativeEndian.AppendUint16(nil, v) }
	var want []byte
	want = append(want, 0, 0, 0, 2)                                                    // AF_UNSPEC, NFNETLINK_V0, group 2
	want = append(append(append(want, ne(5)...), ne(1)...), 1, 0, 0, 0)                // NFULA_CFG_CMD: BIND
	want = append(append(append(want, ne(10)...), ne(2)...), 0, 0, 0, 128, 2, 0, 0, 0) // NFULA_CFG_MODE: range 128, COPY_PACKET
	want = append(append(append(want, ne(8)...), ne(4)...), 0, 0, 0, 10)               // NFULA_CFG_TIMEOUT: 100 ms
	want = append(append(append(want, ne(8)...), ne(5)...), 0, 0, 0, 32)               // NFULA_CFG_QTHRESH: 32
	if !bytes.Equal(got, want) {
		t.Errorf("config request\n got % x\nwant % x", got, want)
	}
}

// fakeClock is a clock tests move by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

// testListener is a listener without a socket whose events are kept.
func testListener(t *testing.T, clock *fakeClock, maxKeys int) (*NFLOGListener, *[]*events.Event) {
	t.Helper()
	var got []*events.Event
	l := newNFLOGListener(NFLOGConfig{
		DenyGroup: 1, ObserveGroup: 2, AllowGroup: 3,
		Publish: func(e *events.Event) { got = append(got, e) },
		Enrich: func(e *events.Event) {
			if e.Src.Addr().Is4() && e.Src.Addr().As4()[1] == 66 {
				e.ZoneSrc = "attacker"
			}
		},
		Now:     clock.now,
		MaxKeys: maxKeys,
	})
	return l, &got
}

var cmpEvents = cmp.Options{
	cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b }),
}

func TestNFLOGEvents(t *testing.T) {
	base := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	a4, d4 := "10.66.0.11", "10.3.3.10"
	a6, d6 := "fd00:42::11", "fd00:3::3:10"
	src := func(s string, p uint16) netip.AddrPort { return netip.AddrPortFrom(netip.MustParseAddr(s), p) }
	ev := func(kind events.Kind, srcAddr string, sport uint16, dstAddr string, dport uint16, proto uint8, rule, action, reason string, observe bool) *events.Event {
		e := &events.Event{Kind: kind, Time: base, Src: src(srcAddr, sport), Dst: src(dstAddr, dport), Proto: proto,
			Rule: rule, Action: action, Reason: reason, Observe: observe, Start: base, Decider: events.DeciderKernel}
		if e.Src.Addr().Is4() && e.Src.Addr().As4()[1] == 66 {
			e.ZoneSrc = "attacker"
		}
		e.FlowID = events.FlowID(e.Src, e.Dst, e.Proto, base)
		return e
	}
	syn := func(sport, dport uint16) []byte { return ipv4TCP(a4, d4, sport, dport, 0x02, 0) }
	log := func(group uint16, prefix string, payload []byte) testLog {
		fam := uint8(unix.AF_INET)
		if payload[0]>>4 == 6 {
			fam = unix.AF_INET6
		}
		return testLog{family: fam, group: group, hook: unix.NF_INET_LOCAL_IN, prefix: prefix, payload: payload}
	}
	tests := []struct {
		name      string
		datagrams [][]byte
		want      []*events.Event
		stats     NFLOGStats
	}{
		{
			name:      "deny rule",
			datagrams: [][]byte{log(1, "db-deny", syn(40000, 5432)).msg()},
			want:      []*events.Event{ev(events.KindDrop, a4, 40000, d4, 5432, 6, "db-deny", "deny", "policy", false)},
			stats:     NFLOGStats{Received: 1, Published: 1},
		},
		{
			name:      "default deny",
			datagrams: [][]byte{log(1, "septa:default", syn(40000, 6000)).msg()},
			want:      []*events.Event{ev(events.KindDrop, a4, 40000, d4, 6000, 6, "", "deny", "default", false)},
			stats:     NFLOGStats{Received: 1, Published: 1},
		},
		{
			name:      "observe",
			datagrams: [][]byte{log(2, "db-deny", syn(40000, 5432)).msg()},
			want:      []*events.Event{ev(events.KindFlow, a4, 40000, d4, 5432, 6, "db-deny", "deny", "policy", true)},
			stats:     NFLOGStats{Received: 1, Published: 1},
		},
		{
			name:      "logged allow",
			datagrams: [][]byte{log(3, "ssh-in", syn(40000, 22)).msg()},
			want:      []*events.Event{ev(events.KindFlow, a4, 40000, d4, 22, 6, "ssh-in", "allow", "policy", false)},
			stats:     NFLOGStats{Received: 1, Published: 1},
		},
		{
			// 1200 bytes of UDP cut to the 128 the kernel copies: the IP
			// and UDP lengths say more than there is.
			name:      "IPv6 UDP cut at the copy range",
			datagrams: [][]byte{log(1, "septa:default", ipv6UDP(a6, d6, 5353, 53, 1200, nflogCopyRange)).msg()},
			want:      []*events.Event{ev(events.KindDrop, a6, 5353, d6, 53, 17, "", "deny", "default", false)},
			stats:     NFLOGStats{Received: 1, Published: 1},
		},
		{
			name:      "IPv4 TCP longer than copied",
			datagrams: [][]byte{log(1, "db-deny", ipv4TCP(a4, d4, 40000, 5432, 0x18, 1500)).msg()},
			want:      []*events.Event{ev(events.KindDrop, a4, 40000, d4, 5432, 6, "db-deny", "deny", "policy", false)},
			stats:     NFLOGStats{Received: 1, Published: 1},
		},
		{
			// Retries from new source ports, and a retransmission, in one
			// batch and the next: one event.
			name: "retries are one event",
			datagrams: [][]byte{
				batch(log(1, "db-deny", syn(40000, 5432)), log(1, "db-deny", syn(40001, 5432)), log(1, "db-deny", syn(40000, 5432))),
				log(1, "db-deny", syn(40002, 5432)).msg(),
			},
			want:  []*events.Event{ev(events.KindDrop, a4, 40000, d4, 5432, 6, "db-deny", "deny", "policy", false)},
			stats: NFLOGStats{Received: 4, Published: 1, Suppressed: 3},
		},
		{
			name: "another port, rule or group is another event",
			datagrams: [][]byte{batch(
				log(1, "db-deny", syn(40000, 5432)),
				log(1, "db-deny", syn(40000, 5433)),
				log(1, "septa:default", syn(40000, 5432)),
				log(2, "db-deny", syn(40000, 5432)),
			)},
			want: []*events.Event{
				ev(events.KindDrop, a4, 40000, d4, 5432, 6, "db-deny", "deny", "policy", false),
				ev(events.KindDrop, a4, 40000, d4, 5433, 6, "db-deny", "deny", "policy", false),
				ev(events.KindDrop, a4, 40000, d4, 5432, 6, "", "deny", "default", false),
				ev(events.KindFlow, a4, 40000, d4, 5432, 6, "db-deny", "deny", "policy", true),
			},
			stats: NFLOGStats{Received: 4, Published: 4},
		},
		{
			name: "not septa's: unbound group, no prefix",
			datagrams: [][]byte{
				log(7, "db-deny", syn(40000, 5432)).msg(),
				log(1, "", syn(40000, 5432)).msg(),
			},
			stats: NFLOGStats{Received: 2},
		},
		{
			name: "malformed",
			datagrams: [][]byte{
				log(1, "db-deny", []byte{0x45, 0, 0}).msg(),                  // no addresses
				log(1, "db-deny", []byte{0x20, 1, 2, 3}).msg(),               // not IP
				nlmsg(nfnlSubsysULOG<<8|nfulnlMsgPacket, 0, 0, []byte{2, 0}), // short nfgenmsg
				{16, 0, 0}, // short netlink header: ignored
				append(log(1, "db-deny", syn(40000, 5432)).msg()[:20], 0, 0, 0, 0), // length past the datagram
			},
			stats: NFLOGStats{Received: 3, Errors: 4},
		},
		{
			name:      "kernel error",
			datagrams: [][]byte{nlmsg(unix.NLMSG_ERROR, 0, 9, binary.NativeEndian.AppendUint32(nil, uint32(0xffffffff-uint32(unix.EPERM)+1)))},
			stats:     NFLOGStats{Errors: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, got := testListener(t, &fakeClock{t: base}, 0)
			for _, d := range tt.datagrams {
				l.handleDatagram(d)
			}
			if diff := cmp.Diff(tt.want, *got, cmpEvents); diff != "" {
				t.Errorf("events (-want +got)\n%s", diff)
			}
			if diff := cmp.Diff(tt.stats, l.Stats()); diff != "" {
				t.Errorf("stats (-want +got)\n%s", diff)
			}
		})
	}
}

func TestNFLOGWindow(t *testing.T) {
	clock := &fakeClock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	l, got := testListener(t, clock, 0)
	msg := testLog{family: 2, group: 1, prefix: "db-deny", payload: ipv4TCP("10.66.0.11", "10.3.3.10", 40000, 5432, 2, 0)}.msg()
	steps := []struct {
		after time.Duration
		want  int // events so far
	}{
		{0, 1},
		{time.Second, 1},
		{8 * time.Second, 1}, // 9 s after the event
		{time.Second, 2},     // 10 s: the window is over
		{DefaultNFLOGWindow - time.Nanosecond, 2}, // just inside the new window
		{time.Nanosecond, 3},
	}
	for i, s := range steps {
		clock.advance(s.after)
		l.handleDatagram(msg)
		if len(*got) != s.want {
			t.Fatalf("step %d (+%v): %d events, want %d", i, s.after, len(*got), s.want)
		}
	}
	if st := l.Stats(); st.Suppressed != 3 || st.Published != 3 {
		t.Errorf("stats %+v, want 3 published, 3 suppressed", st)
	}
}

func TestNFLOGDedupe(t *testing.T) {
	const window = 10 * time.Second
	key := func(port uint16) nflogKey {
		return nflogKey{src: netip.MustParseAddr("10.66.0.11"), dst: netip.MustParseAddr("10.3.3.10"), dport: port, proto: 6, role: nflogRoleDeny, rule: "r"}
	}
	type step struct {
		port  uint16
		at    time.Duration
		admit bool
		held  int // keys in the table afterwards
	}
	tests := []struct {
		name  string
		max   int
		steps []step
	}{
		{
			name: "repeats within the window",
			max:  4,
			steps: []step{
				{port: 1, at: 0, admit: true, held: 1},
				{port: 1, at: 5 * time.Second, admit: false, held: 1},
				{port: 2, at: 6 * time.Second, admit: true, held: 2},
				{port: 1, at: window, admit: true, held: 2}, // port 1 expired at 10 s
				{port: 2, at: 15 * time.Second, admit: false, held: 2},
				{port: 2, at: 16 * time.Second, admit: true, held: 2},
				{port: 3, at: 40 * time.Second, admit: true, held: 1}, // the rest expired
			},
		},
		{
			name: "full table forgets the oldest",
			max:  2,
			steps: []step{
				{port: 1, at: 0, admit: true, held: 1},
				{port: 2, at: 1, admit: true, held: 2},
				{port: 3, at: 2, admit: true, held: 2}, // port 1 forgotten
				{port: 1, at: 3, admit: true, held: 2}, // so it is new again; port 2 forgotten
				{port: 3, at: 4, admit: false, held: 2},
				{port: 1, at: 5, admit: false, held: 2},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newNFLOGDedupe(window, tt.max)
			for i, s := range tt.steps {
				if got := d.admit(key(s.port), s.at); got != s.admit {
					t.Errorf("step %d: admit(port %d, %v) = %v, want %v", i, s.port, s.at, got, s.admit)
				}
				if d.len() != s.held || len(d.index) != s.held {
					t.Errorf("step %d: %d keys in the ring, %d in the index, want %d", i, d.len(), len(d.index), s.held)
				}
			}
		})
	}
}

// TestNFLOGBounded: a scan from many sources keeps at most MaxKeys keys,
// and every packet is either published or suppressed.
func TestNFLOGBounded(t *testing.T) {
	clock := &fakeClock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	l, got := testListener(t, clock, 64)
	for i := range 1000 {
		src := netip.AddrFrom4([4]byte{10, 66, byte(i >> 8), byte(i)}).String()
		l.handleDatagram(testLog{family: 2, group: 1, prefix: "db-deny", payload: ipv4TCP(src, "10.3.3.10", 40000, 5432, 2, 0)}.msg())
		clock.advance(time.Millisecond)
	}
	if n := l.dedupe.len(); n != 64 {
		t.Errorf("%d keys held, want 64", n)
	}
	st := l.Stats()
	if st.Published != uint64(len(*got)) || st.Published+st.Suppressed != st.Received || st.Received != 1000 {
		t.Errorf("stats %+v with %d events", st, len(*got))
	}
}

// TestNFLOGNoAllocs: a repeated packet, the flood case, costs no
// allocation; nor does parsing.
func TestNFLOGNoAllocs(t *testing.T) {
	l, _ := testListener(t, &fakeClock{t: time.Unix(1e9, 0)}, 0)
	d := batch(
		testLog{family: 2, group: 1, prefix: "db-deny", payload: ipv4TCP("10.66.0.11", "10.3.3.10", 40000, 5432, 2, 0)},
		testLog{family: 10, group: 1, prefix: "septa:default", payload: ipv6UDP("fd00:42::11", "fd00:3::3:10", 5353, 53, 1200, nflogCopyRange)},
	)
	l.handleDatagram(d) // the first events, and the interned rule ID
	if n := testing.AllocsPerRun(100, func() { l.handleDatagram(d) }); n != 0 {
		t.Errorf("%v allocs per repeated datagram, want 0", n)
	}
	var p nflogPacket
	body := testLog{family: 2, group: 1, prefix: "db-deny", payload: ipv4TCP("10.66.0.11", "10.3.3.10", 1, 2, 2, 0)}.body()
	if n := testing.AllocsPerRun(100, func() { parseNFLOGPacket(body, &p) }); n != 0 {
		t.Errorf("%v allocs per parse, want 0", n)
	}
}

// TestEnrichNFLOGReject: the log message cannot tell a reject from a
// deny; the daemon reads it from the rule in force.
func TestEnrichNFLOGReject(t *testing.T) {
	long := string(bytes.Repeat([]byte("r"), 140))
	pol := &ir.Policy{Rules: []ir.Rule{
		{ID: "db-reject", Action: ir.ActionReject},
		{ID: "db-deny", Action: ir.ActionDeny},
		{ID: long, Action: ir.ActionReject},
	}}
	d := New(Config{}, nil)
	d.policy.Store(inspect.NewPolicy(pol, 1))
	tests := []struct {
		name, rule, action, want string
	}{
		{"reject rule", "db-reject", "deny", "reject"},
		{"deny rule", "db-deny", "deny", "deny"},
		{"rule ID cut by the kernel", long[:nflogMaxPrefix], "deny", "reject"},
		{"rule gone since", "old", "deny", "deny"},
		{"default", "", "deny", "deny"},
		{"allow", "db-reject", "allow", "allow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &events.Event{Kind: events.KindDrop, Rule: tt.rule, Action: tt.action,
				Src: netip.MustParseAddrPort("10.66.0.11:1"), Dst: netip.MustParseAddrPort("10.3.3.10:2")}
			d.enrichNFLOG(e)
			if e.Action != tt.want {
				t.Errorf("action %q, want %q", e.Action, tt.want)
			}
		})
	}
}

func FuzzParseNFLOG(f *testing.F) {
	f.Add(batch(testLog{family: 2, group: 1, prefix: "db-deny", payload: ipv4TCP("10.66.0.11", "10.3.3.10", 1, 2, 2, 0)}))
	f.Add(testLog{family: 10, group: 2, prefix: "septa:default", payload: ipv6UDP("fd00::1", "fd00::2", 1, 2, 100, 60)}.msg())
	f.Fuzz(func(t *testing.T, b []byte) {
		l := newNFLOGListener(NFLOGConfig{DenyGroup: 1, ObserveGroup: 2, AllowGroup: 3, MaxKeys: 8})
		l.handleDatagram(b)
		st := l.Stats()
		if st.Published+st.Suppressed > st.Received {
			t.Errorf("stats %+v: more events than packets", st)
		}
	})
}
