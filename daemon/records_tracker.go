package daemon

import (
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/septa-fw/septa/daemon/events"
	"github.com/septa-fw/septa/inspect"
	"github.com/septa-fw/septa/inspect/packet"
	"github.com/septa-fw/septa/nft"
	"github.com/septa-fw/septa/rules/ir"
)

// How a flow record is made (RecordTracker):
//
//   - The tracker is a sink on the event bus for decisions (KindFlow
//     without End, KindDrop) and alerts. A decision waits in the join
//     table under its 5-tuple (client, server, protocol) for its flow's
//     end; an alert marks its flow's entry as alerted.
//   - conntrack reports each flow's end (a DESTROY event, with counters
//     from nf_conntrack_acct and start and stop times from
//     nf_conntrack_timestamp). The tracker takes the entry of the flow's
//     original tuple: the record gets the decision's rule, verdict,
//     observe flag, application, user, process and flow ID. Without an
//     entry (a flow the kernel decided alone, by a rule that does not
//     log), the conntrack mark's generation selects the policy that
//     decided, and that policy is evaluated on the flow's addresses and
//     ports, as the kernel did, to name the rule.
//   - A flow denied before conntrack confirmed it has no conntrack entry
//     and no end to report: a kernel deny (its NFLOG event) becomes a
//     record at once; an inspector deny waits DenyGrace for a conntrack
//     end (a denied TCP flow's reset confirms its entry), then as long as
//     conntrack holds the flow (Exists), and becomes a record by itself
//     after that; a late end of it is dropped and counted (LateEnds).
//   - Records are rate-limited (RatePerSecond, dropped beyond and
//     counted) and the join table is bounded (MaxJoin, JoinTTL).
//
// Records are written once, when the flow ends, as Suricata does: a
// long-lived flow has no record until it ends (septa top and septa flows
// show live counters). conntrack reports ends 20-50 s after the fact;
// the record's End is the flow's stop time, not the report's.

// Defaults of RecordTrackerConfig.
const (
	DefaultRecordJoinMax   = 65536
	DefaultRecordJoinTTL   = 24 * time.Hour
	DefaultRecordDenyGrace = 2 * time.Minute
	DefaultRecordRate      = 5000
)

// maxDenyChecks bounds the conntrack lookups of one Tick; the denies
// past it wait for the next.
const maxDenyChecks = 4096

// recordPolicies is how many policy generations the tracker remembers to
// attribute flows decided under an earlier one.
const recordPolicies = 8

// Record states and end reasons, Suricata's flow.state and flow.reason.
const (
	stateNew         = "new"
	stateEstablished = "established"
	stateClosed      = "closed"
	reasonTimeout    = "timeout"
)

// Reasons a record gives when no decision explains it.
const (
	// ReasonUndecided: the flow passed without a septa decision in its
	// mark (related traffic, or a flow older than septa's table).
	ReasonUndecided = "undecided"
	// ReasonUnattributed: septa decided the flow, but which rule is not
	// known: the inspector's decision left the join table before the
	// flow ended, or the policy of the mark's generation is gone.
	ReasonUnattributed = "unattributed"
)

// RecordTrackerConfig configures a RecordTracker.
type RecordTrackerConfig struct {
	// Publish receives each record; it must not block (events.Bus.Publish).
	Publish func(*events.Event)
	// Enrich completes a record with the zones and groups of its ends.
	Enrich func(*events.Event)
	// Policy is the policy in force, as the inspector reads it.
	Policy *atomic.Pointer[inspect.Policy]
	// Layout reads septa's bits of the conntrack mark.
	Layout nft.MarkLayout
	// Local reports whether an address is this host's (which tells a
	// flow's direction, as the kernel's hook did); nil: none is.
	Local func(netip.Addr) bool
	// MaxJoin bounds the decisions waiting for their flow's end, JoinTTL
	// how long one waits; DenyGrace how long a deny by the inspector
	// waits for a conntrack end before it is a record by itself.
	MaxJoin   int
	JoinTTL   time.Duration
	DenyGrace time.Duration
	// Exists reports whether conntrack still holds a flow: an inspector
	// deny past DenyGrace whose flow conntrack holds waits for the
	// flow's end. Nil: never.
	Exists func(src, dst netip.AddrPort, proto uint8) bool
	// RatePerSecond bounds the records written per second (a burst of as
	// many); the others are dropped and counted.
	RatePerSecond int
	Now           func() time.Time
	Logger        *slog.Logger
}

