//go:build linux

// Command bench is `make bench` (and `make bench-smoke`): it measures
// septa against no firewall, a plain nftables ruleset and Suricata inline
// on NFQUEUE, side by side, in a lab of network namespaces, and writes the
// results as Markdown and JSON. It needs root, iperf3 and Suricata 7
// (integration/bench/deps.sh installs them), and septa's binaries.
//
//	make bench                     (full: 5 rounds)
//	make bench-smoke               (one short round of each, for CI)
//	go run ./integration/bench -bin bin -out bench-results [-smoke] [-rounds N] [-sections bulk,conn,replay,control,scale]
//
// Configurations are measured in turn within each round, in an order
// that rotates from round to round, so that drift of the machine hits all
// alike; each is set up before and torn down after its measurements.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// options are the harness's knobs; smoke and full mode fill them.
type options struct {
	smoke    bool
	rounds   int
	bin      string
	out      string
	corpus   string
	sections map[string]bool
	configs  map[string]bool // of the lab sections, by short name

	bulkTime  time.Duration // per iperf3 and HTTP download
	connTime  time.Duration // bound of one run of short connections
	connCount int           // and its count
	clients   []int         // concurrent short-connection clients, one run each

	signatures   int // ET Open rules in the inline and IDS configurations (0: all)
	captureFlows int // HTTP flows of the offline capture

	controlRules, controlSets, controlPerSet int
	updateElements                           int

	scaleFlows []int
	scaleRules []int
	scaleSigs  []int // -1: all of ET Open
}

func fullOptions() options {
	return options{
		rounds: 5, bulkTime: 3 * time.Second, connTime: 5 * time.Second, connCount: 5000, clients: []int{1, 4},
		signatures: 0, captureFlows: 100000,
		controlRules: 10000, controlSets: 100, controlPerSet: 1000, updateElements: 10000,
		scaleFlows: []int{100000, 1000000}, scaleRules: []int{1, 100, 10000}, scaleSigs: []int{0, 1000, -1},
	}
}

func smokeOptions() options {
	return options{
		smoke: true, rounds: 1, bulkTime: time.Second, connTime: time.Second, connCount: 200, clients: []int{1, 4},
		signatures: 500, captureFlows: 300,
		controlRules: 100, controlSets: 10, controlPerSet: 100, updateElements: 1000,
		scaleFlows: []int{10000}, scaleRules: []int{1, 100}, scaleSigs: []int{0, 100},
	}
}

var allSections = []string{"bulk", "conn", "replay", "control", "scale"}

