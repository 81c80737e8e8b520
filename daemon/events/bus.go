package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Sink writes events somewhere: a file, journald, counters. The bus calls
// Write from one goroutine per sink, never concurrently for one sink, so a
// sink may reuse buffers between calls. An error is counted and kept (see
// SinkStats) and the next event is written as usual: a sink recovers by
// itself (a full disk that frees space) or keeps failing visibly.
type Sink interface {
	Write(e *Event) error
}

// Closer is implemented by sinks that hold resources; the bus calls Close
// once, after the sink's last Write.
type Closer interface {
	Close() error
}

// Reopener is implemented by sinks that write to a file, so that
// Bus.Reopen (SIGHUP, logrotate's postrotate) makes them reopen it. Reopen
// may be called concurrently with Write.
type Reopener interface {
	Reopen() error
}

// DefaultQueueLen is a sink's queue length when none is given.
const DefaultQueueLen = 4096

// BusConfig configures a Bus.
type BusConfig struct {
	// Logger logs sink failures and recoveries (one line per change of
	// state, not per event). Nil discards.
	Logger *slog.Logger
	// Now is the clock for error times; nil is time.Now.
	Now func() time.Time
	// Gather is how long a sink that was woken by an event lets further
	// events gather before it writes them (0: DefaultGather; negative:
	// each event is written at once).
	Gather time.Duration
}

// DefaultGather is BusConfig.Gather's default. A sink's goroutine wakes
// for the first event after a quiet spell and then at most once per
// Gather while events keep coming, instead of once per event: on a busy
// host, each wake-up was a context switch that competed with the
// packets' own work (BENCHMARKS.md). Events reach their sink at most
// this much later.
const DefaultGather = 10 * time.Millisecond

// ErrClosed is returned for operations on a closed Bus.
var ErrClosed = errors.New("events: bus closed")

// Bus fans events out to sinks and subscribers. Publish never blocks.
type Bus struct {
	log    *slog.Logger
	now    func() time.Time
	gather time.Duration

	published [kindCount]atomic.Uint64

	// mu guards sinks, subs and closed. Publish holds it for reading, so
	// that no queue is closed under a send.
	mu     sync.RWMutex
	sinks  []*sinkRunner
	subs   []*Subscription
	closed bool

	// abandon is closed when Close's deadline passes: runners then
	// discard what is queued instead of writing it.
	abandon chan struct{}
	// subDropped accumulates the drops of ended subscriptions.
	subDropped atomic.Uint64
}

// NewBus returns a Bus without sinks.
func NewBus(cfg BusConfig) *Bus {
	b := &Bus{log: cfg.Logger, now: cfg.Now, gather: cfg.Gather, abandon: make(chan struct{})}
	if b.gather == 0 {
		b.gather = DefaultGather
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	if b.now == nil {
		b.now = time.Now
	}
	return b
}

// Add starts a sink under a unique name with a queue of queueLen events
// (DefaultQueueLen if not positive). Only events of the given kinds reach
// it; the zero Kinds is every kind.
func (b *Bus) Add(name string, s Sink, queueLen int, kinds Kinds) error {
	if queueLen <= 0 {
		queueLen = DefaultQueueLen
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	for _, r := range b.sinks {
		if r.name == name {
			return fmt.Errorf("events: add sink %q: name in use", name)
		}
	}
	r := &sinkRunner{
		name: name, sink: s, kinds: kinds, bus: b,
		queue: make(chan *Event, queueLen),
		done:  make(chan struct{}),
	}
	// Copy on write: Stats and Reopen iterate a slice they read under
	// the lock after releasing it.
	b.sinks = append(b.sinks[:len(b.sinks):len(b.sinks)], r)
	go r.run()
	return nil
}

// Publish hands e to every sink and subscriber that takes its kind, and
// returns without waiting: where a queue is full, the event is dropped
// for that sink and counted. The bus and its sinks share e from now on:
// the caller must not modify it. After Close, events are ignored.
func (b *Bus) Publish(e *Event) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return
	}
	if e.Kind < kindCount {
		b.published[e.Kind].Add(1)
	} else {
		b.published[KindUnknown].Add(1)
	}
	for _, r := range b.sinks {
		if !r.kinds.Has(e.Kind) {
			continue
		}
		select {
		case r.queue <- e:
		default:
			r.dropped.Add(1)
		}
	}
	for _, s := range b.subs {
		if !s.kinds.Has(e.Kind) {
			continue
		}
		select {
		case s.c <- e:
		default:
			s.dropped.Add(1)
		}
	}
}

