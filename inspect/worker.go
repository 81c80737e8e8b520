package inspect

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/septa-fw/septa/inspect/appid"
	"github.com/septa-fw/septa/inspect/ids"
	"github.com/septa-fw/septa/inspect/packet"
	"github.com/septa-fw/septa/inspect/userid"
	"github.com/septa-fw/septa/rules/ir"
)

// Config tunes the inspector. Zero fields take the defaults below.
type Config struct {
	// MaxFlows bounds the flows one worker tracks; the least recently
	// seen is evicted when a new flow arrives at a full table.
	MaxFlows int
	// Depth is how many bytes of each direction app-ID reads; a flow not
	// identified within it is decided as unknown traffic.
	Depth int
	// MaxBuffered bounds the flows holding stream buffers at once (each
	// holds two of Depth bytes until its decision).
	MaxBuffered int
	// HoldTimeout: a held packet is released with a decision made on
	// what is known after this long.
	HoldTimeout time.Duration
	// IdleTimeout: an undecided flow without packets this long is
	// forgotten.
	IdleTimeout time.Duration
	// Linger: a decided flow is remembered this long after its last
	// packet, for packets the kernel queued before it took the flow over.
	Linger time.Duration
	// PassFirstPackets: pass the client's packets while the flow is
	// inspected, instead of holding them until the decision (the
	// default, so that a denied application never completes a request).
	PassFirstPackets bool
	// IdentifyAll: identify the application of every flow before
	// deciding it, whatever the rules need (offline replay).
	IdentifyAll bool
	// DecideIdle: Sweep decides an idle undecided flow on what is known,
	// with its event, before forgetting it (offline replay, where every
	// flow gets a record).
	DecideIdle bool
	// AllowMark and DenyMark are the packet mark bits that carry a
	// decision to the kernel; VerdictMask covers both (nft.MarkLayout).
	AllowMark, DenyMark, VerdictMask uint32
}

// Defaults of Config.
const (
	DefaultMaxFlows    = 65536
	DefaultDepth       = 4096
	DefaultHoldTimeout = 500 * time.Millisecond
	DefaultIdleTimeout = 30 * time.Second
	DefaultLinger      = 5 * time.Second
)

