package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// sampleReport has two configurations over three rounds, one of them
// missing a round, and a note.
func sampleReport() *Report {
	r := &Report{
		Machine: Machine{OS: "Debian GNU/Linux 12 (bookworm)", Kernel: "6.18.0", Cores: 2, MemoryBytes: 24 << 30, Go: "go1.26.0",
			Septa: "septa v1", Suricata: "This is Suricata version 7.0.10 RELEASE", Nft: "nftables v1.0.6", Iperf3: "iperf 3.12"},
		Command: "make bench", Mode: "full", Rounds: 3, Duration: "10m0s",
		Started: time.Date(2026, 12, 4, 16, 0, 0, 0, time.UTC),
	}
	for round, v := range []float64{10, 12, 11} {
		r.Add("bulk", "iperf3 throughput", cfgNoFW, "Gbit/s", round, v)
	}
	for round, v := range map[int]float64{0: 9.9, 2: 11.5} { // round 1 failed
		r.Add("bulk", "iperf3 throughput", cfgSeptaKernel, "Gbit/s", round, v)
	}
	r.Add("control", "apply", "septa", "s", 0, 1.25)
	r.Add("control", "apply", "nft -f", "s", 0, 2.5)
	r.AddTarget("bulk: septa / no firewall", "bulk", "iperf3 throughput", "Gbit/s", cfgSeptaKernel, cfgNoFW, 0.97, true)
	r.AddTarget("apply: septa / nft -f", "control", "apply", "s", "septa", "nft -f", 1, false)
	r.AddTarget("never measured", "conn", "connections per second", "conn/s", cfgSeptaAppID, cfgSuricata, 2, true)
	r.Note("round 2, %s: iperf3: connection refused", cfgSeptaKernel)
	return r
}

func TestReportTargets(t *testing.T) {
	r := sampleReport()
	got := map[string][]float64{}
	met := map[string]bool{}
	for _, tg := range r.Targets {
		got[tg.Name] = tg.Ratio.Values
		met[tg.Name] = tg.Met
	}
	// Ratios pair the rounds both sides measured: rounds 1 and 3.
	want := map[string][]float64{
		"bulk: septa / no firewall": {0.99, 11.5 / 11},
		"apply: septa / nft -f":     {0.5},
		"never measured":            nil,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("target ratios (-want +got):\n%s", diff)
	}
	wantMet := map[string]bool{"bulk: septa / no firewall": true, "apply: septa / nft -f": true, "never measured": false}
	if diff := cmp.Diff(wantMet, met); diff != "" {
		t.Errorf("targets met (-want +got):\n%s", diff)
	}
}

func TestReportGolden(t *testing.T) {
	r := sampleReport()
	dir := t.TempDir()
	if err := r.Write(dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"results.md", "results.json"} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(golden, got, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test -update to create it)", err)
		}
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	var back Report
	b, _ := os.ReadFile(filepath.Join(dir, "results.json"))
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("results.json does not decode: %v", err)
	}
	if len(back.Results) != 4 || back.Results[1].Rounds != 2 {
		t.Errorf("results.json holds %+v, want 4 results, the second of 2 rounds", back.Results)
	}
}

func TestNum(t *testing.T) {
	for _, tt := range []struct {
		in   float64
		want string
	}{{12345.6, "12346"}, {123.45, "123.5"}, {12.345, "12.35"}, {1.2345, "1.234"}, {0.012345, "0.0123"}, {0, "0"}, {-2.5, "-2.500"}} {
		if got := num(tt.in); got != tt.want {
			t.Errorf("num(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
