package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/septa-fw/septa/daemon/events"
	"github.com/septa-fw/septa/daemon/fleet"
	"github.com/septa-fw/septa/inspect"
	"github.com/septa-fw/septa/inspect/ids"
	"github.com/septa-fw/septa/inspect/packet"
	"github.com/septa-fw/septa/inspect/userid"
	"github.com/septa-fw/septa/nft"
	"github.com/septa-fw/septa/rules"
	"github.com/septa-fw/septa/rules/ir"
	"github.com/septa-fw/septa/version"
)

// Daemon is one running septad.
type Daemon struct {
	cfg     Config
	log     *slog.Logger
	started time.Time

	fw     *nft.Firewall
	caps   nft.Caps
	policy atomic.Pointer[inspect.Policy] // what the workers evaluate
	ids    atomic.Pointer[inspect.IDSEngine]
	idmap  *userid.Map
	local  *userid.Local
	procs  *userid.Processes

	workers []*inspect.Worker
	queues  []*inspect.Queue

	reloadMu sync.Mutex // serialises reloads and set updates
	mu       sync.Mutex // guards the state below
	current  *rules.Result
	gen      uint64
	applied  time.Time
	last     ReloadStatus
	reloads  uint64
	failures uint64
	// quarantine records the quarantines made through septad; the kernel
	// set holds them with their timeouts.
	quarantine map[netip.Addr]Quarantined

	bus      *events.Bus
	nflog    *NFLOGListener // nil when no NFLOG group could be bound
	ring     *events.Ring
	records  *RecordWindow  // nil when flow records are off
	tracker  *RecordTracker // nil when flow records are off
	registry *prometheus.Registry

	quarantineQ queuedQuarantiner
	idsStatus   *IDSStatus // the engine in force, guarded by mu

	identityChanged chan struct{}
	identityMu      sync.Mutex // guards identitySynced
	identitySynced  map[string][]netip.Addr
	feedErrors      atomic.Uint64

	fleet *fleet.Agent // nil unless fleet mode is on
}

var _ inspect.Processes = (*userid.Processes)(nil)

// ReloadStatus is the outcome of the last reload.
type ReloadStatus struct {
	Time       time.Time     `json:"time"`
	Trigger    string        `json:"trigger"`
	OK         bool          `json:"ok"`
	Error      string        `json:"error,omitempty"`
	Generation uint64        `json:"generation"`
	Duration   time.Duration `json:"duration_ns"`
	Changed    bool          `json:"changed"`
	SetsOnly   bool          `json:"sets_only,omitempty"`
	Warnings   []string      `json:"warnings,omitempty"`
}

// New returns a daemon for a configuration (after WithDefaults).
func New(cfg Config, log *slog.Logger) *Daemon {
	return &Daemon{
		cfg:             cfg,
		log:             log,
		idmap:           userid.NewMap(nil),
		local:           userid.NewLocal(time.Minute, nil),
		procs:           userid.NewProcesses(10 * time.Second),
		identityChanged: make(chan struct{}, 1),
	}
}

func (d *Daemon) nftConfig() nft.Config {
	return nft.Config{
		Table:       d.cfg.Kernel.Table,
		MarkMask:    uint32(d.cfg.Kernel.MarkMask),
		QueueBase:   d.cfg.Kernel.QueueBase,
		QueueCount:  d.cfg.Kernel.Queues,
		QueueFanout: d.cfg.Kernel.QueueFanout,
	}.WithDefaults()
}

// loadPolicy reads and compiles the policy directory and the inventory;
// in fleet mode, once a fleet revision is in force, it compiles that
// revision with the fleet's inventory instead.
func (d *Daemon) loadPolicy() (*rules.Result, error) {
	if d.fleet != nil {
		if res, _, ok, err := d.fleet.Compiled(); ok {
			return res, err
		}
	}
	opts := rules.Options{}
	if d.cfg.Inventory != "" {
		inv, err := rules.LoadInventory(d.cfg.Inventory)
		switch {
		case err == nil:
			opts.Inventory = inv
		case errors.Is(err, os.ErrNotExist):
		default:
			return nil, err
		}
	}
	return rules.Load(d.cfg.PolicyDir, opts)
}

