package events

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Namespace prefixes every septa metric. The daemon's own metrics (queue
// depth, apply time, set sizes) use it too, registered on the same
// Registerer it passes here.
const Namespace = "septa"

// NewRegistry returns a registry holding the Go runtime and process
// collectors, for the daemon to register its metrics and this package's
// on, and to serve with promhttp.HandlerFor. No global registry is used.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// Metrics is a Sink counting alerts by signature and action, verdicts by
// action and reason, and policy reloads by result. Add it to the bus for
// KindAlert, KindFlow, KindDrop and KindPolicy (MetricsKinds). Events by
// kind and the sinks' counters come from the bus itself (see NewMetrics).
type Metrics struct {
	alerts   *prometheus.CounterVec
	verdicts *prometheus.CounterVec
	reloads  *prometheus.CounterVec
}

var _ Sink = (*Metrics)(nil)

// MetricsKinds are the kinds Metrics counts.
var MetricsKinds = KindsOf(KindAlert, KindFlow, KindDrop, KindPolicy)

// NewMetrics registers septa's event metrics on reg:
//
//	septa_events_total{kind}                     events published
//	septa_event_sink_written_total{sink}         events a sink wrote
//	septa_event_sink_dropped_total{sink}         events a sink lost to a full queue
//	septa_event_sink_errors_total{sink}          events a sink failed to write
//	septa_event_sink_queue_length{sink}          events waiting
//	septa_event_subscribers                      API subscriptions open
//	septa_event_subscriber_dropped_total         events subscriptions lost
//	septa_alerts_total{sid,action}               IDS alerts
//	septa_verdicts_total{action,reason}          flow decisions
//	septa_policy_reloads_total{result}           applied, failed
//
// The bus's counters are read at scrape time; bus may be nil, leaving
// them out. The returned Metrics counts the rest once added to the bus.
func NewMetrics(reg prometheus.Registerer, bus *Bus) (*Metrics, error) {
	m := &Metrics{
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "alerts_total",
			Help: "IDS alerts by signature ID and action (allowed, blocked).",
		}, []string{"sid", "action"}),
		verdicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "verdicts_total",
			Help: "Flow decisions by action and reason; observe-mode would-be denials have reason observe.",
		}, []string{"action", "reason"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "policy_reloads_total",
			Help: "Policy reloads by result (applied, failed).",
		}, []string{"result"}),
	}
	cs := []prometheus.Collector{m.alerts, m.verdicts, m.reloads}
	if bus != nil {
		cs = append(cs, newBusCollector(bus))
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	// Results known in advance start at zero, so rate() sees the first.
	m.reloads.WithLabelValues("applied")
	m.reloads.WithLabelValues("failed")
	return m, nil
}

// Write counts e.
func (m *Metrics) Write(e *Event) error {
	switch e.Kind {
	case KindAlert:
		m.alerts.WithLabelValues(strconv.FormatUint(uint64(e.Alert.SID), 10), e.Alert.Action).Inc()
	case KindFlow, KindDrop:
		if e.IsRecord() {
			// The flow's decision was counted when it was made.
			return nil
		}
		reason := e.Reason
		if e.Observe {
			// As the inspector's own counters do (packet.ReasonObserve).
			reason = "observe"
		}
		m.verdicts.WithLabelValues(e.Action, reason).Inc()
	case KindPolicy:
		if e.Policy.Error != "" {
			m.reloads.WithLabelValues("failed").Inc()
		} else {
			m.reloads.WithLabelValues("applied").Inc()
		}
	}
	return nil
}

// busCollector exports a Bus's counters at scrape time.
type busCollector struct {
	bus                                         *Bus
	events, written, dropped, errors, queue     *prometheus.Desc
	subscribers, subscriberDropped, sinkFailing *prometheus.Desc
}

func newBusCollector(b *Bus) *busCollector {
	name := func(n string) string { return prometheus.BuildFQName(Namespace, "", n) }
	return &busCollector{
		bus:     b,
		events:  prometheus.NewDesc(name("events_total"), "Events published, by kind.", []string{"kind"}, nil),
		written: prometheus.NewDesc(name("event_sink_written_total"), "Events a sink wrote.", []string{"sink"}, nil),
		dropped: prometheus.NewDesc(name("event_sink_dropped_total"), "Events a sink lost because its queue was full.", []string{"sink"}, nil),
		errors:  prometheus.NewDesc(name("event_sink_errors_total"), "Events a sink failed to write.", []string{"sink"}, nil),
		queue:   prometheus.NewDesc(name("event_sink_queue_length"), "Events waiting in a sink's queue.", []string{"sink"}, nil),
		sinkFailing: prometheus.NewDesc(name("event_sink_failing"),
			"1 while a sink's last write failed.", []string{"sink"}, nil),
		subscribers:       prometheus.NewDesc(name("event_subscribers"), "Control API event subscriptions open.", nil, nil),
		subscriberDropped: prometheus.NewDesc(name("event_subscriber_dropped_total"), "Events subscriptions lost because they fell behind.", nil, nil),
	}
}

func (c *busCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.events, c.written, c.dropped, c.errors, c.queue, c.sinkFailing, c.subscribers, c.subscriberDropped} {
		ch <- d
	}
}

func (c *busCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.bus.Stats()
	for k := Kind(1); k < kindCount; k++ {
		ch <- prometheus.MustNewConstMetric(c.events, prometheus.CounterValue, float64(st.Published[k]), k.String())
	}
	for _, s := range st.Sinks {
		ch <- prometheus.MustNewConstMetric(c.written, prometheus.CounterValue, float64(s.Written), s.Name)
		ch <- prometheus.MustNewConstMetric(c.dropped, prometheus.CounterValue, float64(s.Dropped), s.Name)
		ch <- prometheus.MustNewConstMetric(c.errors, prometheus.CounterValue, float64(s.Errors), s.Name)
		ch <- prometheus.MustNewConstMetric(c.queue, prometheus.GaugeValue, float64(s.Queued), s.Name)
		failing := 0.0
		if s.Failing {
			failing = 1
		}
		ch <- prometheus.MustNewConstMetric(c.sinkFailing, prometheus.GaugeValue, failing, s.Name)
	}
	ch <- prometheus.MustNewConstMetric(c.subscribers, prometheus.GaugeValue, float64(st.Subscribers))
	ch <- prometheus.MustNewConstMetric(c.subscriberDropped, prometheus.CounterValue, float64(st.SubscriberDropped))
}
