package events

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
)

// gather returns every sample of the registry as "name{l=v,...}" -> value.
func gather(t *testing.T, g prometheus.Gatherer, prefix string) map[string]float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), prefix) {
			continue
		}
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			sort.Strings(labels)
			key := mf.GetName() + "{" + strings.Join(labels, ",") + "}"
			switch {
			case m.GetCounter() != nil:
				out[key] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				out[key] = m.GetGauge().GetValue()
			}
		}
	}
	return out
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	b := NewBus(BusConfig{})
	m, err := NewMetrics(reg, b)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Add("metrics", m, 100, MetricsKinds); err != nil {
		t.Fatal(err)
	}
	events := []*Event{
		sampleAlert(),
		sampleAlert(),
		{Kind: KindAlert, Alert: Alert{SID: 7, Action: AlertAllowed}},
		sampleDecision(),
		// A flow record: its decision was counted already.
		sampleFlow(),
		sampleDrop(),
		{Kind: KindFlow, Action: "deny", Observe: true, Reason: "app"},
		samplePolicy(),
		{Kind: KindPolicy, Policy: Policy{Generation: 2}},
		{Kind: KindAppID, App: "tls"},
	}
	for _, e := range events {
		b.Publish(e)
	}
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		"septa_alerts_total{action=blocked,sid=2100498}":   2,
		"septa_alerts_total{action=allowed,sid=7}":         1,
		"septa_verdicts_total{action=allow,reason=policy}": 1,
		"septa_verdicts_total{action=deny,reason=user}":    1,
		"septa_verdicts_total{action=deny,reason=observe}": 1,
		"septa_policy_reloads_total{result=applied}":       1,
		"septa_policy_reloads_total{result=failed}":        1,
		"septa_events_total{kind=alert}":                   3,
		"septa_events_total{kind=flow}":                    3,
		"septa_events_total{kind=drop}":                    1,
		"septa_events_total{kind=policy}":                  2,
		"septa_events_total{kind=appid}":                   1,
		"septa_event_sink_written_total{sink=metrics}":     9,
		"septa_event_sink_dropped_total{sink=metrics}":     0,
		"septa_event_sink_errors_total{sink=metrics}":      0,
		"septa_event_sink_queue_length{sink=metrics}":      0,
		"septa_event_sink_failing{sink=metrics}":           0,
		"septa_event_subscribers{}":                        0,
		"septa_event_subscriber_dropped_total{}":           0,
	}
	if diff := cmp.Diff(want, gather(t, reg, "septa_")); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
}

func TestMetricsRegisterTwice(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := NewMetrics(reg, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := NewMetrics(reg, nil); err == nil {
		t.Error("registering the metrics twice on one registry succeeded")
	}
}

func TestNewRegistry(t *testing.T) {
	got := gather(t, NewRegistry(), "go_goroutines")
	if len(got) != 1 {
		t.Errorf("NewRegistry lacks the Go collector: %v", got)
	}
}
