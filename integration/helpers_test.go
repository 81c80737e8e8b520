//go:build linux

package integration

import (
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/septa-fw/septa/integration/lab"
	"github.com/septa-fw/septa/nft"
	"github.com/septa-fw/septa/rules/ir"
)

// requireKernel skips unless the test may change the kernel: root and
// SEPTA_INTEGRATION=1 (.ci/run sets it).
func requireKernel(tb testing.TB) {
	tb.Helper()
	if os.Getenv("SEPTA_INTEGRATION") != "1" {
		tb.Skip("set SEPTA_INTEGRATION=1 (as root) to run kernel integration tests")
	}
	if os.Geteuid() != 0 {
		tb.Skip("kernel integration tests need root")
	}
}

// newLab builds the default lab for a test.
func newLab(tb testing.TB, hosts ...lab.HostSpec) *lab.Lab {
	tb.Helper()
	requireKernel(tb)
	return lab.New(tb, hosts...)
}

// openFirewall opens septa's firewall inside a lab host.
func openFirewall(tb testing.TB, h *lab.Host, cfg nft.Config) *nft.Firewall {
	tb.Helper()
	ns, err := h.OpenNS()
	if err != nil {
		tb.Fatalf("open netns of %s: %v", h.Name, err)
	}
	fw, err := nft.Open(int(ns.Fd()), cfg)
	if err != nil {
		ns.Close()
		tb.Fatalf("open firewall in %s: %v", h.Name, err)
	}
	tb.Cleanup(func() {
		fw.Close()
		ns.Close()
	})
	return fw
}

// applyPolicy applies p as generation gen in host h and returns the
// firewall, for more applies. Tests built on compiled example policies
// call it with the compiler's output.
func applyPolicy(tb testing.TB, h *lab.Host, p *ir.Policy, gen uint64) *nft.Firewall {
	tb.Helper()
	fw := openFirewall(tb, h, nft.Config{})
	mustApply(tb, fw, p, gen)
	return fw
}

func mustApply(tb testing.TB, fw *nft.Firewall, p *ir.Policy, gen uint64) nft.Result {
	tb.Helper()
	res, err := fw.Apply(p, gen)
	if err != nil {
		tb.Fatalf("apply generation %d: %v", gen, err)
	}
	return res
}

// Policy builders.

func zoneSets() []ir.Set {
	return []ir.Set{
		{Name: "zone:attacker", Kind: ir.SetZone, Prefixes: []netip.Prefix{lab.ZoneAttacker}},
		{Name: "zone:dev", Kind: ir.SetZone, Prefixes: []netip.Prefix{lab.ZoneDev}},
		{Name: "zone:prod", Kind: ir.SetZone, Prefixes: []netip.Prefix{lab.ZoneProd}},
		{Name: "zone:test", Kind: ir.SetZone, Prefixes: []netip.Prefix{lab.ZoneTest}},
		{Name: "zone:vdi", Kind: ir.SetZone, Prefixes: []netip.Prefix{lab.ZoneVDI}},
	}
}

func newPolicy(def ir.Action, sets []ir.Set, rules ...ir.Rule) *ir.Policy {
	for i := range rules {
		rules[i].Index = i
		if rules[i].Section == ir.SectionUnknown {
			rules[i].Section = ir.SectionApplication
		}
	}
	return &ir.Policy{
		Settings: ir.Settings{Default: def, Mode: ir.ModeEnforce, FailMode: ir.FailClosed, Log: ir.LogNone},
		Sets:     sets,
		Rules:    rules,
	}
}

var anyEP = ir.Endpoint{Any: true}

func selfEP() ir.Endpoint { return ir.Endpoint{Self: true} }

func setsEP(names ...string) ir.Endpoint { return ir.Endpoint{Sets: names} }

func hostEP(hs ...*lab.Host) ir.Endpoint {
	var ps []netip.Prefix
	for _, h := range hs {
		ps = append(ps, netip.PrefixFrom(h.V4, 32))
	}
	return ir.Endpoint{Prefixes: ir.MergePrefixes(ps)}
}

func tcp(first, last uint16) ir.Port { return ir.Port{Proto: ir.ProtoTCP, First: first, Last: last} }

func ruleOf(id string, action ir.Action, dir ir.Direction, from, to ir.Endpoint, ports ...ir.Port) ir.Rule {
	return ir.Rule{ID: id, Action: action, Dir: dir, From: from, To: to, Ports: ports,
		Origin: ir.Origin{File: "test", Line: 1}}
}

// Traffic checks.

const (
	// connectTimeout is how long a connection attempt waits before it
	// counts as dropped: loopback-fast lab, so a second is plenty.
	connectTimeout = 1 * time.Second
)

func expectConnect(tb testing.TB, from *lab.Host, to netip.AddrPort, want lab.Outcome) {
	tb.Helper()
	got, err := from.Connect(to, connectTimeout)
	if err != nil {
		tb.Errorf("%s -> %s: %v", from.Name, to, err)
		return
	}
	if got != want {
		tb.Errorf("%s -> %s: %s, want %s", from.Name, to, got, want)
	}
}

func ap(a netip.Addr, port uint16) netip.AddrPort { return netip.AddrPortFrom(a, port) }

// listRuleset reads the ruleset of a host back as nft's JSON (never the
// text form, KERNEL.md).
func listRuleset(tb testing.TB, h *lab.Host) []map[string]json.RawMessage {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// stdout only: nft warns on stderr about the xt NFQUEUE target
	// (KERNEL.md, pitfalls).
	out, err := h.Command(ctx, "nft", "-j", "list", "ruleset").Output()
	if err != nil {
		tb.Fatalf("nft -j list ruleset in %s: %v", h.Name, err)
	}
	var doc struct {
		Nftables []map[string]json.RawMessage `json:"nftables"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		tb.Fatalf("parse nft -j output: %v\n%s", err, out)
	}
	return doc.Nftables
}

// jsonRule is a rule of `nft -j list ruleset`.
type jsonRule struct {
	Family  string            `json:"family"`
	Table   string            `json:"table"`
	Chain   string            `json:"chain"`
	Handle  int               `json:"handle"`
	Comment string            `json:"comment"`
	Expr    []json.RawMessage `json:"expr"`
}

// rulesOf returns the rules of one table in a ruleset listing.
func rulesOf(tb testing.TB, objs []map[string]json.RawMessage, table string) []jsonRule {
	tb.Helper()
	var out []jsonRule
	for _, o := range objs {
		raw, ok := o["rule"]
		if !ok {
			continue
		}
		var r jsonRule
		if err := json.Unmarshal(raw, &r); err != nil {
			tb.Fatalf("parse rule: %v", err)
		}
		if r.Table == table {
			out = append(out, r)
		}
	}
	return out
}

// tablesOf lists the (family, name) of every table in a listing.
func tablesOf(tb testing.TB, objs []map[string]json.RawMessage) []string {
	tb.Helper()
	var out []string
	for _, o := range objs {
		raw, ok := o["table"]
		if !ok {
			continue
		}
		var t struct{ Family, Name string }
		if err := json.Unmarshal(raw, &t); err != nil {
			tb.Fatalf("parse table: %v", err)
		}
		out = append(out, t.Family+" "+t.Name)
	}
	return out
}
