//go:build linux

package integration

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/septa-fw/septa/integration/benchkit"
	"github.com/septa-fw/septa/integration/lab"
	"github.com/septa-fw/septa/nft"
	"github.com/septa-fw/septa/rules/ir"
)

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
	plan, err := nft.PlanPolicy(benchkit.BigPolicy(10000, 100, 1000), nft.Config{}, 1, nft.Caps{MetaTime: true})
	if err != nil {
		b.Fatal(err)
	}
	st := plan.Stats()
	path := filepath.Join(b.TempDir(), "ruleset.nft")
	if err := os.WriteFile(path, []byte(benchkit.NFTText(plan)), 0o644); err != nil {
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
