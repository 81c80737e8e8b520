package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/coreos/go-systemd/v22/journal"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/septa-fw/septa/daemon/events"
	"github.com/septa-fw/septa/rules/ir"
)

// Sizes of the event pipeline: each sink's queue, and how many recent
// events of each kind the API keeps for septa flows and septa alerts.
const (
	sinkQueueLen  = 4096
	ringFlows     = 10000
	ringAlerts    = 10000
	ringOther     = 1000
	subscriberLen = 1024
)

// startEvents builds the event bus and its sinks: the API's ring always,
// journald and the EVE file as configured, Prometheus metrics when an
// address is configured (the only TCP listener septad ever opens).
func (d *Daemon) startEvents() error {
	d.bus = events.NewBus(events.BusConfig{Logger: d.log.With("component", "events")})
	d.ring = events.NewRing(ringOther, map[events.Kind]int{events.KindFlow: ringFlows, events.KindDrop: ringFlows, events.KindAlert: ringAlerts})
	// Flow records have a window of their own (RecordWindow): the ring
	// keeps decisions for septa flows.
	if err := d.bus.Add("api", decisionsOnly{d.ring}, sinkQueueLen, 0); err != nil {
		return err
	}
	if *d.cfg.Events.Journald {
		if journal.Enabled() {
			if err := d.bus.Add("journald", events.NewJournald(events.JournaldConfig{}), sinkQueueLen, 0); err != nil {
				return err
			}
		} else {
			d.log.Warn("journald is not running: events go to the other sinks only")
		}
	}
	if d.cfg.Events.EVE != "" {
		eve, err := events.NewEVEFile(events.EVEFileConfig{Path: d.cfg.Events.EVE, MaxBytes: d.cfg.Events.EVEMaxBytes, Keep: d.cfg.Events.EVEKeep})
		if err != nil {
			return fmt.Errorf("daemon: eve: %w", err)
		}
		if err := d.bus.Add("eve", eve, sinkQueueLen, 0); err != nil {
			return err
		}
	}
	d.registry = events.NewRegistry()
	m, err := events.NewMetrics(d.registry, d.bus)
	if err != nil {
		return fmt.Errorf("daemon: metrics: %w", err)
	}
	if err := d.bus.Add("metrics", m, sinkQueueLen, events.MetricsKinds); err != nil {
		return err
	}
	return d.registerMetrics(d.registry)
}

// decisionsOnly is a sink that passes every event but flow records.
type decisionsOnly struct{ events.Sink }

func (s decisionsOnly) Write(e *events.Event) error {
	if e.IsRecord() {
		return nil
	}
	return s.Sink.Write(e)
}

// registerMetrics adds the daemon's own gauges: the policy generation,
// rules, queue counters and flows, read at scrape time.
func (d *Daemon) registerMetrics(reg prometheus.Registerer) error {
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: events.Namespace, Name: name, Help: help}, f)
	}
	counter := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: events.Namespace, Name: name, Help: help}, f)
	}
	sum := func(f func(QueueStatus) uint64) func() float64 {
		return func() float64 {
			var n uint64
			for _, q := range d.Status().Queues {
				n += f(q)
			}
			return float64(n)
		}
	}
	cs := []prometheus.Collector{
		gauge("policy_generation", "The policy generation in force.", func() float64 { return float64(d.Status().Generation) }),
		gauge("policy_rules", "Rules of the policy in force.", func() float64 { return float64(d.Status().Rules) }),
		counter("reloads_total", "Reloads tried.", func() float64 { return float64(d.Status().Reloads) }),
		counter("reload_failures_total", "Reloads refused or failed.", func() float64 { return float64(d.Status().Failures) }),
		gauge("apply_seconds", "Duration of the last apply.", func() float64 { return d.Last().Duration.Seconds() }),
		counter("queue_packets_total", "Packets the inspector received.", sum(func(q QueueStatus) uint64 { return q.Packets })),
		counter("queue_errors_total", "Queue receive and verdict errors (ENOBUFS: the kernel dropped messages).", sum(func(q QueueStatus) uint64 { return q.Errors })),
		counter("inspector_flows_total", "Flows the inspector tracked.", sum(func(q QueueStatus) uint64 { return q.Flows })),
		gauge("inspector_active_flows", "Flows the inspector tracks now.", sum(func(q QueueStatus) uint64 { return uint64(max(q.Active, 0)) })),
		counter("inspector_evicted_total", "Flows evicted from a full flow table.", sum(func(q QueueStatus) uint64 { return q.Evicted })),
		counter("inspector_panics_total", "Panics recovered on the packet path.", sum(func(q QueueStatus) uint64 { return q.Panics })),
		gauge("queue_depth", "Packets waiting in the kernel's queues.", sum(func(q QueueStatus) uint64 { return q.Depth })),
		counter("queue_kernel_dropped_total", "Packets the kernel dropped (or, with fail_mode open, accepted) because a queue was full.", sum(func(q QueueStatus) uint64 { return q.KernelDropped })),
		counter("queue_user_dropped_total", "Packets the kernel could not hand to septad's socket.", sum(func(q QueueStatus) uint64 { return q.UserDropped })),
		setSizes{d},
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("daemon: metrics: %w", err)
		}
	}
	return nil
}

