package events

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// stuckSink blocks in Write until release is closed, telling entered when
// the first Write begins.
type stuckSink struct {
	entered chan struct{}
	once    sync.Once
	release chan struct{}
	mu      sync.Mutex
	got     int
}

func newStuckSink() *stuckSink {
	return &stuckSink{entered: make(chan struct{}), release: make(chan struct{})}
}

func (s *stuckSink) Write(e *Event) error {
	s.once.Do(func() { close(s.entered) })
	<-s.release
	s.mu.Lock()
	s.got++
	s.mu.Unlock()
	return nil
}

// recorder keeps what it is given.
type recorder struct {
	mu     sync.Mutex
	events []*Event
	closed bool
}

func (r *recorder) Write(e *Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	return nil
}

func (r *recorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	return nil
}

func (r *recorder) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

// flakySink fails while failing is set.
type flakySink struct {
	mu      sync.Mutex
	failing bool
}

func (f *flakySink) Write(e *Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failing {
		return errors.New("write eve.json: no space left on device")
	}
	return nil
}

func (f *flakySink) set(failing bool) {
	f.mu.Lock()
	f.failing = failing
	f.mu.Unlock()
}

func sinkStats(t *testing.T, b *Bus, name string) SinkStats {
	t.Helper()
	for _, s := range b.Stats().Sinks {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no sink %q", name)
	return SinkStats{}
}

func TestBusStuckSinkNeverBlocks(t *testing.T) {
	tests := []struct {
		name     string
		queueLen int
		events   int
	}{
		{name: "queue of one", queueLen: 1, events: 100},
		{name: "queue of four", queueLen: 4, events: 1000},
		{name: "more room than events", queueLen: 64, events: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				// Each event written at once: the counts below are exact
				// the moment every goroutine waits.
				b := NewBus(BusConfig{Gather: -1})
				stuck := newStuckSink()
				rec := &recorder{}
				if err := b.Add("stuck", stuck, tt.queueLen, 0); err != nil {
					t.Fatal(err)
				}
				if err := b.Add("healthy", rec, tt.events, 0); err != nil {
					t.Fatal(err)
				}
				b.Publish(&Event{Kind: KindFlow})
				<-stuck.entered // the stuck sink holds the first event
				for range tt.events - 1 {
					b.Publish(&Event{Kind: KindDrop}) // returns although the sink is stuck
				}
				synctest.Wait()

				// One event is in the stuck Write, queueLen wait, the rest
				// are dropped; the healthy sink got every one.
				wantQueued := min(tt.queueLen, tt.events-1)
				got := sinkStats(t, b, "stuck")
				want := SinkStats{Name: "stuck", Queued: wantQueued, Dropped: uint64(tt.events - 1 - wantQueued)}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("stuck sink stats (-want +got):\n%s", diff)
				}
				if n := rec.len(); n != tt.events {
					t.Errorf("healthy sink wrote %d events, want %d", n, tt.events)
				}
				st := b.Stats()
				if st.Published[KindFlow] != 1 || st.Published[KindDrop] != uint64(tt.events-1) {
					t.Errorf("published %v", st.Published)
				}

				// Close gives up at its deadline while the sink is stuck,
				// and discards what is queued.
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				if err := b.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("Close = %v, want deadline exceeded", err)
				}
				close(stuck.release)
				synctest.Wait()
				got = sinkStats(t, b, "stuck")
				if got.Written != 1 || got.Dropped != uint64(tt.events-1) || got.Queued != 0 {
					t.Errorf("after Close: %+v, want 1 written, %d dropped", got, tt.events-1)
				}
				if !rec.closed {
					t.Error("healthy sink not closed")
				}
			})
		})
	}
}

