package inspect

import (
	"net/netip"
	"testing"
	"time"

	"github.com/septa-fw/septa/inspect/appid"
	"github.com/septa-fw/septa/inspect/packet"
	"github.com/septa-fw/septa/inspect/userid"
	"github.com/septa-fw/septa/rules"
	"github.com/septa-fw/septa/rules/ir"
)

// compilePolicy compiles a policy written in the policy language, so the
// tests read like what operators write.
func compilePolicy(t testing.TB, src, inventory string) *Policy {
	t.Helper()
	opts := rules.Options{Now: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)}
	if inventory != "" {
		inv, err := rules.ParseInventory("inventory.toml", []byte(inventory))
		if err != nil {
			t.Fatal(err)
		}
		opts.Inventory = inv
	}
	res, err := rules.Compile([]rules.File{{Name: "policy.toml", Data: []byte(src)}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return NewPolicy(res.Policy, 1)
}

const testPolicy = `
[zones.vdi]
cidrs = ["10.4.0.0/16"]
[zones.dc]
cidrs = ["10.3.0.0/16", "fd00:3::/48"]
[groups.finance-app]
select = "app=finance"
[groups.db]
select = "tier=db"
[services.pg]
ports = ["tcp/5432"]
app = "postgresql"

[[rules]]
name = "finance"
from = "zone:vdi"
to = "group:finance-app"
services = ["https"]
users = ["group:finance"]
action = "allow"

[[rules]]
name = "finance-web"
from = "zone:dc"
to = "group:finance-app"
ports = ["tcp/443"]
sni = ["*.finance.example"]
action = "allow"

[[rules]]
name = "db"
from = "zone:dc"
to = "group:db"
services = ["pg"]
action = "allow"

[[rules]]
name = "dc-ssh-out"
direction = "out"
from = "self"
to = "zone:dc"
services = ["ssh"]
process = ["/usr/bin/ssh"]
action = "allow"

[[rules]]
name = "observe-dc-web"
from = "any"
to = "zone:dc"
ports = ["tcp/80"]
action = "deny"
observe = true
`

const testInventory = `
[[hosts]]
name = "fin-1"
addresses = ["10.3.10.10"]
tags = { app = "finance" }
[[hosts]]
name = "db-1"
addresses = ["10.3.3.10", "fd00:3::10"]
tags = { tier = "db" }
`

func info(app appid.App, sni string) *appid.Info {
	i := &appid.Info{App: app}
	if sni != "" {
		i.SNI = []byte(sni)
	}
	return i
}

func TestDecide(t *testing.T) {
	pol := compilePolicy(t, testPolicy, testInventory)
	idx := func(id string) int {
		for i, r := range pol.IR().Rules {
			if r.ID == id {
				return i
			}
		}
		t.Fatalf("no rule %q", id)
		return 0
	}
	a := netip.MustParseAddr
	tests := []struct {
		name  string
		facts Facts
		want  Decision
	}{
		{
			name:  "user unknown yet",
			facts: Facts{Src: a("10.4.0.5"), Dst: a("10.3.10.10"), Proto: 6, DstPort: 443, Hook: HookInput},
			want:  Decision{Rule: idx("finance"), Need: NeedUser},
		},
		{
			name: "finance user allowed",
			facts: Facts{Src: a("10.4.0.5"), Dst: a("10.3.10.10"), Proto: 6, DstPort: 443, Hook: HookInput,
				UserDone: true, User: &userid.Identity{Name: "alice", Groups: []string{"staff", "finance"}}},
			want: Decision{Rule: idx("finance"), Action: ir.ActionAllow, IDS: ir.IDSOff, Reason: packet.ReasonPolicy},
		},
		{
			name: "hr user falls to zone isolation",
			facts: Facts{Src: a("10.4.0.6"), Dst: a("10.3.10.10"), Proto: 6, DstPort: 443, Hook: HookInput,
				UserDone: true, User: &userid.Identity{Name: "bob", Groups: []string{"hr"}}},
			want: Decision{Rule: idx("zone-isolation:vdi"), Action: ir.ActionDeny, IDS: ir.IDSOff, Reason: packet.ReasonPolicy},
		},
		{
			name: "sni matches below the pattern",
			facts: Facts{Src: a("10.3.1.1"), Dst: a("10.3.10.10"), Proto: 6, DstPort: 443, Hook: HookInput,
				AppDone: true, Info: info(appid.TLS, "Pay.Finance.Example")},
			want: Decision{Rule: idx("finance-web"), Action: ir.ActionAllow, IDS: ir.IDSOff, Reason: packet.ReasonPolicy},
		},
		{
			name: "sni of the parent does not match",
			facts: Facts{Src: a("10.3.1.1"), Dst: a("10.3.10.10"), Proto: 6, DstPort: 443, Hook: HookInput,
				AppDone: true, Info: info(appid.TLS, "finance.example")},
			want: Decision{Rule: -1, Action: ir.ActionDeny, IDS: ir.IDSOff, Reason: packet.ReasonApp},
		},
		{
			name: "postgresql to a host outside the group",
			facts: Facts{Src: a("10.3.2.1"), Dst: a("fd00:3::99"), Proto: 6, DstPort: 5432, Hook: HookInput,
				AppDone: true, Info: info(appid.PostgreSQL, "")},
			want: Decision{Rule: -1, Action: ir.ActionDeny, IDS: ir.IDSOff, Reason: packet.ReasonDefault},
		},
		{
			name: "ssh on 5432 is denied for its app",
			facts: Facts{Src: a("10.3.2.1"), Dst: a("10.3.3.10"), Proto: 6, DstPort: 5432, Hook: HookInput,
				AppDone: true, Info: info(appid.SSH, "")},
			want: Decision{Rule: -1, Action: ir.ActionDeny, IDS: ir.IDSOff, Reason: packet.ReasonApp},
		},
		{
			name: "postgresql to the db",
			facts: Facts{Src: a("10.3.2.1"), Dst: a("10.3.3.10"), Proto: 6, DstPort: 5432, Hook: HookInput,
				AppDone: true, Info: info(appid.PostgreSQL, "")},
			want: Decision{Rule: idx("db"), Action: ir.ActionAllow, IDS: ir.IDSOff, Reason: packet.ReasonPolicy},
		},
		{
			name:  "outbound ssh needs the process",
			facts: Facts{Src: a("10.3.2.1"), Dst: a("10.3.3.10"), Proto: 6, DstPort: 22, Hook: HookOutput},
			want:  Decision{Rule: idx("dc-ssh-out"), Need: NeedProcess},
		},
		{
			name: "outbound ssh from ssh",
			facts: Facts{Src: a("10.3.2.1"), Dst: a("10.3.3.10"), Proto: 6, DstPort: 22, Hook: HookOutput,
				ProcessDone: true, Process: "/usr/bin/ssh"},
			want: Decision{Rule: idx("dc-ssh-out"), Action: ir.ActionAllow, IDS: ir.IDSOff, Reason: packet.ReasonPolicy},
		},
		{
			name:  "inbound ssh is for the failsafe",
			facts: Facts{Src: a("10.3.2.1"), Dst: a("10.3.3.10"), Proto: 6, DstPort: 22, Hook: HookInput},
			want:  Decision{Rule: idx("failsafe"), Action: ir.ActionAllow, IDS: ir.IDSOff, Reason: packet.ReasonPolicy},
		},
		{
			name:  "observed deny",
			facts: Facts{Src: a("192.0.2.1"), Dst: a("10.3.9.9"), Proto: 6, DstPort: 80, Hook: HookInput},
			want:  Decision{Rule: idx("observe-dc-web"), Action: ir.ActionDeny, Observe: true, IDS: ir.IDSOff, Reason: packet.ReasonPolicy},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.facts.Now = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
			if got := pol.Decide(&tt.facts); got != tt.want {
				t.Errorf("Decide = %+v\nwant       %+v", got, tt.want)
			}
		})
	}
}

