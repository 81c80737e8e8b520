package sig

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/septa-fw/septa/inspect/appid"
	"github.com/septa-fw/septa/inspect/ids"
	"github.com/septa-fw/septa/inspect/packet"
)

// The verification cases follow suricata-verify: each directory of
// ../testdata holds test.rules, input.txt (the packets) and want.txt (the
// alerts expected, as "SID COUNT" lines). input.txt has one packet per
// line:
//
//	PROTO SRC:PORT > DST:PORT [flags=FSRPA] [seq=N] [itype=N] [icode=N] "Go-quoted payload"
//
// The first packet of a flow makes its sender the client. TCP payloads
// are placed in each direction's stream by sequence number (relative to
// the direction's first seq, default: in order), so a case can deliver
// segments out of order; the stream is the contiguous prefix, as the
// inspector's is. app-ID runs on the streams as in the inspector.

type testFlow struct {
	client      netip.AddrPort
	base        [2]uint32
	haveBase    [2]bool
	data        [2][]byte
	filled      [2][]bool
	info        appid.Info
	app         appid.App
	state       ids.Flow
	established bool
}

func (f *testFlow) contiguous(d int) []byte {
	n := 0
	for n < len(f.filled[d]) && f.filled[d][n] {
		n++
	}
	return f.data[d][:n]
}

type testPacket struct {
	pkt     packet.Packet
	payload []byte
	seq     uint32
	haveSeq bool
}

func parsePacketLine(line string) (testPacket, error) {
	var tp testPacket
	q := strings.IndexByte(line, '"')
	head := line
	if q >= 0 {
		head = line[:q]
		s, err := strconv.Unquote(strings.TrimSpace(line[q:]))
		if err != nil {
			return tp, fmt.Errorf("payload: %v", err)
		}
		tp.payload = []byte(s)
	}
	f := strings.Fields(head)
	if len(f) < 4 || f[2] != ">" {
		return tp, fmt.Errorf("want PROTO SRC > DST")
	}
	p := &tp.pkt
	switch f[0] {
	case "tcp":
		p.Proto, p.Flags = packet.ProtoTCP, packet.TCPPsh|packet.TCPAck
	case "udp":
		p.Proto = packet.ProtoUDP
	case "icmp":
		p.Proto = packet.ProtoICMP
	default:
		return tp, fmt.Errorf("unknown proto %q", f[0])
	}
	src, err := netip.ParseAddrPort(f[1])
	if err != nil {
		return tp, err
	}
	dst, err := netip.ParseAddrPort(f[3])
	if err != nil {
		return tp, err
	}
	p.Src, p.SrcPort, p.Dst, p.DstPort = src.Addr(), src.Port(), dst.Addr(), dst.Port()
	if p.Src.Is4() {
		p.IPVersion = 4
	} else {
		p.IPVersion = 6
	}
	for _, kv := range f[4:] {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "flags":
			b, err := flagBits(v)
			if err != nil {
				return tp, err
			}
			p.Flags = b
		case "seq":
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				return tp, err
			}
			tp.seq, tp.haveSeq = uint32(n), true
		case "itype", "icode":
			n, err := strconv.ParseUint(v, 10, 8)
			if err != nil {
				return tp, err
			}
			if k == "itype" {
				p.ICMPType = uint8(n)
			} else {
				p.ICMPCode = uint8(n)
			}
		default:
			return tp, fmt.Errorf("unknown field %q", k)
		}
	}
	p.Payload = tp.payload
	return tp, nil
}

// numberTCP sets each TCP packet's sequence and acknowledgement numbers:
// seq as input.txt gives it, else the next in its direction (1000 for a
// direction's first packet); ack is the highest sequence number the other
// direction has sent so far, so the packets are a consistent TCP
// conversation on the wire too (suricata_test.go writes them as a pcap).
func numberTCP(input []testPacket) {
	type dirKey struct{ src, dst netip.AddrPort }
	next := map[dirKey]uint32{} // after the direction's last packet
	high := map[dirKey]uint32{} // after the highest byte, FIN included
	for i := range input {
		tp := &input[i]
		p := &tp.pkt
		if p.Proto != packet.ProtoTCP {
			continue
		}
		k := dirKey{netip.AddrPortFrom(p.Src, p.SrcPort), netip.AddrPortFrom(p.Dst, p.DstPort)}
		seq, seen := next[k]
		if tp.haveSeq {
			seq = tp.seq
		} else if !seen {
			seq = 1000
		}
		next[k] = seq + uint32(len(tp.payload))
		if p.Flags&packet.TCPSyn != 0 {
			next[k]++
		}
		end := next[k]
		if p.Flags&packet.TCPFin != 0 {
			end++
		}
		if h, ok := high[k]; !ok || int32(end-h) > 0 {
			high[k] = end
		}
		p.Seq = seq
		p.Ack = high[dirKey{k.dst, k.src}]
	}
}

