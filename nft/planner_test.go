package nft

import (
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/septa-fw/septa/rules/ir"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

var (
	prefixCmp = cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })
	caps      = Caps{Queue: QueueCompat, MetaTime: true}
)

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func basePolicy(rules ...ir.Rule) *ir.Policy {
	for i := range rules {
		rules[i].Index = i
	}
	return &ir.Policy{
		Settings: ir.Settings{Default: ir.ActionDeny, Mode: ir.ModeEnforce, FailMode: ir.FailOpen, Log: ir.LogDeny},
		Sets: []ir.Set{
			{Name: "group:web", Kind: ir.SetGroup, Prefixes: []netip.Prefix{pfx("10.30.0.11/32"), pfx("fd00::11/128")}},
			{Name: "identity:finance", Kind: ir.SetIdentity},
			{Name: "zone:prod", Kind: ir.SetZone, Prefixes: []netip.Prefix{pfx("10.30.0.0/16")}},
		},
		Rules: rules,
	}
}

func chain(t *testing.T, p *Plan, name string) []Rule {
	t.Helper()
	for _, c := range p.Chains {
		if c.Name == name {
			return c.Rules
		}
	}
	t.Fatalf("no chain %s", name)
	return nil
}

func TestPlanRules(t *testing.T) {
	const gen = 5
	l, _ := NewMarkLayout(DefaultMarkMask)
	allow := SetCtMark{Mask: DefaultMarkMask, Value: l.Value(MarkAllow, gen)}
	accept, drop := Verdict{Kind: VerdictAccept}, Verdict{Kind: VerdictDrop}
	tests := []struct {
		name  string
		rule  ir.Rule
		chain string
		want  []Rule
	}{
		{
			name:  "allow zone to self on a port",
			rule:  ir.Rule{ID: "web", Dir: ir.DirIn, Action: ir.ActionAllow, From: ir.Endpoint{Sets: []string{"zone:prod"}}, To: ir.Endpoint{Self: true}, Ports: []ir.Port{{Proto: ir.ProtoTCP, First: 443, Last: 443}}},
			chain: "rules_in",
			want: []Rule{{ID: "web", Stmts: []Stmt{NFProto{FamilyIPv4}, Addr{Field: AddrSrc, Family: FamilyIPv4, Set: "zone_prod_v4"},
				L4Proto{ir.ProtoTCP}, Port{Ranges: []PortRange{{443, 443}}}, Counter{}, allow, accept}}},
		},
		{
			name:  "reply chain swaps addresses and ports",
			rule:  ir.Rule{ID: "web", Dir: ir.DirIn, Action: ir.ActionAllow, From: ir.Endpoint{Sets: []string{"zone:prod"}}, To: ir.Endpoint{Self: true}, Ports: []ir.Port{{Proto: ir.ProtoTCP, First: 443, Last: 443}}},
			chain: "rules_in_reply",
			want: []Rule{{ID: "web", Stmts: []Stmt{NFProto{FamilyIPv4}, Addr{Field: AddrDst, Family: FamilyIPv4, Set: "zone_prod_v4"},
				L4Proto{ir.ProtoTCP}, Port{Src: true, Ranges: []PortRange{{443, 443}}}, Counter{}, allow, accept}}},
		},
		{
			name:  "self is nobody in forward",
			rule:  ir.Rule{ID: "web", Dir: ir.DirIn, Action: ir.ActionAllow, From: ir.Endpoint{Any: true}, To: ir.Endpoint{Self: true}},
			chain: "rules_fwd",
			want:  nil,
		},
		{
			name:  "out rule not in rules_in",
			rule:  ir.Rule{ID: "o", Dir: ir.DirOut, Action: ir.ActionAllow, From: ir.Endpoint{Self: true}, To: ir.Endpoint{Any: true}},
			chain: "rules_in",
			want:  nil,
		},
		{
			name:  "group has both families",
			rule:  ir.Rule{ID: "g", Dir: ir.DirBoth, Action: ir.ActionDeny, Log: true, From: ir.Endpoint{Sets: []string{"group:web"}}, To: ir.Endpoint{Any: true}},
			chain: "rules_out",
			want: []Rule{
				{ID: "g", Stmts: []Stmt{NFProto{FamilyIPv4}, Addr{Field: AddrSrc, Family: FamilyIPv4, Set: "group_web_v4"}, Counter{}, Log{Group: 1, Prefix: "g"}, drop}},
				{ID: "g", Stmts: []Stmt{NFProto{FamilyIPv6}, Addr{Field: AddrSrc, Family: FamilyIPv6, Set: "group_web_v6"}, Counter{}, Log{Group: 1, Prefix: "g"}, drop}},
			},
		},
		{
			name: "cross product keeps families apart, literals share a set",
			rule: ir.Rule{ID: "x", Dir: ir.DirIn, Action: ir.ActionAllow,
				From: ir.Endpoint{Prefixes: []netip.Prefix{pfx("10.1.0.0/16"), pfx("10.2.0.1/32"), pfx("fd00::/8")}},
				To:   ir.Endpoint{Sets: []string{"zone:prod"}}},
			chain: "rules_in",
			want: []Rule{{ID: "x", Stmts: []Stmt{NFProto{FamilyIPv4},
				Addr{Field: AddrSrc, Family: FamilyIPv4, Prefixes: []netip.Prefix{pfx("10.1.0.0/16"), pfx("10.2.0.1/32")}},
				Addr{Field: AddrDst, Family: FamilyIPv4, Set: "zone_prod_v4"}, Counter{}, allow, accept}}},
		},
		{
			name:  "reject any protocol: reset for tcp, icmp otherwise, no mark",
			rule:  ir.Rule{ID: "rj", Dir: ir.DirIn, Action: ir.ActionReject, From: ir.Endpoint{Any: true}, To: ir.Endpoint{Self: true}},
			chain: "rules_in",
			want: []Rule{
				{ID: "rj", Stmts: []Stmt{L4Proto{ir.ProtoTCP}, Counter{}, Reject{TCP: true}}},
				{ID: "rj", Stmts: []Stmt{Counter{}, Reject{}}},
			},
		},
		{
			name:  "observe rule logs and accepts",
			rule:  ir.Rule{ID: "ob", Dir: ir.DirIn, Action: ir.ActionDeny, Observe: true, From: ir.Endpoint{Any: true}, To: ir.Endpoint{Self: true}, Ports: []ir.Port{{Proto: ir.ProtoUDP, First: 53, Last: 53}, {Proto: ir.ProtoTCP, First: 53, Last: 53}}},
			chain: "rules_in",
			want: []Rule{
				{ID: "ob", Stmts: []Stmt{L4Proto{ir.ProtoUDP}, Port{Ranges: []PortRange{{53, 53}}}, Counter{}, Log{Group: 2, Prefix: "ob"}, allow, accept}},
				{ID: "ob", Stmts: []Stmt{L4Proto{ir.ProtoTCP}, Port{Ranges: []PortRange{{53, 53}}}, Counter{}, Log{Group: 2, Prefix: "ob"}, allow, accept}},
			},
		},
		{
			name:  "expiry uses meta time",
			rule:  ir.Rule{ID: "tmp", Dir: ir.DirIn, Action: ir.ActionAllow, From: ir.Endpoint{Any: true}, To: ir.Endpoint{Self: true}, Expires: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)},
			chain: "rules_in",
			want:  []Rule{{ID: "tmp", Stmts: []Stmt{TimeBefore{T: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}, Counter{}, allow, accept}}},
		},
		{
			name: "inspection: re-mark flows allowed before, pass the handshake, queue the rest with bypass",
			rule: ir.Rule{ID: "pg", Dir: ir.DirIn, Action: ir.ActionAllow, Needs: ir.NeedApp, From: ir.Endpoint{Any: true}, To: ir.Endpoint{Self: true},
				Ports: []ir.Port{{Proto: ir.ProtoTCP, First: 5432, Last: 5432}}},
			chain: "rules_in",
			want: []Rule{
				{ID: "pg", Stmts: []Stmt{CtState{CtEstablished | CtRelated}, CtMark{Mask: l.VerdictMask(), Value: l.PacketMark(MarkAllow)},
					L4Proto{ir.ProtoTCP}, Port{Ranges: []PortRange{{5432, 5432}}}, Counter{}, allow, accept}},
				{ID: "pg", Stmts: []Stmt{L4Proto{ir.ProtoTCP}, Port{Ranges: []PortRange{{5432, 5432}}}, TCPHandshake{}, Counter{}, accept}},
				{ID: "pg", Stmts: []Stmt{L4Proto{ir.ProtoTCP}, Port{Ranges: []PortRange{{5432, 5432}}}, Counter{}, Queue{Kind: QueueCompat, Total: 1, Bypass: true}}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := PlanPolicy(basePolicy(tt.rule), Config{}, gen, caps)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, chain(t, p, tt.chain), prefixCmp); diff != "" {
				t.Errorf("chain %s (-want +got):\n%s", tt.chain, diff)
			}
		})
	}
}