// RecordStats are the tracker's counters.
type RecordStats struct {
	// Ends counts the flow ends conntrack reported; Records the records
	// published; Joined the records that found their decision.
	Ends    uint64 `json:"ends"`
	Records uint64 `json:"records"`
	Joined  uint64 `json:"joined"`
	// RateDropped counts records dropped by the rate limit; Local the
	// flow ends between two of this host's addresses (loopback), which
	// get no record.
	RateDropped uint64 `json:"rate_dropped"`
	Local       uint64 `json:"local"`
	// Pending is the decisions waiting for their flow's end; Expired
	// those that waited JoinTTL in vain, Evicted those pushed out by
	// MaxJoin newer ones.
	Pending int    `json:"pending"`
	Expired uint64 `json:"expired"`
	Evicted uint64 `json:"evicted"`
	// Lost counts conntrack events lost (the socket's buffer overflowed)
	// or malformed.
	Lost uint64 `json:"lost"`
	// LateEnds counts flow ends conntrack reported after the flow's deny
	// had been recorded alone: they get no second record.
	LateEnds uint64 `json:"late_ends"`
}

// RecordTracker makes flow records from conntrack's flow ends and the
// decisions on the event bus. Its methods are safe for concurrent use.
type RecordTracker struct {
	cfg RecordTrackerConfig
	log *slog.Logger

	// mu guards everything below.
	mu       sync.Mutex
	join     map[flowTuple]*joinEntry
	order    []joinSlot // FIFO of insertions, bounded by MaxJoin
	head, n  int
	seq      uint64
	denies   []flowTuple // inspector denies in the order they wait
	policies [recordPolicies]*inspect.Policy
	tokens   float64
	refilled time.Time

	ends, records, joined, rateDropped, local, expired, evicted atomic.Uint64
	lost, lateEnds                                              atomic.Uint64
}

// flowTuple is a flow's 5-tuple: client, server, protocol.
type flowTuple struct {
	src, dst netip.AddrPort
	proto    uint8
}

type joinEntry struct {
	ev      *events.Event
	seq     uint64
	added   time.Time
	alerted bool
	deny    bool // an inspector deny waiting DenyGrace
	// recorded: the deny was recorded alone; the entry stays until it
	// expires, so that a late end of the same flow is not recorded twice.
	recorded bool
	// absent: conntrack did not hold the flow at the last Tick.
	absent bool
}

type joinSlot struct {
	key flowTuple
	seq uint64
}

var _ events.Sink = (*RecordTracker)(nil)

// RecordKinds are the kinds the tracker takes from the bus.
var RecordKinds = events.KindsOf(events.KindFlow, events.KindDrop, events.KindAlert)