// Start probes the kernel, applies the policy and starts the inspector.
// A policy that does not validate at start is fatal only when the kernel
// holds no earlier generation: after a crash, the table left behind keeps
// enforcing the last good policy and septad carries on with it.
func (d *Daemon) Start(ctx context.Context) error {
	d.started = time.Now()
	if d.bus == nil {
		if err := d.startEvents(); err != nil {
			return err
		}
	}
	// Before the apply: the kernel drops log messages of a group nobody
	// has bound. Kernel-decided denies become events through it.
	d.nflog = d.startNFLOG(ctx)
	fw, err := nft.Open(0, d.nftConfig())
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	d.fw = fw
	if d.caps, err = fw.Probe(); err != nil {
		return fmt.Errorf("daemon: probe kernel: %w", err)
	}
	d.log.Info("kernel probed", "caps", d.caps.String())
	if err := enableConntrackAccounting(); err != nil {
		d.log.Warn("conntrack counters stay off: septa top cannot rank flows by bytes", "error", err)
	}
	d.startRecords(ctx)
	prev, havePrev, err := fw.Generation()
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	if err := d.startFleet(); err != nil {
		return err
	}
	res, loadErr := d.loadPolicy()
	switch {
	case loadErr != nil && !havePrev:
		return fmt.Errorf("daemon: policy %s: %w", d.cfg.PolicyDir, loadErr)
	case loadErr != nil:
		d.log.Error("policy does not validate; the kernel keeps enforcing the previous generation",
			"generation", prev, "error", loadErr)
		d.gen = prev
		d.recordReload("start", ReloadStatus{Generation: prev, Error: loadErr.Error()})
	default:
		gen := uint64(1)
		if havePrev {
			gen = prev + 1
			d.log.Info("reconciling the table left by an earlier run", "generation", prev)
		}
		if err := d.apply(res, gen, "start"); err != nil {
			if !havePrev {
				return err
			}
			d.log.Error("apply failed; the kernel keeps the previous generation", "error", err)
			d.gen = prev
		}
	}
	return d.startInspector(ctx)
}

// apply makes a compiled policy the kernel's and the inspector's.
func (d *Daemon) apply(res *rules.Result, gen uint64, trigger string) error {
	start := time.Now()
	engine, err := d.buildIDS(res.Policy)
	if err != nil {
		d.recordReload(trigger, ReloadStatus{Generation: gen - 1, Error: err.Error()})
		return fmt.Errorf("daemon: generation %d: %w", gen, err)
	}
	r, err := d.fw.Apply(res.Policy, gen)
	st := ReloadStatus{Generation: gen, Duration: time.Since(start), Changed: true, Warnings: warningsText(res.Warnings)}
	if err != nil {
		st.Error = err.Error()
		d.recordReload(trigger, st)
		return fmt.Errorf("daemon: apply generation %d: %w", gen, err)
	}
	d.ids.Store(&inspect.IDSEngine{Engine: engine})
	d.policy.Store(inspect.NewPolicy(res.Policy, gen))
	d.mu.Lock()
	d.current, d.gen, d.applied = res, gen, time.Now()
	d.mu.Unlock()
	d.identityMu.Lock()
	d.identitySynced = nil // the apply may have created identity sets
	d.identityMu.Unlock()
	d.identityChange()
	st.OK = true
	st.Warnings = append(st.Warnings, r.Warnings...)
	d.recordReload(trigger, st)
	d.log.Info("policy applied", "generation", gen, "rules", len(res.Policy.Rules),
		"reconciled", r.Reconciled, "duration", r.Duration, "trigger", trigger)
	return nil
}

func warningsText(ws []*rules.Warning) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.Error())
	}
	return out
}

func (d *Daemon) recordReload(trigger string, st ReloadStatus) {
	st.Time, st.Trigger = time.Now(), trigger
	d.mu.Lock()
	d.reloads++
	if !st.OK {
		d.failures++
	}
	d.last = st
	d.mu.Unlock()
	if st.Changed || !st.OK {
		d.publishPolicy(st)
	}
}

