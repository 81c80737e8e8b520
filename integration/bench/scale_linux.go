//go:build linux

package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/septa-fw/septa/inspect"
	"github.com/septa-fw/septa/integration/benchkit"
	"github.com/septa-fw/septa/nft"
	"github.com/septa-fw/septa/rules"
)

// scale is section 6: apply time against the number of rules, the
// inspector's memory and CPU against tracked flows, and the per-packet
// cost against the number of signatures.
func (h *harness) scale() error {
	var errs []error
	if err := h.scaleRules(); err != nil {
		errs = append(errs, fmt.Errorf("rules: %w", err))
	}
	for _, n := range h.o.scaleFlows {
		fmt.Printf("bench: scale: %d tracked flows\n", n)
		if err := h.scaleFlows(n); err != nil {
			errs = append(errs, fmt.Errorf("%d flows: %w", n, err))
		}
	}
	if err := h.scaleSignatures(); err != nil {
		errs = append(errs, fmt.Errorf("signatures: %w", err))
	}
	return errors.Join(errs...)
}

// scaleRules times applies of policies of growing rule counts over one
// zone of 1,000 addresses, septa against nft -f.
func (h *harness) scaleRules() error {
	_, host, fw, done, err := controlHost()
	if err != nil {
		return err
	}
	defer done()
	var errs []error
	for _, n := range h.o.scaleRules {
		plan, err := nft.PlanPolicy(benchkit.BigPolicy(n, 1, 1000), nft.Config{}, 1, nft.Caps{MetaTime: true})
		if err != nil {
			return err
		}
		text := benchkit.NFTText(plan)
		metric := fmt.Sprintf("apply time, %s (%d kernel rules, 1,000 elements)", plural(n, "rule"), plan.Stats().Rules)
		for round := range h.o.rounds {
			if h.stop() {
				return errors.New("interrupted")
			}
			fmt.Printf("bench: round %d/%d: scale: apply %d rules\n", round+1, h.o.rounds, n)
			if err := h.applyBoth(round, "scale", metric, host, fw, plan, text); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// flowPolicy allows HTTP by app-ID: every flow the inspector sees is
// identified and decided, and then tracked until it lingers out.
const flowPolicy = `
[settings]
default = "deny"
[[rules]]
name = "web"
direction = "in"
from = "any"
to = "self"
ports = ["tcp/80"]
app = "http"
action = "allow"
`

type nopVerdicter struct{ n atomic.Uint64 }

func (v *nopVerdicter) Verdict(uint32, bool, uint32) { v.n.Add(1) }

// scaleFlows measures the inspector with n tracked flows. It runs the
// inspector's code (inspect.Worker, as septad does) inside this process,
// fed with generated packets instead of the kernel's queue: a million
// flows through NFQUEUE would take the lab's conntrack and the machine's
// two cores far longer than the measurement. Each flow is an ACK and an
// HTTP request from its own client address and port; app-ID decides it
// and the worker keeps it (linger and idle timeouts of an hour).
func (h *harness) scaleFlows(n int) error {
	res, err := rules.Compile([]rules.File{{Name: "bench.toml", Data: []byte(flowPolicy)}}, rules.Options{Now: time.Now()})
	if err != nil {
		return err
	}
	var pol atomic.Pointer[inspect.Policy]
	pol.Store(inspect.NewPolicy(res.Policy, 1))
	v := &nopVerdicter{}
	debug.FreeOSMemory()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	w := inspect.NewWorker(inspect.Config{MaxFlows: n + 1, Linger: time.Hour, IdleTimeout: time.Hour, HoldTimeout: time.Hour,
		AllowMark: 1, DenyMark: 2, VerdictMask: 3}, inspect.Deps{Policy: &pol, Verdicter: v})
	req := []byte("GET / HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: septa-bench\r\n\r\n")
	server := net.IP{10, 3, 1, 10}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP, DstIP: server}
	tcp := &layers.TCP{DstPort: 80, Window: 502, ACK: true}
	qp := &inspect.Packet{Hook: inspect.HookInput}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var cpu time.Duration
	var handled int
	for i := range n {
		// 10.64.0.0/10 holds 4 million clients; ports vary too.
		ip.SrcIP = net.IP{10, byte(64 + i>>22&63), byte(i >> 14), byte(i >> 6)}
		tcp.SrcPort = layers.TCPPort(1024 + i&63)
		tcp.Seq, tcp.Ack = 1000, 5000
		for _, payload := range [][]byte{nil, req} {
			tcp.PSH = payload != nil
			if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
				return err
			}
			if err := gopacket.SerializeLayers(buf, opts, ip, tcp, gopacket.Payload(payload)); err != nil {
				return err
			}
			qp.ID, qp.Payload = uint32(handled), buf.Bytes()
			t0 := threadCPU()
			w.Handle(qp)
			cpu += threadCPU() - t0
			handled++
		}
	}
	tracked := w.Len()
	runtime.GC()
	runtime.ReadMemStats(&ms1)
	runtime.KeepAlive(w)
	if tracked < n*99/100 {
		return fmt.Errorf("the worker tracks %d flows, want %d", tracked, n)
	}
	heap := float64(ms1.HeapAlloc) - float64(ms0.HeapAlloc)
	label := fmt.Sprintf("%d flows", n)
	h.rep.Add("scale", "inspector heap per tracked flow (in-process inspect.Worker)", label, "bytes", 0, heap/float64(tracked))
	h.rep.Add("scale", "inspector heap, total (in-process inspect.Worker)", label, "MiB", 0, heap/(1<<20))
	h.rep.Add("scale", "inspector CPU per packet while tracking them (in-process)", label, "µs", 0, float64(cpu.Nanoseconds())/1000/float64(handled))
	if v.n.Load() == 0 {
		return errors.New("the worker gave no verdict")
	}
	return nil
}

// threadCPU is the CPU time of the calling thread (RUSAGE_THREAD): the
// worker's own cost, without the packet building around it. The caller
// locks its goroutine to its thread.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// scaleSignatures measures septa replay's per-packet cost with 0, some
// and all of ET Open's rules, each minus its run on a one-flow capture.
func (h *harness) scaleSignatures() error {
	if h.rules == "" {
		return nil // loadSignatures noted it
	}
	capture, tiny, packets, err := h.captures()
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range h.o.scaleSigs {
		rulesFile := ""
		label := "no signatures"
		if n != 0 {
			rulesFile = filepath.Join(h.dir, fmt.Sprintf("first-%d.rules", n))
			count := n
			if n < 0 || n > len(h.ruleLines) {
				count = len(h.ruleLines)
			}
			label = plural(count, "signature")
			if err := os.WriteFile(rulesFile, []byte(firstRules(h.ruleLines, n)), 0o644); err != nil {
				return err
			}
		}
		for round := range h.o.rounds {
			if h.stop() {
				return errors.New("interrupted")
			}
			fmt.Printf("bench: round %d/%d: scale: replay with %s\n", round+1, h.o.rounds, label)
			total, err := h.septaReplay(capture, rulesFile)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			load, err := h.septaReplay(tiny, rulesFile)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			h.rep.Add("scale", "septa replay time per packet, rule loading excluded", label, "µs", round, (total-load)*1e6/float64(packets))
			h.rep.Add("scale", "septa replay rule loading (one-flow capture)", label, "s", round, load)
		}
	}
	return errors.Join(errs...)
}
