//go:build linux

package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// machine describes this machine and the tools' versions.
func machine(septa string) Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version(), OS: osName()}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		m.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
				m.MemoryBytes = kb << 10
			}
		}
		f.Close()
	}
	m.Septa = firstLine(septa, "version")
	m.Suricata = firstLine("suricata", "-V")
	m.Nft = firstLine("nft", "-v")
	m.Iperf3 = firstLine("iperf3", "-v")
	return m
}

func osName() string {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return runtime.GOOS
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return runtime.GOOS
}

// firstLine is the first line a command prints, or "" if it fails.
func firstLine(name string, args ...string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

// loadSignatures reads ET Open's rules into one file, and writes the
// set the inline and IDS configurations use.
func (h *harness) loadSignatures() error {
	corpus := h.o.corpus
	if corpus == "" {
		corpus = filepath.Join("..", "shared", "corpus", "et-open")
	}
	files, _ := filepath.Glob(filepath.Join(corpus, "*.rules"))
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return err
		}
		lines, err := ruleLines(fh)
		fh.Close()
		if err != nil {
			return err
		}
		h.ruleLines = append(h.ruleLines, lines...)
	}
	if len(h.ruleLines) == 0 {
		h.rep.Note("no Emerging Threats Open rules in %s: the signature configurations use %d built-in HTTP signatures instead, and the offline and per-signature measurements are skipped", corpus, strings.Count(fallbackSignatures, "\n"))
		h.sigs = filepath.Join(h.dir, "fallback.rules")
		h.nsigs = strings.Count(fallbackSignatures, "\n")
		return os.WriteFile(h.sigs, []byte(fallbackSignatures), 0o644)
	}
	h.rules = filepath.Join(h.dir, "et-open.rules")
	if err := os.WriteFile(h.rules, []byte(firstRules(h.ruleLines, -1)), 0o644); err != nil {
		return err
	}
	h.sigs, h.nsigs = h.rules, len(h.ruleLines)
	if n := h.o.signatures; n > 0 && n < len(h.ruleLines) {
		h.sigs, h.nsigs = filepath.Join(h.dir, "et-open-first.rules"), n
		if err := os.WriteFile(h.sigs, []byte(firstRules(h.ruleLines, n)), 0o644); err != nil {
			return err
		}
	}
	fmt.Printf("bench: %d ET Open rules from %s; the inline and IDS configurations load %d\n", len(h.ruleLines), corpus, h.nsigs)
	return nil
}