// Reload loads the policy again and applies it as a new generation. A
// policy that does not validate, or an apply the kernel rejects, leaves
// the running generation in force; the error says why (file:line:col for
// policy errors).
func (d *Daemon) Reload(trigger string) (ReloadStatus, error) {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	if err := d.loadIdentityFile(); err != nil {
		d.log.Error("identity map not reloaded", "error", err)
	} else {
		d.identityChange()
	}
	res, err := d.loadPolicy()
	if err != nil {
		d.mu.Lock()
		gen := d.gen
		d.mu.Unlock()
		d.recordReload(trigger, ReloadStatus{Generation: gen, Error: err.Error()})
		d.log.Error("reload refused: the running policy stays", "trigger", trigger, "error", err)
		return d.Last(), err
	}
	return d.Last(), d.applyResultLocked(res, trigger)
}

// applyResultLocked makes a compiled policy the running one, as a set
// update when only set members changed, and not at all when nothing did.
// The caller holds reloadMu.
func (d *Daemon) applyResultLocked(res *rules.Result, trigger string) error {
	d.mu.Lock()
	cur, gen := d.current, d.gen
	d.mu.Unlock()
	if cur != nil && cur.Policy.Dump() == res.Policy.Dump() {
		st := ReloadStatus{Generation: gen, OK: true}
		d.recordReload(trigger, st)
		return nil
	}
	if cur != nil && sameRules(cur.Policy, res.Policy) {
		if err := d.updateSets(cur.Policy, res.Policy); err == nil {
			d.policy.Store(inspect.NewPolicy(res.Policy, gen))
			d.mu.Lock()
			d.current = res
			d.mu.Unlock()
			d.recordReload(trigger, ReloadStatus{Generation: gen, OK: true, Changed: true, SetsOnly: true})
			d.log.Info("sets updated without re-applying rules", "generation", gen, "trigger", trigger)
			return nil
		} else {
			d.log.Warn("set update failed; applying the whole policy", "error", err)
		}
	}
	return d.apply(res, gen+1, trigger)
}

// sameRules reports whether two policies differ at most in the members
// of their sets: then a set update is enough.
func sameRules(a, b *ir.Policy) bool {
	if a.Settings != b.Settings || len(a.Sets) != len(b.Sets) {
		return false
	}
	for i := range a.Sets {
		if a.Sets[i].Name != b.Sets[i].Name {
			return false
		}
	}
	strip := func(p *ir.Policy) string {
		q := *p
		q.Sets = nil
		return q.Dump()
	}
	return strip(a) == strip(b)
}

func (d *Daemon) updateSets(old, next *ir.Policy) error {
	for i := range next.Sets {
		o, n := old.Sets[i], next.Sets[i]
		if n.Kind == ir.SetIdentity || prefixesEqual(o.Prefixes, n.Prefixes) {
			continue
		}
		if err := d.fw.ReplaceSet(n.Name, n.Prefixes); err != nil {
			return err
		}
	}
	return nil
}