func TestBusCloseDrains(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewBus(BusConfig{})
		rec := &recorder{}
		if err := b.Add("rec", rec, 100, KindsOf(KindAlert)); err != nil {
			t.Fatal(err)
		}
		for i := range 50 {
			b.Publish(&Event{Kind: KindAlert, FlowID: uint64(i)})
			b.Publish(&Event{Kind: KindFlow}) // filtered out
		}
		if err := b.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := rec.len(); n != 50 || !rec.closed {
			t.Errorf("wrote %d, closed %v; want 50, true", n, rec.closed)
		}
		for i, e := range rec.events {
			if e.FlowID != uint64(i) {
				t.Fatalf("event %d has FlowID %d: out of order", i, e.FlowID)
			}
		}
		b.Publish(&Event{Kind: KindAlert}) // ignored, no panic
		if err := b.Close(context.Background()); !errors.Is(err, ErrClosed) {
			t.Errorf("second Close = %v, want ErrClosed", err)
		}
		if err := b.Add("late", rec, 1, 0); !errors.Is(err, ErrClosed) {
			t.Errorf("Add after Close = %v, want ErrClosed", err)
		}
	})
}

func TestBusAddDuplicate(t *testing.T) {
	b := NewBus(BusConfig{})
	t.Cleanup(func() { b.Close(context.Background()) })
	if err := b.Add("eve", &recorder{}, 1, 0); err != nil {
		t.Fatal(err)
	}
	if err := b.Add("eve", &recorder{}, 1, 0); err == nil {
		t.Error("second sink named eve was accepted")
	}
}

func TestBusSinkErrorsCountedAndRecovered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
		b := NewBus(BusConfig{Now: func() time.Time { return now }})
		flaky := &flakySink{failing: true}
		if err := b.Add("eve", flaky, 10, 0); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			b.Publish(&Event{Kind: KindFlow})
		}
		settle()
		want := SinkStats{
			Name: "eve", Errors: 3, Failing: true,
			LastError: "write eve.json: no space left on device", LastErrorTime: now,
		}
		if diff := cmp.Diff(want, sinkStats(t, b, "eve")); diff != "" {
			t.Errorf("failing (-want +got):\n%s", diff)
		}

		flaky.set(false) // space returns
		b.Publish(&Event{Kind: KindFlow})
		settle()
		want.Written, want.Failing = 1, false
		if diff := cmp.Diff(want, sinkStats(t, b, "eve")); diff != "" {
			t.Errorf("recovered (-want +got):\n%s", diff)
		}
		if err := b.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSubscribe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewBus(BusConfig{})
		alerts := b.Subscribe(2, KindsOf(KindAlert))
		all := b.Subscribe(10, 0)

		a1 := &Event{Kind: KindAlert, Alert: Alert{SID: 1}}
		f1 := &Event{Kind: KindFlow}
		a2 := &Event{Kind: KindAlert, Alert: Alert{SID: 2}}
		a3 := &Event{Kind: KindAlert, Alert: Alert{SID: 3}}
		for _, e := range []*Event{a1, f1, a2, a3} {
			b.Publish(e) // a3 does not fit the alerts subscription
		}
		if got := alerts.Dropped(); got != 1 {
			t.Errorf("alerts dropped %d, want 1", got)
		}
		if diff := cmp.Diff([]*Event{a1, a2}, drain(alerts.C(), 2), eventOpts); diff != "" {
			t.Errorf("alerts (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]*Event{a1, f1, a2, a3}, drain(all.C(), 4), eventOpts); diff != "" {
			t.Errorf("all (-want +got):\n%s", diff)
		}
		if st := b.Stats(); st.Subscribers != 2 || st.SubscriberDropped != 1 {
			t.Errorf("stats: %d subscribers, %d dropped; want 2, 1", st.Subscribers, st.SubscriberDropped)
		}

		alerts.Unsubscribe()
		alerts.Unsubscribe() // twice is harmless
		if _, ok := <-alerts.C(); ok {
			t.Error("channel open after Unsubscribe")
		}
		b.Publish(a1)
		if st := b.Stats(); st.Subscribers != 1 || st.SubscriberDropped != 1 {
			t.Errorf("stats after unsubscribe: %+v", st)
		}

		if err := b.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := drain(all.C(), 10); len(got) != 1 {
			t.Errorf("got %d events before close, want 1", len(got))
		}
		if _, ok := <-all.C(); ok {
			t.Error("channel open after Close")
		}
		all.Unsubscribe()
		if _, ok := <-b.Subscribe(1, 0).C(); ok {
			t.Error("subscription to a closed bus is open")
		}
	})
}

