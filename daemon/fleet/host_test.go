package fleet

import (
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/septa-fw/septa/rules"
)

func TestMergeInventory(t *testing.T) {
	local, err := rules.ParseInventory("inventory.toml", []byte(`
[[hosts]]
name = "db-1"
addresses = ["10.3.3.10"]
tags = { tier = "db" }
`))
	if err != nil {
		t.Fatal(err)
	}
	reg := map[string]rules.Host{
		"web-1": {Name: "web-1", Addresses: []netip.Addr{netip.MustParseAddr("10.3.1.10")}},
		"db-1":  {Name: "db-1", Addresses: []netip.Addr{netip.MustParseAddr("10.9.9.9")}},
		"app-1": {Name: "app-1", Addresses: []netip.Addr{netip.MustParseAddr("10.3.2.10")}},
	}
	inv, shadowed := MergeInventory(local, reg)
	var names []string
	for _, h := range inv.Hosts {
		names = append(names, h.Name+"="+h.Addresses[0].String())
	}
	if diff := cmp.Diff([]string{"db-1=10.3.3.10", "app-1=10.3.2.10", "web-1=10.3.1.10"}, names); diff != "" {
		t.Errorf("hosts (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"db-1"}, shadowed); diff != "" {
		t.Errorf("shadowed (-want +got):\n%s", diff)
	}
}

func TestFactsAndRecord(t *testing.T) {
	osr := filepath.Join(t.TempDir(), "os-release")
	if err := os.WriteFile(osr, []byte("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\nNAME=\"Debian GNU/Linux\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	facts := Facts(osr)
	want := map[string]string{"os": runtime.GOOS, "distro": "debian", "distro_version": "12"}
	if diff := cmp.Diff(want, facts); diff != "" {
		t.Errorf("facts (-want +got):\n%s", diff)
	}
	c := Config{Host: "web-1", Tags: map[string]string{"tier": "web", "os": "custom"}}
	rec := c.Record([]netip.Addr{netip.MustParseAddr("10.3.1.10")}, facts)
	want = map[string]string{"os": "custom", "distro": "debian", "distro_version": "12", "tier": "web"}
	if diff := cmp.Diff(want, rec.Tags); diff != "" {
		t.Errorf("a configured tag must win over a fact (-want +got):\n%s", diff)
	}
	if got := Facts(filepath.Join(t.TempDir(), "missing")); len(got) != 1 || got["os"] != runtime.GOOS {
		t.Errorf("without os-release: %v", got)
	}
}
