package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/septa-fw/septa/daemon/events"
)

// recordTick is how often the tracker writes the records of denies that
// conntrack will not report and forgets expired decisions.
const recordTick = 5 * time.Second

// startRecords starts flow records when configured: the window and the
// tracker as sinks on the bus, the records saved before the last stop,
// the conntrack listener, and the goroutine that ticks the tracker and
// saves the state file. Records that cannot start are logged: septad
// runs on without them.
func (d *Daemon) startRecords(ctx context.Context) {
	fc := d.cfg.Flows
	if fc.Records == nil || !*fc.Records {
		return
	}
	if err := enableConntrackTimestamps(); err != nil {
		d.log.Warn("conntrack timestamps stay off: flow records end when conntrack reports them (20-50 s late)", "error", err)
	}
	log := d.log.With("component", "records")
	w := NewRecordWindow(fc.MaxRecords, time.Duration(fc.MaxAge), nil)
	restoreRecords(w, fc.StateFile, fc.StateRecords, log)
	holds, closeHolds, err := conntrackHolds()
	if err != nil {
		log.Warn("conntrack lookups unavailable: a denied flow may be recorded before conntrack reports its end", "error", err)
	} else {
		context.AfterFunc(ctx, func() { closeHolds() })
	}
	t := NewRecordTracker(RecordTrackerConfig{
		Publish: d.bus.Publish, Enrich: d.enrich, Policy: &d.policy, Layout: d.fw.MarkLayout(),
		Local:   (&localAddrs{refresh: 10 * time.Second}).has,
		MaxJoin: fc.JoinMax, JoinTTL: time.Duration(fc.JoinTTL), DenyGrace: time.Duration(fc.DenyGrace),
		Exists: holds, RatePerSecond: fc.Rate, Logger: log,
	})
	if err := d.bus.Add("records", w, sinkQueueLen, events.KindsOf(events.KindFlow)); err != nil {
		log.Error("flow records off", "error", err)
		return
	}
	if err := d.bus.Add("record-tracker", t, sinkQueueLen, RecordKinds); err != nil {
		log.Error("flow records off", "error", err)
		return
	}
	d.records, d.tracker = w, t
	if d.registry != nil {
		if err := registerRecordMetrics(d.registry, t, w); err != nil {
			log.Warn("flow record metrics", "error", err)
		}
	}
	if _, err := ListenConntrack(ctx, t, log); err != nil {
		log.Warn("conntrack flow ends are not read: only denied flows get records", "error", err)
	}
	go d.recordLoop(ctx, time.Duration(fc.StateInterval))
}

// restoreRecords puts the records of the state file into the window. A
// file that does not read back is reported and set aside (for a look; the
// next save writes a good one), never fatal.
func restoreRecords(w *RecordWindow, path string, max int, log *slog.Logger) {
	es, err := LoadRecords(path, max)
	if err != nil {
		log.Warn("flow records of the last run are lost", "error", err)
		if errors.Is(err, ErrRecordState) {
			if rerr := os.Rename(path, path+".corrupt"); rerr != nil {
				log.Warn("flow records: could not set the corrupt state file aside", "error", rerr)
			}
		}
		return
	}
	w.Restore(es)
	if len(es) > 0 {
		log.Info("flow records of the last run restored", "records", w.Len(), "file", path)
	}
}

// recordLoop ticks the tracker and saves the state file periodically.
func (d *Daemon) recordLoop(ctx context.Context, saveEvery time.Duration) {
	tick := time.NewTicker(recordTick)
	defer tick.Stop()
	save := time.NewTicker(saveEvery)
	defer save.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			d.tracker.Tick()
		case <-save.C:
			d.saveRecords()
		}
	}
}

// saveRecords writes the latest records to the state file.
func (d *Daemon) saveRecords() {
	if d.records == nil {
		return
	}
	fc := d.cfg.Flows
	if err := SaveRecords(fc.StateFile, d.records.Latest(fc.StateRecords)); err != nil {
		d.log.Warn("flow records not saved", "error", err)
	}
}

// Records returns the flow tracker's counters, or false when records are
// off.
func (d *Daemon) Records() (RecordStats, bool) {
	if d.tracker == nil {
		return RecordStats{}, false
	}
	return d.tracker.Stats(), true
}

// registerRecordMetrics exports the tracker's counters.
func registerRecordMetrics(reg prometheus.Registerer, t *RecordTracker, w *RecordWindow) error {
	counter := func(name, help string, f func(RecordStats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: events.Namespace, Name: name, Help: help},
			func() float64 { return float64(f(t.Stats())) })
	}
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: events.Namespace, Name: name, Help: help}, f)
	}
	for _, c := range []prometheus.Collector{
		counter("flow_ends_total", "Flow ends conntrack reported.", func(s RecordStats) uint64 { return s.Ends }),
		counter("flow_records_total", "Flow records written.", func(s RecordStats) uint64 { return s.Records }),
		counter("flow_records_joined_total", "Flow records joined with a decision of the inspector or the kernel's log.", func(s RecordStats) uint64 { return s.Joined }),
		counter("flow_records_rate_dropped_total", "Flow records dropped by the rate limit.", func(s RecordStats) uint64 { return s.RateDropped }),
		counter("flow_records_join_expired_total", "Decisions that waited for their flow's end in vain.", func(s RecordStats) uint64 { return s.Expired }),
		counter("flow_records_join_evicted_total", "Decisions pushed out of the full join table.", func(s RecordStats) uint64 { return s.Evicted }),
		counter("flow_records_late_ends_total", "Flow ends reported after their deny was recorded alone.", func(s RecordStats) uint64 { return s.LateEnds }),
		counter("flow_records_lost_total", "conntrack events lost (socket buffer full) or malformed.", func(s RecordStats) uint64 { return s.Lost }),
		gauge("flow_records_pending", "Decisions waiting for their flow's end.", func() float64 { return float64(t.Stats().Pending) }),
		gauge("flow_records_kept", "Flow records kept in memory for queries.", func() float64 { return float64(w.Len()) }),
	} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("daemon: metrics: %w", err)
		}
	}
	return nil
}
