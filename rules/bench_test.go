package rules

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// largePolicy generates a policy of nRules rules and about nCIDRs CIDRs,
// spread over several files as a big site would write it: a file of zones,
// a file of groups, and rule files per application. Two fifths of the CIDRs
// are in zones, two fifths in groups and one fifth written in rules.
//
// With sharedPorts every rule has the same ports, so the shadowing check
// cannot tell rules apart by port and compares their addresses.
func largePolicy(nRules, nCIDRs int, sharedPorts bool) []File {
	const (
		nZones     = 20
		nGroups    = 100
		nRuleFiles = 5
	)
	zoneCIDRs := nCIDRs * 2 / 5
	groupCIDRs := nCIDRs * 2 / 5
	perRule := max(1, (nCIDRs-zoneCIDRs-groupCIDRs)/nRules)

	// Disjoint /30s with a gap after each, so that nothing merges away.
	next := netip.MustParseAddr("10.0.0.0")
	cidr := func() string {
		p := netip.PrefixFrom(next, 30)
		for range 8 {
			next = next.Next()
		}
		return p.String()
	}

	var files []File
	var b strings.Builder
	for z := range nZones {
		fmt.Fprintf(&b, "[zones.z%d]\ncidrs = [\n", z)
		for range zoneCIDRs / nZones {
			fmt.Fprintf(&b, "  %q,\n", cidr())
		}
		b.WriteString("]\n\n")
	}
	files = append(files, File{Name: "policy.d/00-zones.toml", Data: []byte(b.String())})

	b.Reset()
	next = netip.MustParseAddr("100.64.0.0")
	for g := range nGroups {
		fmt.Fprintf(&b, "[groups.g%d]\n", g)
		if g%10 == 9 {
			fmt.Fprintf(&b, "include = [\"g%d\"]\n", g-1)
		}
		b.WriteString("cidrs = [\n")
		for range groupCIDRs / nGroups {
			fmt.Fprintf(&b, "  %q,\n", cidr())
		}
		b.WriteString("]\n\n")
	}
	files = append(files, File{Name: "policy.d/10-groups.toml", Data: []byte(b.String())})

	next = netip.MustParseAddr("192.0.0.0")
	for f := range nRuleFiles {
		b.Reset()
		for i := f * nRules / nRuleFiles; i < (f+1)*nRules/nRuleFiles; i++ {
			fmt.Fprintf(&b, "[[rules]]\nname = \"r%d\"\n", i)
			if i%50 == 0 {
				b.WriteString("section = \"infrastructure\"\n")
			}
			fmt.Fprintf(&b, "from = [\"zone:z%d\"", i%nZones)
			for range perRule {
				fmt.Fprintf(&b, ", %q", cidr())
			}
			fmt.Fprintf(&b, "]\nto = [\"group:g%d\"]\n", i%nGroups)
			if sharedPorts {
				b.WriteString("ports = [\"tcp/443\", \"udp/20000-20010\"]\n")
			} else {
				fmt.Fprintf(&b, "ports = [\"tcp/%d\", \"udp/%d-%d\"]\n", 1024+i, 20000+i, 20010+i)
			}
			if i%3 == 0 {
				b.WriteString("action = \"deny\"\n\n")
			} else {
				b.WriteString("action = \"allow\"\n\n")
			}
		}
		files = append(files, File{Name: fmt.Sprintf("policy.d/%02d-app.toml", 20+f), Data: []byte(b.String())})
	}
	return files
}

// BenchmarkCompileLarge compiles a generated policy of 5,000 rules and
// 50,000 CIDRs in seven files. The target is under one second per compile.
func BenchmarkCompileLarge(b *testing.B) { benchmarkCompile(b, largePolicy(5000, 50000, false)) }

// BenchmarkCompileLargeSharedPorts is BenchmarkCompileLarge with every rule
// on the same ports: the worst case of the shadowing check.
func BenchmarkCompileLargeSharedPorts(b *testing.B) {
	benchmarkCompile(b, largePolicy(5000, 50000, true))
}

func benchmarkCompile(b *testing.B, files []File) {
	size := 0
	for _, f := range files {
		size += len(f.Data)
	}
	opts := Options{Now: goldenNow}
	res, err := Compile(files, opts)
	if err != nil {
		b.Fatal(err)
	}
	if n := len(res.Policy.Rules); n < 5000 {
		b.Fatalf("compiled %d rules, want 5000 and more", n)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(files, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// TestLargePolicy checks the generator: the policy it makes has the size
// the benchmark claims, and compiles without warnings.
func TestLargePolicy(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a large policy")
	}
	files := largePolicy(5000, 50000, false)
	cidrs := 0
	for _, f := range files {
		cidrs += strings.Count(string(f.Data), "/30")
	}
	if cidrs < 50000 {
		t.Errorf("generated %d CIDRs, want 50000", cidrs)
	}
	res, err := Compile(files, Options{Now: goldenNow})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(res.Policy.Dump(), "\nrule "); got != 5000+1+20 {
		t.Errorf("dump has %d rules, want 5000 written, the failsafe and 20 zone isolation rules", got)
	}
	for _, w := range res.Warnings {
		t.Errorf("warning: %v", w)
	}
}
