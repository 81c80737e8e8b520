package nft

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/septa-fw/septa/rules/ir"
)

// Firewall owns one nftables table through a *nftables.Conn. Its methods
// are safe for concurrent use; each sends its own batches.
type Firewall struct {
	conn   *nftables.Conn
	cfg    Config
	layout MarkLayout
	table  *nftables.Table

	mu sync.Mutex // guards the fields below, and orders batches
	// caps is what Probe found; probed says whether it ran.
	caps   Caps
	probed bool
	// last is the plan of the last successful apply, nil before.
	last *Plan
	// contents are the interval sets' contents as septa last wrote them,
	// by kernel set name; a set missing here (an identity set kept from an
	// earlier run) is read from the kernel when first updated.
	contents map[string][]addrRange
}

// New returns a Firewall for the table cfg names, using conn (see Dial).
// It sends nothing until called.
func New(conn *nftables.Conn, cfg Config) (*Firewall, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	layout, _ := NewMarkLayout(cfg.MarkMask)
	return &Firewall{
		conn:     conn,
		cfg:      cfg,
		layout:   layout,
		table:    &nftables.Table{Name: cfg.Table, Family: nftables.TableFamilyINet},
		contents: map[string][]addrRange{},
	}, nil
}

// Open dials the nftables netlink socket in the network namespace netnsFD
// refers to (0: the caller's) and returns a Firewall on it. Close it with
// Close.
func Open(netnsFD int, cfg Config) (*Firewall, error) {
	conn, err := Dial(netnsFD)
	if err != nil {
		return nil, err
	}
	f, err := New(conn, cfg)
	if err != nil {
		_ = conn.CloseLasting()
		return nil, err
	}
	return f, nil
}

// Close closes the firewall's netlink connection (if lasting). The table
// stays in the kernel.
func (f *Firewall) Close() error { return f.conn.CloseLasting() }

// socketBuffer is the netlink socket buffer Dial asks for. A policy of
// 10,000 rules and 100,000 set elements is a batch of about 10 MiB, and
// the kernel answers every message; the default buffers (208 KiB) make
// such a batch fail with EMSGSIZE or ENOBUFS. The memory is used only
// while a batch is in flight.
const socketBuffer = 64 << 20

// Dial opens a lasting nftables connection in the network namespace
// netnsFD refers to (0: the caller's), with socket buffers large enough
// for big batches. Close it with CloseLasting.
func Dial(netnsFD int) (*nftables.Conn, error) {
	opts := []nftables.ConnOption{nftables.AsLasting(), nftables.WithSockOptions(func(c *netlink.Conn) error {
		return setBuffers(c, socketBuffer)
	})}
	if netnsFD > 0 {
		opts = append(opts, nftables.WithNetNSFd(netnsFD))
	}
	conn, err := nftables.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("nft: dial: %w", err)
	}
	return conn, nil
}

// setBuffers uses SO_SNDBUFFORCE/SO_RCVBUFFORCE (CAP_NET_ADMIN, which
// nftables needs anyway) so that net.core.wmem_max does not cap them, as
// nft does (mnl_set_sndbuffer in nftables' src/mnl.c).
func setBuffers(c *netlink.Conn, size int) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		if e := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, size); e != nil {
			serr = e
			return
		}
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, size)
	}); err != nil {
		return err
	}
	if serr != nil {
		// Without CAP_NET_ADMIN: ask within the sysctl limits.
		_ = c.SetWriteBuffer(size)
		_ = c.SetReadBuffer(size)
	}
	return nil
}

// Config returns the firewall's configuration with defaults filled in.
func (f *Firewall) Config() Config { return f.cfg }

// MarkLayout returns the layout of septa's mark bits (for the inspector).
func (f *Firewall) MarkLayout() MarkLayout { return f.layout }

// Probe finds what the kernel supports, once; later calls return the
// first answer. Each probe is a batch that creates a throwaway table with
// one rule and deletes it again: the kernel commits both or neither, so
// nothing is left either way.
func (f *Firewall) Probe() (Caps, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.probeLocked()
}

