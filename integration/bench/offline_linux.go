//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/septa-fw/septa/integration/benchkit"
	"github.com/septa-fw/septa/internal/suricatatest"
)

// timed runs a command (bounded) and returns its wall time in seconds.
func timed(timeout time.Duration, name string, args ...string) (float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	el := time.Since(start).Seconds()
	if err != nil {
		return 0, fmt.Errorf("%s: %w: %.2000s", name, err, out)
	}
	return el, nil
}

// captures writes the measured capture and a one-flow capture (whose
// run time is the tools' start and rule loading) and returns their paths
// and the measured capture's packet count.
func (h *harness) captures() (capture, tiny string, packets int, err error) {
	capture, tiny = filepath.Join(h.dir, "http.pcap"), filepath.Join(h.dir, "tiny.pcap")
	if err := benchkit.WriteHTTPCapture(capture, h.o.captureFlows); err != nil {
		return "", "", 0, err
	}
	if err := benchkit.WriteHTTPCapture(tiny, 1); err != nil {
		return "", "", 0, err
	}
	return capture, tiny, h.o.captureFlows * benchkit.PacketsPerHTTPFlow, nil
}

// septaReplay times `septa replay` of pcap with rules (none if "").
func (h *harness) septaReplay(pcap, rules string) (float64, error) {
	args := []string{"replay", "--pcap", pcap, "--eve", filepath.Join(h.dir, "septa-eve.json")}
	if rules != "" {
		args = append(args, "--rules", rules)
	}
	return timed(10*time.Minute, h.septa, args...)
}

// replay is section 4: septa replay against suricata -r, one thread,
// on the same capture with all of ET Open, alternating in each round.
func (h *harness) replay() error {
	if h.rules == "" {
		return nil // loadSignatures noted it
	}
	capture, tiny, packets, err := h.captures()
	if err != nil {
		return err
	}
	cfg, err := suricatatest.WriteConfig(h.dir)
	if err != nil {
		return err
	}
	logDir := filepath.Join(h.dir, "suricata-r")
	suricata := func(pcap string) (float64, error) {
		os.RemoveAll(logDir)
		if err := os.MkdirAll(logDir, 0o755); err != nil {
			return 0, err
		}
		return timed(10*time.Minute, "suricata", "-c", cfg, "-r", pcap, "-S", h.rules, "-l", logDir, "-k", "none", "--runmode", "single")
	}
	tools := []struct {
		name string
		run  func(string) (float64, error)
	}{
		{"septa replay", func(p string) (float64, error) { return h.septaReplay(p, h.rules) }},
		{"suricata -r", suricata},
	}
	fmt.Printf("bench: offline: %d flows (%d packets), %d rules\n", h.o.captureFlows, packets, len(h.ruleLines))
	var errs []error
	for round := range h.o.rounds {
		for i := range tools {
			if h.stop() {
				return errors.New("interrupted")
			}
			t := tools[(i+round)%len(tools)]
			fmt.Printf("bench: round %d/%d: offline %s\n", round+1, h.o.rounds, t.name)
			total, err := t.run(capture)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			load, err := t.run(tiny)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			h.rep.Add("replay", "total time", t.name, "s", round, total)
			h.rep.Add("replay", "start and rule loading (one-flow capture)", t.name, "s", round, load)
			h.rep.Add("replay", "matching time", t.name, "s", round, total-load)
			if total > load {
				h.rep.Add("replay", "matching rate", t.name, "kpackets/s", round, float64(packets)/(total-load)/1000)
			}
		}
	}
	return errors.Join(errs...)
}
