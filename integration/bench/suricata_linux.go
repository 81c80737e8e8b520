//go:build linux

package main

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/septa-fw/septa/integration/lab"
	"github.com/septa-fw/septa/internal/suricatatest"
	"github.com/septa-fw/septa/nft"
)

// Suricata inline follows its documentation for IPS on a host
// (docs.suricata.io, "Setting up IPS/inline for Linux" and the nfq,
// stream and bypass sections of suricata.yaml): every packet of the input
// and output hooks goes to NFQUEUE 0, in a chain that runs after the
// firewall's (priority 10, after the plain ruleset at 0); Suricata runs
// with -q 0 in accept mode, stream.inline on, and flow bypass: once a
// stream reaches its reassembly depth (stream.bypass) Suricata gives its
// packets the bypass mark, a chain after the queue copies that mark into
// the conntrack mark, and the queue chain accepts the flow's later
// packets in the kernel.
const (
	suriTable      = "benchsuricata"
	suriBypassMark = 0x1
	suriQueue      = 0
)

const suriInline = `
nfq:
  mode: accept
  bypass-mark: 0x1
  bypass-mask: 0x1
`

// suricataFW is the plain ruleset plus Suricata inline.
type suricataFW struct{ queueFW }

// kernelShare is the share of packets the kernel accepted for flows
// Suricata had bypassed, of all packets of the IPS chains so far.
func (s *suricataFW) kernelShare() (float64, error) {
	c, err := s.fw.Counters()
	if err != nil {
		return 0, err
	}
	total := c["bypassed"].Packets + c["ips"].Packets
	if total == 0 {
		return 0, errors.New("no packet reached the IPS chains")
	}
	return float64(c["bypassed"].Packets) / float64(total), nil
}

// queueRuleset is the IPS part of the ruleset, built with septa's nft
// package: the kernel here has no native nft queue expression, so the
// queue rule is the xtables NFQUEUE target through nft_compat (KERNEL.md),
// which `nft -f` cannot load; Probe picks whichever the kernel has.
func queueRuleset(caps nft.Caps) *nft.Plan {
	bypassed := nft.Rule{ID: "bypassed", Stmts: []nft.Stmt{nft.CtMark{Mask: suriBypassMark, Value: suriBypassMark}, nft.Counter{}, nft.Verdict{Kind: nft.VerdictAccept}}}
	queue := nft.Rule{ID: "ips", Stmts: []nft.Stmt{nft.Counter{}, nft.Queue{Kind: caps.Queue, Num: suriQueue, Total: 1}}}
	keep := nft.Rule{ID: "bypass", Stmts: []nft.Stmt{nft.MetaMark{Mask: suriBypassMark, Value: suriBypassMark}, nft.SetCtMark{Mask: suriBypassMark, Value: suriBypassMark}}}
	return &nft.Plan{
		Table: suriTable, Generation: 1, Caps: caps,
		Chains: []nft.Chain{
			{Name: "ips_in", Hook: nft.HookInput, Priority: 10, Rules: []nft.Rule{bypassed, queue}},
			{Name: "ips_out", Hook: nft.HookOutput, Priority: 10, Rules: []nft.Rule{bypassed, queue}},
			{Name: "bypass_in", Hook: nft.HookInput, Priority: 20, Rules: []nft.Rule{keep}},
			{Name: "bypass_out", Hook: nft.HookOutput, Priority: 20, Rules: []nft.Rule{keep}},
		},
	}
}

// inlineConfig writes Suricata's configuration for IPS mode: the one the
// offline measurements use (suricatatest), with stream.inline and
// stream.bypass on and the nfq section.
func inlineConfig(dir string) (string, error) {
	cfg, err := suricatatest.WriteConfig(dir)
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(cfg)
	if err != nil {
		return "", err
	}
	s := string(b)
	if !strings.Contains(s, "\n  inline: no\n") {
		return "", errors.New("suricata config: no stream inline setting to turn on")
	}
	s = strings.Replace(s, "\n  inline: no\n", "\n  inline: yes\n  bypass: yes\n", 1) + suriInline
	return cfg, os.WriteFile(cfg, []byte(s), 0o644)
}

func (h *harness) startSuricataInline(web *lab.Host) (f fw, err error) {
	s := &suricataFW{queueFW{what: "suricata", stopWait: 30 * time.Second}}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.close())
		}
	}()
	if err := s.open(h, web, suriTable, queueRuleset); err != nil {
		return nil, err
	}
	cfg, err := inlineConfig(s.dir)
	if err != nil {
		return nil, err
	}
	if err := s.start(web, "suricata", "-c", cfg, "-q", fmt.Sprint(suriQueue),
		"-S", h.sigs, "-l", s.dir, "-k", "none", "--runmode", "workers"); err != nil {
		return nil, err
	}
	// Suricata binds the queue once its rules are loaded; until then
	// queued packets are dropped (no bypass flag, as septa's fail_mode
	// closed), so the first connection that completes says it is ready.
	deadline := time.Now().Add(5 * time.Minute)
	dst := netip.AddrPortFrom(web.V4, portShort)
	for {
		if err := s.exited("at start"); err != nil {
			return nil, err
		}
		if c, err := web.DialTCP(dst, time.Second); err == nil {
			c.Close()
			return s, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("suricata inline passed no connection within 5 minutes: %.2000s", s.out.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// lockedBuffer collects a process's output.
type lockedBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