func (f *Firewall) probeLocked() (Caps, error) {
	if f.probed {
		return f.caps, nil
	}
	var caps Caps
	try := func(exprs ...expr.Any) error {
		t := &nftables.Table{Name: f.cfg.Table + "_probe", Family: nftables.TableFamilyINet}
		f.conn.AddTable(t)
		c := f.conn.AddChain(&nftables.Chain{Name: "probe", Table: t})
		f.conn.AddRule(&nftables.Rule{Table: t, Chain: c, Exprs: exprs})
		f.conn.DelTable(t)
		return f.conn.Flush()
	}
	for _, k := range []QueueKind{QueueNative, QueueCompat} {
		exprs, _ := queueExprs(Queue{Kind: k, Num: f.cfg.QueueBase, Total: 1, Bypass: true})
		err := try(exprs...)
		if err == nil {
			caps.Queue = k
			break
		}
		if errors.Is(err, os.ErrPermission) {
			return Caps{}, fmt.Errorf("nft: probe: %w", err)
		}
	}
	caps.MetaTime = try(&expr.Meta{Register: reg1, Key: expr.MetaKey(metaKeyTimeNS)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: reg1, Data: make([]byte, 8)}) == nil
	f.caps, f.probed = caps, true
	return caps, nil
}

// Result describes an apply.
type Result struct {
	Generation uint64
	Caps       Caps
	Stats      Stats
	// Reconciled: the table was there before (from this process or an
	// earlier run) and was brought to the plan in the same transaction.
	Reconciled bool
	Duration   time.Duration
	Warnings   []string
}

// Plan lays out a policy with this firewall's config and probed caps.
func (f *Firewall) Plan(p *ir.Policy, gen uint64) (*Plan, error) {
	caps, err := f.Probe()
	if err != nil {
		return nil, err
	}
	return PlanPolicy(p, f.cfg, gen, caps)
}

// Apply makes the policy the kernel's, as generation gen, in one
// transaction (see ApplyPlan).
func (f *Firewall) Apply(p *ir.Policy, gen uint64) (Result, error) {
	plan, err := f.Plan(p, gen)
	if err != nil {
		return Result{}, err
	}
	return f.ApplyPlan(plan)
}

