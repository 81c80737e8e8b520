//go:build linux

package integration

import (
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
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
	// While the flood runs: the API answers and the decided stream flows.
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
	wg.Wait()
	if slowest > 2*time.Second {
		t.Errorf("the API took %s to answer during the flood", slowest)
	}
	st := sd.status()
	var packets, kernelDropped, userDropped uint64
	for _, q := range st.Queues {
		packets += q.Packets
		kernelDropped += q.KernelDropped
		userDropped += q.UserDropped
	}
	t.Logf("flood: %d connections tried, %d packets queued, %d app verdicts, kernel dropped %d (queue full) and %d (socket), API slowest %s",
		min(made.Load(), total), packets, sd.verdicts("app"), kernelDropped, userDropped, slowest)
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