// NewRecordTracker returns a tracker.
func NewRecordTracker(cfg RecordTrackerConfig) *RecordTracker {
	if cfg.MaxJoin <= 0 {
		cfg.MaxJoin = DefaultRecordJoinMax
	}
	if cfg.JoinTTL <= 0 {
		cfg.JoinTTL = DefaultRecordJoinTTL
	}
	if cfg.DenyGrace <= 0 {
		cfg.DenyGrace = DefaultRecordDenyGrace
	}
	if cfg.RatePerSecond <= 0 {
		cfg.RatePerSecond = DefaultRecordRate
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Publish == nil {
		cfg.Publish = func(*events.Event) {}
	}
	if cfg.Local == nil {
		cfg.Local = func(netip.Addr) bool { return false }
	}
	t := &RecordTracker{
		cfg:    cfg,
		log:    cfg.Logger,
		join:   make(map[flowTuple]*joinEntry),
		order:  make([]joinSlot, cfg.MaxJoin),
		tokens: float64(cfg.RatePerSecond),
	}
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	t.refilled = cfg.Now()
	return t
}

// Write takes a decision or an alert from the bus. Records (its own,
// among others) are ignored.
func (t *RecordTracker) Write(e *events.Event) error {
	if e.IsRecord() || !e.Src.IsValid() || !e.Dst.IsValid() {
		return nil
	}
	key := flowTuple{e.Src, e.Dst, e.Proto}
	switch e.Kind {
	case events.KindAlert:
		t.mu.Lock()
		if j, ok := t.join[key]; ok {
			j.alerted = true
		}
		t.mu.Unlock()
		return nil
	case events.KindFlow, events.KindDrop:
	default:
		return nil
	}
	denied := !e.Observe && (e.Action == ir.ActionDeny.String() || e.Action == ir.ActionReject.String())
	if denied && e.Decider == events.DeciderKernel {
		// The kernel dropped the flow's first packet: conntrack never
		// confirmed an entry, and no end will be reported.
		t.emit(recordFromDecision(e, false))
		return nil
	}
	now := t.cfg.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.observePolicyLocked()
	t.expireLocked(now)
	if old, ok := t.join[key]; ok {
		// A later decision on the same tuple: the flow before it ended
		// unreported, or this one is more precise (app-ID after the
		// kernel's log). Keep the latest.
		if denied && !old.deny {
			t.trackDenyLocked(key)
		}
		old.ev, old.added, old.deny, old.recorded, old.absent = e, now, denied, false, false
		return nil
	}
	if t.n == len(t.order) {
		t.popLocked(true)
	}
	t.seq++
	t.join[key] = &joinEntry{ev: e, seq: t.seq, added: now, deny: denied}
	t.order[(t.head+t.n)%len(t.order)] = joinSlot{key, t.seq}
	t.n++
	if denied {
		t.trackDenyLocked(key)
	}
	return nil
}

// trackDenyLocked queues an inspector deny for Tick. The queue holds keys
// of join entries, so it is bounded with the table: past twice its size
// (keys of entries evicted or replaced meanwhile), it is compacted.
func (t *RecordTracker) trackDenyLocked(key flowTuple) {
	if len(t.denies) >= 2*len(t.order) {
		live := t.denies[:0]
		for _, k := range t.denies {
			if j, ok := t.join[k]; ok && j.deny && k != key {
				live = append(live, k)
			}
		}
		t.denies = live
	}
	t.denies = append(t.denies, key)
}

// popLocked drops the oldest slot; evict says it was pushed out.
func (t *RecordTracker) popLocked(evict bool) {
	s := t.order[t.head]
	t.order[t.head] = joinSlot{}
	t.head = (t.head + 1) % len(t.order)
	t.n--
	if j, ok := t.join[s.key]; ok && j.seq == s.seq {
		delete(t.join, s.key)
		if j.recorded {
			return // its record is written; it waited for a late end
		}
		if evict {
			t.evicted.Add(1)
		} else {
			t.expired.Add(1)
		}
	}
}

// expireLocked forgets decisions that waited JoinTTL.
func (t *RecordTracker) expireLocked(now time.Time) {
	for t.n > 0 {
		s := t.order[t.head]
		j, ok := t.join[s.key]
		if ok && j.seq == s.seq && now.Sub(j.added) < t.cfg.JoinTTL {
			return
		}
		t.popLocked(false)
	}
}

// Tick writes the records of inspector denies that waited DenyGrace for a
// conntrack end in vain (and that conntrack no longer holds), and forgets
// expired decisions. The daemon calls it every few seconds.
func (t *RecordTracker) Tick() {
	now := t.cfg.Now()
	t.mu.Lock()
	t.expireLocked(now)
	var due []flowTuple
	i := 0
	for ; i < len(t.denies); i++ {
		key := t.denies[i]
		j, ok := t.join[key]
		if !ok || !j.deny {
			continue // joined, replaced or expired meanwhile
		}
		if now.Sub(j.added) < t.cfg.DenyGrace || len(due) == maxDenyChecks {
			break
		}
		due = append(due, key)
	}
	t.denies = append(t.denies[:0], t.denies[i:]...)
	t.mu.Unlock()

	// Outside the lock: asking conntrack is a netlink round trip.
	held := make([]bool, len(due))
	if t.cfg.Exists != nil {
		for i, k := range due {
			held[i] = t.cfg.Exists(k.src, k.dst, k.proto)
		}
	}

	var out []*events.Event
	var wait []flowTuple
	t.mu.Lock()
	for i, key := range due {
		j, ok := t.join[key]
		if !ok || !j.deny {
			continue
		}
		if held[i] || t.cfg.Exists != nil && !j.absent {
			// conntrack holds the flow, or did not a moment ago: a
			// lookup of an expired entry makes the kernel destroy it
			// and report its end, which may be on its way. Wait one
			// more tick.
			j.absent = !held[i]
			wait = append(wait, key)
			continue
		}
		j.deny, j.recorded = false, true
		out = append(out, recordFromDecision(j.ev, j.alerted))
	}
	// Still in conntrack: its end will come; ask again next time.
	t.denies = append(wait, t.denies...)
	t.mu.Unlock()
	for _, r := range out {
		t.emit(r)
	}
}

// recordFromDecision makes the record of a flow whose end conntrack never
// reports: it ended where it was decided, with the packets the decider
// saw.
func recordFromDecision(e *events.Event, alerted bool) *events.Event {
	r := *e
	r.Kind = events.KindFlow
	if r.Start.IsZero() {
		r.Start = e.Time
	}
	r.End = e.Time
	if r.PacketsToServer == 0 && r.PacketsToClient == 0 {
		r.PacketsToServer = 1 // the logged packet
	}
	r.State, r.EndReason = stateNew, reasonTimeout
	r.Alerted = r.Alerted || alerted
	return &r
}

// FlowEnd is a flow's end as conntrack reports it.
type FlowEnd struct {
	// Src is the client (conntrack's original source), Dst the server.
	Src, Dst netip.AddrPort
	Proto    uint8
	// Start and Stop are the flow's times (zero without
	// nf_conntrack_timestamp).
	Start, Stop time.Time
	// Counters, client to server (original) and back (reply); zero
	// without nf_conntrack_acct.
	PacketsOrig, BytesOrig, PacketsReply, BytesReply uint64
	Mark                                             uint32
	// State is the flow's state in Suricata's words (new, established,
	// closed).
	State string
}

// End makes the record of a flow that ended; arrived is when conntrack's
// report arrived, the end when the flow has no stop time.
func (t *RecordTracker) End(f *FlowEnd, arrived time.Time) {
	t.ends.Add(1)
	if t.cfg.Local(f.Src.Addr()) && t.cfg.Local(f.Dst.Addr()) {
		t.local.Add(1)
		return
	}
	key := flowTuple{f.Src, f.Dst, f.Proto}
	t.mu.Lock()
	t.observePolicyLocked()
	j, ok := t.join[key]
	if ok {
		delete(t.join, key)
	}
	if ok && j.recorded {
		// The flow's deny was recorded alone; if this is the same flow
		// (it started before the decision), its end comes too late.
		// Otherwise it is a new flow on the same tuple.
		if f.Start.IsZero() || !f.Start.After(j.ev.Time.Add(time.Second)) {
			t.mu.Unlock()
			t.lateEnds.Add(1)
			return
		}
		ok = false
	}
	var pol *inspect.Policy
	if !ok {
		_, gen := t.cfg.Layout.Decode(f.Mark)
		pol = t.policies[gen%recordPolicies]
		if pol != nil && pol.Generation%t.cfg.Layout.Generations() != gen {
			pol = nil
		}
	}
	t.mu.Unlock()

	r := &events.Event{Kind: events.KindFlow, Src: f.Src, Dst: f.Dst, Proto: f.Proto}
	r.Start, r.End = f.Start, f.Stop
	if r.End.IsZero() {
		r.End = arrived
	}
	r.Time = r.End
	r.PacketsToServer, r.BytesToServer = f.PacketsOrig, f.BytesOrig
	r.PacketsToClient, r.BytesToClient = f.PacketsReply, f.BytesReply
	r.State, r.EndReason = f.State, reasonTimeout
	if ok {
		t.joined.Add(1)
		d := j.ev
		r.FlowID = d.FlowID
		r.Rule, r.Action, r.Observe, r.Reason, r.Decider = d.Rule, d.Action, d.Observe, d.Reason, d.Decider
		r.App, r.AppProto, r.SNI, r.HTTPHost = d.App, d.AppProto, d.SNI, d.HTTPHost
		r.User, r.Groups, r.Process, r.Cmdline = d.User, d.Groups, d.Process, d.Cmdline
		r.ZoneSrc, r.ZoneDst, r.GroupsSrc, r.GroupsDst = d.ZoneSrc, d.ZoneDst, d.GroupsSrc, d.GroupsDst
		r.Alerted = j.alerted
		if r.Start.IsZero() {
			r.Start = d.Start
		}
	} else {
		t.attribute(r, f.Mark, pol)
	}
	if r.FlowID == 0 {
		start := r.Start
		if start.IsZero() {
			start = r.End
		}
		r.FlowID = events.FlowID(r.Src, r.Dst, r.Proto, start)
	}
	if r.ZoneSrc == "" && r.ZoneDst == "" && t.cfg.Enrich != nil {
		t.cfg.Enrich(r)
	}
	t.emit(r)
}

// attribute names the rule of a flow nobody reported a decision on, from
// its conntrack mark and the policy of the mark's generation.
func (t *RecordTracker) attribute(r *events.Event, mark uint32, pol *inspect.Policy) {
	v, _ := t.cfg.Layout.Decode(mark)
	switch v {
	case nft.MarkUndecided, nft.MarkInspect:
		r.Action, r.Reason = ir.ActionAllow.String(), ReasonUndecided
		return
	case nft.MarkDeny:
		r.Action = ir.ActionDeny.String()
	default:
		r.Action = ir.ActionAllow.String()
	}
	r.Reason = ReasonUnattributed
	if pol == nil {
		return
	}
	hook := inspect.HookForward
	switch {
	case t.cfg.Local(r.Dst.Addr()):
		hook = inspect.HookInput
	case t.cfg.Local(r.Src.Addr()):
		hook = inspect.HookOutput
	}
	d := pol.Decide(&inspect.Facts{Src: r.Src.Addr(), Dst: r.Dst.Addr(), Proto: r.Proto, DstPort: r.Dst.Port(), Hook: hook, Now: r.Start})
	if d.Need != inspect.NeedNothing {
		// A rule that needs the inspector matched the addresses: the
		// inspector decided, and its decision is gone.
		r.Decider = events.DeciderInspector
		return
	}
	r.Decider = events.DeciderKernel
	if d.Rule >= 0 {
		r.Rule = pol.IR().Rules[d.Rule].ID
	}
	r.Observe = d.Observe
	r.Reason = d.Reason.String()
	if d.Reason == packet.ReasonUnknown {
		r.Reason = packet.ReasonPolicy.String()
	}
	// As in decisions: an observed deny says deny, and Observe.
	r.Action = d.Action.String()
}

// observePolicyLocked remembers the policy in force by its generation.
func (t *RecordTracker) observePolicyLocked() {
	if t.cfg.Policy == nil {
		return
	}
	p := t.cfg.Policy.Load()
	if p == nil {
		return
	}
	g := p.Generation % t.cfg.Layout.Generations()
	t.policies[g%recordPolicies] = p
}

// emit publishes a record unless the rate limit says no.
func (t *RecordTracker) emit(r *events.Event) {
	now := t.cfg.Now()
	t.mu.Lock()
	rate := float64(t.cfg.RatePerSecond)
	t.tokens = min(rate, t.tokens+now.Sub(t.refilled).Seconds()*rate)
	t.refilled = now
	ok := t.tokens >= 1
	if ok {
		t.tokens--
	}
	t.mu.Unlock()
	if !ok {
		t.rateDropped.Add(1)
		return
	}
	t.records.Add(1)
	t.cfg.Publish(r)
}

// Lost counts conntrack events the listener lost.
func (t *RecordTracker) Lost(n uint64) { t.lost.Add(n) }

// Stats returns the tracker's counters.
func (t *RecordTracker) Stats() RecordStats {
	t.mu.Lock()
	pending := len(t.join)
	t.mu.Unlock()
	return RecordStats{
		Ends: t.ends.Load(), Records: t.records.Load(), Joined: t.joined.Load(),
		RateDropped: t.rateDropped.Load(), Local: t.local.Load(), Pending: pending,
		Expired: t.expired.Load(), Evicted: t.evicted.Load(), Lost: t.lost.Load(), LateEnds: t.lateEnds.Load(),
	}
}