// ApplyPlan replaces what the table holds with the plan, in one netlink
// batch: the kernel commits all of it or, on any error, none of it, and
// the previous generation keeps running.
//
// The batch reconciles whatever table is there (left by an earlier run,
// or the previous apply) instead of deleting it, because deleting the
// table would lose the quarantine and identity sets' contents:
//
//	add table (no-op if it exists); flush table (deletes every rule)
//	delete the chains and sets the plan does not have (and those whose
//	  type changed); add the plan's chains (no-op if they exist)
//	policy sets: add (no-op if it exists), flush elements, add elements
//	identity and quarantine sets: add if missing, contents kept
//	add every rule
//
// Conntrack entries and their marks are not part of the table, so
// established flows survive; the new generation in the marks re-decides
// them on their next packet (mark.go).
func (f *Firewall) ApplyPlan(plan *Plan) (Result, error) {
	start := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	res := Result{Generation: plan.Generation, Caps: plan.Caps, Stats: plan.Stats(), Warnings: plan.Warnings}
	if plan.Table != f.cfg.Table {
		return res, fmt.Errorf("nft: apply generation %d: plan is for table %q, firewall owns %q", plan.Generation, plan.Table, f.cfg.Table)
	}
	wrap := func(err error) error { return fmt.Errorf("nft: apply generation %d: %w", plan.Generation, err) }
	if err := plan.Validate(); err != nil {
		return res, wrap(err)
	}

	chains, sets, exists, err := f.listLocked()
	if err != nil {
		return res, wrap(err)
	}
	res.Reconciled = exists

	t := f.table
	f.conn.AddTable(t)
	f.conn.FlushTable(t)

	planned := map[string]Chain{}
	for _, c := range plan.Chains {
		planned[c.Name] = c
	}
	for _, kc := range chains {
		pc, ok := planned[kc.Name]
		if !ok || !sameChain(kc, pc, f.cfg) {
			f.conn.DelChain(&nftables.Chain{Name: kc.Name, Table: t})
		}
	}
	kernelSets := map[string]*nftables.Set{}
	for _, ks := range sets {
		kernelSets[ks.Name] = ks
	}
	plannedSets := map[string]bool{}
	kept := map[string]bool{} // sets whose contents stay as they are
	for _, s := range plan.Sets {
		plannedSets[s.Name] = true
	}
	for _, ks := range sets {
		if !plannedSets[ks.Name] {
			f.conn.DelSet(&nftables.Set{Name: ks.Name, Table: t})
		}
	}
	for _, s := range plan.Sets {
		ns := kernelSet(t, s)
		ks, existed := kernelSets[s.Name]
		if existed && !sameSet(ks, ns) {
			f.conn.DelSet(&nftables.Set{Name: ks.Name, Table: t})
			existed = false
		}
		if err := f.conn.AddSet(ns, nil); err != nil {
			return res, wrap(fmt.Errorf("set %s: %w", s.Name, err))
		}
		switch {
		case existed && s.Role != SetRolePolicy:
			kept[s.Name] = true
		case s.Interval:
			if existed {
				f.conn.FlushSet(ns)
			}
			if err := addElements(f.conn, ns, rangeElements(rangesOf(s.Elements))); err != nil {
				return res, wrap(fmt.Errorf("set %s: %w", s.Name, err))
			}
		case len(s.Elements) > 0:
			var elems []nftables.SetElement
			for _, p := range s.Elements {
				elems = append(elems, nftables.SetElement{Key: addrKey(p.Addr())})
			}
			if err := addElements(f.conn, ns, elems); err != nil {
				return res, wrap(fmt.Errorf("set %s: %w", s.Name, err))
			}
		}
	}
	kchains := map[string]*nftables.Chain{}
	for _, c := range plan.Chains {
		kchains[c.Name] = f.conn.AddChain(kernelChain(t, c))
	}
	enc := &encoder{conn: f.conn, table: t}
	for _, c := range plan.Chains {
		for _, r := range c.Rules {
			if err := enc.rule(kchains[c.Name], r); err != nil {
				f.discardLocked()
				return res, wrap(err)
			}
		}
	}
	if err := f.conn.Flush(); err != nil {
		return res, wrap(fmt.Errorf("kernel rejected the batch (rules %s): %w", summarizeIDs(plan.RuleIDs()), err))
	}
	f.last = plan
	for _, s := range plan.Sets {
		if !s.Interval {
			continue
		}
		if kept[s.Name] {
			// Contents as before: known if this process wrote them,
			// otherwise read from the kernel when first updated.
			continue
		}
		f.contents[s.Name] = rangesOf(s.Elements)
	}
	for name := range f.contents {
		if !plannedSets[name] {
			delete(f.contents, name)
		}
	}
	res.Duration = time.Since(start)
	return res, nil
}

// discardLocked drops the messages buffered in the conn after an encoding
// error (Plan.Validate makes that unreachable for plans it accepts).
// google/nftables has no way to drop buffered messages, so it sends them
// behind a table name longer than the kernel allows (NFT_NAME_MAXLEN):
// the kernel rejects the batch as a whole and commits nothing.
func (f *Firewall) discardLocked() {
	f.conn.AddTable(&nftables.Table{Name: strings.Repeat("x", 300), Family: nftables.TableFamilyINet})
	_ = f.conn.Flush()
}

func summarizeIDs(ids []string) string {
	var user []string
	for _, id := range ids {
		if !strings.HasPrefix(id, "septa:") {
			user = append(user, strconv.Quote(id))
		}
	}
	const show = 10
	if len(user) > show {
		return strings.Join(user[:show], ", ") + " and " + strconv.Itoa(len(user)-show) + " more"
	}
	if len(user) == 0 {
		return "none from the policy"
	}
	return strings.Join(user, ", ")
}

