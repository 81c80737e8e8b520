package flowmap

import (
	"bufio"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/septa-fw/septa/daemon/events"
	"github.com/septa-fw/septa/rules"
)

// benchRecords is how many flow records BenchmarkAggregate aggregates per
// iteration: the million.
const benchRecords = 1_000_000

// benchInventory is 200 hosts in 20 workloads (tags app, tier, env) in
// zone prod.
func benchInventory() *rules.Inventory {
	inv := &rules.Inventory{}
	tiers := []string{"web", "app", "db", "cache", "queue"}
	apps := []string{"shop", "crm", "erp", "hr"}
	for i := range 200 {
		inv.Hosts = append(inv.Hosts, rules.Host{
			Name:      "prod-" + apps[i%4] + "-" + tiers[(i/4)%5] + "-" + string(rune('a'+i/20)),
			Addresses: []netip.Addr{netip.AddrFrom4([4]byte{10, 3, byte(i / 250), byte(i%250 + 1)})},
			Tags:      map[string]string{"app": apps[i%4], "tier": tiers[(i/4)%5], "env": "prod"},
		})
	}
	return inv
}

func benchCatalogue(b *testing.B) *Catalogue {
	cat, err := NewCatalogue(nil)
	if err != nil {
		b.Fatal(err)
	}
	return cat
}

// fillRecord makes e the i-th synthetic record: clients from 5,000
// addresses in zone vdi and from the inventory's hosts, to the
// inventory's hosts on 12 services, with apps, users and every verdict.
func fillRecord(e *events.Event, i int) {
	ports := [...]uint16{80, 443, 8080, 5432, 6379, 22, 53, 3306, 9092, 5672, 8443, 25}
	appNames := [...]string{"http", "tls", "http", "postgresql", "redis", "ssh", "dns", "mysql", "kafka", "amqp", "", "smtp"}
	users := [...]string{"", "alice", "bob", "carol", ""}
	ruleNames := [...]string{"web", "web-tls", "api", "db", "cache", "ssh", "dns", "mysql", "kafka", "amqp", "admin", "mail"}
	x := uint32(i) * 2654435761 // spread the indices
	var src netip.Addr
	if x%3 == 0 {
		src = netip.AddrFrom4([4]byte{10, 4, byte(x >> 8 % 20), byte(x>>16%250 + 1)})
	} else {
		h := x >> 4 % 200
		src = netip.AddrFrom4([4]byte{10, 3, byte(h / 250), byte(h%250 + 1)})
	}
	h := x >> 12 % 200
	dst := netip.AddrFrom4([4]byte{10, 3, byte(h / 250), byte(h%250 + 1)})
	svc := x >> 20 % uint32(len(ports))
	start := t0.Add(time.Duration(i) * time.Millisecond)
	*e = events.Event{
		Kind: events.KindFlow, Time: start.Add(time.Second),
		Src: netip.AddrPortFrom(src, uint16(30000+i%30000)), Dst: netip.AddrPortFrom(dst, ports[svc]),
		Proto: 6, App: appNames[svc], User: users[x%5],
		Action: "allow", Rule: ruleNames[svc],
		PacketsToServer: 10, PacketsToClient: 8, BytesToServer: 900, BytesToClient: 12000,
		Start: start, End: start.Add(time.Second),
	}
	switch x % 7 {
	case 0:
		e.Action, e.Observe, e.Rule = "deny", true, ""
	case 1:
		e.Action = "deny"
	}
	if svc == 6 {
		e.Proto = 17
	}
}

// BenchmarkAggregate aggregates a million flow records into a map,
// streamed as septa map streams an EVE file: one record at a time, none
// kept. It reports the heap's peak during the run (peak-heap-MB) besides
// the allocations.
func BenchmarkAggregate(b *testing.B) {
	inv, cat := benchInventory(), benchCatalogue(b)
	var peak uint64
	stop := samplePeakHeap(&peak)
	b.ReportAllocs()
	var e events.Event
	var m *Map
	for b.Loop() {
		a := NewAggregator(NewResolver(inv, nil), cat, Filter{})
		for i := range benchRecords {
			fillRecord(&e, i)
			a.Add(&e)
		}
		m = a.Map()
	}
	stop()
	if m.Flows != benchRecords || len(m.Edges) == 0 {
		b.Fatalf("%d flows, %d edges", m.Flows, len(m.Edges))
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(len(m.Edges)), "edges")
}

// BenchmarkFillRecord is the cost of making the synthetic record alone,
// to subtract from BenchmarkAggregate.
func BenchmarkFillRecord(b *testing.B) {
	var e events.Event
	for b.Loop() {
		for i := range benchRecords {
			fillRecord(&e, i)
		}
	}
}

// samplePeakHeap samples the live heap every 5 ms into peak until the
// returned func is called.
func samplePeakHeap(peak *uint64) (stop func()) {
	runtime.GC()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	go func() {
		defer wg.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > *peak {
				*peak = v
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// BenchmarkReadEVE reads 100,000 flow records from an EVE file and
// aggregates them, as septa map --eve does: the cost of decoding JSON,
// which dominates the command's time, per 100,000 records.
func BenchmarkReadEVE(b *testing.B) {
	const n = 100_000
	path := filepath.Join(b.TempDir(), "eve.json")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	enc := events.NewEVEEncoder()
	var e events.Event
	for i := range n {
		fillRecord(&e, i)
		line, err := enc.Encode(&e)
		if err != nil {
			b.Fatal(err)
		}
		w.Write(line)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	inv, cat := benchInventory(), benchCatalogue(b)
	var peak uint64
	stop := samplePeakHeap(&peak)
	b.ReportAllocs()
	var m *Map
	for b.Loop() {
		a := NewAggregator(NewResolver(inv, nil), cat, Filter{})
		if _, err := ReadEVEFile(path, func(e *events.Event) { a.Add(e) }); err != nil {
			b.Fatal(err)
		}
		m = a.Map()
	}
	stop()
	if m.Flows != n {
		b.Fatalf("%d flows, want %d", m.Flows, n)
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
}
