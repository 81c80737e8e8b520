package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/septa-fw/septa/integration/benchkit"
)

// Machine is what the numbers were measured on.
type Machine struct {
	OS          string `json:"os"`
	Kernel      string `json:"kernel"`
	Cores       int    `json:"cores"`
	MemoryBytes int64  `json:"memory_bytes"`
	Go          string `json:"go"`
	Septa       string `json:"septa"`
	Suricata    string `json:"suricata"`
	Nft         string `json:"nft"`
	Iperf3      string `json:"iperf3"`
}

// Result is one measurement of one configuration over the rounds.
type Result struct {
	Section string `json:"section"`
	Metric  string `json:"metric"`
	Config  string `json:"config"`
	Unit    string `json:"unit"`
	benchkit.Summary
}

// Target is one of the targets: a ratio of two results, taken
// per round (both measured in the same round) and summarized.
type Target struct {
	Name  string           `json:"name"`
	Goal  string           `json:"goal"`
	Ratio benchkit.Summary `json:"ratio"`
	Met   bool             `json:"met"`
}

// Report collects samples and renders them.
type Report struct {
	Machine  Machine   `json:"machine"`
	Command  string    `json:"command"`
	Mode     string    `json:"mode"`
	Rounds   int       `json:"rounds"`
	Started  time.Time `json:"started"`
	Duration string    `json:"duration"`
	Results  []Result  `json:"results"`
	Targets  []Target  `json:"targets"`
	// Ratios are ratios without a goal, that explain the targets.
	Ratios []Target `json:"ratios,omitempty"`
	Notes  []string `json:"notes"`

	samples map[resultKey]map[int]float64
	order   []resultKey
}

type resultKey struct{ section, metric, config, unit string }

// Add records the value of a metric of a configuration in round.
func (r *Report) Add(section, metric, config, unit string, round int, v float64) {
	k := resultKey{section, metric, config, unit}
	if r.samples == nil {
		r.samples = map[resultKey]map[int]float64{}
	}
	if r.samples[k] == nil {
		r.samples[k] = map[int]float64{}
		r.order = append(r.order, k)
	}
	r.samples[k][round] = v
}

// Note records a remark (a failed measurement, a caveat) for the report.
func (r *Report) Note(format string, args ...any) {
	n := fmt.Sprintf(format, args...)
	fmt.Fprintln(os.Stderr, "bench: note:", n)
	r.Notes = append(r.Notes, n)
}

func (r *Report) values(k resultKey) (rounds []int, vals []float64) {
	for round := range r.samples[k] {
		rounds = append(rounds, round)
	}
	slices.Sort(rounds)
	for _, round := range rounds {
		vals = append(vals, r.samples[k][round])
	}
	return rounds, vals
}

// AddTarget records a target: the ratio num/den of a metric's two
// configurations, per round; atLeast says whether the goal is a floor
// (ratio >= goal) or a ceiling (ratio <= goal). A target without a round
// measuring both is recorded as not met.
func (r *Report) AddTarget(name, section, metric, unit, num, den string, goal float64, atLeast bool) {
	t := Target{Name: name, Ratio: r.ratio(section, metric, unit, num, den)}
	if atLeast {
		t.Goal = fmt.Sprintf(">= %g", goal)
		t.Met = t.Ratio.Rounds > 0 && t.Ratio.Median >= goal
	} else {
		t.Goal = fmt.Sprintf("<= %g", goal)
		t.Met = t.Ratio.Rounds > 0 && t.Ratio.Median <= goal
	}
	r.Targets = append(r.Targets, t)
}

// AddRatio records a ratio without a goal, taken per round as a
// target's.
func (r *Report) AddRatio(name, section, metric, unit, num, den string) {
	r.Ratios = append(r.Ratios, Target{Name: name, Ratio: r.ratio(section, metric, unit, num, den)})
}

// ratio summarizes num/den of a metric over the rounds that measured both.
func (r *Report) ratio(section, metric, unit, num, den string) benchkit.Summary {
	kn, kd := resultKey{section, metric, num, unit}, resultKey{section, metric, den, unit}
	var ratios []float64
	rounds, _ := r.values(kn)
	for _, round := range rounds {
		d, ok := r.samples[kd][round]
		if !ok || d == 0 {
			continue
		}
		ratios = append(ratios, r.samples[kn][round]/d)
	}
	return benchkit.Summarize(ratios)
}