func kernelChain(t *nftables.Table, c Chain) *nftables.Chain {
	kc := &nftables.Chain{Name: c.Name, Table: t}
	if c.Hook != HookNone {
		kc.Type = nftables.ChainTypeFilter
		kc.Hooknum = hookNum(c.Hook)
		kc.Priority = nftables.ChainPriorityRef(nftables.ChainPriority(c.Priority))
		accept := nftables.ChainPolicyAccept
		kc.Policy = &accept
	}
	return kc
}

func hookNum(h Hook) *nftables.ChainHook {
	switch h {
	case HookInput:
		return nftables.ChainHookInput
	case HookOutput:
		return nftables.ChainHookOutput
	}
	return nftables.ChainHookForward
}

// sameChain reports whether a chain in the kernel can be kept for a
// planned one: a base chain's hook and priority cannot be changed in
// place.
func sameChain(k *nftables.Chain, c Chain, cfg Config) bool {
	if (k.Hooknum == nil) != (c.Hook == HookNone) {
		return false
	}
	if c.Hook == HookNone {
		return true
	}
	return *k.Hooknum == *hookNum(c.Hook) && k.Priority != nil && int32(*k.Priority) == c.Priority && k.Type == nftables.ChainTypeFilter
}

func sameSet(k, n *nftables.Set) bool {
	return k.KeyType.Name == n.KeyType.Name && k.KeyType.Bytes == n.KeyType.Bytes &&
		k.Interval == n.Interval && k.HasTimeout == n.HasTimeout && !k.IsMap && !k.Constant
}

// listLocked lists septa's own table: its chains and named sets, and
// whether it exists. It never lists other tables' contents.
func (f *Firewall) listLocked() ([]*nftables.Chain, []*nftables.Set, bool, error) {
	if _, err := f.conn.ListTableOfFamily(f.cfg.Table, nftables.TableFamilyINet); err != nil {
		if isNotExist(err) {
			return nil, nil, false, nil
		}
		return nil, nil, false, fmt.Errorf("list table: %w", err)
	}
	all, err := f.conn.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		return nil, nil, true, fmt.Errorf("list chains: %w", err)
	}
	var chains []*nftables.Chain
	for _, c := range all {
		if c.Table != nil && c.Table.Name == f.cfg.Table {
			chains = append(chains, c)
		}
	}
	allSets, err := f.conn.GetSets(f.table)
	if err != nil {
		return nil, nil, true, fmt.Errorf("list sets: %w", err)
	}
	var sets []*nftables.Set
	for _, s := range allSets {
		if s.Anonymous || strings.HasPrefix(s.Name, "__") {
			continue
		}
		sets = append(sets, s)
	}
	return chains, sets, true, nil
}

func isNotExist(err error) bool {
	return errors.Is(err, syscall.ENOENT) || errors.Is(err, os.ErrNotExist)
}

// Flush deletes septa's table, and nothing else. A missing table is not
// an error. Established flows keep running without a firewall.
func (f *Firewall) Flush() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.conn.ListTableOfFamily(f.cfg.Table, nftables.TableFamilyINet); err != nil {
		if isNotExist(err) {
			return nil
		}
		return fmt.Errorf("nft: flush %s: %w", f.cfg.Table, err)
	}
	f.conn.DelTable(f.table)
	if err := f.conn.Flush(); err != nil && !isNotExist(err) {
		return fmt.Errorf("nft: flush %s: %w", f.cfg.Table, err)
	}
	f.last = nil
	f.contents = map[string][]addrRange{}
	return nil
}

// Generation returns the generation applied last, as the kernel records
// it (also after a restart), and whether there is one.
func (f *Firewall) Generation() (uint64, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	chains, _, _, err := f.listLocked()
	if err != nil {
		return 0, false, fmt.Errorf("nft: generation: %w", err)
	}
	for _, c := range chains {
		if s, ok := strings.CutPrefix(c.Name, generationChainPrefix); ok {
			if g, err := strconv.ParseUint(s, 10, 64); err == nil {
				return g, true, nil
			}
		}
	}
	return 0, false, nil
}

// RuleCounter is the traffic that matched a rule.
type RuleCounter struct{ Packets, Bytes uint64 }

