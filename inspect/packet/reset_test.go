package packet

import (
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// TestAppendReset checks the reset with gopacket, an independent decoder,
// including both checksums.
func TestAppendReset(t *testing.T) {
	for _, tt := range []struct {
		name string
		pkt  []byte
	}{
		{"ipv4", build(t, ip4(layers.IPProtocolTCP), &layers.TCP{SrcPort: 40000, DstPort: 80, Seq: 1001, Ack: 77, ACK: true, PSH: true, Window: 502,
			Options: []layers.TCPOption{{OptionType: layers.TCPOptionKindNop, OptionLength: 1}, {OptionType: layers.TCPOptionKindNop, OptionLength: 1}, {OptionType: layers.TCPOptionKindNop, OptionLength: 1}, {OptionType: layers.TCPOptionKindNop, OptionLength: 1}}},
			gopacket.Payload("GET /cgi-bin/run?cmd=/bin/sh HTTP/1.1\r\n\r\n"))},
		{"ipv6", build(t, ip6(layers.IPProtocolTCP), &layers.TCP{SrcPort: 40000, DstPort: 80, Seq: 5, Ack: 9, ACK: true}, gopacket.Payload("data"))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var p Packet
			if Decode(tt.pkt, &p) != OK {
				t.Fatal("decode")
			}
			rst := AppendReset(nil, tt.pkt, &p)
			if len(rst) == 0 {
				t.Fatal("no reset built")
			}
			var r Packet
			if s := Decode(rst, &r); s != OK || r.Flags != TCPRst|TCPAck || len(r.Payload) != 0 || r.Seq != p.Seq || r.Ack != p.Ack ||
				r.Src != p.Src || r.Dst != p.Dst || r.SrcPort != p.SrcPort || r.DstPort != p.DstPort {
				t.Fatalf("reset %+v (status %v), from %+v", r, s, p)
			}
			first := layers.LayerTypeIPv4
			if p.IPVersion == 6 {
				first = layers.LayerTypeIPv6
			}
			gp := gopacket.NewPacket(rst, first, gopacket.Default)
			tcp, _ := gp.Layer(layers.LayerTypeTCP).(*layers.TCP)
			if tcp == nil {
				t.Fatalf("gopacket finds no TCP: %v", gp)
			}
			want := tcp.Checksum
			if nl := gp.NetworkLayer(); nl != nil {
				tcp.SetNetworkLayerForChecksum(nl)
			}
			buf := gopacket.NewSerializeBuffer()
			gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true}, tcp)
			var again layers.TCP
			if err := again.DecodeFromBytes(buf.Bytes(), gopacket.NilDecodeFeedback); err != nil || again.Checksum != want {
				t.Errorf("TCP checksum %#04x, gopacket computes %#04x (%v)", want, again.Checksum, err)
			}
			if ip, ok := gp.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
				ipw := ip.Checksum
				b := gopacket.NewSerializeBuffer()
				ip.SerializeTo(b, gopacket.SerializeOptions{ComputeChecksums: true})
				var ip2 layers.IPv4
				ip2.DecodeFromBytes(b.Bytes(), gopacket.NilDecodeFeedback)
				if ip2.Checksum != ipw {
					t.Errorf("IPv4 checksum %#04x, gopacket computes %#04x", ipw, ip2.Checksum)
				}
			}
		})
	}
	var u Packet
	udp := build(t, ip4(layers.IPProtocolUDP), &layers.UDP{SrcPort: 1, DstPort: 53}, gopacket.Payload("q"))
	Decode(udp, &u)
	if AppendReset(nil, udp, &u) != nil {
		t.Errorf("a reset built for UDP")
	}
}
