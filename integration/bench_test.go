//go:build linux

package integration

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/septa-fw/septa/integration/lab"
	"github.com/septa-fw/septa/nft"
	"github.com/septa-fw/septa/rules/ir"
)

// bigPolicy is 10,000 rules over 100 zones of 1,000 host addresses each
// (100,000 set elements). Zones have only IPv4, so each rule becomes 4
// kernel rules (rules_in, rules_fwd and their reply chains).
func bigPolicy(rules, sets, perSet int) *ir.Policy {
	var ss []ir.Set
	for s := range sets {
		var ps []netip.Prefix
		for i := range perSet {
			// every other address, so that nothing merges
			n := s*perSet*2 + i*2
			ps = append(ps, netip.PrefixFrom(netip.AddrFrom4([4]byte{172, byte(16 + n>>16), byte(n >> 8), byte(n)}), 32))
		}
		ss = append(ss, ir.Set{Name: fmt.Sprintf("zone:z%03d", s), Kind: ir.SetZone, Prefixes: ps})
	}
	var rs []ir.Rule
	for i := range rules {
		port := uint16(1000 + i)
		rs = append(rs, ruleOf(fmt.Sprintf("r%05d", i), ir.ActionAllow, ir.DirIn, setsEP(fmt.Sprintf("zone:z%03d", i%sets)), selfEP(), tcp(port, port)))
	}
	return newPolicy(ir.ActionDeny, ss, rs...)
}

// nftText renders a plan as `nft -f` input: the same table, sets and
// rules (what nft would load for the same policy).
func nftText(p *nft.Plan) string {
	var b strings.Builder
	b.WriteString("table inet " + p.Table + " {\n")
	for _, s := range p.Sets {
		fmt.Fprintf(&b, "set %s { type %s_addr;", s.Name, s.Family)
		var flags []string
		if s.Interval {
			flags = append(flags, "interval")
		}
		if s.Timeout {
			flags = append(flags, "timeout")
		}
		if len(flags) > 0 {
			b.WriteString(" flags " + strings.Join(flags, ",") + ";")
		}
		if len(s.Elements) > 0 {
			b.WriteString(" elements = { ")
			for i, e := range s.Elements {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString(e.String())
			}
			b.WriteString(" };")
		}
		b.WriteString(" }\n")
	}
	for _, c := range p.Chains {
		b.WriteString("chain " + c.Name + " {\n")
		if c.Hook != nft.HookNone {
			fmt.Fprintf(&b, "type filter hook %s priority %d; policy accept;\n", c.Hook, c.Priority)
		}
		for _, r := range c.Rules {
			line := r.String()
			line = strings.ReplaceAll(line, "meta iif 1", `iif "lo"`)
			line = strings.ReplaceAll(line, "meta oif 1", `oif "lo"`)
			b.WriteString(line + "\n")
		}
		b.WriteString("}\n")
	}
	b.WriteString("}\n")
	return b.String()
}

func benchHost(b *testing.B) *lab.Host {
	b.Helper()
	requireKernel(b)
	l := lab.New(b, lab.DefaultHosts()[4]) // prod-db alone
	return l.Host("prod-db")
}

func nftRun(b *testing.B, h *lab.Host, args ...string) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := h.Command(ctx, "nft", args...).CombinedOutput(); err != nil {
		b.Fatalf("nft %s: %v: %.2000s", strings.Join(args, " "), err, out)
	}
}

// BenchmarkApply10kRules100kElements applies the big policy into an empty
// namespace, from Go (one netlink batch) and with `nft -f` of the same
// ruleset as text, in the same run. The policy has no queue rules (the
// plan is made as for a kernel without NFQUEUE) so that nft can load it.
func BenchmarkApply10kRules100kElements(b *testing.B) {
	h := benchHost(b)
	fw := openFirewall(b, h, nft.Config{})
	plan, err := nft.PlanPolicy(bigPolicy(10000, 100, 1000), nft.Config{}, 1, nft.Caps{MetaTime: true})
	if err != nil {
		b.Fatal(err)
	}
	st := plan.Stats()
	path := filepath.Join(b.TempDir(), "ruleset.nft")
	if err := os.WriteFile(path, []byte(nftText(plan)), 0o644); err != nil {
		b.Fatal(err)
	}
	b.Run("go", func(b *testing.B) {
		b.ReportMetric(float64(st.Rules), "kernel-rules")
		b.ReportMetric(float64(st.Elements), "elements")
		for b.Loop() {
			b.StopTimer()
			if err := fw.Flush(); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if _, err := fw.ApplyPlan(plan); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("go-reapply", func(b *testing.B) {
		if _, err := fw.ApplyPlan(plan); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := fw.ApplyPlan(plan); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("nft-f", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			if err := fw.Flush(); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			nftRun(b, h, "-f", path)
		}
	})
	if err := fw.Flush(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkUpdateSet10k adds 10,000 addresses to a group set and takes
// them out again (one UpdateSet each way).
func BenchmarkUpdateSet10k(b *testing.B) {
	h := benchHost(b)
	fw := openFirewall(b, h, nft.Config{})
	p := newPolicy(ir.ActionDeny, []ir.Set{{Name: "group:g", Kind: ir.SetGroup}},
		ruleOf("g", ir.ActionAllow, ir.DirIn, setsEP("group:g"), selfEP(), tcp(5432, 5432)))
	if _, err := fw.Apply(p, 1); err != nil {
		b.Fatal(err)
	}
	var add []netip.Prefix
	for i := range 10000 {
		add = append(add, netip.PrefixFrom(netip.AddrFrom4([4]byte{172, 16, byte(i >> 7), byte(i << 1)}), 32))
	}
	for b.Loop() {
		if err := fw.UpdateSet("group:g", add, nil); err != nil {
			b.Fatal(err)
		}
		if err := fw.UpdateSet("group:g", nil, add); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(20000, "elements/op")
}
