//go:build linux

package integration

import (
	"os/exec"
	"testing"
	"time"

	"github.com/septa-fw/septa/integration/benchkit"
	"github.com/septa-fw/septa/integration/lab"
	"github.com/septa-fw/septa/nft"
	"github.com/septa-fw/septa/rules/ir"
)

// BenchmarkBulkTCP measures bulk TCP throughput with iperf3 between two
// lab hosts, alternating in each round between no firewall and septa's
// table (a kernel-only rule allowing the flow, on the server) so that
// machine drift hits both alike. One op is one round of both; it reports
// the median throughput of each and the median of the per-round ratios.
//
//	SEPTA_INTEGRATION=1 go test -run '^$' -bench BulkTCP -benchtime 5x ./integration
func BenchmarkBulkTCP(b *testing.B) {
	requireKernel(b)
	if _, err := exec.LookPath("iperf3"); err != nil {
		b.Fatalf("iperf3 is not installed (.ci/run installs it): %v", err)
	}
	l := lab.New(b, lab.DefaultHosts()[0], lab.DefaultHosts()[2])
	client, web := l.Host("dev-1"), l.Host("prod-web")
	if err := benchkit.StartIperfServer(web, 5201); err != nil {
		b.Fatal(err)
	}
	p := newPolicy(ir.ActionDeny, zoneSets(),
		ruleOf("iperf", ir.ActionAllow, ir.DirIn, anyEP, selfEP(), tcp(5201, 5201)))
	fw := openFirewall(b, web, nft.Config{})
	var off, on, ratio []float64
	gen := uint64(0)
	for b.Loop() {
		if err := fw.Flush(); err != nil {
			b.Fatal(err)
		}
		a := iperf(b, client, web)
		gen++
		if _, err := fw.Apply(p, gen); err != nil {
			b.Fatal(err)
		}
		s := iperf(b, client, web)
		off, on, ratio = append(off, a), append(on, s), append(ratio, s/a)
	}
	b.ReportMetric(benchkit.Median(off), "nofw-Gbit/s")
	b.ReportMetric(benchkit.Median(on), "septa-Gbit/s")
	b.ReportMetric(benchkit.Median(ratio), "septa/nofw")
	b.Logf("rounds: nofw %v septa %v ratio %v", off, on, ratio)
}

// iperf runs a 3-second iperf3 test from client to server and returns
// the received throughput in Gbit/s.
func iperf(tb testing.TB, client, server *lab.Host) float64 {
	tb.Helper()
	g, err := benchkit.Iperf(client, server, 5201, 3*time.Second)
	if err != nil {
		tb.Fatalf("iperf3: %v", err)
	}
	return g
}
