//go:build linux

package integration

import (
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/septa-fw/septa/integration/lab"
)

// TestFloodAtQueue: an attacker floods the inspected port with new flows
// (bounded: 16 connectors, 4,000 connections, 8 seconds). Meanwhile
// septad answers its API, a decided flow keeps flowing in the kernel, and
// afterwards a legitimate client is served and the counters show the
// flood.
func TestFloodAtQueue(t *testing.T) {
	l := newLab(t, lab.DefaultHosts()[0], lab.DefaultHosts()[2], lab.DefaultHosts()[8]) // dev-1, prod-web, attacker
	client, web, attacker := l.Host("dev-1"), l.Host("prod-web"), l.Host("attacker")
	serveHTTP(t, web, 8080, &hostCounter{seen: map[string]int{}})
	sd := startSeptad(t, web, lifecycle("closed", 7000), "")
	s, err := lab.StartStream(client, web, ap(web.V4, 9000), 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	before := streamRate(s, time.Second)

	const connectors, total = 16, 4000
	deadline := time.Now().Add(8 * time.Second)
	var made atomic.Int64
	var wg sync.WaitGroup
	dst := netip.AddrPortFrom(web.V4, 8080)
	for range connectors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for made.Add(1) <= total && time.Now().Before(deadline) {
				c, err := attacker.DialTCP(dst, 500*time.Millisecond)
				if err != nil {
					continue
				}
				c.SetDeadline(time.Now().Add(200 * time.Millisecond))
				fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: flood.example\r\n\r\n")
				c.Close()
			}
		}()
	}
	slowest, rate := duringFlood(t, sd, s)
	wg.Wait()
	st := sd.status()
	var packets, kernelDropped, userDropped uint64
	for _, q := range st.Queues {
		packets += q.Packets
		kernelDropped += q.KernelDropped
		userDropped += q.UserDropped
	}
	t.Logf("flood: %d connections tried, %d packets queued, %d app verdicts, kernel dropped %d (queue full) and %d (socket), API slowest %s; the decided stream ran at %.2f of its rate before",
		min(made.Load(), total), packets, sd.verdicts("app"), kernelDropped, userDropped, slowest, rate/before)
	if sd.verdicts("app") == 0 {
		t.Errorf("no flood flow was denied for its host")
	}
	if err := shopGet(client, web); err != nil {
		t.Errorf("a legitimate request after the flood: %v", err)
	}
	if err := s.Stop(); err != nil || s.Corrupt.Load() {
		t.Errorf("stream: %v, corrupt %v", err, s.Corrupt.Load())
	}
}

// TestQueueOverflowFollowsFailMode (issue 11): septad stops reading its
// queue (SIGSTOP: stuck, not dead, so the queue's bypass does not apply)
// while new inspected flows keep coming. The queue fills; beyond it,
// fail_mode decides: closed drops the flows and the kernel counts the
// drops, open lets them through. Decided flows never notice; once septad
// runs again it answers, and serves new flows.
func TestQueueOverflowFollowsFailMode(t *testing.T) {
	for _, mode := range []string{"closed", "open"} {
		t.Run(mode, func(t *testing.T) {
			l := newLab(t, lab.DefaultHosts()[0], lab.DefaultHosts()[2])
			client, web := l.Host("dev-1"), l.Host("prod-web")
			counter := &hostCounter{seen: map[string]int{}}
			serveHTTP(t, web, 8080, counter)
			sd := startSeptad(t, web, lifecycle(mode, 7000), "[kernel]\nqueue_len = 8")
			if err := shopGet(client, web); err != nil {
				t.Fatalf("before: %v", err)
			}
			s, err := lab.StartStream(client, web, ap(web.V4, 9000), 3*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Stop()

			if err := sd.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
			stopped := true
			defer func() {
				if stopped {
					sd.cmd.Process.Signal(syscall.SIGCONT)
				}
			}()
			const flows = 48
			var ok atomic.Int64
			var wg sync.WaitGroup
			for range flows {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if shopGet(client, web) == nil {
						ok.Add(1)
					}
				}()
			}
			wg.Wait()
			if !s.WaitProgress(s.Received.Load(), 5*time.Second) {
				t.Errorf("the decided stream stopped while the queue was full")
			}
			sd.cmd.Process.Signal(syscall.SIGCONT)
			stopped = false
			st := sd.status()
			var dropped uint64
			for _, q := range st.Queues {
				dropped += q.KernelDropped
			}
			t.Logf("fail_mode %s, queue of 8, septad stopped: %d of %d new flows served, kernel dropped %d packets", mode, ok.Load(), flows, dropped)
			switch mode {
			case "closed":
				if ok.Load() != 0 || dropped == 0 {
					t.Errorf("closed: %d flows served and %d drops counted; want none served, drops counted", ok.Load(), dropped)
				}
			case "open":
				if ok.Load() < flows/2 {
					t.Errorf("open: only %d of %d flows served past the full queue", ok.Load(), flows)
				}
			}
			if err := shopGet(client, web); err != nil {
				t.Errorf("after septad resumed: %v", err)
			}
			if err := s.Stop(); err != nil || s.Corrupt.Load() {
				t.Errorf("stream: %v, corrupt %v", err, s.Corrupt.Load())
			}
		})
	}
}

