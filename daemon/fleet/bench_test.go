package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/septa-fw/septa/daemon/fleet/etcdtest"
	"github.com/septa-fw/septa/rules"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// simTarget is a simulated host's kernel: it only notes when a revision,
// and a watched address in group:db, arrived.
type simTarget struct {
	watch *atomic.Pointer[netip.Addr]
	rev   atomic.Uint64
	has   atomic.Bool // group:db holds *watch
}

func (s *simTarget) Apply(res *rules.Result, rev uint64, _ string) error {
	s.rev.Store(rev)
	w := s.watch.Load()
	found := false
	for _, set := range res.Policy.Sets {
		if set.Name == "group:db" && w != nil {
			found = slices.ContainsFunc(set.Prefixes, func(p netip.Prefix) bool { return p.Addr() == *w })
		}
	}
	s.has.Store(found)
	return nil
}

func (s *simTarget) Sessions([]RemoteSession) {}

// BenchmarkSimulatedFleet runs many agents, each with its own etcd client
// and the real watch, validate (rules.Compile) and inventory code, with a
// Target that records instead of programming a kernel, all on one etcd
// on loopback. The inventory holds as many registered hosts as there are
// watchers. Per iteration it measures the time from a push until every
// agent applied the revision ("push"), and from a host's registration
// until its address is in every agent's group:db ("join"); it reports
// the median and the slowest iteration.
//
//	go test ./daemon/fleet -run '^$' -bench SimulatedFleet -benchtime 10x
func BenchmarkSimulatedFleet(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchSimulated(b, n) })
	}
}

func benchSimulated(b *testing.B, n int) {
	srv := etcdtest.Start(b, etcdtest.Options{})
	cli, err := Dial(Config{Endpoints: []string{srv.ClientURL}, DialTimeout: 5 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer cli.Close()
	ctx := context.Background()
	keys := NewKeys(DefaultPrefix)
	store := NewStore(cli, DefaultPrefix)
	for i := range n {
		name := fmt.Sprintf("sim-%04d", i)
		rec, _ := json.Marshal(HostRecord{Name: name, Addresses: []netip.Addr{netip.AddrFrom4([4]byte{10, 5, byte(i >> 8), byte(i)})}, Tags: map[string]string{"tier": "app"}})
		if _, err := cli.Put(ctx, keys.Host(name), string(rec)); err != nil {
			b.Fatal(err)
		}
	}
	publish := func(i int) uint64 {
		r, err := NewRevision([]rules.File{{Name: "10-db.toml", Data: fmt.Appendf(nil, "%s\n# %d\n", dbPolicy, i)}})
		if err != nil {
			b.Fatal(err)
		}
		out, err := store.Publish(ctx, r)
		if err != nil {
			b.Fatal(err)
		}
		return out.Rev
	}
	publish(0)

	var watch atomic.Pointer[netip.Addr]
	targets := make([]*simTarget, n)
	actx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	for i := range n {
		c, err := Dial(Config{Endpoints: []string{srv.ClientURL}, DialTimeout: 5 * time.Second})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		targets[i] = &simTarget{watch: &watch}
		cfg := Config{Host: fmt.Sprintf("sim-%04d", i), Endpoints: []string{srv.ClientURL}}.WithDefaults()
		a := NewAgent(Options{Config: cfg, Client: c, Target: targets[i], WatchOnly: true})
		wg.Go(func() { a.Run(actx) })
	}
	all := func(cond func(*simTarget) bool) {
		deadline := time.Now().Add(5 * time.Minute)
		for _, t := range targets {
			for !cond(t) {
				if time.Now().After(deadline) {
					b.Fatal("the simulated fleet did not converge within 5 minutes")
				}
				time.Sleep(time.Millisecond)
			}
		}
	}
	all(func(t *simTarget) bool { return t.rev.Load() == 1 })

	var pushes, joins []time.Duration
	i := 0
	for b.Loop() {
		i++
		start := time.Now()
		rev := publish(i)
		all(func(t *simTarget) bool { return t.rev.Load() == rev })
		pushes = append(pushes, time.Since(start))

		addr := netip.AddrFrom4([4]byte{10, 6, byte(i >> 8), byte(i)})
		watch.Store(&addr)
		name := fmt.Sprintf("join-%d", i)
		rec, _ := json.Marshal(HostRecord{Name: name, Addresses: []netip.Addr{addr}, Tags: map[string]string{"tier": "db"}})
		start = time.Now()
		if _, err := cli.Put(ctx, keys.Host(name), string(rec)); err != nil {
			b.Fatal(err)
		}
		all(func(t *simTarget) bool { return t.has.Load() })
		joins = append(joins, time.Since(start))
		if _, err := cli.Delete(ctx, keys.Host(name), clientv3.WithPrefix()); err != nil {
			b.Fatal(err)
		}
		all(func(t *simTarget) bool { return !t.has.Load() })
	}
	report(b, "push", pushes)
	report(b, "join", joins)
}

// report adds the median and the slowest of durations as metrics.
func report(b *testing.B, what string, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, what+"-median-ms")
	b.ReportMetric(float64(ds[0].Microseconds())/1000, what+"-min-ms")
	b.ReportMetric(float64(ds[len(ds)-1].Microseconds())/1000, what+"-max-ms")
}
