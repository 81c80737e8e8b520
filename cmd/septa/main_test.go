package main

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/septa-fw/septa/daemon"
	"github.com/septa-fw/septa/daemon/events"
)

// TestCheck runs septa check as a user would: exit status, output and
// the signature report.
func TestCheck(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rules := write("sigs/web.rules", "alert http any any -> any any (msg:\"ok\"; content:\"abc\"; sid:1; rev:1;)\n"+
		"alert http any any -> any any (msg:\"bad\"; frobnicate; sid:2; rev:1;)\n")
	write("good/10.toml", `[[rules]]
name = "web"
from = "any"
to = "self"
ports = ["tcp/80"]
ids = "detect"
action = "allow"
[ids]
signatures = ["`+rules+`"]
`)
	write("bad/10.toml", "[[rules]]\nname = \"web\"\nfrom = \"any\"\nto = \"self\"\naction = \"alow\"\n")
	tests := []struct {
		name     string
		args     []string
		code     int
		out, err string
	}{
		{"valid, with a skipped signature", []string{"check", filepath.Join(dir, "good")}, 0,
			"signatures: 1 loaded, 1 skipped", `keyword "frobnicate": unknown keyword`},
		{"invalid", []string{"check", filepath.Join(dir, "bad")}, 1,
			"", `10.toml:5:10: rule "web": action: "alow" is not one of "allow", "deny" or "reject"`},
		{"usage", []string{"check", "--nope"}, 2, "", "unknown flag"},
		{"examples", []string{"check", "../../packaging/examples/1-zones/policy.d", "../../packaging/examples/4-ids/policy.d"}, 0,
			"4-ids/policy.d: signatures: 2 loaded, 0 skipped", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(tt.args, &out, &errb)
			if code != tt.code || !strings.Contains(out.String(), tt.out) || !strings.Contains(errb.String(), tt.err) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr with %q",
					code, out.String(), errb.String(), tt.code, tt.out, tt.err)
			}
		})
	}
}

func TestFlowsRecordFlags(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		flags     recordFlags
		limit     int
		wouldDeny bool
		want      daemon.RecordQuery
		wantErr   string
	}{
		{name: "filters", flags: recordFlags{records: true, since: "1h", zone: "prod", group: "shop-db", app: "http", rule: "web-in", verdict: "deny"},
			limit: 50, want: daemon.RecordQuery{Since: now.Add(-time.Hour), Zone: "prod", Group: "shop-db", App: "http", Rule: "web-in", Verdict: "deny", Limit: 50}},
		{name: "times", flags: recordFlags{records: true, since: "2026-06-01T10:00:00Z", until: "30m"},
			want: daemon.RecordQuery{Since: now.Add(-2 * time.Hour), Until: now.Add(-30 * time.Minute)}},
		{name: "would-deny", flags: recordFlags{records: true}, wouldDeny: true, want: daemon.RecordQuery{WouldDeny: true}},
		{name: "filter without --records", flags: recordFlags{zone: "prod"}, wantErr: "--zone filters flow records: add --records"},
		{name: "bad since", flags: recordFlags{records: true, since: "monday"}, wantErr: `--since: "monday" is neither an RFC 3339 time nor a duration such as "1h"`},
		{name: "bad verdict", flags: recordFlags{records: true, verdict: "ok"}, wantErr: `verdict: "ok" is not allow, deny, reject or would-deny`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := tt.flags.query(tt.limit, tt.wouldDeny, now)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, q); diff != "" {
				t.Errorf("query (-want +got):\n%s", diff)
			}
		})
	}
	var out, errb bytes.Buffer
	if code := run([]string{"flows", "--app", "http"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "add --records") {
		t.Errorf("flows --app without --records: exit %d, stderr %q; want 2 and a hint", code, errb.String())
	}
}

func TestPrintRecords(t *testing.T) {
	end := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	rs := []events.Event{
		{Kind: events.KindFlow, Src: netip.MustParseAddrPort("10.2.0.11:40000"), Dst: netip.MustParseAddrPort("10.3.1.10:8080"), Proto: 6,
			Start: end.Add(-1500 * time.Millisecond), End: end, Rule: "shop-http", Action: "allow", Reason: "policy", App: "http",
			HTTPHost: "shop.example", ZoneSrc: "test", ZoneDst: "prod", Decider: "inspector", BytesToServer: 380, BytesToClient: 423,
			PacketsToServer: 5, PacketsToClient: 4, State: "closed", Alerted: true},
		{Kind: events.KindFlow, Src: netip.MustParseAddrPort("10.2.0.11:40001"), Dst: netip.MustParseAddrPort("10.3.1.10:7000"), Proto: 6,
			End: end, Action: "deny", Reason: "default", Decider: "kernel", PacketsToServer: 1, State: "new"},
		{Kind: events.KindFlow, Src: netip.MustParseAddrPort("10.2.0.11:40002"), Dst: netip.MustParseAddrPort("10.3.1.10:9100"), Proto: 6,
			End: end, Action: "deny", Observe: true, Reason: daemon.ReasonUnattributed, State: "closed"},
	}
	var b bytes.Buffer
	if err := printRecords(&b, rs); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	want := [][]string{
		{"END", "DURATION", "VERDICT", "BYTES OUT/IN"},
		{"2026-06-01 12:00:00", "1.5s", "allow", "TCP", "10.2.0.11:40000", "10.3.1.10:8080", "http host=shop.example", "test->prod", "shop-http", "inspector", "380/423", "5/4", "closed alerted"},
		{"deny", "(default)", "kernel", "0/0", "1/0", "new"},
		{"would-deny", "closed"},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), b.String())
	}
	for i, ws := range want {
		for _, w := range ws {
			if !strings.Contains(lines[i], w) {
				t.Errorf("line %d %q lacks %q", i, lines[i], w)
			}
		}
	}
	// An unattributed record names no rule, not the default.
	if strings.Contains(lines[3], "(default)") {
		t.Errorf("unattributed record shown as the default: %q", lines[3])
	}
}
