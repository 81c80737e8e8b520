package events

import "sync"

// Ring is a Sink keeping the last events of each kind, for the control
// API's queries (`septa alerts`, `septa flows`); live following is
// Bus.Subscribe. Events are kept by pointer: they are never modified once
// published.
type Ring struct {
	// mu guards rings.
	mu    sync.Mutex
	rings [kindCount]ring
}

var _ Sink = (*Ring)(nil)

type ring struct {
	buf  []*Event
	next int // where the next event goes
	full bool
}

// NewRing returns a Ring keeping up to n events of each kind; perKind
// overrides n for some kinds (more flows than policy changes, say).
func NewRing(n int, perKind map[Kind]int) *Ring {
	r := &Ring{}
	for k := range r.rings {
		size := n
		if m, ok := perKind[Kind(k)]; ok {
			size = m
		}
		if size > 0 {
			r.rings[k].buf = make([]*Event, size)
		}
	}
	return r
}

// Write keeps e, forgetting the oldest event of its kind if full.
func (r *Ring) Write(e *Event) error {
	k := e.Kind
	if k >= kindCount {
		k = KindUnknown
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	g := &r.rings[k]
	if len(g.buf) == 0 {
		return nil
	}
	g.buf[g.next] = e
	g.next++
	if g.next == len(g.buf) {
		g.next, g.full = 0, true
	}
	return nil
}

// Last returns up to n of the latest events of kind k, oldest first; n <=
// 0 returns all that are kept.
func (r *Ring) Last(k Kind, n int) []*Event {
	if k >= kindCount {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	g := &r.rings[k]
	count := g.next
	if g.full {
		count = len(g.buf)
	}
	if n <= 0 || n > count {
		n = count
	}
	out := make([]*Event, n)
	// The newest is at next-1; the n latest end there.
	start := g.next - n
	if start < 0 {
		start += len(g.buf)
	}
	for i := range out {
		out[i] = g.buf[(start+i)%len(g.buf)]
	}
	return out
}