func prefixesEqual[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// buildIDS builds the signature engine of a policy, or nil when it has no
// [ids] table. Bad signatures are skipped and counted by the engine (and
// logged); an engine that cannot be built at all refuses the policy.
func (d *Daemon) buildIDS(p *ir.Policy) (ids.Engine, error) {
	start := time.Now()
	e, err := BuildIDS(p, d.log.With("component", "ids"))
	if err != nil || e == nil {
		return e, err
	}
	st := IDSStatus{Engine: e.Name(), Files: p.IDS.Files, Built: time.Now(), BuildTime: time.Since(start)}
	if r, ok := e.(ids.Reporter); ok {
		st.Loaded, st.Failed, st.Inert = r.SignatureStats()
		for _, le := range r.LoadErrors() {
			d.log.Warn("signature skipped", "error", le)
			st.Errors = append(st.Errors, le.Error())
		}
	}
	d.log.Info("signature engine built", "files", len(st.Files), "loaded", st.Loaded, "failed", st.Failed,
		"inert", st.Inert, "duration", st.BuildTime)
	d.mu.Lock()
	d.idsStatus = &st
	d.mu.Unlock()
	return e, nil
}

// IDSStatus describes the signature engine in force (septa ids stats).
type IDSStatus struct {
	Engine    string        `json:"engine"`
	Files     []string      `json:"files"`
	Built     time.Time     `json:"built"`
	BuildTime time.Duration `json:"build_time_ns"`
	Loaded    int           `json:"loaded"`
	Failed    int           `json:"failed"`
	Inert     int           `json:"inert"`
	// Errors are the first load errors of skipped signatures.
	Errors []string `json:"errors,omitempty"`
	// Alerts counts alerts reported since start, over all queues.
	Alerts uint64 `json:"alerts"`
	// Inspected counts packets the engine inspected.
	Inspected uint64 `json:"inspected_packets"`
	// PCRETimeouts counts backtracking pcre matches the engine gave up
	// on (each taken as no match) since it was built.
	PCRETimeouts uint64 `json:"pcre_timeouts"`
}

// IDS reports the signature engine in force, or nil when the policy has
// no signatures.
func (d *Daemon) IDS() *IDSStatus {
	d.mu.Lock()
	st := d.idsStatus
	d.mu.Unlock()
	if st == nil || d.ids.Load() == nil || d.ids.Load().Engine == nil {
		return nil
	}
	out := *st
	if l, ok := d.ids.Load().Engine.(ids.MatchLimiter); ok {
		out.PCRETimeouts = l.PCRETimeouts()
	}
	for _, w := range d.workers {
		out.Alerts += w.Stats.Alerts.Load()
		out.Inspected += w.Stats.IDSPackets.Load()
	}
	return &out
}

// BuildIDS builds the signature engine of a compiled policy with the
// built-in "signature" plugin, or returns nil when the policy has no
// signatures (septad on apply, septa check).
func BuildIDS(p *ir.Policy, log *slog.Logger) (ids.Engine, error) {
	if p.IDS == nil || len(p.IDS.Files) == 0 {
		return nil, nil
	}
	cfg := ids.Config{Files: p.IDS.Files, Disabled: p.IDS.Disabled, PortVars: map[string]string{}, Logger: log}
	for _, v := range p.IDS.AddressVars {
		cfg.AddressVars = append(cfg.AddressVars, ids.AddressVar{Name: v.Name, Prefixes: v.Prefixes, Negated: v.Negated})
	}
	for _, v := range p.IDS.PortVars {
		cfg.PortVars[v.Name] = v.Value
	}
	if len(p.IDS.Actions) > 0 {
		cfg.Actions = map[uint32]ids.Action{}
		for _, a := range p.IDS.Actions {
			cfg.Actions[a.SID] = map[string]ids.Action{"alert": ids.ActionAlert, "drop": ids.ActionDrop,
				"reject": ids.ActionReject, "pass": ids.ActionPass}[a.Action]
		}
	}
	return ids.New("signature", cfg)
}

// Last is the outcome of the last reload.
func (d *Daemon) Last() ReloadStatus {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.last
}

func (d *Daemon) startInspector(ctx context.Context) error {
	layout := d.fw.MarkLayout()
	icfg := inspect.Config{
		MaxFlows:         d.cfg.Inspect.MaxFlows,
		Depth:            d.cfg.Inspect.Depth,
		HoldTimeout:      time.Duration(d.cfg.Inspect.HoldTimeout),
		IdleTimeout:      time.Duration(d.cfg.Inspect.IdleTimeout),
		PassFirstPackets: d.cfg.Inspect.PassFirstPackets,
		AllowMark:        layout.PacketMark(nft.MarkAllow),
		DenyMark:         layout.PacketMark(nft.MarkDeny),
		VerdictMask:      layout.VerdictMask(),
	}
	failOpen := false
	if p := d.policy.Load(); p != nil {
		failOpen = p.IR().Settings.FailMode == ir.FailOpen
	}
	ncfg := d.nftConfig()
	for i := range ncfg.QueueCount {
		num := ncfg.QueueBase + i
		q, err := inspect.OpenQueue(inspect.QueueConfig{Num: num, MaxLen: d.cfg.Kernel.QueueLen, FailOpen: failOpen, ReadBuffer: 8 << 20})
		if err != nil {
			return fmt.Errorf("daemon: %w", err)
		}
		w := inspect.NewWorker(icfg, inspect.Deps{
			Policy: &d.policy, Verdicter: q, Local: d.local, Remote: d.idmap, Processes: d.procs,
			Sink: events.InspectorSink{Bus: d.bus, Enrich: d.enrich}, IDS: &d.ids, Quarantine: d.quarantiner(ctx),
		})
		d.queues = append(d.queues, q)
		d.workers = append(d.workers, w)
		go func() {
			if err := q.Run(ctx, w); err != nil {
				d.log.Error("queue stopped", "queue", num, "error", err)
			}
		}()
		go d.sweep(ctx, w, icfg.HoldTimeout)
	}
	return nil
}

// quarantineRequest is a quarantine the inspector asks for.
type quarantineRequest struct {
	addr   netip.Addr
	d      time.Duration
	reason string
}

// queuedQuarantiner hands the inspector's quarantine requests to a
// goroutine: the packet path never waits for netlink. A full queue drops
// the request (the next blocked flow asks again).
type queuedQuarantiner chan quarantineRequest

func (q queuedQuarantiner) Quarantine(addr netip.Addr, d time.Duration, reason string) {
	select {
	case q <- quarantineRequest{addr, d, reason}:
	default:
	}
}

// quarantiner starts the goroutine that applies the inspector's
// quarantines, once for all workers.
func (d *Daemon) quarantiner(ctx context.Context) inspect.Quarantiner {
	if d.quarantineQ == nil {
		d.quarantineQ = make(queuedQuarantiner, 256)
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case r := <-d.quarantineQ:
					if _, err := d.Quarantine(r.addr, r.d, r.reason); err != nil {
						d.log.Error("quarantine", "addr", r.addr, "error", err)
					}
				}
			}
		}()
	}
	return d.quarantineQ
}