func TestDecideNoAllocs(t *testing.T) {
	pol := compilePolicy(t, testPolicy, testInventory)
	f := &Facts{Src: netip.MustParseAddr("10.4.0.6"), Dst: netip.MustParseAddr("10.3.10.10"), Proto: 6, DstPort: 443,
		Hook: HookInput, UserDone: true, User: &userid.Identity{Name: "bob", Groups: []string{"hr"}}, AppDone: true,
		Info: info(appid.TLS, "x.finance.example")}
	if n := testing.AllocsPerRun(100, func() { pol.Decide(f) }); n != 0 {
		t.Errorf("Decide allocates %v times, want 0", n)
	}
}

func TestAddrSet(t *testing.T) {
	s := newAddrSet([]netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("10.1.0.0/16"),
		netip.MustParsePrefix("192.168.1.0/24"), netip.MustParsePrefix("fd00::/8"), netip.MustParsePrefix("::1/128"),
	})
	for addr, want := range map[string]bool{
		"10.0.0.0": true, "10.255.255.255": true, "11.0.0.0": false, "9.255.255.255": false,
		"192.168.1.77": true, "192.168.2.1": false, "::ffff:10.2.3.4": true,
		"fd12::1": true, "fe00::1": false, "::1": true, "::2": false, "0.0.0.0": false,
	} {
		if got := s.contains(netip.MustParseAddr(addr)); got != want {
			t.Errorf("contains(%s) = %v, want %v", addr, got, want)
		}
	}
	all := newAddrSet([]netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")})
	if !all.contains(netip.MustParseAddr("255.255.255.255")) || all.contains(netip.MustParseAddr("::1")) {
		t.Errorf("0.0.0.0/0 must hold every IPv4 address and no IPv6 one")
	}
	all6 := newAddrSet([]netip.Prefix{netip.MustParsePrefix("::/0")})
	if !all6.contains(netip.MustParseAddr("ffff::1")) {
		t.Errorf("::/0 must hold every IPv6 address")
	}
}

func TestMatchHost(t *testing.T) {
	pats := [][]byte{[]byte("*.example.com"), []byte("exact.org")}
	for name, want := range map[string]bool{
		"a.example.com": true, "A.B.Example.COM": true, "example.com": false, "badexample.com": false,
		"exact.org": true, "exact.org.": true, "sub.exact.org": false, "": false,
	} {
		if got := matchHost(pats, []byte(name)); got != want {
			t.Errorf("matchHost(%q) = %v, want %v", name, got, want)
		}
	}
	for _, tt := range []struct{ path, host, want string }{
		{"/", "shop.example", "shop.example"},
		{"http://evil.example/x", "shop.example", "evil.example"},
		{"HTTPS://user@evil.example:8443?q", "shop.example", "evil.example:8443"},
		{"http://evil.example", "", "evil.example"},
		{"/http://evil.example/", "shop.example", "shop.example"},
	} {
		info := &appid.Info{HTTPPath: []byte(tt.path), HTTPHost: []byte(tt.host)}
		if got := string(requestHost(info)); got != tt.want {
			t.Errorf("requestHost(%q, Host %q) = %q, want %q", tt.path, tt.host, got, tt.want)
		}
	}
	for in, want := range map[string]string{"a.com:8080": "a.com", "a.com": "a.com", "[::1]:80": "::1", "::1": "::1"} {
		if got := string(stripPort([]byte(in))); got != want {
			t.Errorf("stripPort(%q) = %q, want %q", in, got, want)
		}
	}
}
