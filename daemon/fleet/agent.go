package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/septa-fw/septa/rules"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Target receives what the agent computes: septad's kernel side, or a
// recorder in tests and in the simulated fleet.
type Target interface {
	// Apply makes a compiled policy the running one; rev is its fleet
	// revision. Called with the same rules and other sets when only the
	// inventory changed: the target then updates sets without
	// re-applying rules. An error refuses the revision.
	Apply(res *rules.Result, rev uint64, trigger string) error
	// Sessions replaces the identity mappings learned from other hosts.
	Sessions(ss []RemoteSession)
}

// Options configure an Agent.
type Options struct {
	Config Config // after WithDefaults
	Client *clientv3.Client
	Target Target
	Log    *slog.Logger
	// StateDir holds the cache of what was last applied; "" keeps none.
	StateDir string
	// Local returns the local inventory file's hosts (nil for none);
	// registered hosts are added to them.
	Local func() (*rules.Inventory, error)
	// Addrs lists this host's addresses (default LocalAddrs).
	Addrs func() ([]netip.Addr, error)
	// Facts are discovered tags (see Facts).
	Facts map[string]string
	// Sessions lists this host's interactive sessions; nil publishes none.
	Sessions func() ([]Session, error)
	// Poll is how often addresses and sessions are read again (default 1s).
	Poll time.Duration
	// WatchOnly follows the fleet without registering the host or its
	// sessions (the simulated fleet's watchers; an operator's observer).
	WatchOnly bool
}

// Agent is septad's fleet member: it registers the host and its sessions
// under a lease, watches the policy, the inventory and the identities,
// and hands every change to its Target. It never removes anything when
// etcd is unreachable: what was applied stays until etcd says otherwise.
type Agent struct {
	opts  Options
	cli   *clientv3.Client
	keys  Keys
	log   *slog.Logger
	dirty chan struct{} // the status needs writing

	// The watch goroutine alone writes the state below; mu makes it
	// readable from other goroutines.
	mu       sync.Mutex
	latest   *Revision // newest revision seen in etcd
	applied  *Revision // the revision in force
	hosts    map[string]HostRecord
	parsed   map[string]rules.Host
	idents   map[string]IdentityRecord
	etcdRev  int64
	status   Status
	received chan struct{} // closed and replaced on every state change
}

// NewAgent returns an agent; Run starts it.
func NewAgent(opts Options) *Agent {
	if opts.Addrs == nil {
		opts.Addrs = LocalAddrs
	}
	if opts.Poll == 0 {
		opts.Poll = time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &Agent{
		opts: opts, cli: opts.Client, keys: NewKeys(opts.Config.Prefix), log: opts.Log,
		dirty: make(chan struct{}, 1),
		hosts: map[string]HostRecord{}, parsed: map[string]rules.Host{}, idents: map[string]IdentityRecord{},
		status: Status{Host: opts.Config.Host}, received: make(chan struct{}),
	}
}

// Restore loads the cache of the state directory: the revision, hosts and
// identities applied before septad last stopped. It reports whether there
// was one; Compiled then compiles it.
func (a *Agent) Restore() (bool, error) {
	if a.opts.StateDir == "" {
		return false, nil
	}
	c, err := LoadCache(a.opts.StateDir)
	if err != nil || c == nil || c.Revision == nil {
		return false, err
	}
	a.mu.Lock()
	a.applied, a.latest = c.Revision, c.Revision
	for _, h := range c.Hosts {
		if p, err := h.Host(a.keys.Host(h.Name)); err == nil {
			a.hosts[h.Name], a.parsed[h.Name] = h, p
		}
	}
	for _, r := range c.Identities {
		a.idents[r.Host] = r
	}
	a.status.Revision, a.status.Digest = c.Revision.Rev, c.Revision.Digest()
	a.mu.Unlock()
	a.opts.Target.Sessions(a.sessions())
	return true, nil
}

// Compiled compiles the revision in force with the current inventory;
// ok is false when the agent has none yet.
func (a *Agent) Compiled() (res *rules.Result, rev uint64, ok bool, err error) {
	a.mu.Lock()
	r := a.applied
	a.mu.Unlock()
	if r == nil {
		return nil, 0, false, nil
	}
	res, err = r.Compile(a.inventory())
	return res, r.Rev, true, err
}

// Status returns what the agent last wrote, or will write, to etcd.
func (a *Agent) Status() Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.status
}