// eventOpts compare Events with go-cmp.
var eventOpts = cmp.Options{cmpopts.EquateComparable(netip.AddrPort{}, netip.Addr{})}

// drain reads up to n events without blocking.
func drain(c <-chan *Event, n int) []*Event {
	var out []*Event
	for range n {
		select {
		case e, ok := <-c:
			if !ok {
				return out
			}
			out = append(out, e)
		default:
			return out
		}
	}
	return out
}

func TestBusConcurrentPublish(t *testing.T) {
	b := NewBus(BusConfig{})
	rec := &recorder{}
	const publishers, each = 8, 500
	if err := b.Add("rec", rec, publishers*each, 0); err != nil {
		t.Fatal(err)
	}
	sub := b.Subscribe(publishers*each, 0)
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			for i := range each {
				b.Publish(&Event{Kind: KindFlow, FlowID: uint64(p*each + i)})
			}
		})
	}
	wg.Wait()
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	seen := map[uint64]bool{}
	for _, e := range rec.events {
		seen[e.FlowID] = true
	}
	if len(seen) != publishers*each {
		t.Errorf("sink saw %d distinct events, want %d", len(seen), publishers*each)
	}
	n := 0
	for range sub.C() {
		n++
	}
	if n != publishers*each {
		t.Errorf("subscriber got %d, want %d", n, publishers*each)
	}
	st := b.Stats()
	want := Stats{Sinks: []SinkStats{{Name: "rec", Written: publishers * each}}}
	want.Published[KindFlow] = publishers * each
	if diff := cmp.Diff(want, st, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

// settle waits, inside a synctest bubble, until the sinks have written
// what was published: past their gathering pause (the bubble's clock
// jumps), then until every goroutine waits.
func settle() {
	time.Sleep(10 * DefaultGather)
	synctest.Wait()
}

// TestBusSinkGathers: a sink woken by an event lets the events that
// follow gather for DefaultGather and writes them together; after a quiet
// spell it waits on its queue again, and Close writes what is left.
func TestBusSinkGathers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewBus(BusConfig{})
		rec := &recorder{}
		if err := b.Add("eve", rec, 256, 0); err != nil {
			t.Fatal(err)
		}
		b.Publish(&Event{Kind: KindFlow})
		synctest.Wait()
		if n := rec.len(); n != 1 {
			t.Fatalf("after the first event: %d written, want 1", n)
		}
		for range 99 {
			b.Publish(&Event{Kind: KindFlow})
		}
		synctest.Wait()
		if n := rec.len(); n != 1 {
			t.Fatalf("right after a burst: %d written, want 1 (the burst gathers)", n)
		}
		time.Sleep(DefaultGather)
		synctest.Wait()
		if n := rec.len(); n != 100 {
			t.Fatalf("one gathering later: %d written, want 100", n)
		}
		// Quiet: the sink goes back to its queue, and the next event is
		// written at once.
		time.Sleep(10 * DefaultGather)
		b.Publish(&Event{Kind: KindFlow})
		synctest.Wait()
		if n := rec.len(); n != 101 {
			t.Fatalf("after a quiet spell: %d written, want 101", n)
		}
		b.Publish(&Event{Kind: KindFlow})
		if err := b.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := rec.len(); n != 102 || !rec.closed {
			t.Errorf("after Close: %d written (want 102), closed %v", n, rec.closed)
		}
	})
}