// setSizes reports the members of each address set of the policy in force.
type setSizes struct{ d *Daemon }

var setSizeDesc = prometheus.NewDesc(events.Namespace+"_set_prefixes", "Address prefixes in each set of the policy in force (identity sets: as the daemon last wrote them).", []string{"set", "kind"}, nil)

func (s setSizes) Describe(ch chan<- *prometheus.Desc) { ch <- setSizeDesc }

func (s setSizes) Collect(ch chan<- prometheus.Metric) {
	res := s.d.Policy()
	if res == nil {
		return
	}
	s.d.identityMu.Lock()
	synced := s.d.identitySynced
	for _, set := range res.Policy.Sets {
		n := len(set.Prefixes)
		if set.Kind == ir.SetIdentity {
			n = len(synced[set.Name])
		}
		ch <- prometheus.MustNewConstMetric(setSizeDesc, prometheus.GaugeValue, float64(n), set.Name, set.Kind.String())
	}
	s.d.identityMu.Unlock()
}

// serveMetrics serves Prometheus metrics on the configured address.
func (d *Daemon) serveMetrics(ctx context.Context) error {
	if d.cfg.Events.Metrics == "" {
		return nil
	}
	ln, err := net.Listen("tcp", d.cfg.Events.Metrics)
	if err != nil {
		return fmt.Errorf("daemon: metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(d.registry, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("metrics listener stopped", "error", err)
		}
	}()
	d.log.Info("serving metrics", "addr", ln.Addr().String())
	return nil
}

// enrich adds what the daemon knows of a flow's ends: their zones and
// groups in the policy in force.
func (d *Daemon) enrich(e *events.Event) {
	p := d.policy.Load()
	if p == nil {
		return
	}
	e.ZoneSrc, e.GroupsSrc = membership(p.IR(), e.Src.Addr())
	e.ZoneDst, e.GroupsDst = membership(p.IR(), e.Dst.Addr())
}

// membership returns the zone and the groups an address belongs to.
func membership(p *ir.Policy, a netip.Addr) (zone string, groups []string) {
	a = a.Unmap()
	for i := range p.Sets {
		s := &p.Sets[i]
		if s.Kind != ir.SetZone && s.Kind != ir.SetGroup {
			continue
		}
		for _, pfx := range s.Prefixes {
			if pfx.Contains(a) {
				if s.Kind == ir.SetZone {
					zone = s.Name[len("zone:"):]
				} else {
					groups = append(groups, s.Name[len("group:"):])
				}
				break
			}
		}
	}
	return zone, groups
}

// publishPolicy records a reload's outcome as an event.
func (d *Daemon) publishPolicy(st ReloadStatus) {
	if d.bus == nil {
		return
	}
	d.bus.Publish(&events.Event{Kind: events.KindPolicy, Time: st.Time, Action: st.Trigger,
		Policy: events.Policy{Generation: st.Generation, Error: st.Error}})
}