// Changed returns a channel closed at the next change of state (a
// revision applied or refused, inventory or identity updated).
func (a *Agent) Changed() <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.received
}

func (a *Agent) changedLocked() {
	close(a.received)
	a.received = make(chan struct{})
}

// Run registers the host and follows etcd until ctx ends.
func (a *Agent) Run(ctx context.Context) {
	var wg sync.WaitGroup
	if !a.opts.WatchOnly {
		wg.Go(func() { a.registerLoop(ctx) })
	}
	wg.Go(func() { a.statusLoop(ctx) })
	a.watchLoop(ctx)
	wg.Wait()
}

// inventory merges the local inventory file with the registered hosts.
func (a *Agent) inventory() *rules.Inventory {
	var local *rules.Inventory
	if a.opts.Local != nil {
		inv, err := a.opts.Local()
		if err != nil {
			a.log.Warn("local inventory not used", "error", err)
		}
		local = inv
	}
	a.mu.Lock()
	reg := maps.Clone(a.parsed)
	a.mu.Unlock()
	inv, _ := MergeInventory(local, reg)
	return inv
}

// sessions flattens the identity records of the other hosts.
func (a *Agent) sessions() []RemoteSession {
	a.mu.Lock()
	defer a.mu.Unlock()
	var recs []IdentityRecord
	for _, n := range slices.Sorted(maps.Keys(a.idents)) {
		if n != a.opts.Config.Host {
			recs = append(recs, a.idents[n])
		}
	}
	return Flatten(recs)
}