// runCase replays input through an engine built from rules and returns
// the alert count per sid.
func runCase(t *testing.T, rules string, input []testPacket) map[uint32]int {
	t.Helper()
	res := &LoadResult{}
	if err := Load("test.rules", strings.NewReader(rules), LoadOptions{}, res); err != nil {
		t.Fatal(err)
	}
	for _, e := range res.Errors {
		t.Fatalf("rule error: %v", e)
	}
	e, err := Build(res.Sigs)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := replay(e, input)
	return got
}

// replay runs input through e and returns the alert count per sid and
// the flows.
func replay(e *Engine, input []testPacket) (map[uint32]int, map[packet.FlowKey]*testFlow) {
	sc := e.NewScratch()
	flows := map[packet.FlowKey]*testFlow{}
	got := map[uint32]int{}
	var r ids.Result
	for i := range input {
		tp := &input[i]
		p := &tp.pkt
		key, _ := p.Key()
		f := flows[key]
		src := netip.AddrPortFrom(p.Src, p.SrcPort)
		if f == nil {
			f = &testFlow{client: src}
			flows[key] = f
		}
		d := 0
		if src != f.client {
			d = 1
		}
		if p.Proto == packet.ProtoTCP {
			if p.Flags&packet.TCPAck != 0 {
				f.established = true
			}
			seq := p.Seq
			if !f.haveBase[d] {
				f.base[d], f.haveBase[d] = seq, true
				if p.Flags&packet.TCPSyn != 0 {
					f.base[d]++
				}
			}
			off := int(int32(seq - f.base[d]))
			pl := tp.payload
			if off < 0 {
				pl = nil // before the stream (a SYN's data): not in it
				off = 0
			}
			if end := off + len(pl); end > len(f.data[d]) {
				f.data[d] = append(f.data[d], make([]byte, end-len(f.data[d]))...)
				f.filled[d] = append(f.filled[d], make([]bool, end-len(f.filled[d]))...)
			}
			for j, c := range pl {
				if !f.filled[d][off+j] {
					f.data[d][off+j], f.filled[d][off+j] = c, true
				}
			}
		} else {
			f.established = d == 1 || f.established
			if len(f.data[d]) == 0 {
				f.data[d] = tp.payload
				f.filled[d] = make([]bool, len(tp.payload))
				for j := range f.filled[d] {
					f.filled[d][j] = true
				}
			}
		}
		stream := [2][]byte{f.contiguous(0), f.contiguous(1)}
		if f.app == appid.Unknown {
			tr := appid.TCP
			if p.Proto == packet.ProtoUDP {
				tr = appid.UDP
			}
			srvPort := p.DstPort
			if d == 1 {
				srvPort = p.SrcPort
			}
			ain := appid.Input{Transport: tr, ToServer: stream[0], ToClient: stream[1], ServerPort: srvPort}
			if appid.Identify(&ain, &f.info) == appid.Yes {
				f.app = f.info.App
			}
		}
		in := ids.Input{Packet: p, Key: key, Dir: ids.ToServer, Established: f.established, App: f.app, Stream: stream, Now: int64(i) * 1e6, Flow: &f.state}
		if d == 1 {
			in.Dir = ids.ToClient
		}
		if f.app != appid.Unknown {
			in.Info = &f.info
		}
		e.Inspect(&in, sc, &r)
		for _, a := range r.Alerts[:r.NAlerts] {
			got[a.SID]++
		}
	}
	return got, flows
}

func readCase(t *testing.T, dir string) (string, []testPacket, map[uint32]int) {
	t.Helper()
	rules, err := os.ReadFile(filepath.Join(dir, "test.rules"))
	if err != nil {
		t.Fatal(err)
	}
	var input []testPacket
	inf, err := os.Open(filepath.Join(dir, "input.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer inf.Close()
	sc := bufio.NewScanner(inf)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		tp, err := parsePacketLine(line)
		if err != nil {
			t.Fatalf("input.txt:%d: %v", n, err)
		}
		input = append(input, tp)
	}
	numberTCP(input)
	want := map[uint32]int{}
	wb, err := os.ReadFile(filepath.Join(dir, "want.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(wb), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		var sid uint32
		var cnt int
		if _, err := fmt.Sscanf(line, "%d %d", &sid, &cnt); err != nil {
			t.Fatalf("want.txt:%d: %v", i+1, err)
		}
		if cnt > 0 {
			want[sid] = cnt
		}
	}
	return string(rules), input, want
}

func TestVerify(t *testing.T) {
	dirs, err := filepath.Glob("../testdata/*/test.rules")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(dirs)
	if len(dirs) == 0 {
		t.Fatal("no cases in ../testdata")
	}
	for _, f := range dirs {
		dir := filepath.Dir(f)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			rules, input, want := readCase(t, dir)
			got := runCase(t, rules, input)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("alerts by sid (-want +got):\n%s", diff)
			}
		})
	}
}
