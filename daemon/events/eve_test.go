package events

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// t0 is the time of the sample events: 2026-06-01 12:00:00.123456 UTC.
var t0 = time.Date(2026, 6, 1, 12, 0, 0, 123456000, time.UTC)

func sampleAlert() *Event {
	src, dst := netip.MustParseAddrPort("10.4.0.5:40000"), netip.MustParseAddrPort("10.3.10.10:80")
	start := t0.Add(-2 * time.Second)
	return &Event{
		Kind: KindAlert, Time: t0, FlowID: FlowID(src, dst, 6, start),
		Src: src, Dst: dst, Proto: 6, App: "http", AppProto: "http",
		Rule: "web-in", Action: "allow", Reason: "policy",
		User: "bob", Groups: []string{"hr"}, Process: "firefox",
		ZoneSrc: "vdi", ZoneDst: "prod", GroupsSrc: []string{"desktops"}, GroupsDst: []string{"web"},
		HTTPHost:        "app.example.com",
		PacketsToServer: 4, PacketsToClient: 3, BytesToServer: 517, BytesToClient: 1234,
		Start: start,
		Alert: Alert{
			Action: AlertBlocked, GID: 1, SID: 2100498, Rev: 7,
			Signature: `GPL ATTACK_RESPONSE id check returned root <"uid=0">`,
			Category:  "Potentially Bad Traffic", Severity: 2,
		},
	}
}

func sampleFlow() *Event {
	src, dst := netip.MustParseAddrPort("10.4.0.5:40001"), netip.MustParseAddrPort("10.3.10.10:443")
	start := t0.Add(-90 * time.Second)
	return &Event{
		Kind: KindFlow, Time: t0, FlowID: FlowID(src, dst, 6, start),
		Src: src, Dst: dst, Proto: 6, App: "tls", AppProto: "tls",
		Rule: "finance-users-to-finance-app", Action: "allow", Reason: "policy",
		User: "alice", Groups: []string{"finance", "staff"}, Process: "curl",
		ZoneSrc: "vdi", ZoneDst: "finance", SNI: "finance.example.com",
		PacketsToServer: 12, PacketsToClient: 10, BytesToServer: 2048, BytesToClient: 40960,
		Start: start, End: t0, State: "closed", EndReason: "timeout",
	}
}

// sampleDecision is sampleFlow's decision, at the flow's start.
func sampleDecision() *Event {
	e := sampleFlow()
	e.Time, e.End, e.State, e.EndReason = e.Start, time.Time{}, "", ""
	e.PacketsToServer, e.PacketsToClient, e.BytesToServer, e.BytesToClient = 3, 2, 0, 0
	e.Decider = DeciderInspector
	return e
}

func sampleDrop() *Event {
	src, dst := netip.MustParseAddrPort("[fd00:4::5]:40002"), netip.MustParseAddrPort("[fd00:3::10]:5432")
	return &Event{
		Kind: KindDrop, Time: t0, FlowID: FlowID(src, dst, 6, t0),
		Src: src, Dst: dst, Proto: 6, App: "postgresql", AppProto: "pgsql",
		Action: "deny", Reason: "user",
		User: "bob", Groups: []string{"hr"},
		ZoneSrc: "vdi", ZoneDst: "finance",
		PacketsToServer: 3, PacketsToClient: 2,
		Start: t0,
	}
}

func sampleICMPDrop() *Event {
	src, dst := netip.MustParseAddrPort("192.0.2.9:0"), netip.MustParseAddrPort("10.3.10.10:0")
	return &Event{
		Kind: KindDrop, Time: t0, FlowID: FlowID(src, dst, 1, t0),
		Src: src, Dst: dst, Proto: 1, Action: "deny", Reason: "quarantine",
	}
}

func samplePolicy() *Event {
	return &Event{
		Kind: KindPolicy, Time: t0,
		Policy: Policy{Generation: 0, Revision: "3f2a9c", Error: "policy.d/20-web.toml:14:7: rule \"web-in\": dst: prefix length out of range"},
	}
}