// backoff waits d, or less when ctx ends; it reports whether ctx is alive.
func backoff(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// watchLoop reads the state once, then follows it from the revision read;
// a lost watch resumes from the last revision seen, and a compacted one
// is read again whole.
func (a *Agent) watchLoop(ctx context.Context) {
	// A septad that starts reads everything (etcdRev is 0: the cache does
	// not restore it, since etcd may have been rebuilt with lower
	// revisions since); an agent that lost its watch resumes from the
	// last revision it saw.
	a.mu.Lock()
	needRead := a.etcdRev == 0
	a.mu.Unlock()
	wait := 200 * time.Millisecond
	var lastErr time.Time
	for ctx.Err() == nil {
		if needRead {
			if err := a.readAll(ctx); err != nil {
				if ctx.Err() != nil {
					return
				}
				if time.Since(lastErr) > 30*time.Second {
					a.log.Warn("etcd unreachable: the applied policy, inventory and identity stay in force", "error", err)
					lastErr = time.Now()
				}
				backoff(ctx, wait)
				wait = min(2*wait, 5*time.Second)
				continue
			}
			needRead, wait = false, 200*time.Millisecond
		}
		a.mu.Lock()
		from := a.etcdRev + 1
		a.mu.Unlock()
		// One range covers identity/, inventory/ and policy/current but
		// not status/ (hosts writing their status wake nobody) nor
		// policy/history/.
		wctx, cancel := context.WithCancel(ctx)
		wch := a.cli.Watch(wctx, a.keys.IdentityPrefix(), clientv3.WithRange(a.keys.Current()+"\x00"), clientv3.WithRev(from))
		for wr := range wch {
			if wr.CompactRevision != 0 {
				a.log.Info("watch compacted: reading everything again", "from", from, "compacted", wr.CompactRevision)
				needRead = true
				a.mu.Lock()
				a.status.Counters.Resyncs++
				a.mu.Unlock()
				break
			}
			if err := wr.Err(); err != nil {
				a.log.Warn("watch ended", "error", err)
				break
			}
			a.handle(wr.Events, wr.Header.Revision)
		}
		cancel()
		backoff(ctx, wait)
	}
}

// readAll reads the current revision, the hosts and the identities at
// one etcd revision and replaces the agent's view with them.
func (a *Agent) readAll(ctx context.Context) error {
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := a.cli.Txn(rctx).Then(
		clientv3.OpGet(a.keys.Current()),
		clientv3.OpGet(a.keys.HostsPrefix(), clientv3.WithPrefix()),
		clientv3.OpGet(a.keys.IdentityPrefix(), clientv3.WithPrefix()),
	).Commit()
	if err != nil {
		return fmt.Errorf("fleet: read state: %w", err)
	}
	var evs []*clientv3.Event
	for _, r := range resp.Responses {
		for _, kv := range r.GetResponseRange().Kvs {
			evs = append(evs, &clientv3.Event{Type: mvccpb.PUT, Kv: kv})
		}
	}
	a.mu.Lock()
	// Hosts and identities not read are gone: start from empty maps.
	a.hosts, a.parsed, a.idents = map[string]HostRecord{}, map[string]rules.Host{}, map[string]IdentityRecord{}
	a.mu.Unlock()
	a.handleAll(evs, resp.Header.Revision, true)
	return nil
}

func (a *Agent) handle(evs []*clientv3.Event, rev int64) { a.handleAll(evs, rev, false) }

// handleAll applies a batch of events: a batch is one etcd transaction
// or more, so a push is never seen in halves.
func (a *Agent) handleAll(evs []*clientv3.Event, rev int64, full bool) {
	policy, inv, ident := false, full, full
	var decodeErr error
	var decodeRev uint64
	a.mu.Lock()
	for _, ev := range evs {
		key := string(ev.Kv.Key)
		put := ev.Type == mvccpb.PUT
		switch {
		case key == a.keys.Current():
			if !put {
				a.log.Warn("the current revision was deleted: the running policy stays")
				continue
			}
			r, err := DecodeRevision(ev.Kv.Value)
			if err != nil {
				decodeErr, decodeRev = err, RevisionNumber(ev.Kv.Value)
				continue
			}
			a.latest, policy = r, true
		default:
			if name, ok := Name(a.keys.HostsPrefix(), key); ok {
				inv = true
				if !put {
					delete(a.hosts, name)
					delete(a.parsed, name)
					continue
				}
				h, err := DecodeHost(key, name, ev.Kv.Value)
				if err != nil {
					a.log.Warn("registration ignored", "host", name, "error", err)
					delete(a.hosts, name)
					delete(a.parsed, name)
					continue
				}
				a.hosts[name] = HostRecord{Name: h.Name, Addresses: h.Addresses, Tags: h.Tags}
				a.parsed[name] = h
			} else if name, ok := Name(a.keys.IdentityPrefix(), key); ok {
				ident = true
				if !put {
					delete(a.idents, name)
					continue
				}
				r, err := DecodeIdentity(key, name, ev.Kv.Value)
				if err != nil {
					a.log.Warn("sessions ignored", "host", name, "error", err)
					delete(a.idents, name)
					continue
				}
				a.idents[name] = r
			}
		}
	}
	a.etcdRev = rev
	latest, applied := a.latest, a.applied
	refused := a.status.ErrorRevision
	a.status.Counters.Hosts = len(a.parsed)
	a.mu.Unlock()

	if decodeErr != nil {
		a.refuse(decodeRev, fmt.Errorf("%s: %w", a.keys.Current(), decodeErr))
	}
	newPolicy := policy && latest != nil && (applied == nil || latest.Rev != applied.Rev) && latest.Rev != refused
	switch {
	case newPolicy:
		a.recompute(latest, fmt.Sprintf("fleet revision %d", latest.Rev), true)
	case inv && applied != nil:
		a.recompute(applied, "fleet inventory", false)
	}
	if ident {
		ss := a.sessions()
		a.opts.Target.Sessions(ss)
		a.mu.Lock()
		a.status.Counters.Sessions = len(ss)
		a.mu.Unlock()
	}
	a.mu.Lock()
	a.changedLocked()
	a.mu.Unlock()
	a.save()
	a.markDirty()
}

// recompute compiles r with the current inventory and applies it. For a
// new revision, failure refuses it and the running policy stays.
func (a *Agent) recompute(r *Revision, trigger string, newRevision bool) {
	res, err := r.Compile(a.inventory())
	if err == nil {
		err = a.opts.Target.Apply(res, r.Rev, trigger)
	}
	if err != nil {
		if newRevision {
			a.refuse(r.Rev, err)
		} else {
			a.log.Error("inventory change not applied", "revision", r.Rev, "error", err)
		}
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if !newRevision {
		a.status.Counters.SetUpdates++
		return
	}
	a.applied = r
	a.status.Revision, a.status.Digest, a.status.Applied = r.Rev, r.Digest(), time.Now().UTC()
	a.status.Error, a.status.ErrorRevision = "", 0
	a.status.Counters.Applied++
	a.log.Info("fleet revision applied", "revision", r.Rev, "digest", r.Digest())
}

func (a *Agent) refuse(rev uint64, err error) {
	a.log.Error("fleet revision refused: the running policy stays", "revision", rev, "error", err)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.status.Error, a.status.ErrorRevision = err.Error(), rev
	a.status.Counters.Refused++
}

// save writes the cache of what is in force.
func (a *Agent) save() {
	if a.opts.StateDir == "" {
		return
	}
	a.mu.Lock()
	c := &Cache{Revision: a.applied, EtcdRevision: a.etcdRev}
	for _, n := range slices.Sorted(maps.Keys(a.hosts)) {
		c.Hosts = append(c.Hosts, a.hosts[n])
	}
	for _, n := range slices.Sorted(maps.Keys(a.idents)) {
		c.Identities = append(c.Identities, a.idents[n])
	}
	a.mu.Unlock()
	if c.Revision == nil {
		return
	}
	if err := SaveCache(a.opts.StateDir, c); err != nil {
		a.log.Error("fleet cache not written", "error", err)
	}
}

func (a *Agent) markDirty() {
	select {
	case a.dirty <- struct{}{}:
	default:
	}
}

// statusLoop writes the status whenever it changes, retrying while etcd
// is unreachable.
func (a *Agent) statusLoop(ctx context.Context) {
	var retry <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.dirty:
		case <-retry:
		}
		retry = nil
		a.mu.Lock()
		a.status.Updated = time.Now().UTC()
		st := a.status
		a.mu.Unlock()
		val, _ := json.Marshal(st)
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := a.cli.Put(pctx, a.keys.Status(st.Host), string(val))
		cancel()
		if err != nil && ctx.Err() == nil {
			retry = time.After(2 * time.Second)
		}
	}
}

