//go:build linux

package main

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/septa-fw/septa/integration/benchkit"
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
type suricataFW struct {
	plain nftFW
	fw    *nft.Firewall
	ns    *os.File
	cmd   *exec.Cmd
	done  chan struct{}
	dir   string
	out   *lockedBuffer
}

func (*suricataFW) septad() *benchkit.Septad { return nil }

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

func (s *suricataFW) close() error {
	var errs []error
	if s.cmd != nil {
		select {
		case <-s.done:
			errs = append(errs, fmt.Errorf("suricata exited early: %.2000s", s.out.String()))
		default:
			s.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.done:
			case <-time.After(30 * time.Second):
				s.cmd.Process.Kill()
				<-s.done
				errs = append(errs, errors.New("suricata did not stop on SIGTERM within 30 s"))
			}
		}
	}
	if s.fw != nil {
		errs = append(errs, s.fw.Flush())
		s.fw.Close()
	}
	if s.ns != nil {
		s.ns.Close()
	}
	if s.plain.host != nil {
		errs = append(errs, s.plain.close())
	}
	errs = append(errs, os.RemoveAll(s.dir))
	return errors.Join(errs...)
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
	s := &suricataFW{out: &lockedBuffer{}, done: make(chan struct{})}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.close())
		}
	}()
	if s.dir, err = os.MkdirTemp(h.dir, "suricata-"); err != nil {
		return nil, err
	}
	if s.plain, err = loadPlain(web, s.dir); err != nil {
		return nil, err
	}
	cfg, err := inlineConfig(s.dir)
	if err != nil {
		return nil, err
	}
	if s.ns, err = web.OpenNS(); err != nil {
		return nil, err
	}
	if s.fw, err = nft.Open(int(s.ns.Fd()), nft.Config{Table: suriTable}); err != nil {
		return nil, err
	}
	caps, err := s.fw.Probe()
	if err != nil {
		return nil, err
	}
	if _, err := s.fw.ApplyPlan(queueRuleset(caps)); err != nil {
		return nil, err
	}
	s.cmd = exec.Command("ip", "netns", "exec", web.NS, "suricata", "-c", cfg, "-q", fmt.Sprint(suriQueue),
		"-S", h.sigs, "-l", s.dir, "-k", "none", "--runmode", "workers")
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		s.cmd = nil
		return nil, err
	}
	go func() {
		s.cmd.Wait()
		close(s.done)
	}()
	// Suricata binds the queue once its rules are loaded; until then
	// queued packets are dropped (no bypass flag, as septa's fail_mode
	// closed), so the first connection that completes says it is ready.
	deadline := time.Now().Add(5 * time.Minute)
	dst := netip.AddrPortFrom(web.V4, portShort)
	for {
		select {
		case <-s.done:
			return nil, fmt.Errorf("suricata exited at start: %.2000s", s.out.String())
		default:
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
