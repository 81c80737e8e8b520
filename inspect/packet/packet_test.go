package packet

import (
	"encoding/hex"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// build serialises a packet with gopacket, an implementation independent
// of ours, so the decoder is checked against it rather than against itself.
func build(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	for _, l := range ls {
		if tl, ok := l.(interface {
			SetNetworkLayerForChecksum(gopacket.NetworkLayer) error
		}); ok {
			for _, n := range ls {
				if nl, ok := n.(gopacket.NetworkLayer); ok {
					_ = tl.SetNetworkLayerForChecksum(nl)
				}
			}
		}
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func ip4(proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: proto,
		SrcIP: net.IP{10, 1, 0, 5}, DstIP: net.IP{10, 3, 1, 10}}
}

func ip6(next layers.IPProtocol) *layers.IPv6 {
	return &layers.IPv6{Version: 6, HopLimit: 63, NextHeader: next,
		SrcIP: net.ParseIP("fd00:1::5"), DstIP: net.ParseIP("fd00:3::10")}
}

func TestDecode(t *testing.T) {
	payload := gopacket.Payload("GET / HTTP/1.1\r\n")
	tests := []struct {
		name   string
		pkt    []byte
		want   Packet
		status Status
	}{
		{
			name: "ipv4 tcp syn",
			pkt: build(t, ip4(layers.IPProtocolTCP),
				&layers.TCP{SrcPort: 40000, DstPort: 443, Seq: 1000, SYN: true, Window: 64240, DataOffset: 5}),
			want: Packet{Src: netip.MustParseAddr("10.1.0.5"), Dst: netip.MustParseAddr("10.3.1.10"),
				SrcPort: 40000, DstPort: 443, Proto: ProtoTCP, IPVersion: 4, TTL: 64, Flags: TCPSyn,
				Seq: 1000, Window: 64240, Len: 40, Payload: []byte{}},
			status: OK,
		},
		{
			name: "ipv4 tcp data",
			pkt: build(t, ip4(layers.IPProtocolTCP),
				&layers.TCP{SrcPort: 40000, DstPort: 80, Seq: 1001, Ack: 77, ACK: true, PSH: true, Window: 502}, payload),
			want: Packet{Src: netip.MustParseAddr("10.1.0.5"), Dst: netip.MustParseAddr("10.3.1.10"),
				SrcPort: 40000, DstPort: 80, Proto: ProtoTCP, IPVersion: 4, TTL: 64, Flags: TCPAck | TCPPsh,
				Seq: 1001, Ack: 77, Window: 502, Len: 56, Payload: []byte(payload)},
			status: OK,
		},
		{
			name: "ipv6 udp",
			pkt:  build(t, ip6(layers.IPProtocolUDP), &layers.UDP{SrcPort: 5353, DstPort: 53}, gopacket.Payload("abc")),
			want: Packet{Src: netip.MustParseAddr("fd00:1::5"), Dst: netip.MustParseAddr("fd00:3::10"),
				SrcPort: 5353, DstPort: 53, Proto: ProtoUDP, IPVersion: 6, TTL: 63, Len: 51, Payload: []byte("abc")},
			status: OK,
		},
		{
			name: "icmp echo",
			pkt: build(t, ip4(layers.IPProtocolICMPv4),
				&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: 1, Seq: 1}),
			want: Packet{Src: netip.MustParseAddr("10.1.0.5"), Dst: netip.MustParseAddr("10.3.1.10"),
				Proto: ProtoICMP, IPVersion: 4, TTL: 64, ICMPType: 8, Len: 28, Payload: []byte{}},
			status: OK,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Packet
			if s := Decode(tt.pkt, &got); s != tt.status {
				t.Fatalf("status %v, want %v", s, tt.status)
			}
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("Decode (-want +got):\n%s", diff)
			}
		})
	}
}

// unhex reads a tcpdump -xx style dump (spaces and newlines ignored).
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeBad(t *testing.T) {
	// 10.1.0.5.40000 > 10.3.1.10.443: Flags [S], seq 1000, win 64240, length 0
	syn := unhex(t, `4500 0028 0000 0000 4006 0000 0a01 0005 0a03 010a
		9c40 01bb 0000 03e8 0000 0000 5002 faf0 0000 0000`)
	tests := []struct {
		name   string
		pkt    []byte
		status Status
	}{
		{"empty", nil, Truncated},
		{"version 5", append([]byte{0x50}, syn[1:]...), Unsupported},
		{"short ipv4 header", syn[:19], Truncated},
		{"ihl below 5", append([]byte{0x44}, syn[1:]...), Malformed},
		{"total length beyond buffer", syn[:30], Truncated},
		{"tcp header cut", func() []byte {
			b := append([]byte(nil), syn[:30]...)
			b[3] = 30
			return b
		}(), Truncated},
		{"tcp data offset below 5", func() []byte {
			b := append([]byte(nil), syn...)
			b[32] = 0x40
			return b
		}(), Malformed},
		{"tcp data offset beyond packet", func() []byte {
			b := append([]byte(nil), syn...)
			b[32] = 0xf0
			return b
		}(), Truncated},
		{"short ipv6", append([]byte{0x60}, make([]byte, 38)...), Truncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Packet
			if s := Decode(tt.pkt, &p); s != tt.status {
				t.Errorf("status %v, want %v", s, tt.status)
			}
		})
	}
}