func main() {
	smoke := flag.Bool("smoke", false, "one short round of each measurement (CI keeps the harness working with it)")
	rounds := flag.Int("rounds", 0, "rounds of the lab and control-plane measurements (default 5, 1 with -smoke)")
	bin := flag.String("bin", "bin", "directory with the septa and septad binaries")
	out := flag.String("out", "bench-results", "directory for results.md and results.json")
	corpus := flag.String("corpus", "", "directory of Emerging Threats Open *.rules (default ../shared/corpus/et-open beside the checkout)")
	sections := flag.String("sections", strings.Join(allSections, ","), "comma-separated sections to run: "+strings.Join(allSections, ", ")+" (conn includes the inspector cost)")
	captureFlows := flag.Int("capture-flows", 0, "HTTP flows of the offline capture (default 100,000, 300 with -smoke; 8 packets each)")
	configs := flag.String("configs", "nofw,nft,kernel,appid,ids,suricata,floor", "comma-separated configurations of the lab sections")
	floorListener := flag.Bool(floorFlag, false, "internal: serve the NFQUEUE round trip configuration's queue in this namespace")
	flag.Parse()
	if *floorListener {
		if err := runFloorListener(); err != nil {
			fmt.Fprintln(os.Stderr, "bench: listener:", err)
			os.Exit(1)
		}
		return
	}
	o := fullOptions()
	if *smoke {
		o = smokeOptions()
	}
	if *rounds > 0 {
		o.rounds = *rounds
	}
	if *captureFlows > 0 {
		o.captureFlows = *captureFlows
	}
	o.bin, o.out, o.corpus = *bin, *out, *corpus
	o.sections = map[string]bool{}
	for _, s := range strings.Split(*sections, ",") {
		s = strings.TrimSpace(s)
		if !strings.Contains(","+strings.Join(allSections, ",")+",", ","+s+",") {
			fmt.Fprintf(os.Stderr, "bench: unknown section %q (want some of %s)\n", s, strings.Join(allSections, ", "))
			os.Exit(2)
		}
		o.sections[s] = true
	}
	o.configs = map[string]bool{}
	for _, c := range strings.Split(*configs, ",") {
		c = strings.TrimSpace(c)
		known := false
		for _, n := range configNames {
			known = known || n.short == c
		}
		if !known {
			fmt.Fprintf(os.Stderr, "bench: unknown configuration %q (want some of nofw, nft, kernel, appid, ids, suricata, floor)\n", c)
			os.Exit(2)
		}
		o.configs[c] = true
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// missingTools lists the programs the harness needs that are not on PATH.
func missingTools() []string {
	var missing []string
	for _, t := range []string{"ip", "nft", "iperf3", "suricata"} {
		if _, err := exec.LookPath(t); err != nil {
			missing = append(missing, t)
		}
	}
	return missing
}

func run(o options) error {
	if os.Geteuid() != 0 {
		return errors.New("needs root (network namespaces and nftables)")
	}
	if m := missingTools(); len(m) > 0 {
		return fmt.Errorf("%s not installed: run integration/bench/deps.sh (as root; make bench does) or install iperf3, nftables and Suricata 7 (Debian: bookworm-backports)", strings.Join(m, ", "))
	}
	h := &harness{o: o, rep: &Report{Mode: "full", Rounds: o.rounds, Started: time.Now(), Command: commandLine()}}
	if o.smoke {
		h.rep.Mode = "smoke"
	}
	var err error
	for _, b := range []string{"septa", "septad"} {
		p, perr := filepath.Abs(filepath.Join(o.bin, b))
		if perr == nil {
			_, perr = os.Stat(p)
		}
		if perr != nil {
			return fmt.Errorf("%s binary: %v (make build puts it in bin/)", b, perr)
		}
		if b == "septa" {
			h.septa = p
		} else {
			h.septad = p
		}
	}
	if h.dir, err = os.MkdirTemp("", "septa-bench-"); err != nil {
		return err
	}
	defer os.RemoveAll(h.dir)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	go func() {
		if _, ok := <-sig; ok {
			fmt.Fprintln(os.Stderr, "bench: interrupted: stopping after the current measurement (again to kill)")
			h.interrupted.Store(true)
			signal.Stop(sig)
		}
	}()
	h.rep.Machine = machine(h.septa)
	if err := h.loadSignatures(); err != nil {
		return err
	}
	fmt.Printf("bench: %s mode, %d rounds, results in %s\n", h.rep.Mode, o.rounds, o.out)
	steps := []struct {
		section string
		run     func() error
	}{
		{"bulk", h.labSections},
		{"replay", h.replay},
		{"control", h.control},
		{"scale", h.scale},
	}
	for _, s := range steps {
		if h.stop() {
			h.fail("interrupted before %s", s.section)
			continue
		}
		if !o.sections[s.section] && !(s.section == "bulk" && o.sections["conn"]) {
			continue
		}
		if err := s.run(); err != nil {
			h.fail("%s: %v", s.section, err)
		}
	}
	h.targets()
	h.rep.Duration = time.Since(h.rep.Started).Round(time.Second).String()
	if err := h.rep.Write(o.out); err != nil {
		return err
	}
	fmt.Printf("\n%s", h.rep.Markdown())
	if h.failures > 0 {
		return fmt.Errorf("%d measurements failed (see the notes in %s); the others are in the results", h.failures, filepath.Join(o.out, "results.md"))
	}
	return nil
}

// commandLine is how the harness was started, for the report.
func commandLine() string {
	if c := os.Getenv("SEPTA_BENCH_COMMAND"); c != "" {
		return c // make bench says which target ran it
	}
	return strings.Join(os.Args, " ")
}

// harness runs the sections and collects their results.
type harness struct {
	o             options
	rep           *Report
	dir           string
	septa, septad string
	// rules is all of ET Open in one file (rule lines only), ruleLines
	// its rules; sigs is the file the inline and IDS configurations use.
	rules     string
	ruleLines []string
	sigs      string
	nsigs     int
	// failures counts the measurements that failed (each noted).
	failures int
	// interrupted is set on SIGINT or SIGTERM: the harness stops at the
	// next measurement's boundary, tears down and writes what it has.
	interrupted atomic.Bool
}

// stop says whether to stop early (interrupted).
func (h *harness) stop() bool { return h.interrupted.Load() }

// fail notes a failed measurement; the run goes on, and ends in error.
func (h *harness) fail(format string, args ...any) {
	h.failures++
	h.rep.Note(format, args...)
}

// targets records the targets from the results of the sections
// that ran.
func (h *harness) targets() {
	r, ran := h.rep, h.o.sections
	if ran["bulk"] {
		r.AddTarget("bulk: septa kernel-only rule / no firewall", "bulk", "iperf3 throughput", "Gbit/s", cfgSeptaKernel, cfgNoFW, 0.97, true)
	}
	if ran["conn"] {
		for _, c := range h.o.clients {
			r.AddTarget("short connections, "+plural(c, "client")+": septa app-ID / septa kernel-only rule", "conn", connMetric(c), "conn/s", cfgSeptaAppID, cfgSeptaKernel, 0.8, true)
			r.AddTarget("short connections, "+plural(c, "client")+": septa app-ID / Suricata inline", "conn", connMetric(c), "conn/s", cfgSeptaAppID, cfgSuricata, 2, true)
		}
		// What bounds those two: the queue's round trip alone against the
		// kernel-only rule, septa's app-ID against that round trip, and
		// how far above Suricata inline a configuration that inspects
		// nothing at all gets.
		for _, c := range h.o.clients {
			m := connMetric(c)
			r.AddRatio("short connections, "+plural(c, "client")+": NFQUEUE round trip alone / septa kernel-only rule", "conn", m, "conn/s", cfgFloor, cfgSeptaKernel)
			r.AddRatio("short connections, "+plural(c, "client")+": septa app-ID / NFQUEUE round trip alone", "conn", m, "conn/s", cfgSeptaAppID, cfgFloor)
			r.AddRatio("short connections, "+plural(c, "client")+": septa kernel-only rule / Suricata inline", "conn", m, "conn/s", cfgSeptaKernel, cfgSuricata)
		}
	}
	if ran["replay"] {
		r.AddTarget("offline matching: Suricata time / septa time (matching only)", "replay", "matching time", "s", "suricata -r", "septa replay", 1, true)
		r.AddTarget("offline, rules loaded too: Suricata time / septa time", "replay", "total time", "s", "suricata -r", "septa replay", 1, true)
	}
	if ran["control"] {
		r.AddTarget(fmt.Sprintf("policy apply (%d rules): septa / nft -f", h.o.controlRules), "control", h.applyMetric(), "s", "septa", "nft -f", 1, false)
	}
}