func (d *Daemon) sweep(ctx context.Context, w *inspect.Worker, hold time.Duration) {
	if hold <= 0 {
		hold = inspect.DefaultHoldTimeout
	}
	t := time.NewTicker(hold / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.Sweep()
		}
	}
}

// Stop stops the inspector and keeps or removes the table as configured.
func (d *Daemon) Stop() error {
	for _, q := range d.queues {
		q.Close()
	}
	if d.bus != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if err := d.bus.Close(ctx); err != nil {
			d.log.Warn("events not all written at stop", "error", err)
		}
		cancel()
		d.saveRecords()
	}
	if d.fw == nil {
		return nil
	}
	defer d.fw.Close()
	if d.cfg.OnStop == "remove" && d.gen > 0 {
		if err := d.fw.Flush(); err != nil {
			return fmt.Errorf("daemon: remove table: %w", err)
		}
		d.log.Info("table removed")
		return nil
	}
	d.log.Info("table kept: the kernel keeps enforcing generation", "generation", d.gen)
	return nil
}

// Status is what `septa status` shows.
type Status struct {
	Version    string        `json:"version"`
	PID        int           `json:"pid"`
	Uptime     time.Duration `json:"uptime_ns"`
	Generation uint64        `json:"generation"`
	Applied    time.Time     `json:"applied"`
	PolicyDir  string        `json:"policy_dir"`
	Mode       string        `json:"mode"`
	Default    string        `json:"default"`
	FailMode   string        `json:"fail_mode"`
	Rules      int           `json:"rules"`
	Inspected  int           `json:"inspected_rules"`
	Kernel     string        `json:"kernel"`
	Table      string        `json:"table"`
	Reloads    uint64        `json:"reloads"`
	Failures   uint64        `json:"reload_failures"`
	LastReload ReloadStatus  `json:"last_reload"`
	Queues     []QueueStatus `json:"queues"`
	Sinks      []SinkStatus  `json:"sinks"`
	// Records are the flow records' counters; nil when they are off.
	Records *RecordStats `json:"records,omitempty"`
	// Fleet is the fleet agent's status, in fleet mode only.
	Fleet *fleet.Status `json:"fleet,omitempty"`
}