func TestDecodeFragments(t *testing.T) {
	// A later fragment: offset 185 (1480 bytes), no transport header.
	ip := ip4(layers.IPProtocolTCP)
	ip.FragOffset = 185
	later := build(t, ip, gopacket.Payload("tail of the segment"))
	var p Packet
	if s := Decode(later, &p); s != OK || !p.Fragment || p.DstPort != 0 {
		t.Errorf("later fragment: status %v fragment %v port %d; want ok, true, 0", s, p.Fragment, p.DstPort)
	}
	// A tiny first fragment (RFC 1858): 8 bytes of TCP header only.
	ip = ip4(layers.IPProtocolTCP)
	ip.Flags = layers.IPv4MoreFragments
	tiny := build(t, ip, gopacket.Payload([]byte{0x9c, 0x40, 0x01, 0xbb, 0, 0, 0, 1}))
	if s := Decode(tiny, &p); s != OK || !p.Fragment || p.DstPort != 0 {
		t.Errorf("tiny first fragment: status %v fragment %v port %d; want ok, true, no port", s, p.Fragment, p.DstPort)
	}
}

func TestFlowKey(t *testing.T) {
	out := build(t, ip4(layers.IPProtocolTCP), &layers.TCP{SrcPort: 40000, DstPort: 443, SYN: true})
	in4 := ip4(layers.IPProtocolTCP)
	in4.SrcIP, in4.DstIP = in4.DstIP, in4.SrcIP
	back := build(t, in4, &layers.TCP{SrcPort: 443, DstPort: 40000, SYN: true, ACK: true})
	var a, b Packet
	Decode(out, &a)
	Decode(back, &b)
	ka, fa := a.Key()
	kb, fb := b.Key()
	if ka != kb || fa == fb {
		t.Errorf("keys %v/%v forward %v/%v: want the same key and opposite directions", ka, kb, fa, fb)
	}
}

func TestDecodeNoAllocs(t *testing.T) {
	pkts := [][]byte{
		build(t, ip4(layers.IPProtocolTCP), &layers.TCP{SrcPort: 1, DstPort: 2, ACK: true}, gopacket.Payload("data")),
		build(t, ip6(layers.IPProtocolUDP), &layers.UDP{SrcPort: 1, DstPort: 53}, gopacket.Payload("q")),
		{0x45, 0, 0, 10}, // malformed: costs nothing either
	}
	var p Packet
	for _, b := range pkts {
		if n := testing.AllocsPerRun(100, func() { Decode(b, &p); p.Key() }); n != 0 {
			t.Errorf("Decode and Key allocate %v times per packet, want 0", n)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(build(f, ip4(layers.IPProtocolTCP), &layers.TCP{SrcPort: 1, DstPort: 2, SYN: true}))
	f.Add(build(f, ip6(layers.IPProtocolUDP), &layers.UDP{SrcPort: 1, DstPort: 53}, gopacket.Payload("q")))
	f.Add(build(f, ip4(layers.IPProtocolICMPv4), &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0)}))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p Packet
		s := Decode(b, &p)
		if s == OK {
			if p.Len > len(b) {
				t.Fatalf("length %d beyond the %d bytes given", p.Len, len(b))
			}
			if len(p.Payload) > len(b) {
				t.Fatalf("payload longer than the packet")
			}
			p.Key()
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	cases := []struct {
		name string
		pkt  []byte
	}{
		{"tcp4", build(b, ip4(layers.IPProtocolTCP), &layers.TCP{SrcPort: 1, DstPort: 2, ACK: true}, gopacket.Payload("GET / HTTP/1.1\r\n"))},
		{"udp6", build(b, ip6(layers.IPProtocolUDP), &layers.UDP{SrcPort: 1, DstPort: 53}, gopacket.Payload("q"))},
		{"truncated-tcp", build(b, ip4(layers.IPProtocolTCP), &layers.TCP{SrcPort: 1, DstPort: 2, ACK: true})[:30]},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var p Packet
			for b.Loop() {
				Decode(c.pkt, &p)
			}
		})
	}
}