// TestSYNFlood (issue 11): an attacker floods SYNs (bounded: 60,000 a port, from distinct source ports, or
// 8 seconds) at a port the policy denies and at an inspected port. The
// handshake never reaches the inspector, so septad is not loaded: its API
// answers, a decided flow keeps flowing, the kernel's counters show the
// denied SYNs, and a legitimate client is served afterwards.
func TestSYNFlood(t *testing.T) {
	l := newLab(t, lab.DefaultHosts()[0], lab.DefaultHosts()[2], lab.DefaultHosts()[8])
	client, web, attacker := l.Host("dev-1"), l.Host("prod-web"), l.Host("attacker")
	serveHTTP(t, web, 8080, &hostCounter{seen: map[string]int{}})
	sd := startSeptad(t, web, lifecycle("closed", 7000), "")
	s, err := lab.StartStream(client, web, ap(web.V4, 9000), 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	queuedBefore, deniedBefore := sd.queued(), ruleCount(t, web, "septa:default")
	before := streamRate(s, time.Second)

	var sent [2]int
	var errs [2]error
	var wg sync.WaitGroup
	for i, port := range []uint16{7001, 8080} {
		r, err := attacker.RawTCP(ap(web.V4, port), 1024)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			sent[i], errs[i] = r.SYNFlood(60_000, 8*time.Second)
		}()
	}
	slowest, rate := duringFlood(t, sd, s)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("flood %d: %v", i, err)
		}
	}
	denied := ruleCount(t, web, "septa:default") - deniedBefore
	queued := sd.queued() - queuedBefore
	t.Logf("SYN flood: %d SYNs at a denied port, %d at an inspected port; %d denied by the kernel, %d packets queued; API slowest %s; the decided stream ran at %.2f of its rate before",
		sent[0], sent[1], denied, queued, slowest, rate/before)
	if denied < uint64(sent[0]) {
		t.Errorf("%d SYNs at the denied port, %d counted by the default rule", sent[0], denied)
	}
	if queued > uint64(sent[1]/100) {
		t.Errorf("%d packets queued during a SYN flood of %d: the handshake should stay in the kernel", queued, sent[1])
	}
	if err := shopGet(client, web); err != nil {
		t.Errorf("a legitimate request after the flood: %v", err)
	}
	if err := s.Stop(); err != nil || s.Corrupt.Load() {
		t.Errorf("stream: %v, corrupt %v", err, s.Corrupt.Load())
	}
}

// streamRate is the decided stream's rate over d, in bytes per second,
// after half a second of warm-up.
func streamRate(s *lab.Stream, d time.Duration) float64 {
	time.Sleep(500 * time.Millisecond)
	from, start := s.Received.Load(), time.Now()
	time.Sleep(d)
	return float64(s.Received.Load()-from) / time.Since(start).Seconds()
}

// duringFlood checks, five times while a flood runs, that septad's API
// answers (within 2 s) and that the decided stream s makes progress; it
// returns the slowest answer and the stream's rate meanwhile.
func duringFlood(t *testing.T, sd *septadProc, s *lab.Stream) (time.Duration, float64) {
	t.Helper()
	from, start := s.Received.Load(), time.Now()
	slowest := time.Duration(0)
	for range 5 {
		start := time.Now()
		if _, err := sd.client.Status(); err != nil {
			t.Errorf("status during the flood: %v", err)
		}
		slowest = max(slowest, time.Since(start))
		if !s.WaitProgress(s.Received.Load(), 3*time.Second) {
			t.Errorf("the decided stream stalled during the flood")
		}
		time.Sleep(300 * time.Millisecond)
	}
	if slowest > 2*time.Second {
		t.Errorf("the API took %s to answer during the flood", slowest)
	}
	return slowest, float64(s.Received.Load()-from) / time.Since(start).Seconds()
}