// SinkStatus is one event sink's counters: a sink that cannot write (a
// full disk under the EVE file) loses events, counted, and says why; the
// rest of septad goes on.
type SinkStatus struct {
	Name      string    `json:"name"`
	Written   uint64    `json:"written"`
	Dropped   uint64    `json:"dropped"` // its queue was full
	Errors    uint64    `json:"errors"`  // it failed to write them
	Failing   bool      `json:"failing"` // no event written since the last error
	LastError string    `json:"last_error,omitempty"`
	ErrorTime time.Time `json:"last_error_time,omitzero"`
}

// QueueStatus is one queue's counters.
type QueueStatus struct {
	Num         uint16            `json:"num"`
	Packets     uint64            `json:"packets"`
	Flows       uint64            `json:"flows"`
	Active      int64             `json:"active_flows"`
	Held        uint64            `json:"held"`
	Evicted     uint64            `json:"evicted"`
	DecodeError uint64            `json:"decode_errors"`
	Panics      uint64            `json:"panics"`
	Errors      uint64            `json:"errors"`
	Verdicts    map[string]uint64 `json:"verdicts"`
	// From the kernel: packets waiting in the queue, and dropped because
	// it was full (following fail_mode) or the socket could not take them.
	Depth         uint64 `json:"depth"`
	KernelDropped uint64 `json:"kernel_dropped"`
	UserDropped   uint64 `json:"user_dropped"`
}

// Status reports the daemon's state.
func (d *Daemon) Status() Status {
	d.mu.Lock()
	s := Status{
		Version: version.String(), PID: os.Getpid(), Uptime: time.Since(d.started),
		Generation: d.gen, Applied: d.applied, PolicyDir: d.cfg.PolicyDir,
		Kernel: d.caps.String(), Table: d.nftConfig().Table, Reloads: d.reloads, Failures: d.failures,
		LastReload: d.last,
	}
	s.Fleet = d.FleetStatus()
	if d.current != nil {
		p := d.current.Policy
		s.Mode, s.Default, s.FailMode = p.Settings.Mode.String(), p.Settings.Default.String(), p.Settings.FailMode.String()
		s.Rules = len(p.Rules)
		for _, r := range p.Rules {
			if !r.Needs.KernelOnly() {
				s.Inspected++
			}
		}
	}
	d.mu.Unlock()
	base := d.nftConfig().QueueBase
	kq := readKernelQueues(nfqueueProc)
	for i, w := range d.workers {
		st := &w.Stats
		qs := QueueStatus{
			Num: base + uint16(i), Packets: st.Packets.Load(), Flows: st.Flows.Load(), Active: st.ActiveFlows.Load(),
			Held: st.Held.Load(), Evicted: st.Evicted.Load(), DecodeError: st.DecodeError.Load(),
			Panics: st.Panics.Load(), Errors: d.queues[i].Errors.Load(), Verdicts: map[string]uint64{},
		}
		for r := range st.Verdicts {
			if n := st.Verdicts[r].Load(); n > 0 {
				qs.Verdicts[packet.Reason(r).String()] = n
			}
		}
		k := kq[qs.Num]
		qs.Depth, qs.KernelDropped, qs.UserDropped = k.Depth, k.Dropped, k.UserDropped
		s.Queues = append(s.Queues, qs)
	}
	if d.bus != nil {
		for _, k := range d.bus.Stats().Sinks {
			s.Sinks = append(s.Sinks, SinkStatus{Name: k.Name, Written: k.Written, Dropped: k.Dropped, Errors: k.Errors,
				Failing: k.Failing, LastError: k.LastError, ErrorTime: k.LastErrorTime})
		}
	}
	if st, ok := d.Records(); ok {
		s.Records = &st
	}
	return s
}

// Policy returns the running compiled policy, or nil.
func (d *Daemon) Policy() *rules.Result {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.current
}

// DryRun compiles the policy on disk and compares it with the running
// one, without applying anything.
func (d *Daemon) DryRun() (diff string, err error) {
	res, err := d.loadPolicy()
	if err != nil {
		return "", err
	}
	cur := d.Policy()
	old := ""
	if cur != nil {
		old = cur.Policy.Dump()
	}
	return lineDiff(old, res.Policy.Dump()), nil
}