func TestEVEGolden(t *testing.T) {
	tests := []struct {
		name  string
		event *Event
	}{
		{name: "alert", event: sampleAlert()},
		{name: "flow", event: sampleFlow()},
		{name: "verdict", event: sampleDecision()},
		{name: "drop", event: sampleDrop()},
		{name: "drop_icmp", event: sampleICMPDrop()},
		{name: "policy_error", event: samplePolicy()},
	}
	enc := NewEVEEncoder()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line, err := enc.Encode(tt.event)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Count(line, []byte("\n")) != 1 || line[len(line)-1] != '\n' {
				t.Fatalf("not one line: %q", line)
			}
			// The golden file holds the line indented, for review; the
			// comparison is on the compact form.
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, line, "", "  "); err != nil {
				t.Fatalf("invalid JSON %q: %v", line, err)
			}
			path := filepath.Join("testdata", "eve_"+tt.name+".json")
			if *update {
				if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), pretty.String()); diff != "" {
				t.Errorf("EVE line mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEVESchema checks the fields pipelines key on, by name and JSON
// type, as Suricata writes them.
func TestEVESchema(t *testing.T) {
	enc := NewEVEEncoder()
	line, err := enc.Encode(sampleAlert())
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(line, &got); err != nil {
		t.Fatal(err)
	}
	alert := got["alert"].(map[string]any)
	tests := []struct {
		name string
		got  any
		want any
	}{
		{name: "timestamp", got: got["timestamp"], want: "2026-06-01T12:00:00.123456+0000"},
		{name: "event_type", got: got["event_type"], want: "alert"},
		{name: "src_port is a number", got: got["src_port"], want: 40000.0},
		{name: "proto", got: got["proto"], want: "TCP"},
		{name: "flow_id", got: got["flow_id"], want: float64(sampleAlert().FlowID)},
		{name: "alert.signature_id", got: alert["signature_id"], want: 2100498.0},
		{name: "alert.action", got: alert["action"], want: "blocked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestEVEEncodeReusesBuffer(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	enc := NewEVEEncoder()
	e := sampleFlow()
	if _, err := enc.Encode(e); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := enc.Encode(e); err != nil {
			t.Fatal(err)
		}
	})
	// The address and time strings (5 today), nothing for the buffer,
	// the record or the encoder.
	if allocs > 8 {
		t.Errorf("Encode: %v allocations per event, want at most 8", allocs)
	}
}

// jsonLine is r as encoding/json writes it (HTML escaping off): what the
// hand-written encoder must write.
func jsonLine(t *testing.T, r *eveRecord) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestEVEAppendMatchesJSON: every sample event, and strings with every
// kind of escape, come out as encoding/json writes them.
func TestEVEAppendMatchesJSON(t *testing.T) {
	odd := "a\"\\\b\f\n\r\t\x00\x1f\x7f<&>\u2028\u2029\xff\xc3(é😀\xed\xa0\x80"
	events := []*Event{sampleAlert(), sampleFlow(), sampleDecision(), sampleDrop(), sampleICMPDrop(), samplePolicy(), {Kind: KindFlow, Time: t0}}
	e := sampleAlert()
	e.Alert.Signature, e.User, e.Groups, e.Cmdline, e.Observe = odd, odd, []string{odd, ""}, odd, true
	e.Policy.Generation = 7
	events = append(events, e)
	d := sampleDrop()
	d.Reason = ""
	events = append(events, d)
	for i, e := range events {
		enc := NewEVEEncoder()
		line, err := enc.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		if want := jsonLine(t, &enc.rec); !bytes.Equal(line, want) {
			t.Errorf("event %d: Encode wrote\n%s\nencoding/json writes\n%s", i, line, want)
		}
	}
}

func FuzzEVE(f *testing.F) {
	f.Add(uint8(KindAlert), []byte{10, 0, 0, 1}, uint16(80), uint8(6), "http", "rule", "user", "sig", "grp", int64(0))
	f.Add(uint8(KindFlow), []byte{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, uint16(0), uint8(58), "", "\n\x00\"\\", "\xff\xfe", "<&>", "\u2028", int64(-1))
	f.Add(uint8(255), []byte{}, uint16(65535), uint8(255), "unknown", "", "", "", "", int64(1<<62))
	f.Fuzz(func(t *testing.T, kind uint8, addr []byte, port uint16, proto uint8, app, rule, user, sig, group string, nanos int64) {
		a, _ := netip.AddrFromSlice(addr)
		ap := netip.AddrPortFrom(a, port)
		ts := time.Unix(0, nanos)
		e := &Event{
			Kind: Kind(kind), Time: ts, FlowID: FlowID(ap, ap, proto, ts),
			Src: ap, Dst: ap, Proto: proto, App: app, AppProto: AppProto(app),
			Rule: rule, Action: rule, Reason: group, Observe: nanos&1 == 1,
			User: user, Groups: []string{group, user}, Process: sig,
			ZoneSrc: group, ZoneDst: rule, GroupsSrc: []string{sig}, SNI: sig, HTTPHost: user,
			Start: ts, End: ts.Add(time.Duration(port)), State: app, EndReason: rule,
			Alert:  Alert{Action: user, GID: uint32(port), SID: uint32(nanos), Signature: sig, Category: group, Severity: int(proto)},
			Policy: Policy{Generation: uint64(nanos), Revision: app, Error: sig},
		}
		enc := NewEVEEncoder()
		line, err := enc.Encode(e)
		if err != nil {
			t.Fatalf("Encode: %v", err)
		}
		if want := jsonLine(t, &enc.rec); !bytes.Equal(line, want) {
			t.Fatalf("Encode wrote\n%s\nencoding/json writes\n%s", line, want)
		}
		if bytes.IndexByte(line, '\n') != len(line)-1 {
			t.Fatalf("not exactly one line: %q", line)
		}
		if !json.Valid(line) {
			t.Fatalf("invalid JSON: %q", line)
		}
		var back map[string]any
		if err := json.Unmarshal(line, &back); err != nil {
			t.Fatal(err)
		}
		if back["event_type"] != Kind(kind).String() {
			t.Fatalf("event_type %v, want %v", back["event_type"], Kind(kind))
		}
		// Journald's side of the same event never panics either, and
		// its message stays on one line.
		if msg := Message(e, nil); bytes.ContainsAny([]byte(msg), "\n") && e.Kind != KindPolicy {
			t.Fatalf("message spans lines: %q", msg)
		}
		JournalFields(e, map[string]string{})
	})
}
