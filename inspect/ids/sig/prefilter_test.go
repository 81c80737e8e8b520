package sig

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/septa-fw/septa/inspect/appid"
	"github.com/septa-fw/septa/inspect/ids"
	"github.com/septa-fw/septa/inspect/packet"
)

// TestPrefilterComplete checks the engine's candidate selection (groups,
// port groups, address index, fast patterns) against brute force on ET
// Open: every signature whose whole chain matches a packet must have been
// a candidate for it. Packets vary direction, ports and addresses,
// including addresses from the reputation rules' lists.
func TestPrefilterComplete(t *testing.T) {
	if testing.Short() {
		t.Skip("builds all of ET Open; skipped with -short")
	}
	e := buildETOpen(t)
	sc := e.newScratch()
	home := netip.MustParseAddr("192.168.1.10")
	ext := netip.MustParseAddr("93.184.216.34")
	// Addresses from the lists of signatures without a fast pattern.
	var listed []netip.Addr
	for i, s := range e.sigs {
		if i%31 != 0 || len(s.lists) > 0 {
			continue
		}
		for _, set := range []*ipSet{&s.srcSet, &s.dstSet} {
			if !set.all && len(set.v4) > 0 && set.v4.size() < 1<<16 {
				listed = append(listed, fromKey(set.v4[len(set.v4)/2].lo, true))
			}
			if !set.all && len(set.v6) > 0 && len(set.v4) == 0 {
				listed = append(listed, fromKey(set.v6[0].lo, false))
			}
		}
	}
	if len(listed) > 40 {
		listed = listed[:40]
	}
	type probe struct {
		payload  string
		proto    uint8
		sport    uint16
		dport    uint16
		toClient bool
	}
	var probes []probe
	for _, br := range benchRequests {
		probes = append(probes, probe{br.payload, packet.ProtoTCP, 40000, 80, false}, probe{br.payload, packet.ProtoTCP, 40000, 8080, false})
	}
	probes = append(probes,
		probe{"HTTP/1.1 200 OK\r\nServer: Apache\r\nContent-Type: text/html\r\n\r\n<html><script>eval(unescape('%u9090'))</script>", packet.ProtoTCP, 80, 40000, true},
		probe{"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01", packet.ProtoUDP, 5353, 53, false},
		probe{"SSH-2.0-OpenSSH_8.9\r\n", packet.ProtoTCP, 40000, 22, false},
		probe{"\x00\x00\x00\x85\xffSMBr\x00\x00\x00\x00", packet.ProtoTCP, 40000, 445, false},
		probe{"", packet.ProtoTCP, 40000, 3389, false},
	)
	n := 0
	for _, pr := range probes {
		addrs := [][2]netip.Addr{{home, ext}, {ext, home}}
		for _, a := range listed {
			addrs = append(addrs, [2]netip.Addr{a, home}, [2]netip.Addr{home, a})
		}
		for _, ad := range addrs {
			var info appid.Info
			payload := []byte(pr.payload)
			in, p := benchInput(payload, &info)
			p.Src, p.Dst, p.SrcPort, p.DstPort, p.Proto = ad[0], ad[1], pr.sport, pr.dport, pr.proto
			if pr.toClient {
				in.Dir, in.Stream = ids.ToClient, [2][]byte{nil, payload}
			}
			var r ids.Result
			e.Inspect(in, sc, &r)
			cands := slices.Clone(sc.cands)
			in.Flow.Bits = [ids.FlowBitWords]uint64{}
			for id, s := range e.sigs {
				if len(s.Inert) > 0 || !e.matchSig(sc, s) {
					continue
				}
				if _, found := slices.BinarySearch(cands, uint32(id)); !found {
					t.Errorf("sid %d matches %v:%d > %v:%d %q but was not a candidate", s.SID, p.Src, p.SrcPort, p.Dst, p.DstPort, pr.payload)
				}
				n++
			}
		}
	}
	t.Logf("%d matches checked", n)
}
