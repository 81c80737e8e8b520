package daemon

import (
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/septa-fw/septa/daemon/fleet"
	"github.com/septa-fw/septa/inspect/userid"
	"github.com/septa-fw/septa/rules"
)

func TestFleetConfig(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"off by default", "", ""},
		{"enabled", "[fleet]\nenabled = true\nendpoints = [\"http://10.9.0.20:2379\"]\nhost = \"web-1\"\ntags = { tier = \"web\" }\nlease_ttl = \"5s\"\n", ""},
		{"no endpoints", "[fleet]\nenabled = true\nhost = \"web-1\"\n", "fleet.endpoints: fleet mode needs at least one etcd endpoint"},
		{"unknown key", "[fleet]\nenabeld = true\n", "unknown keys: fleet.enabeld"},
		{"bad endpoint", "[fleet]\nendpoints = [\"10.9.0.20:2379\"]\nhost = \"web-1\"\n", `fleet.endpoints: "10.9.0.20:2379" is not an http:// or https:// URL`},
		{"bad tag", "[fleet]\nhost = \"web-1\"\ntags = { tier = \"w b\" }\n", "fleet.tags: host fleet.tags: tags: tag tier=w b: ' ' is not allowed"},
		{"cert without key", "[fleet]\nhost = \"web-1\"\ncert = \"/c.pem\"\n", "fleet.cert and fleet.key go together"},
		{"short ttl", "[fleet]\nhost = \"web-1\"\nlease_ttl = \"1s\"\n", "fleet.lease_ttl: 1s is not between 2s and 1h"},
		{"bad host", "[fleet]\nenabled = true\nendpoints = [\"http://10.9.0.20:2379\"]\nhost = \"a/b\"\n", "fleet.host: host fleet.host: name: name \"a/b\""},
		{"bad host while disabled", "[fleet]\nhost = \"a/b\"\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "septad.toml")
			if err := os.WriteFile(path, []byte(tt.in), 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := LoadConfig(path)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("error %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want %q", err, tt.want)
			case tt.want == "" && c.Fleet.Prefix != "/septa/":
				t.Errorf("prefix %q", c.Fleet.Prefix)
			}
		})
	}
}

func TestCheckControlPlane(t *testing.T) {
	const base = "[settings]\ndefault = \"deny\"\n"
	const allowEtcd = `
[[rules]]
name = "fleet-control-plane"
direction = "out"
from = "self"
to = "10.9.0.20"
ports = ["tcp/2379"]
action = "allow"
`
	srcs := []netip.Addr{netip.MustParseAddr("10.3.2.10")}
	tests := []struct{ name, policy, endpoint, want string }{
		{"allowed", base + allowEtcd, "http://10.9.0.20:2379", ""},
		{"denied", base, "http://10.9.0.20:2379", "fleet: the policy does not allow this host to reach etcd at 10.9.0.20:2379 from 10.3.2.10 (allow tcp/2379 out to it in the kernel): refused"},
		{"other port", base + allowEtcd, "https://10.9.0.20:2389", "reach etcd at 10.9.0.20:2389"},
		{"default port", base + allowEtcd, "http://10.9.0.20", ""},
		{"allow by default", "[settings]\ndefault = \"allow\"\n", "http://10.9.0.20:2379", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := rules.Compile([]rules.File{{Name: "p.toml", Data: []byte(tt.policy)}}, rules.Options{})
			if err != nil {
				t.Fatal(err)
			}
			err = checkControlPlane(res.Policy, []string{tt.endpoint}, srcs)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("error %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// TestFleetSessions: sessions from other hosts land in the identity map
// under the source "fleet", and a later list replaces them.
func TestFleetSessions(t *testing.T) {
	d := New(Config{}.WithDefaults(), slog.New(slog.DiscardHandler))
	vdi := netip.MustParseAddr("10.4.0.11")
	d.idmap.Add(userid.Mapping{Addr: netip.MustParseAddr("10.4.0.12"), User: "bob", Source: "api"})
	tgt := fleetTarget{d}
	tgt.Sessions([]fleet.RemoteSession{{Host: "vdi-1", Addr: vdi, User: "alice", Groups: []string{"finance", "staff"}}})
	id := d.idmap.Lookup(vdi)
	if id == nil || id.Name != "alice" || !id.InGroup("finance") {
		t.Fatalf("after a login: %+v", id)
	}
	tgt.Sessions(nil)
	if id := d.idmap.Lookup(vdi); id != nil {
		t.Errorf("after the logout: %+v", id)
	}
	if id := d.idmap.Lookup(netip.MustParseAddr("10.4.0.12")); id == nil || id.Name != "bob" {
		t.Errorf("a mapping of another source was touched: %+v", id)
	}
}