func (c Config) withDefaults() Config {
	if c.MaxFlows <= 0 {
		c.MaxFlows = DefaultMaxFlows
	}
	if c.Depth <= 0 {
		c.Depth = DefaultDepth
	}
	if c.MaxBuffered <= 0 {
		c.MaxBuffered = max(c.MaxFlows/8, 64)
	}
	if c.HoldTimeout <= 0 {
		c.HoldTimeout = DefaultHoldTimeout
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.Linger <= 0 {
		c.Linger = DefaultLinger
	}
	return c
}

// Packet is a packet as the queue delivers it.
type Packet struct {
	ID      uint32
	Payload []byte // starts at the IP header; valid until the verdict
	Hook    Hook
	Mark    uint32 // the packet mark
	// UID and GID of the local socket, on the output hook (HasUID).
	UID, GID uint32
	HasUID   bool
}

// Handler takes queued packets from a Queue: the Worker, or in the
// benchmarks a handler that only gives verdicts, which measures the
// queue's round trip alone. Handle must give p its verdict (now or later)
// and must not keep p or its Payload past the call.
type Handler interface {
	Handle(p *Packet)
}

// Batcher is a Handler that the queue tells where each batch of packets
// (those read in one wake-up) begins and ends.
type Batcher interface {
	Handler
	BeginBatch()
	EndBatch()
}

var _ Batcher = (*Worker)(nil)

// maxPending bounds the events a worker keeps within one batch; past it
// they are emitted at once.
const maxPending = 256

// BeginBatch implements Batcher: until EndBatch, the worker keeps the
// events its decisions make, so that building and publishing them comes
// after the verdicts reach the kernel, not before.
func (w *Worker) BeginBatch() {
	w.mu.Lock()
	w.batch = true
	w.mu.Unlock()
}

// EndBatch implements Batcher: the queue sent the batch's verdicts, and
// the worker emits the events it kept.
func (w *Worker) EndBatch() {
	w.mu.Lock()
	w.batch = false
	pending := w.pending
	w.pending = nil
	w.mu.Unlock()
	for _, e := range pending {
		w.sink.Emit(e)
	}
	// The slice is reused by the next batch; only Run's goroutine calls
	// BeginBatch and EndBatch, so nothing filled w.pending meanwhile.
	clear(pending)
	w.mu.Lock()
	w.pending = pending[:0]
	w.mu.Unlock()
}

// emit hands e to the sink, or keeps it for EndBatch.
func (w *Worker) emit(e *Event) {
	if w.batch && len(w.pending) < maxPending {
		w.pending = append(w.pending, e)
		return
	}
	w.sink.Emit(e)
}

// Verdicter gives queued packets their verdicts.
type Verdicter interface {
	// Verdict accepts or drops the queued packet id, setting its packet
	// mark to mark.
	Verdict(id uint32, accept bool, mark uint32)
}

// Resetter is a Verdicter that can also replace a queued packet: the
// inspector turns the TCP packet that decided a denial into a reset for
// its receiver (the verdict chain lets it through and marks the flow),
// and the kernel resets the other end on its next packet.
type Resetter interface {
	VerdictPayload(id uint32, accept bool, mark uint32, payload []byte)
}

// Quarantiner quarantines an address: the kernel drops its traffic for
// a while. It must not block (the daemon queues the request).
type Quarantiner interface {
	Quarantine(addr netip.Addr, d time.Duration, reason string)
}

// LocalUsers resolves local socket owners (userid.Local).
type LocalUsers interface {
	ByUID(uid uint32) *userid.Identity
}

// RemoteUsers resolves remote addresses (userid.Map).
type RemoteUsers interface {
	Lookup(addr netip.Addr) *userid.Identity
}

// Processes finds the local process behind a flow: the sender of an
// outbound flow, the listener of an inbound one.
type Processes interface {
	// Process returns the executable's path and the command line.
	Process(proto uint8, local, remote netip.AddrPort) (path, cmdline string)
}

// Sink receives the inspector's events. Emit must not block: a sink that
// cannot keep up drops, and counts what it dropped.
type Sink interface {
	Emit(e *Event)
}

// Event is a flow's decision, with everything the inspector learnt.
type Event struct {
	Time     time.Time
	Src, Dst netip.AddrPort // client and server
	Proto    uint8
	Hook     Hook
	// Rule is the deciding rule's ID, "" for the default.
	Rule     string
	Action   ir.Action
	Observe  bool // would have been denied; observe mode let it pass
	Reason   packet.Reason
	App      string
	SNI      string
	HTTPHost string
	User     string
	Groups   []string
	Process  string
	Cmdline  string
	Packets  [2]uint32 // client to server, server to client
	// Alert is set when the event is a signature match rather than a
	// decision; Action then says what happened to the flow (allow for
	// detect, deny when prevent blocked it).
	Alert *ids.Alert
}

// Stats are a worker's counters.
type Stats struct {
	Packets     atomic.Uint64
	Flows       atomic.Uint64 // flows created
	Evicted     atomic.Uint64 // flows evicted from a full table
	Held        atomic.Uint64 // packets held for a decision
	HoldTimeout atomic.Uint64 // decisions forced by the hold timeout
	DecodeError atomic.Uint64
	NoBuffer    atomic.Uint64 // flows inspected without stream buffers (pool exhausted)
	Panics      atomic.Uint64
	Overlaps    atomic.Uint64 // TCP overlaps with different bytes
	Late        atomic.Uint64 // packets of flows decided already
	IDSPackets  atomic.Uint64 // packets the signature engine inspected
	Alerts      atomic.Uint64 // signature matches reported
	Verdicts    [packet.NumReasons]atomic.Uint64
	ActiveFlows atomic.Int64
}

// Worker inspects the packets of one queue. The queue's receive loop calls
// Handle inline for each packet; Sweep runs on a timer. A worker shares no
// lock with other workers.
type Worker struct {
	cfg       Config
	policy    *atomic.Pointer[Policy]
	verdicter Verdicter
	local     LocalUsers
	remote    RemoteUsers
	procs     Processes
	sink      Sink
	now       func() time.Time
	ids       *atomic.Pointer[IDSEngine]
	quar      Quarantiner

	mu    sync.Mutex // guards everything below: Handle and Sweep
	table *flowTable
	pool  *bufPool
	pkt   packet.Packet
	in    appid.Input
	// info is what app-ID extracted from the flow whose key is infoKey
	// (infoSet), the last one identified: flows interleave, so whoever
	// reads it checks that it is theirs (infoOf).
	info    appid.Info
	infoKey packet.FlowKey
	infoSet bool
	// The signature engine's per-worker state, for the engine it was made
	// by (a reload makes a new one).
	scratch ids.Scratch
	idsIn   ids.Input
	idsRes  ids.Result
	rst     []byte      // a reset being built
	idsFree []*ids.Flow // signature state of finished flows, for reuse
	facts   Facts
	held    int // flows holding packets
	// batch: the queue is between BeginBatch and EndBatch, and the
	// events of its packets wait in pending until the batch's verdicts
	// are sent.
	batch   bool
	pending []*Event

	Stats Stats
}

// Deps are what a worker needs from outside: every field may be nil but
// Policy and Verdicter.
type Deps struct {
	Policy    *atomic.Pointer[Policy]
	Verdicter Verdicter
	Local     LocalUsers
	Remote    RemoteUsers
	Processes Processes
	Sink      Sink
	Now       func() time.Time
	// IDS is the signature engine for flows whose rule asks for it; nil
	// or holding nil when the policy has none. Reload swaps it.
	IDS *atomic.Pointer[IDSEngine]
	// Quarantine receives the sources of flows a signature blocked under
	// a rule with a quarantine.
	Quarantine Quarantiner
}

// IDSEngine holds the signature engine the workers use.
type IDSEngine struct{ Engine ids.Engine }

// NewWorker returns a worker for one queue.
func NewWorker(cfg Config, d Deps) *Worker {
	cfg = cfg.withDefaults()
	w := &Worker{
		cfg: cfg, policy: d.Policy, verdicter: d.Verdicter, local: d.Local, remote: d.Remote,
		procs: d.Processes, sink: d.Sink, now: d.Now, ids: d.IDS, quar: d.Quarantine,
		table: newFlowTable(cfg.MaxFlows),
		rst:   make([]byte, 0, 128),
		pool:  newBufPool(cfg.Depth, cfg.MaxBuffered*2),
	}
	if w.now == nil {
		w.now = time.Now
	}
	return w
}

// Handle decides one queued packet. It never panics: a panic is recovered,
// counted, and the packet gets the policy's fail_mode.
func (w *Worker) Handle(qp *Packet) {
	w.mu.Lock()
	defer w.mu.Unlock()
	defer func() {
		if r := recover(); r != nil {
			w.Stats.Panics.Add(1)
			w.Stats.Verdicts[packet.ReasonPanic].Add(1)
			w.verdicter.Verdict(qp.ID, w.failOpen(), qp.Mark&^w.cfg.VerdictMask)
		}
	}()
	w.handle(qp)
}

func (w *Worker) failOpen() bool {
	if p := w.policy.Load(); p != nil {
		return p.settings.FailMode == ir.FailOpen
	}
	return false
}

func (w *Worker) handle(qp *Packet) {
	w.Stats.Packets.Add(1)
	now := w.now()
	nanos := now.UnixNano()
	if packet.Decode(qp.Payload, &w.pkt) != packet.OK {
		// Conntrack has accepted it as part of a flow, but we cannot read
		// it: it cannot be inspected, so it does not pass.
		w.Stats.DecodeError.Add(1)
		w.Stats.Verdicts[packet.ReasonDecodeError].Add(1)
		w.verdicter.Verdict(qp.ID, false, qp.Mark)
		return
	}
	key, aToB := w.pkt.Key()
	f := w.table.lookup(key)
	if f == nil {
		f = w.newFlow(key, aToB, qp, nanos)
	} else {
		w.table.touch(f)
	}
	fromClient := aToB == f.clientIsA
	dir := 0
	if !fromClient {
		dir = 1
	}
	f.packets[dir]++
	f.seen = nanos
	if f.decided && !f.idsActive {
		// Queued before the kernel took the flow over.
		w.Stats.Late.Add(1)
		w.verdicter.Verdict(qp.ID, true, qp.Mark&^w.cfg.VerdictMask|f.mark)
		return
	}
	evasive := w.track(f, dir)
	pol := w.policy.Load()
	if evasive && pol != nil && (!f.decided || f.idsActive && f.idsMode == ir.IDSPrevent) {
		w.denyEvasion(pol, f, now, dir)
		w.verdict(qp, f)
		return
	}
	if f.idsActive {
		w.inspectIDS(f, dir, now)
		w.verdict(qp, f)
		return
	}
	if pol == nil {
		w.verdicter.Verdict(qp.ID, w.failOpen(), qp.Mark&^w.cfg.VerdictMask)
		return
	}
	d := w.decide(pol, f, now, false)
	if d.Need != NeedNothing {
		pass := w.cfg.PassFirstPackets || d.Rule >= 0 && d.Rule < len(pol.rules) && pol.rules[d.Rule].ir.PassFirstPackets
		if fromClient && len(w.pkt.Payload) > 0 && !pass && int(f.nheld) < maxHeld {
			if f.nheld == 0 {
				f.heldSince = nanos
				w.held++
			}
			f.held[f.nheld] = qp.ID
			f.nheld++
			w.Stats.Held.Add(1)
			return
		}
		w.verdicter.Verdict(qp.ID, true, qp.Mark&^w.cfg.VerdictMask)
		return
	}
	w.finish(pol, f, d, now, dir)
	w.verdict(qp, f)
}

// verdict gives the current packet its flow's verdict; a TCP packet
// that a denial stops becomes a reset for its receiver.
func (w *Worker) verdict(qp *Packet, f *flow) {
	mark := qp.Mark&^w.cfg.VerdictMask | f.mark
	if f.mark == w.cfg.DenyMark && f.proto == packet.ProtoTCP && w.pkt.Flags&packet.TCPRst == 0 {
		if r, ok := w.verdicter.(Resetter); ok {
			if w.rst = packet.AppendReset(w.rst[:0], qp.Payload, &w.pkt); len(w.rst) > 0 {
				r.VerdictPayload(qp.ID, true, mark, w.rst)
				return
			}
		}
	}
	w.verdicter.Verdict(qp.ID, true, mark)
}

func (w *Worker) newFlow(key packet.FlowKey, aToB bool, qp *Packet, nanos int64) *flow {
	if w.table.full() {
		victim := w.table.oldest()
		w.Stats.Evicted.Add(1)
		w.drop(victim)
	}
	f := w.table.insert(key)
	w.Stats.Flows.Add(1)
	w.Stats.ActiveFlows.Add(1)
	f.proto = w.pkt.Proto
	f.hook = qp.Hook
	f.created, f.seen = nanos, nanos
	// The client is the sender of the first packet, unless that packet
	// is a SYN-ACK: then the flow's SYN was not seen, and the client is
	// its destination.
	f.clientIsA = aToB
	if f.proto == packet.ProtoTCP && w.pkt.Flags&(packet.TCPSyn|packet.TCPAck) == packet.TCPSyn|packet.TCPAck {
		f.clientIsA = !aToB
	}
	if qp.HasUID && qp.Hook == HookOutput && f.clientIsA == aToB {
		if w.local != nil {
			f.user = w.local.ByUID(qp.UID)
		}
		f.userDone = true
	}
	return f
}

// denyEvasion denies a flow whose TCP segments overlap with different
// bytes. A real TCP stack never sends that; an attacker does, so that the
// inspector and the receiving host reassemble different streams (Linux
// lets a later segment that covers an earlier out-of-order one replace
// it, where the inspector keeps the first bytes). Rather than guess the
// receiver's choice, the flow is denied while its verdict still depends
// on its bytes: undecided, or under signatures in prevent mode. In detect
// mode the overlap is only counted.
func (w *Worker) denyEvasion(pol *Policy, f *flow, now time.Time, dir int) {
	d := Decision{Rule: f.decision.Rule, Action: ir.ActionDeny, Reason: packet.ReasonEvasion}
	if !f.decided {
		// In observe mode nothing is denied, evasion included: it is
		// logged as what enforcing would do.
		d.Rule, d.Observe = -1, pol.settings.Mode == ir.ModeObserve
		w.finish(pol, f, d, now, dir)
		return
	}
	f.decision = d
	f.idsActive, f.mark = false, w.cfg.DenyMark
	w.Stats.Verdicts[packet.ReasonEvasion].Add(1)
	if w.sink != nil {
		w.emit(w.event(pol, f, d, now))
	}
	f.streams[0].release(w.pool)
	f.streams[1].release(w.pool)
	w.putIDSFlow(f)
}

// track follows the TCP handshake and puts payload into the streams. It
// reports whether the packet overlapped the stream with different bytes.
func (w *Worker) track(f *flow, dir int) (evasive bool) {
	p := &w.pkt
	s := &f.streams[dir]
	if f.proto == packet.ProtoTCP {
		switch {
		case p.Flags&packet.TCPRst != 0 || p.Flags&packet.TCPFin != 0:
			f.state = stateClosing
			if p.Flags&packet.TCPFin != 0 {
				s.close(p.Seq + uint32(len(p.Payload)))
			}
		case p.Flags&(packet.TCPSyn|packet.TCPAck) == packet.TCPSyn:
			f.state = stateSynSent
			s.base, s.haveBase = p.Seq+1, true
		case p.Flags&(packet.TCPSyn|packet.TCPAck) == packet.TCPSyn|packet.TCPAck:
			f.state = stateSynAck
			s.base, s.haveBase = p.Seq+1, true
		case f.state == stateSynAck, f.state == stateNew && p.Flags&packet.TCPAck != 0:
			// The kernel passes the handshake of inspected flows without
			// queueing it (nft/planner.go), so a flow's first queued
			// packet is usually the client's ACK: the flow is established.
			// The ACK that ends the handshake carries no data and gives
			// both streams' first sequence numbers: its own, and the one
			// it acknowledges. A first packet with data may be out of
			// order: its own number is only a guess (stream.add).
			f.state = stateEstablished
			if len(p.Payload) == 0 {
				s.start(p.Seq)
			}
			f.streams[1-dir].start(p.Ack)
		}
	}
	if len(p.Payload) == 0 || f.appDone && !f.idsActive {
		return false
	}
	if s.buf == nil {
		s.buf = w.pool.get()
		if s.buf == nil {
			// No buffer left: identification cannot read this flow,
			// which is decided as unknown traffic.
			w.Stats.NoBuffer.Add(1)
			f.appDone = true
			return false
		}
	}
	before := s.overlapDiff
	if f.proto == packet.ProtoTCP {
		s.add(p.Seq, p.Payload)
	} else {
		s.setDatagram(p.Payload)
	}
	if s.overlapDiff != before {
		w.Stats.Overlaps.Add(1)
		return true
	}
	if !f.appDone {
		w.identify(f)
	}
	return false
}

// appID runs app-ID over what the flow's streams hold, into w.info.
func (w *Worker) appID(f *flow) appid.Result {
	// The input lives in the worker: detectors are called through
	// function values, so a local would escape to the heap per packet.
	in := &w.in
	*in = appid.Input{Transport: appid.TCP, ToServer: f.streams[0].contiguous(), ToClient: f.streams[1].contiguous()}
	if f.proto == packet.ProtoUDP {
		in.Transport = appid.UDP
	}
	in.ServerPort = f.serverPort()
	w.infoKey, w.infoSet = f.key, true
	// Identify clears every field of the Info but its scratch space.
	return appid.Identify(in, &w.info)
}

// infoOf returns what app-ID extracted from f (its host, SNI, ...): the
// worker's info if it is f's, else extracted again from f's streams, else
// (the streams are gone) only f's app.
func (w *Worker) infoOf(f *flow) *appid.Info {
	if !w.infoSet || w.infoKey != f.key || w.info.App != f.app {
		if f.app == appid.Unknown || w.appID(f) != appid.Yes || w.info.App != f.app {
			w.info = appid.Info{App: f.app}
		}
	}
	return &w.info
}

// identify runs app-ID over what the streams hold.
func (w *Worker) identify(f *flow) {
	switch w.appID(f) {
	case appid.Yes:
		f.app, f.appDone = w.info.App, true
	case appid.No:
		f.app, f.appDone = appid.Unknown, true
	default:
		if f.streams[0].full() || f.streams[1].full() || f.proto == packet.ProtoUDP && f.packets[0] > 2 {
			f.app, f.appDone = appid.Unknown, true
		}
	}
}

func (f *flow) client() netip.AddrPort {
	if f.clientIsA {
		return f.key.A
	}
	return f.key.B
}

func (f *flow) server() netip.AddrPort {
	if f.clientIsA {
		return f.key.B
	}
	return f.key.A
}

func (f *flow) serverPort() uint16 { return f.server().Port() }

// decide asks the policy about the flow; force makes every fact that is
// still missing count as known-unknown (the hold timeout).
func (w *Worker) decide(pol *Policy, f *flow, now time.Time, force bool) Decision {
	fa := &w.facts
	*fa = Facts{
		Src: f.client().Addr(), Dst: f.server().Addr(), Proto: f.proto, DstPort: f.serverPort(),
		Hook: f.hook, Now: now, AppDone: f.appDone || force, UserDone: f.userDone, User: f.user,
		ProcessDone: f.processDone, Process: f.process,
	}
	if f.appDone {
		fa.Info = w.infoOf(f)
	} else if force {
		w.info, w.infoSet = appid.Info{}, false
		fa.Info = &w.info
	}
	if w.cfg.IdentifyAll && !fa.AppDone {
		return Decision{Rule: -1, Need: NeedApp}
	}
	for range 3 {
		d := pol.Decide(fa)
		switch {
		case d.Need == NeedNothing:
			return d
		case d.Need&NeedUser != 0 && !fa.UserDone:
			if w.remote != nil && f.hook != HookOutput {
				f.user = w.remote.Lookup(fa.Src)
			}
			f.userDone = true
			fa.UserDone, fa.User = true, f.user
		case d.Need&NeedProcess != 0 && !fa.ProcessDone:
			if w.procs != nil {
				local, remote := f.server(), f.client()
				if f.hook == HookOutput {
					local, remote = remote, local
				}
				f.process, f.cmdline = w.procs.Process(f.proto, local, remote)
			}
			f.processDone = true
			fa.ProcessDone, fa.Process = true, f.process
		default:
			return d // waiting for the application
		}
	}
	return pol.Decide(fa)
}

// finish records a decision: the flow's verdict mark, the held packets'
// verdicts, the event, and the buffers back to the pool.
//
// dir is the direction of the packet in w.pkt that led to the decision,
// or -1 when there is none (the hold timeout).
func (w *Worker) finish(pol *Policy, f *flow, d Decision, now time.Time, dir int) {
	f.decided, f.decision = true, d
	if d.Action == ir.ActionAllow || d.Observe {
		f.mark = w.cfg.AllowMark
	} else {
		f.mark = w.cfg.DenyMark
	}
	reason := d.Reason
	if d.Observe {
		reason = packet.ReasonObserve
	}
	w.Stats.Verdicts[reason].Add(1)
	if d.Action == ir.ActionAllow && (d.IDS == ir.IDSDetect || d.IDS == ir.IDSPrevent) && w.engine() != nil {
		// The flow stays with the inspector for its signatures: no mark,
		// so its packets keep coming, up to the inspection depth. The
		// held packets are inspected before they are released, so that
		// in prevent mode a malicious request never reaches the server.
		f.idsActive, f.idsMode, f.mark = true, d.IDS, 0
		f.ids = w.getIDSFlow()
		if w.sink != nil {
			w.emit(w.event(pol, f, d, now))
		}
		if dir < 0 {
			// No packet at hand: the engine sees the flow's client
			// side with the streams so far.
			c, sv := f.client(), f.server()
			w.pkt = packet.Packet{Src: c.Addr(), Dst: sv.Addr(), SrcPort: c.Port(), DstPort: sv.Port(), Proto: f.proto}
			dir = 0
		}
		w.inspectIDS(f, dir, now)
		for i := range f.nheld {
			w.verdicter.Verdict(f.held[i], true, f.mark)
		}
		if f.nheld > 0 {
			w.held--
		}
		f.nheld, f.heldSince = 0, 0
		return
	}
	for i := range f.nheld {
		w.verdicter.Verdict(f.held[i], true, f.mark)
	}
	if f.nheld > 0 {
		w.held--
	}
	f.nheld, f.heldSince = 0, 0
	if w.sink != nil {
		w.emit(w.event(pol, f, d, now))
	}
	f.streams[0].release(w.pool)
	f.streams[1].release(w.pool)
}

func (w *Worker) event(pol *Policy, f *flow, d Decision, now time.Time) *Event {
	e := &Event{
		Time: now, Src: f.client(), Dst: f.server(), Proto: f.proto, Hook: f.hook,
		Action: d.Action, Observe: d.Observe, Reason: d.Reason, Packets: f.packets, Process: f.process, Cmdline: f.cmdline,
	}
	if d.Rule >= 0 && d.Rule < len(pol.rules) {
		e.Rule = pol.rules[d.Rule].ir.ID
	}
	if f.appDone {
		e.App = f.app.String()
		if info := w.infoOf(f); info.App == f.app {
			e.SNI, e.HTTPHost = string(info.SNI), string(info.HTTPHost)
		}
	}
	if f.user != nil {
		e.User, e.Groups = f.user.Name, f.user.Groups
	}
	return e
}

// maxIDSPackets bounds the packets of one flow the signature engine
// inspects; after them (or the stream depth) the kernel takes the flow.
const maxIDSPackets = 64

func (w *Worker) engine() ids.Engine {
	if w.ids == nil {
		return nil
	}
	if h := w.ids.Load(); h != nil {
		return h.Engine
	}
	return nil
}

// inspectIDS runs the signature engine over the packet just tracked (dir
// is its direction) and the streams. Alerts become events; in prevent
// mode a drop or reject signature denies the flow. When the streams reach
// the inspection depth, the flow is allowed and leaves the queue.
func (w *Worker) inspectIDS(f *flow, dir int, now time.Time) {
	eng := w.engine()
	if eng == nil || f.ids == nil {
		f.idsActive, f.mark = false, w.cfg.AllowMark
		w.putIDSFlow(f)
		return
	}
	if w.scratch == nil || w.scratch.Engine() != eng {
		w.scratch = eng.NewScratch()
	}
	w.Stats.IDSPackets.Add(1)
	in := &w.idsIn
	*in = ids.Input{
		Packet: &w.pkt, Key: f.key, Dir: ids.ToServer, Established: f.state >= stateEstablished || f.proto != packet.ProtoTCP,
		App: f.app, Stream: [2][]byte{f.streams[0].contiguous(), f.streams[1].contiguous()}, Now: now.UnixNano(), Flow: f.ids,
	}
	if dir == 1 {
		in.Dir = ids.ToClient
	}
	if f.app != appid.Unknown {
		in.Info = w.infoOf(f)
	}
	res := &w.idsRes
	res.Reset()
	eng.Inspect(in, w.scratch, res)
	block := res.Verdict == packet.Deny && f.idsMode == ir.IDSPrevent
	for i := range res.NAlerts {
		a := res.Alerts[i]
		if a.Noalert {
			continue
		}
		w.Stats.Alerts.Add(1)
		if w.sink != nil {
			e := w.alertEvent(f, &a, block, now)
			w.emit(e)
		}
	}
	switch {
	case block:
		f.idsActive, f.mark = false, w.cfg.DenyMark
		f.decision.Action, f.decision.Reason = ir.ActionDeny, packet.ReasonSignature
		w.Stats.Verdicts[packet.ReasonSignature].Add(1)
		if pol := w.policy.Load(); w.quar != nil && pol != nil && f.decision.Rule >= 0 && f.decision.Rule < len(pol.rules) {
			if d := pol.rules[f.decision.Rule].ir.Quarantine; d > 0 {
				w.quar.Quarantine(f.client().Addr(), d, "signature block under rule "+pol.rules[f.decision.Rule].ir.ID)
			}
		}
	case res.Verdict == packet.Allow, f.streams[0].full() && f.streams[1].full(),
		f.packets[0]+f.packets[1] >= maxIDSPackets,
		// Both sides closed with all their data seen: nothing is left
		// to inspect. (A RST does not end inspection: one with a wrong
		// sequence number is ignored by the receiver, and the sender
		// goes on.)
		f.streams[0].ended() && f.streams[1].ended():
		f.idsActive, f.mark = false, w.cfg.AllowMark
	default:
		return
	}
	f.streams[0].release(w.pool)
	f.streams[1].release(w.pool)
	w.putIDSFlow(f)
}

// getIDSFlow hands out zeroed signature state; the pool grows with the
// flows inspected at once and no further.
func (w *Worker) getIDSFlow() *ids.Flow {
	if n := len(w.idsFree); n > 0 {
		fl := w.idsFree[n-1]
		w.idsFree = w.idsFree[:n-1]
		*fl = ids.Flow{}
		return fl
	}
	return new(ids.Flow)
}

// putIDSFlow takes a flow's signature state back.
func (w *Worker) putIDSFlow(f *flow) {
	if f.ids != nil {
		if len(w.idsFree) < w.cfg.MaxBuffered {
			w.idsFree = append(w.idsFree, f.ids)
		}
		f.ids = nil
	}
}

func (w *Worker) alertEvent(f *flow, a *ids.Alert, blocked bool, now time.Time) *Event {
	alert := *a
	e := &Event{Time: now, Src: f.client(), Dst: f.server(), Proto: f.proto, Hook: f.hook,
		Action: ir.ActionAllow, Reason: packet.ReasonSignature, App: f.app.String(), Packets: f.packets,
		Process: f.process, Cmdline: f.cmdline, Alert: &alert}
	if blocked {
		e.Action = ir.ActionDeny
	}
	if f.user != nil {
		e.User, e.Groups = f.user.Name, f.user.Groups
	}
	return e
}

// drop forgets a flow, releasing what it holds; held packets get the
// fail_mode verdict (their flow is gone, nobody can decide them).
func (w *Worker) drop(f *flow) {
	if w.infoSet && w.infoKey == f.key {
		w.infoSet = false
	}
	open := w.failOpen()
	for i := range f.nheld {
		w.verdicter.Verdict(f.held[i], open, 0)
	}
	if f.nheld > 0 {
		w.held--
	}
	f.streams[0].release(w.pool)
	f.streams[1].release(w.pool)
	w.putIDSFlow(f)
	w.table.remove(f)
	w.Stats.ActiveFlows.Add(-1)
}

// Sweep decides flows whose held packets waited past the hold timeout,
// and forgets idle and lingering flows. Call it periodically (every
// HoldTimeout/2 or so).
func (w *Worker) Sweep() {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	nanos := now.UnixNano()
	pol := w.policy.Load()
	if w.held > 0 && pol != nil {
		deadline := nanos - w.cfg.HoldTimeout.Nanoseconds()
		for i := range w.table.flows {
			f := &w.table.flows[i]
			if f.nheld > 0 && !f.decided && f.heldSince <= deadline {
				w.Stats.HoldTimeout.Add(1)
				f.appDone = true
				w.finish(pol, f, w.decide(pol, f, now, true), now, -1)
			}
		}
	}
	// Oldest first: stop at the first flow that is neither idle nor done
	// lingering. A flow still under signatures is live traffic, not a
	// decided one lingering: it gets the idle timeout, and is passed
	// over until then.
	i := w.table.tail
	for steps := 0; i >= 0 && steps < len(w.table.flows); steps++ {
		f := &w.table.flows[i]
		prev := f.prev
		idle := time.Duration(nanos - f.seen)
		lingered := f.decided && !f.idsActive && idle >= w.cfg.Linger
		if lingered || (!f.decided || f.idsActive) && f.nheld == 0 && idle >= w.cfg.IdleTimeout {
			if !f.decided && w.cfg.DecideIdle && pol != nil {
				f.appDone = true
				w.finish(pol, f, w.decide(pol, f, now, true), now, -1)
			}
			w.drop(f)
			i = prev
			continue
		}
		if f.idsActive && idle >= w.cfg.Linger {
			i = prev
			continue
		}
		break
	}
}

// DecideAll decides every flow still undecided with what is known of it,
// as the hold timeout would (offline replay, at the end of a capture).
func (w *Worker) DecideAll() { w.decideWhere(false) }

// DecideHeld decides, with what is known, the flows holding packets, so
// that their packets get verdicts (when septad stops).
func (w *Worker) DecideHeld() { w.decideWhere(true) }

func (w *Worker) decideWhere(heldOnly bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	pol := w.policy.Load()
	if pol == nil {
		return
	}
	now := w.now()
	for i := range w.table.flows {
		f := &w.table.flows[i]
		if f.decided || heldOnly && f.nheld == 0 || w.table.lookup(f.key) != f {
			continue
		}
		f.appDone = true
		w.finish(pol, f, w.decide(pol, f, now, true), now, -1)
	}
}

// Len is the number of flows the worker tracks.
func (w *Worker) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.table.len()
}