// finish turns the samples into results.
func (r *Report) finish() {
	r.Results = nil
	for _, k := range r.order {
		_, vals := r.values(k)
		r.Results = append(r.Results, Result{Section: k.section, Metric: k.metric, Config: k.config, Unit: k.unit, Summary: benchkit.Summarize(vals)})
	}
}

// Write writes results.json and results.md into dir.
func (r *Report) Write(dir string) error {
	r.finish()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "results.md"), []byte(r.Markdown()), 0o644)
}

// sectionTitles orders and names the sections of the Markdown report.
var sectionTitles = []struct{ id, title string }{
	{"bulk", "1. Bulk TCP throughput"},
	{"conn", "2. Short connections"},
	{"inspector", "3. Inspector cost"},
	{"replay", "4. Signature engine offline"},
	{"control", "5. Control plane"},
	{"scale", "6. Scale"},
}

// Markdown renders the report (call after finish, as Write does).
func (r *Report) Markdown() string {
	var b strings.Builder
	m := r.Machine
	fmt.Fprintf(&b, "Measured %s (%s mode, %s, %s) on %s, kernel %s, %d cores, %.1f GiB, %s; %s, %s, %s.\n\n",
		r.Started.UTC().Format("2006-01-02 15:04 MST"), r.Mode, plural(r.Rounds, "round"), r.Duration, m.OS, m.Kernel, m.Cores,
		float64(m.MemoryBytes)/(1<<30), m.Go, m.Suricata, m.Nft, m.Iperf3)
	fmt.Fprintf(&b, "```\n%s\n```\n\n", r.Command)
	if len(r.Targets) > 0 {
		b.WriteString("### Targets\n\n| target | goal | ratio, median of rounds | min – max | rounds | met |\n| --- | --- | --- | --- | --- | --- |\n")
		for _, t := range r.Targets {
			met := "no"
			if t.Met {
				met = "yes"
			}
			if t.Ratio.Rounds == 0 {
				fmt.Fprintf(&b, "| %s | %s | not measured | | 0 | no |\n", t.Name, t.Goal)
				continue
			}
			fmt.Fprintf(&b, "| %s | %s | **%s** | %s – %s | %d | %s |\n", t.Name, t.Goal, num(t.Ratio.Median), num(t.Ratio.Min), num(t.Ratio.Max), t.Ratio.Rounds, met)
		}
		b.WriteString("\n")
	}
	if len(r.Ratios) > 0 {
		b.WriteString("### Other ratios\n\n| ratio | median of rounds | min – max | rounds |\n| --- | --- | --- | --- |\n")
		for _, t := range r.Ratios {
			if t.Ratio.Rounds == 0 {
				fmt.Fprintf(&b, "| %s | not measured | | 0 |\n", t.Name)
				continue
			}
			fmt.Fprintf(&b, "| %s | **%s** | %s – %s | %d |\n", t.Name, num(t.Ratio.Median), num(t.Ratio.Min), num(t.Ratio.Max), t.Ratio.Rounds)
		}
		b.WriteString("\n")
	}
	for _, s := range sectionTitles {
		var rows []Result
		for _, res := range r.Results {
			if res.Section == s.id {
				rows = append(rows, res)
			}
		}
		if len(rows) == 0 {
			continue
		}
		fmt.Fprintf(&b, "### %s\n\n| metric | configuration | median | min – max | rounds |\n| --- | --- | --- | --- | --- |\n", s.title)
		for _, res := range rows {
			fmt.Fprintf(&b, "| %s | %s | %s %s | %s – %s | %d |\n", res.Metric, res.Config, num(res.Median), res.Unit, num(res.Min), num(res.Max), res.Rounds)
		}
		b.WriteString("\n")
	}
	if len(r.Notes) > 0 {
		b.WriteString("### Notes\n\n")
		for _, n := range r.Notes {
			b.WriteString("- " + n + "\n")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// num prints a value with 3 significant digits (more for large integers).
func num(v float64) string {
	switch a := max(v, -v); {
	case a >= 1000:
		return fmt.Sprintf("%.0f", v)
	case a >= 100:
		return fmt.Sprintf("%.1f", v)
	case a >= 10:
		return fmt.Sprintf("%.2f", v)
	case a >= 1:
		return fmt.Sprintf("%.3f", v)
	case a == 0:
		return "0"
	}
	return fmt.Sprintf("%.3g", v)
}

// plural is "1 rule", "2 rules".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