// Counters reads every rule's counter back and sums them by rule ID (the
// IR rule IDs, and septa's own "septa:..." rules).
func (f *Firewall) Counters() (map[string]RuleCounter, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	chains, _, exists, err := f.listLocked()
	if err != nil {
		return nil, fmt.Errorf("nft: counters: %w", err)
	}
	out := map[string]RuleCounter{}
	if !exists {
		return out, nil
	}
	for _, c := range chains {
		rules, err := f.conn.GetRules(f.table, c)
		if err != nil {
			return nil, fmt.Errorf("nft: counters: chain %s: %w", c.Name, err)
		}
		for _, r := range rules {
			id := ruleIDOf(r.UserData)
			if id == "" {
				continue
			}
			for _, e := range r.Exprs {
				if ctr, ok := e.(*expr.Counter); ok {
					sum := out[id]
					sum.Packets += ctr.Packets
					sum.Bytes += ctr.Bytes
					out[id] = sum
				}
			}
		}
	}
	return out, nil
}

// maxUpdateElements bounds one set-update transaction (kernel elements:
// two per range). An update past it is sent as several transactions, each
// atomic: all deletions first, then the additions, so a packet may meet a
// set that is partly updated, never one holding an element twice. Below
// it (the usual case), an update is one transaction.
const maxUpdateElements = 65536

// UpdateSet changes the members of an IR set ("group:web") without
// touching any rule: first it removes the prefixes in remove, then adds
// those in add (each split by family into the set's kernel sets). Prefixes
// may overlap what is there; the kernel is sent the difference as whole
// ranges.
func (f *Firewall) UpdateSet(name string, add, remove []netip.Prefix) error {
	return f.changeSet(name, func(cur []addrRange, fam Family) []addrRange {
		next := subtractRanges(cur, rangesOf(familyPrefixes(remove, fam)))
		return normalizeRanges(append(next, rangesOf(familyPrefixes(add, fam))...))
	}, append(slices.Clone(add), remove...))
}

// ReplaceSet makes prefixes the members of an IR set.
func (f *Firewall) ReplaceSet(name string, prefixes []netip.Prefix) error {
	return f.changeSet(name, func(_ []addrRange, fam Family) []addrRange {
		return rangesOf(familyPrefixes(prefixes, fam))
	}, prefixes)
}

func familyPrefixes(ps []netip.Prefix, fam Family) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range ps {
		if !p.IsValid() {
			continue
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		if familyOf(p.Addr()) == fam {
			out = append(out, p)
		}
	}
	return out
}

func (f *Firewall) changeSet(name string, next func([]addrRange, Family) []addrRange, touched []netip.Prefix) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	wrap := func(err error) error { return fmt.Errorf("nft: update set %s: %w", name, err) }
	if f.last == nil {
		return wrap(errors.New("no policy applied yet"))
	}
	byFam := map[Family]Set{}
	for _, s := range f.last.Sets {
		if s.Source == name && s.Interval {
			byFam[s.Family] = s
		}
	}
	if len(byFam) == 0 {
		return wrap(errors.New("no such set in the applied policy"))
	}
	for _, p := range touched {
		if !p.IsValid() {
			return wrap(errors.New("invalid prefix"))
		}
		fam := familyOf(p.Addr().Unmap())
		if _, ok := byFam[fam]; !ok {
			return wrap(fmt.Errorf("%s: the set has no %s part (a zone has only the families of its prefixes)", p, fam))
		}
	}
	type change struct {
		set      *nftables.Set
		del, add []nftables.SetElement
		name     string
		next     []addrRange
	}
	var changes []change
	for _, fam := range []Family{FamilyIPv4, FamilyIPv6} {
		s, ok := byFam[fam]
		if !ok {
			continue
		}
		cur, ok := f.contents[s.Name]
		if !ok {
			ks := kernelSet(f.table, s)
			elems, err := f.conn.GetSetElements(ks)
			if err != nil {
				return wrap(fmt.Errorf("read %s: %w", s.Name, err))
			}
			cur = elementsRanges(fam, elems)
		}
		n := next(cur, fam)
		del, add := diffRanges(cur, n)
		changes = append(changes, change{set: kernelSet(f.table, s), del: rangeElements(del), add: rangeElements(add), name: s.Name, next: n})
	}
	// All deletions, then all additions, cut into transactions.
	pending := 0
	flush := func() error {
		if pending == 0 {
			return nil
		}
		pending = 0
		return f.conn.Flush()
	}
	for _, phase := range []bool{true, false} {
		for _, c := range changes {
			elems := c.add
			if phase {
				elems = c.del
			}
			for len(elems) > 0 {
				n := min(len(elems), maxUpdateElements-pending)
				if n < len(elems) && !elems[n-1].IntervalEnd {
					n-- // keep a range's start and end together
				}
				if n <= 0 {
					if err := flush(); err != nil {
						return wrap(err)
					}
					continue
				}
				var err error
				if phase {
					err = deleteElements(f.conn, c.set, elems[:n])
				} else {
					err = addElements(f.conn, c.set, elems[:n])
				}
				if err != nil {
					return wrap(err)
				}
				pending += n
				elems = elems[n:]
				if pending >= maxUpdateElements {
					if err := flush(); err != nil {
						return wrap(err)
					}
				}
			}
		}
	}
	if err := flush(); err != nil {
		// The kernel state is unknown now: forget it, read it next time.
		for _, c := range changes {
			delete(f.contents, c.name)
		}
		return wrap(err)
	}
	for _, c := range changes {
		f.contents[c.name] = c.next
	}
	return nil
}

