package flowmap

import (
	"bytes"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/septa-fw/septa/daemon/events"
	"github.com/septa-fw/septa/rules"
	"github.com/septa-fw/septa/rules/ir"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// t0 is when the fixture's flows start: 2026-06-01 12:00 UTC.
var t0 = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// flow is one fixture record: src and dst "addr:port", proto, app,
// verdict ("allow", "deny", "would-deny", "" for Suricata's records),
// rule, user, and its start in minutes after t0.
type flow struct {
	src, dst string
	proto    uint8
	app      string
	verdict  string
	rule     string
	user     string
	minute   int
}

// fixtureFlows are the shop's traffic as septad in observe mode records
// it (testdata/policy, testdata/inventory.toml): clients to the web tier,
// web to app, app to db, admins over SSH, DNS, one external client, a
// flow Suricata recorded without a verdict, and dev reaching into prod
// twice: once denied, once let through as would-deny.
var fixtureFlows = []flow{
	{"10.4.0.11:40001", "10.3.1.10:80", 6, "http", "allow", "vdi-to-prod-web", "alice", 0},
	{"10.4.0.11:40002", "10.3.1.10:80", 6, "http", "allow", "vdi-to-prod-web", "alice", 1},
	{"10.4.0.12:40003", "10.3.1.10:443", 6, "tls", "allow", "vdi-to-prod-web", "bob", 2},
	{"192.0.2.7:50000", "10.3.1.10:443", 6, "tls", "would-deny", "", "", 3},
	{"10.3.1.10:41000", "10.3.2.10:8080", 6, "http", "would-deny", "", "", 4},
	{"10.3.1.10:41001", "10.3.2.10:8080", 6, "http", "would-deny", "", "", 5},
	{"10.3.2.10:42000", "10.3.3.10:5432", 6, "postgresql", "would-deny", "", "", 6},
	{"10.3.2.10:42001", "10.3.3.10:5432", 6, "", "would-deny", "", "", 7},
	{"10.9.0.11:43000", "10.3.3.10:22", 6, "ssh", "allow", "admin-ssh", "root", 8},
	{"10.9.0.11:43001", "10.3.1.10:22", 6, "ssh", "allow", "admin-ssh", "root", 9},
	{"10.9.0.11:0", "10.3.1.10:0", 1, "", "would-deny", "zone-isolation:admin", "", 10},
	{"10.3.1.10:53000", "10.3.0.53:53", 17, "dns", "would-deny", "", "", 11},
	{"10.3.2.10:44000", "198.51.100.20:443", 6, "tls", "", "", "", 12},
	{"10.1.0.11:45000", "10.3.3.10:5432", 6, "", "deny", "zone-isolation:dev", "", 13},
	{"10.1.0.11:45001", "10.3.2.10:8080", 6, "unknown", "would-deny", "zone-isolation:dev", "mallory", 14},
	{"10.1.3.10:46000", "10.3.3.10:5432", 6, "postgresql", "would-deny", "zone-isolation:dev", "", 15},
}

// fixtureEvents returns the fixture as flow records.
func fixtureEvents() []*events.Event {
	var out []*events.Event
	for i, f := range fixtureFlows {
		src, dst := netip.MustParseAddrPort(f.src), netip.MustParseAddrPort(f.dst)
		start := t0.Add(time.Duration(f.minute) * time.Minute)
		end := start.Add(time.Duration(5+i) * time.Second)
		e := &events.Event{
			Kind: events.KindFlow, Time: end, FlowID: events.FlowID(src, dst, f.proto, start),
			Src: src, Dst: dst, Proto: f.proto, App: f.app, AppProto: events.AppProto(f.app),
			Rule: f.rule, User: f.user,
			PacketsToServer: uint64(4 + i), PacketsToClient: uint64(3 + i),
			BytesToServer: uint64(300 + 100*i), BytesToClient: uint64(1000 * (i + 1)),
			Start: start, End: end, State: "closed", EndReason: "timeout",
		}
		switch f.verdict {
		case "allow":
			e.Action, e.Reason = "allow", "policy"
		case "deny":
			e.Action, e.Reason = "deny", "policy"
			e.PacketsToClient, e.BytesToClient = 0, 0
		case "would-deny":
			e.Action, e.Reason, e.Observe = "deny", "policy", true
			if f.rule == "" {
				e.Reason = "default"
			}
		}
		out = append(out, e)
	}
	return out
}

// TestFixtureFile keeps testdata/flows.eve, the fixture as septad writes
// it, in step with fixtureFlows; the EVE reader reads it back whole.
func TestFixtureFile(t *testing.T) {
	var b bytes.Buffer
	enc := events.NewEVEEncoder()
	for _, e := range fixtureEvents() {
		line, err := enc.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
	}
	path := filepath.Join("testdata", "flows.eve")
	if *update {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), b.String()); diff != "" {
		t.Fatalf("%s (-want +got):\n%s", path, diff)
	}
	got, x, err := events.ReadEVE(bytes.NewReader(want))
	if err != nil || x.Bad() != 0 || len(got) != len(fixtureFlows) {
		t.Fatalf("read back %d records, %d bad, %v; want %d", len(got), x.Bad(), err, len(fixtureFlows))
	}
}

// fixturePolicy loads testdata/policy with testdata/inventory.toml.
func fixturePolicy(tb testing.TB) (*rules.Inventory, *ir.Policy) {
	tb.Helper()
	inv, err := rules.LoadInventory(filepath.Join("testdata", "inventory.toml"))
	if err != nil {
		tb.Fatal(err)
	}
	res, err := rules.Load(filepath.Join("testdata", "policy"), rules.Options{Inventory: inv, Now: t0})
	if err != nil {
		tb.Fatal(err)
	}
	return inv, res.Policy
}

// golden compares got with testdata/name, rewriting it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}