func TestPlanErrors(t *testing.T) {
	tests := []struct {
		name string
		mod  func(p *ir.Policy)
		caps Caps
		want string
	}{
		{"unknown set", func(p *ir.Policy) {
			p.Rules = []ir.Rule{{ID: "a", Dir: ir.DirIn, Action: ir.ActionAllow, From: ir.Endpoint{Sets: []string{"zone:nope"}}, To: ir.Endpoint{Any: true}}}
		}, caps, `rule "a": unknown set "zone:nope"`},
		{"no action", func(p *ir.Policy) {
			p.Rules = []ir.Rule{{ID: "a", Dir: ir.DirIn, From: ir.Endpoint{Any: true}, To: ir.Endpoint{Any: true}}}
		}, caps, `rule "a": action "unknown"`},
		{"inspection without queue", func(p *ir.Policy) {
			p.Rules = []ir.Rule{{ID: "a", Dir: ir.DirIn, Action: ir.ActionAllow, Needs: ir.NeedIDS, From: ir.Endpoint{Any: true}, To: ir.Endpoint{Any: true}}}
		}, Caps{}, "kernel has no NFQUEUE"},
		{"reserved id", func(p *ir.Policy) {
			p.Rules = []ir.Rule{{ID: "septa:x", Dir: ir.DirIn, Action: ir.ActionAllow, From: ir.Endpoint{Any: true}, To: ir.Endpoint{Any: true}}}
		}, caps, "reserved"},
		{"no default", func(p *ir.Policy) { p.Settings.Default = ir.ActionReject }, caps, `default "reject"`},
		{"ports on icmp", func(p *ir.Policy) {
			p.Rules = []ir.Rule{{ID: "a", Dir: ir.DirIn, Action: ir.ActionAllow, From: ir.Endpoint{Any: true}, To: ir.Endpoint{Any: true}, Ports: []ir.Port{{Proto: ir.ProtoICMP, First: 1, Last: 1}}}}
		}, caps, "has no ports"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := basePolicy()
			tt.mod(p)
			_, err := PlanPolicy(p, Config{}, 9, tt.caps)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "nft: plan generation 9: ") {
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestPlanDump compares a whole plan with testdata/plan.golden (go test
// -update rewrites it).
func TestPlanDump(t *testing.T) {
	p := basePolicy(
		ir.Rule{ID: "web-in", Dir: ir.DirIn, Action: ir.ActionAllow, From: ir.Endpoint{Sets: []string{"identity:finance", "zone:prod"}}, To: ir.Endpoint{Self: true}, Ports: []ir.Port{{Proto: ir.ProtoTCP, First: 80, Last: 80}, {Proto: ir.ProtoTCP, First: 443, Last: 443}}},
		ir.Rule{ID: "dns-out", Dir: ir.DirOut, Action: ir.ActionAllow, Log: true, From: ir.Endpoint{Self: true}, To: ir.Endpoint{Prefixes: []netip.Prefix{pfx("10.0.0.53/32")}}, Ports: []ir.Port{{Proto: ir.ProtoUDP, First: 53, Last: 53}}},
		ir.Rule{ID: "no-ssh", Dir: ir.DirBoth, Action: ir.ActionReject, From: ir.Endpoint{Any: true}, To: ir.Endpoint{Any: true}, Ports: []ir.Port{{Proto: ir.ProtoTCP, First: 22, Last: 22}}},
	)
	plan, err := PlanPolicy(p, Config{QueueBase: 10, QueueCount: 2}, 3, caps)
	if err != nil {
		t.Fatal(err)
	}
	got := plan.Dump()
	path := filepath.Join("testdata", "plan.golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("plan dump (-want +got):\n%s", diff)
	}
	if err := plan.Validate(); err != nil {
		t.Errorf("a planned plan does not validate: %v", err)
	}
}

func TestPlanIsDeterministic(t *testing.T) {
	p := basePolicy(ir.Rule{ID: "a", Dir: ir.DirBoth, Action: ir.ActionAllow, From: ir.Endpoint{Sets: []string{"group:web", "zone:prod"}}, To: ir.Endpoint{Any: true}})
	a, err := PlanPolicy(p, Config{}, 1, caps)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := PlanPolicy(p, Config{}, 1, caps)
	if diff := cmp.Diff(a, b, prefixCmp); diff != "" {
		t.Errorf("two plans differ:\n%s", diff)
	}
}

func TestKernelSetNames(t *testing.T) {
	used := map[string]bool{}
	a := kernelSetName("zone:prod", FamilyIPv4, used)
	used[a] = true
	b := kernelSetName("zone_prod", FamilyIPv4, used) // collides after sanitising
	used[b] = true
	if a != "zone_prod_v4" || b == a || !strings.HasSuffix(b, "_v4") {
		t.Errorf("names %q, %q", a, b)
	}
	long := kernelSetName(strings.Repeat("x", 500), FamilyIPv6, used)
	if len(long) > maxNameLen {
		t.Errorf("name of %d bytes", len(long))
	}
}

func TestMarkLayout(t *testing.T) {
	l, err := NewMarkLayout(DefaultMarkMask)
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Value(MarkAllow, 1); got != 0x5000 {
		t.Errorf("allow gen 1 = %#x, want 0x5000", got)
	}
	if got := l.Value(MarkDeny, 1024+3); got != (3<<2|2)<<12 {
		t.Errorf("deny gen 1027 = %#x: generations wrap at 1024", got)
	}
	if got := l.PacketMark(MarkInspect); got != 0x3000 {
		t.Errorf("inspect packet mark = %#x", got)
	}
	if v, g := l.Decode(0xab000000 | l.Value(MarkAllow, 77)); v != MarkAllow || g != 77 {
		t.Errorf("decode = %s, %d", v, g)
	}
	for _, bad := range []uint32{0, 0x3, 0x00f0f000} {
		if _, err := NewMarkLayout(bad); err == nil {
			t.Errorf("mask %#x accepted", bad)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (Config{}).WithDefaults().Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
	c := Config{QueueBase: 65535, QueueCount: 2, MarkMask: 0x1}.WithDefaults()
	if err := c.Validate(); err == nil {
		t.Error("bad config accepted")
	}
}

// TestPlanIdentityFastPath: a rule whose only condition is the user is
// decided in the kernel for sources in the identity sets of its users,
// inbound only; everything else goes to the queue.
func TestPlanIdentityFastPath(t *testing.T) {
	const gen = 2
	l, _ := NewMarkLayout(DefaultMarkMask)
	allow := SetCtMark{Mask: DefaultMarkMask, Value: l.Value(MarkAllow, gen)}
	p := basePolicy(ir.Rule{ID: "fin", Dir: ir.DirBoth, Action: ir.ActionAllow, Needs: ir.NeedUser,
		From: ir.Endpoint{Any: true}, To: ir.Endpoint{Self: true}, Users: []string{"group:finance"},
		Ports: []ir.Port{{Proto: ir.ProtoTCP, First: 443, Last: 443}}})
	p.Sets = append(p.Sets, ir.Set{Name: "identity:group:finance", Kind: ir.SetIdentity})
	plan, err := PlanPolicy(p, Config{}, gen, caps)
	if err != nil {
		t.Fatal(err)
	}
	in := chain(t, plan, "rules_in")
	var ids []string
	for _, r := range in {
		for _, s := range r.Stmts {
			if a, ok := s.(Addr); ok && a.Field == AddrSrc && strings.HasPrefix(a.Set, "identity_group_finance") {
				ids = append(ids, a.Set)
				if r.Stmts[len(r.Stmts)-1] != (Verdict{Kind: VerdictAccept}) || !slicesContains(r.Stmts, Stmt(allow)) {
					t.Errorf("identity rule %v must mark the flow allowed and accept", r)
				}
			}
		}
	}
	if len(ids) != 2 {
		t.Errorf("identity rules for sets %v, want one per family", ids)
	}
	if last := in[len(in)-1]; !strings.Contains(last.String(), "queue") {
		t.Errorf("the queue rule must follow the identity rules: last rule %v", last)
	}
	for _, r := range chain(t, plan, "rules_out") {
		if strings.Contains(r.String(), "identity") {
			t.Errorf("outbound flows must not use identity sets: %v", r)
		}
	}
}

func slicesContains(ss []Stmt, s Stmt) bool {
	for _, x := range ss {
		if cmp.Equal(x, s, prefixCmp) {
			return true
		}
	}
	return false
}