// Reopen makes every sink that implements Reopener reopen its file, and
// returns their errors joined; ErrClosed once the bus is closed.
func (b *Bus) Reopen() error {
	b.mu.RLock()
	sinks, closed := b.sinks, b.closed
	b.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	var errs []error
	for _, r := range sinks {
		if ro, ok := r.sink.(Reopener); ok {
			if err := ro.Reopen(); err != nil {
				errs = append(errs, fmt.Errorf("events: reopen sink %q: %w", r.name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Close stops accepting events, ends the subscriptions, and waits until
// every sink has written what it had queued and is closed, or until ctx
// is done. Past the deadline, queued events are discarded (and counted as
// dropped) and Close returns ctx's error; a sink stuck in Write is left
// behind with its goroutine.
func (b *Bus) Close(ctx context.Context) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return ErrClosed
	}
	b.closed = true
	for _, r := range b.sinks {
		close(r.queue)
	}
	for _, s := range b.subs {
		b.subDropped.Add(s.dropped.Load())
		close(s.c)
	}
	b.subs = nil
	sinks := b.sinks
	b.mu.Unlock()

	var errs []error
	for _, r := range sinks {
		select {
		case <-r.done:
			if r.closeErr != nil {
				errs = append(errs, fmt.Errorf("events: close sink %q: %w", r.name, r.closeErr))
			}
		case <-ctx.Done():
			close(b.abandon)
			return fmt.Errorf("events: close: sink %q still writing: %w", r.name, ctx.Err())
		}
	}
	return errors.Join(errs...)
}

// sinkRunner is a sink's queue and goroutine.
type sinkRunner struct {
	name  string
	sink  Sink
	kinds Kinds
	bus   *Bus
	queue chan *Event
	done  chan struct{} // closed when run returns

	written atomic.Uint64
	dropped atomic.Uint64
	errors  atomic.Uint64

	// mu guards lastErr, lastErrTime and failing.
	mu          sync.Mutex
	lastErr     string
	lastErrTime time.Time
	failing     bool

	closeErr error // set before done is closed
}

func (r *sinkRunner) run() {
	defer close(r.done)
	defer func() {
		if c, ok := r.sink.(Closer); ok {
			r.closeErr = c.Close()
		}
	}()
	for e := range r.queue {
		r.take(e)
		if r.bus.gather < 0 {
			continue
		}
		// Events are coming: let them gather, then write what came, for
		// as long as some do; back to waiting on the queue once a pause
		// found none.
		for {
			time.Sleep(r.bus.gather)
			n, open := r.drain()
			if !open {
				return
			}
			if n == 0 {
				break
			}
		}
	}
}

// drain writes the events queued now, without waiting; open is false
// once the queue is closed and empty.
func (r *sinkRunner) drain() (n int, open bool) {
	for {
		select {
		case e, ok := <-r.queue:
			if !ok {
				return n, false
			}
			r.take(e)
			n++
		default:
			return n, true
		}
	}
}

// take writes e, unless Close gave up waiting for the sink.
func (r *sinkRunner) take(e *Event) {
	select {
	case <-r.bus.abandon:
		r.dropped.Add(1)
		return
	default:
	}
	r.write(e)
}

func (r *sinkRunner) write(e *Event) {
	err := r.sink.Write(e)
	if err == nil {
		r.written.Add(1)
		r.mu.Lock()
		recovered := r.failing
		r.failing = false
		r.mu.Unlock()
		if recovered {
			r.bus.log.Info("event sink recovered", "sink", r.name)
		}
		return
	}
	r.errors.Add(1)
	now := r.bus.now()
	r.mu.Lock()
	first := !r.failing
	r.failing, r.lastErr, r.lastErrTime = true, err.Error(), now
	r.mu.Unlock()
	if first {
		r.bus.log.Warn("event sink failing; events are lost until it recovers", "sink", r.name, "err", err)
	}
}

// SinkStats are a sink's counters.
type SinkStats struct {
	Name    string
	Queued  int    // events waiting in the queue now
	Written uint64 // events written
	Dropped uint64 // events dropped because the queue was full
	Errors  uint64 // events the sink failed to write
	// LastError and LastErrorTime are the latest failure; Failing says
	// whether the sink has failed since it last wrote an event.
	LastError     string
	LastErrorTime time.Time
	Failing       bool
}

// Stats are the bus's counters.
type Stats struct {
	// Published counts the events published, by Kind.
	Published [NumKinds]uint64
	Sinks     []SinkStats
	// Subscribers is the number of subscriptions open;
	// SubscriberDropped counts the events they dropped, ended ones
	// included.
	Subscribers       int
	SubscriberDropped uint64
}

// Stats returns the bus's counters, sinks in the order they were added.
func (b *Bus) Stats() Stats {
	var st Stats
	for k := range st.Published {
		st.Published[k] = b.published[k].Load()
	}
	b.mu.RLock()
	sinks, subs := b.sinks, b.subs
	st.Subscribers = len(subs)
	st.SubscriberDropped = b.subDropped.Load()
	for _, s := range subs {
		st.SubscriberDropped += s.dropped.Load()
	}
	b.mu.RUnlock()
	st.Sinks = make([]SinkStats, len(sinks))
	for i, r := range sinks {
		r.mu.Lock()
		st.Sinks[i] = SinkStats{
			Name: r.name, Queued: len(r.queue),
			Written: r.written.Load(), Dropped: r.dropped.Load(), Errors: r.errors.Load(),
			LastError: r.lastErr, LastErrorTime: r.lastErrTime, Failing: r.failing,
		}
		r.mu.Unlock()
	}
	return st
}

// Subscription is a live feed of events for the control API (`septa
// alerts --follow`). A subscriber that does not keep up loses events,
// counted in Dropped; it never slows the bus.
type Subscription struct {
	bus     *Bus
	c       chan *Event
	kinds   Kinds
	dropped atomic.Uint64
}

// Subscribe returns a subscription to events of the given kinds (the zero
// Kinds is every kind) with a buffer of n events (DefaultQueueLen if not
// positive). The caller must Unsubscribe. On a closed bus the
// subscription's channel is closed already.
func (b *Bus) Subscribe(n int, kinds Kinds) *Subscription {
	if n <= 0 {
		n = DefaultQueueLen
	}
	s := &Subscription{bus: b, c: make(chan *Event, n), kinds: kinds}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		close(s.c)
		return s
	}
	b.subs = append(b.subs[:len(b.subs):len(b.subs)], s)
	return s
}

// C returns the channel of events; it is closed by Unsubscribe and by
// the bus's Close. The events must not be modified.
func (s *Subscription) C() <-chan *Event { return s.c }

// Dropped returns how many events the subscription lost because its
// buffer was full.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Unsubscribe ends the subscription and closes its channel. It may be
// called more than once.
func (s *Subscription) Unsubscribe() {
	b := s.bus
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, x := range b.subs {
		if x == s {
			subs := make([]*Subscription, 0, len(b.subs)-1)
			subs = append(subs, b.subs[:i]...)
			b.subs = append(subs, b.subs[i+1:]...)
			b.subDropped.Add(s.dropped.Load())
			close(s.c)
			return
		}
	}
}
