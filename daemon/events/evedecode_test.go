package events

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestEVERoundTrip encodes events with the EVE encoder and decodes them
// back: every field a flow record carries survives.
func TestEVERoundTrip(t *testing.T) {
	icmp := sampleICMPDrop()
	icmp.Start = t0
	observed := sampleFlow()
	observed.Observe, observed.Action, observed.Rule, observed.Reason = true, "deny", "zone-isolation:vdi", "policy"
	observed.GroupsSrc, observed.GroupsDst = []string{"desktops"}, []string{"finance-app", "web"}
	observed.Cmdline, observed.HTTPHost, observed.Alerted, observed.Decider = "curl -s https://finance.example.com/", "finance.example.com", true, "inspector"
	v6 := sampleFlow()
	v6.Src, v6.Dst = netip.MustParseAddrPort("[fd00:4::5]:40002"), netip.MustParseAddrPort("[fd00:3::10]:5432")
	v6.App, v6.AppProto = "postgresql", "pgsql"
	v6.Time = v6.Time.In(time.FixedZone("", 2*3600))
	tests := []struct {
		name  string
		event *Event
	}{
		{"flow record", sampleFlow()},
		{"would-deny record with every field", observed},
		{"ipv6 record in another zone", v6},
		{"drop", sampleDrop()},
		{"icmp drop", icmp},
	}
	enc := NewEVEEncoder()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line, err := enc.Encode(tt.event)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeEVE(line)
			if err != nil {
				t.Fatalf("DecodeEVE(%s): %v", line, err)
			}
			if diff := cmp.Diff(tt.event, got, cmpopts.EquateComparable(netip.AddrPort{})); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDecodeEVE decodes lines as septa and Suricata write them, and bad
// ones.
func TestDecodeEVE(t *testing.T) {
	golden, err := os.ReadFile(filepath.Join("testdata", "eve_flow.json"))
	if err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	compact.Write(bytes.Join(bytes.Fields(golden), nil))
	start := time.Date(2026, 6, 1, 11, 58, 30, 123456000, time.UTC)
	tests := []struct {
		name    string
		line    string
		want    *Event
		wantErr string
	}{
		{
			name: "septa's flow record (the encoder's golden file)",
			line: compact.String(),
			want: func() *Event { e := sampleFlow(); e.FlowID = 911829385190421; return e }(),
		},
		{
			name: "suricata's flow event",
			line: `{"timestamp":"2026-06-01T12:00:00.123456+0000","flow_id":1234,"in_iface":"eth0","event_type":"flow","src_ip":"10.1.0.11","src_port":51000,"dest_ip":"10.3.3.10","dest_port":5432,"proto":"TCP","app_proto":"pgsql","flow":{"pkts_toserver":5,"pkts_toclient":4,"bytes_toserver":400,"bytes_toclient":900,"start":"2026-06-01T11:58:30.123456+0000","end":"2026-06-01T12:00:00.123456+0000","age":90,"state":"closed","reason":"timeout","alerted":false},"tcp":{"tcp_flags":"1b"}}`,
			want: &Event{
				Kind: KindFlow, Time: t0, FlowID: 1234, Proto: 6,
				Src: netip.MustParseAddrPort("10.1.0.11:51000"), Dst: netip.MustParseAddrPort("10.3.3.10:5432"),
				App: "postgresql", AppProto: "pgsql",
				PacketsToServer: 5, PacketsToClient: 4, BytesToServer: 400, BytesToClient: 900,
				Start: start, End: t0, State: "closed", EndReason: "timeout",
			},
		},
		{
			name: "suricata's failed detection, UDP, RFC 3339 times",
			line: `{"timestamp":"2026-06-01T12:00:00.123456Z","event_type":"flow","src_ip":"10.1.0.11","src_port":5353,"dest_ip":"10.3.3.10","dest_port":53,"proto":"udp","app_proto":"failed"}`,
			want: &Event{
				Kind: KindFlow, Time: t0, Proto: 17, App: "unknown", AppProto: "failed",
				Src: netip.MustParseAddrPort("10.1.0.11:5353"), Dst: netip.MustParseAddrPort("10.3.3.10:53"),
			},
		},
		{
			name: "septa's decision",
			line: `{"timestamp":"2026-06-01T12:00:00.123456+0000","event_type":"verdict","src_ip":"10.1.0.11","src_port":5353,"dest_ip":"10.3.3.10","dest_port":53,"proto":"UDP","flow":{"pkts_toserver":1,"pkts_toclient":0,"bytes_toserver":0,"bytes_toclient":0,"start":"2026-06-01T12:00:00.123456+0000"},"septa":{"verdict":"deny","observe":true,"reason":"default"}}`,
			want: &Event{
				Kind: KindFlow, Time: t0, Proto: 17, Action: "deny", Observe: true, Reason: "default", PacketsToServer: 1, Start: t0,
				Src: netip.MustParseAddrPort("10.1.0.11:5353"), Dst: netip.MustParseAddrPort("10.3.3.10:53"),
			},
		},
		{name: "alert: skipped", line: `{"timestamp":"2026-06-01T12:00:00.123456+0000","event_type":"alert","alert":{}}`},
		{name: "stats: skipped", line: `{"timestamp":"2026-06-01T12:00:00.123456+0000","event_type":"stats"}`},
		{name: "not JSON", line: `{"timestamp":`, wantErr: "eve: invalid JSON"},
		{name: "no event type", line: `{"timestamp":"2026-06-01T12:00:00.123456+0000"}`, wantErr: "eve: no event_type"},
		{name: "bad time", line: `{"timestamp":"yesterday","event_type":"flow"}`, wantErr: `eve: timestamp: "yesterday" is not an EVE time`},
		{name: "bad address", line: `{"timestamp":"2026-06-01T12:00:00.123456+0000","event_type":"flow","src_ip":"10.1.0.300"}`, wantErr: "eve: src: "},
		{name: "bad proto", line: `{"timestamp":"2026-06-01T12:00:00.123456+0000","event_type":"flow","proto":"carrier-pigeon"}`, wantErr: `eve: proto: unknown protocol "carrier-pigeon"`},
		{name: "port out of range", line: `{"timestamp":"2026-06-01T12:00:00.123456+0000","event_type":"flow","src_ip":"10.0.0.1","src_port":70000}`, wantErr: `eve: field "src_port": number 70000 is not a uint16`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeEVE([]byte(tt.line))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateComparable(netip.AddrPort{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestEVEReader reads a file of mixed lines: flow events come out, other
// events are skipped, bad lines are counted with their numbers and never
// stop the reader.
func TestEVEReader(t *testing.T) {
	enc := NewEVEEncoder()
	var in bytes.Buffer
	for _, e := range []*Event{sampleFlow(), sampleAlert(), samplePolicy()} {
		line, err := enc.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		in.Write(line)
	}
	in.WriteString("{broken\n\n")
	in.WriteString(`{"event_type":"flow","timestamp":"2026-13-01T00:00:00.000000+0000"}` + "\n")
	in.WriteString(strings.Repeat("x", maxEVELine+10) + "\n")
	line, _ := enc.Encode(sampleDrop())
	in.Write(bytes.TrimSuffix(line, []byte("\n"))) // the last line has no newline
	got, x, err := ReadEVE(&in)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []Kind
	for _, e := range got {
		kinds = append(kinds, e.Kind)
	}
	if diff := cmp.Diff([]Kind{KindFlow, KindDrop}, kinds); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	var lines []int
	for _, e := range x.Errors() {
		lines = append(lines, e.Line)
	}
	if diff := cmp.Diff([]int{4, 6, 7}, lines); diff != "" {
		t.Errorf("bad lines (-want +got):\n%s\n%v", diff, x.Errors())
	}
	if x.Bad() != 3 || x.Skipped() != 2 || x.Lines() != 8 {
		t.Errorf("bad %d, skipped %d, lines %d; want 3, 2, 8", x.Bad(), x.Skipped(), x.Lines())
	}
}

// FuzzDecodeEVE: decoding never panics, and what decodes encodes to a
// line that decodes and encodes to the same line again.
func FuzzDecodeEVE(f *testing.F) {
	enc := NewEVEEncoder()
	for _, e := range []*Event{sampleFlow(), sampleDrop(), sampleICMPDrop(), sampleAlert()} {
		line, _ := enc.Encode(e)
		f.Add(bytes.Clone(line))
	}
	f.Add([]byte(`{"timestamp":"2026-06-01T12:00:00.123456Z","event_type":"flow","src_ip":"::1","proto":"58","app_proto":"failed"}`))
	f.Add([]byte(`{"event_type":"flow","timestamp":"2026-06-01T12:00:00.1+0000","flow":{"start":"2026-06-01T12:00:00Z"}}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		e1, err := DecodeEVE(line)
		if err != nil || e1 == nil {
			return
		}
		enc := NewEVEEncoder()
		l2, err := enc.Encode(e1)
		if err != nil {
			t.Fatalf("encode a decoded event: %v", err)
		}
		l2 = bytes.Clone(l2)
		e2, err := DecodeEVE(l2)
		if err != nil {
			t.Fatalf("decode an encoded event %s: %v", l2, err)
		}
		l3, err := enc.Encode(e2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(l2, l3) {
			t.Fatalf("not stable:\n%s%s", l2, l3)
		}
	})
}