// registerLoop keeps the host's registration and sessions under a lease;
// a lost lease (etcd gone longer than its TTL) is granted anew. septad
// does not revoke the lease when it stops: a restart within the TTL does
// not take the host out of anyone's groups.
func (a *Agent) registerLoop(ctx context.Context) {
	ttl := int64(a.opts.Config.LeaseTTL / time.Second)
	wait := 200 * time.Millisecond
	for ctx.Err() == nil {
		err := a.register(ctx, ttl)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			a.log.Debug("registration", "error", err)
		}
		backoff(ctx, wait)
		wait = min(2*wait, 5*time.Second)
	}
}

// register holds one lease until it is lost.
func (a *Agent) register(ctx context.Context, ttl int64) error {
	gctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	lease, err := a.cli.Grant(gctx, ttl)
	cancel()
	if err != nil {
		return fmt.Errorf("fleet: lease: %w", err)
	}
	kctx, kcancel := context.WithCancel(ctx)
	defer kcancel()
	ka, err := a.cli.KeepAlive(kctx, lease.ID)
	if err != nil {
		return fmt.Errorf("fleet: keep lease alive: %w", err)
	}
	var lastHost, lastIdent string
	publish := func() error {
		host, ident, err := a.records()
		if err != nil {
			return err
		}
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if host != lastHost {
			if _, err := a.cli.Put(pctx, a.keys.Host(a.opts.Config.Host), host, clientv3.WithLease(lease.ID)); err != nil {
				return fmt.Errorf("fleet: register: %w", err)
			}
			lastHost = host
		}
		if ident != lastIdent {
			if _, err := a.cli.Put(pctx, a.keys.Identity(a.opts.Config.Host), ident, clientv3.WithLease(lease.ID)); err != nil {
				return fmt.Errorf("fleet: publish sessions: %w", err)
			}
			lastIdent = ident
		}
		return nil
	}
	if err := publish(); err != nil {
		return err
	}
	a.log.Info("registered in the fleet", "host", a.opts.Config.Host, "lease", fmt.Sprintf("%x", lease.ID))
	t := time.NewTicker(a.opts.Poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-ka:
			if !ok {
				return errors.New("fleet: lease lost")
			}
		case <-t.C:
			if err := publish(); err != nil {
				a.log.Debug("publish", "error", err)
			}
		}
	}
}

// records encodes this host's registration and sessions.
func (a *Agent) records() (host, ident string, err error) {
	addrs, err := a.opts.Addrs()
	if err != nil {
		return "", "", err
	}
	rec := a.opts.Config.Record(addrs, a.opts.Facts)
	var ss []Session
	if a.opts.Sessions != nil {
		if ss, err = a.opts.Sessions(); err != nil {
			a.log.Debug("sessions", "error", err)
			ss = nil
		}
	}
	if ss == nil {
		ss = []Session{}
	}
	hb, _ := json.Marshal(rec)
	ib, _ := json.Marshal(IdentityRecord{Host: a.opts.Config.Host, Addresses: addrs, Sessions: ss})
	return string(hb), string(ib), nil
}