// Quarantine drops all traffic from and to addr, open sessions included,
// for timeout (rounded to milliseconds; at least 1 ms). Quarantining an
// address again sets its new timeout (kernels from 6.10 on; older ones
// keep the first).
func (f *Firewall) Quarantine(addr netip.Addr, timeout time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.quarantineSetLocked(addr)
	if err != nil {
		return fmt.Errorf("nft: quarantine %s: %w", addr, err)
	}
	timeout = max(timeout, time.Millisecond)
	if err := f.conn.SetAddElements(s, []nftables.SetElement{{Key: addrKey(addr.Unmap()), Timeout: timeout}}); err != nil {
		return fmt.Errorf("nft: quarantine %s: %w", addr, err)
	}
	if err := f.conn.Flush(); err != nil {
		return fmt.Errorf("nft: quarantine %s: %w", addr, err)
	}
	return nil
}

// Release lifts a quarantine; an address not in quarantine is not an
// error.
func (f *Firewall) Release(addr netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.quarantineSetLocked(addr)
	if err != nil {
		return fmt.Errorf("nft: release %s: %w", addr, err)
	}
	if err := f.conn.SetDeleteElements(s, []nftables.SetElement{{Key: addrKey(addr.Unmap())}}); err != nil {
		return fmt.Errorf("nft: release %s: %w", addr, err)
	}
	if err := f.conn.Flush(); err != nil && !isNotExist(err) {
		return fmt.Errorf("nft: release %s: %w", addr, err)
	}
	return nil
}

func (f *Firewall) quarantineSetLocked(addr netip.Addr) (*nftables.Set, error) {
	if !addr.IsValid() {
		return nil, errors.New("invalid address")
	}
	name, fam := setQuarantine4, FamilyIPv4
	if !addr.Unmap().Is4() {
		name, fam = setQuarantine6, FamilyIPv6
	}
	return kernelSet(f.table, Set{Name: name, Family: fam, Role: SetRoleQuarantine, Timeout: true}), nil
}

// Quarantined lists the addresses in quarantine with the time left.
func (f *Firewall) Quarantined() (map[netip.Addr]time.Duration, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[netip.Addr]time.Duration{}
	for _, a := range []netip.Addr{netip.IPv4Unspecified(), netip.IPv6Unspecified()} {
		s, _ := f.quarantineSetLocked(a)
		elems, err := f.conn.GetSetElements(s)
		if err != nil {
			if isNotExist(err) {
				continue
			}
			return nil, fmt.Errorf("nft: quarantined: %w", err)
		}
		for _, e := range elems {
			if addr, ok := netip.AddrFromSlice(e.Key); ok {
				out[addr] = e.Expires
			}
		}
	}
	return out, nil
}
