//go:build linux

package integration

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/septa-fw/septa/integration/benchkit"
	"github.com/septa-fw/septa/internal/suricatatest"
)

// BenchmarkReplayVsSuricata compares septa's offline signature matching
// (septa replay) with Suricata's (suricata -r, one thread) on the same
// capture and all of Emerging Threats Open, alternating the two in each
// round. Each run includes loading the rules, so each tool also runs on a
// one-flow capture, and the difference is the matching time. It needs
// suricata on PATH and the corpus in ../shared/corpus/et-open.
//
//	go test -run '^$' -bench ReplayVsSuricata -benchtime 3x ./integration
func BenchmarkReplayVsSuricata(b *testing.B) {
	suricata, err := exec.LookPath("suricata")
	if err != nil {
		b.Skip("suricata is not installed")
	}
	corpus, _ := filepath.Abs("../../shared/corpus/et-open")
	files, _ := filepath.Glob(filepath.Join(corpus, "*.rules"))
	if len(files) == 0 {
		b.Skipf("no ET Open rules in %s", corpus)
	}
	_, septa := binaries(b)
	dir := b.TempDir()
	// One rules file for both (suricata -S takes one).
	var all bytes.Buffer
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		all.Write(data)
		all.WriteByte('\n')
	}
	rules := filepath.Join(dir, "all.rules")
	if err := os.WriteFile(rules, all.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	capture := filepath.Join(dir, "http.pcap")
	const flows = 20000
	tiny := filepath.Join(dir, "tiny.pcap")
	for path, n := range map[string]int{capture: flows, tiny: 1} {
		if err := benchkit.WriteHTTPCapture(path, n); err != nil {
			b.Fatal(err)
		}
	}
	cfg, err := suricatatest.WriteConfig(dir)
	if err != nil {
		b.Fatal(err)
	}
	runSepta := func(pcap string) float64 {
		start := time.Now()
		if o, err := exec.Command(septa, "replay", "--pcap", pcap, "--rules", rules, "--eve", filepath.Join(dir, "septa.json")).CombinedOutput(); err != nil {
			b.Fatalf("septa replay: %v: %s", err, o)
		}
		return time.Since(start).Seconds()
	}
	runSuricata := func(pcap string) float64 {
		logDir := filepath.Join(dir, "suri")
		os.RemoveAll(logDir)
		os.MkdirAll(logDir, 0o755)
		start := time.Now()
		if o, err := exec.Command(suricata, "-c", cfg, "-r", pcap, "-S", rules, "-l", logDir, "-k", "none", "--runmode", "single").CombinedOutput(); err != nil {
			b.Fatalf("suricata: %v: %s", err, o)
		}
		return time.Since(start).Seconds()
	}
	var septaT, suriT, septaM, suriM, ratio, mratio []float64
	for b.Loop() {
		st, stLoad := runSepta(capture), runSepta(tiny)
		su, suLoad := runSuricata(capture), runSuricata(tiny)
		septaT, suriT = append(septaT, st), append(suriT, su)
		septaM, suriM = append(septaM, st-stLoad), append(suriM, su-suLoad)
		ratio, mratio = append(ratio, su/st), append(mratio, (su-suLoad)/(st-stLoad))
	}
	b.ReportMetric(benchkit.Median(septaT), "septa-s")
	b.ReportMetric(benchkit.Median(suriT), "suricata-s")
	b.ReportMetric(benchkit.Median(septaM), "septa-match-s")
	b.ReportMetric(benchkit.Median(suriM), "suricata-match-s")
	b.ReportMetric(benchkit.Median(ratio), "suricata/septa")
	b.ReportMetric(benchkit.Median(mratio), "suricata/septa-match")
	b.Logf("%d flows, %d rule files; totals septa %v s, suricata %v s; matching septa %v s, suricata %v s",
		flows, len(files), septaT, suriT, septaM, suriM)
}
