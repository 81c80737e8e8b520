package nft

import (
	"errors"
	"fmt"
	"hash/fnv"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/septa-fw/septa/rules/ir"
)

// Names of septa's own chains and sets, and the IDs of its built-in rules
// (IR rule IDs cannot contain "septa:" as written by a user: implicit IR
// rules use other prefixes).
const (
	chainInput          = "input"
	chainOutput         = "output"
	chainForward        = "forward"
	chainInputVerdict   = "input_verdict"
	chainOutputVerdict  = "output_verdict"
	chainForwardVerdict = "forward_verdict"
	chainRulesIn        = "rules_in"
	chainRulesOut       = "rules_out"
	chainRulesFwd       = "rules_fwd"
	replySuffix         = "_reply"
	// generationChainPrefix + N is an empty regular chain that records the
	// applied generation in the kernel, so that a restarted daemon can go
	// on from it (Firewall.Generation).
	generationChainPrefix = "generation-"

	setQuarantine4 = "quarantine_v4"
	setQuarantine6 = "quarantine_v6"

	IDInvalid    = "septa:invalid"
	IDLoopback   = "septa:loopback"
	IDNeighbor   = "septa:icmpv6-nd"
	IDQuarantine = "septa:quarantine"
	IDDecided    = "septa:decided"
	IDRelated    = "septa:related"
	IDDispatch   = "septa:dispatch"
	IDDefault    = "septa:default"
	IDVerdict    = "septa:verdict"

	// loopbackIndex is LOOPBACK_IFINDEX (include/net/flow.h): lo is
	// interface 1 in every network namespace, so `meta iif 1` is the
	// cheap form of `iifname "lo"`.
	loopbackIndex = 1

	// maxNameLen bounds kernel object names (NFT_NAME_MAXLEN is 256 with
	// the NUL) and rule IDs (a userdata TLV holds at most 255 bytes).
	maxNameLen = 200
	// maxLogPrefix is NF_LOG_PREFIXLEN (128) without the NUL.
	maxLogPrefix = 127
	// maxKernelRulesPerRule bounds the cross product one IR rule expands
	// to in one chain (addresses × addresses × protocols).
	maxKernelRulesPerRule = 4096
	// maxLiteral bounds the literal prefixes of one family in one
	// endpoint, and the port ranges of one protocol: they become an
	// anonymous set sent in one netlink message, whose element list is a
	// 16-bit-long attribute. Larger lists belong in a named set.
	maxLiteral = 1000
)

// ErrNoQueue is returned when a policy needs inspection and the kernel
// has no NFQUEUE.
var ErrNoQueue = errors.New("kernel has no NFQUEUE (neither nft queue nor xt NFQUEUE)")

// PlanPolicy lays a policy out for the kernel. It is pure: the same input
// gives the same Plan, and no input makes it panic. It validates what the
// kernel would otherwise reject with an error naming no rule.
//
// Choices it makes (documented here once):
//
//   - A rule is judged on the flow it belongs to, in either direction of
//     it. Chain rules_in holds the rules for flows to this host (dir in
//     or both) and is reached from the input hook by packets in the
//     flow's original direction; rules_in_reply holds the same rules with
//     source and destination (addresses, and destination port for source
//     port) swapped, and is reached from the output hook by reply-direction
//     packets. rules_out and rules_out_reply are the same for flows from
//     this host (dir out or both); rules_fwd and rules_fwd_reply, reached
//     from forward, hold every rule. Only packets of flows not decided in
//     the current generation get there: new flows, and established flows
//     after a reload, which either direction re-decides. (Matching the
//     conntrack original tuple would need one chain per hook, but nft
//     cannot list `ct original saddr` lookups that google/nftables can
//     build, and operators must be able to list the ruleset.)
//   - Packets related to a flow (ct state related: ICMP errors, the TCP
//     reset or ICMP unreachable a reject sends) are accepted unless their
//     flow is denied in this generation: judging an ICMP error by its own
//     addresses would mark, and cut, the flow it belongs to.
//   - Reject does not mark the flow DENY: the reset it sends is related
//     to the flow and would meet the DENY fast path on its way out. A
//     rejected flow's next packet is rejected again by the rules.
//   - Endpoint.Self is decided by the chain, not by a fib lookup: in
//     rules_in the destination is this host and the source is not; in
//     rules_out the reverse; forwarded traffic is neither. (A packet from
//     this host to itself goes through lo and is accepted before.)
//   - An endpoint with several sets or prefixes becomes several kernel
//     rules (the cross product of the source and destination
//     alternatives of one family, and of protocols), all carrying the IR
//     rule's ID. Named sets stay referenced by name, so a set update
//     changes every rule that uses the set without touching rules. The
//     literal prefixes of one family share one anonymous set.
//   - Group and identity sets exist for both families (the daemon may add
//     either); a zone set exists only for the families it has prefixes
//     of, because zones change only with the policy.
func PlanPolicy(p *ir.Policy, cfg Config, gen uint64, caps Caps) (*Plan, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if p == nil {
		return nil, errors.New("nft: plan: no policy")
	}
	layout, _ := NewMarkLayout(cfg.MarkMask) // validated above
	pl := &planner{p: p, cfg: cfg, gen: gen, caps: caps, layout: layout}
	if err := pl.settings(); err != nil {
		return nil, fmt.Errorf("nft: plan generation %d: %w", gen, err)
	}
	plan := &Plan{Table: cfg.Table, Generation: gen, Caps: caps}
	var err error
	if plan.Sets, err = pl.sets(); err != nil {
		return nil, fmt.Errorf("nft: plan generation %d: %w", gen, err)
	}
	ruleChains, err := pl.ruleChains()
	if err != nil {
		return nil, fmt.Errorf("nft: plan generation %d: %w", gen, err)
	}
	plan.Warnings = pl.warnings
	plan.Chains = append(plan.Chains,
		pl.baseChain(chainInput, HookInput),
		pl.baseChain(chainOutput, HookOutput),
		pl.baseChain(chainForward, HookForward),
		pl.verdictChain(chainInputVerdict, HookInput),
		pl.verdictChain(chainOutputVerdict, HookOutput),
		pl.verdictChain(chainForwardVerdict, HookForward),
	)
	plan.Chains = append(plan.Chains, ruleChains...)
	plan.Chains = append(plan.Chains, Chain{Name: generationChainPrefix + strconv.FormatUint(gen, 10)})
	return plan, nil
}

type planner struct {
	p        *ir.Policy
	cfg      Config
	gen      uint64
	caps     Caps
	layout   MarkLayout
	warnings []string
	// kernelSets maps an IR set name to its kernel sets by family.
	kernelSets map[string]map[Family]string
}

func (pl *planner) settings() error {
	s := pl.p.Settings
	var errs []error
	if s.Default != ir.ActionAllow && s.Default != ir.ActionDeny {
		errs = append(errs, fmt.Errorf("settings: default %q: want allow or deny", s.Default))
	}
	if s.Mode != ir.ModeEnforce && s.Mode != ir.ModeObserve {
		errs = append(errs, fmt.Errorf("settings: mode %q: want enforce or observe", s.Mode))
	}
	if s.FailMode != ir.FailOpen && s.FailMode != ir.FailClosed {
		errs = append(errs, fmt.Errorf("settings: fail_mode %q: want open or closed", s.FailMode))
	}
	return errors.Join(errs...)
}

// sets plans the IR's sets and septa's quarantine sets, and records the
// kernel names.
func (pl *planner) sets() ([]Set, error) {
	used := map[string]bool{setQuarantine4: true, setQuarantine6: true}
	pl.kernelSets = map[string]map[Family]string{}
	var out []Set
	var errs []error
	for i := range pl.p.Sets {
		s := &pl.p.Sets[i]
		if s.Name == "" {
			errs = append(errs, fmt.Errorf("set %d: empty name", i))
			continue
		}
		if _, dup := pl.kernelSets[s.Name]; dup {
			errs = append(errs, fmt.Errorf("set %q: defined twice", s.Name))
			continue
		}
		role := SetRolePolicy
		switch s.Kind {
		case ir.SetZone, ir.SetGroup:
		case ir.SetIdentity:
			role = SetRoleIdentity
		default:
			errs = append(errs, fmt.Errorf("set %q: unknown kind %d", s.Name, s.Kind))
			continue
		}
		var v4, v6 []netip.Prefix
		bad := false
		for _, p := range s.Prefixes {
			if !p.IsValid() {
				errs = append(errs, fmt.Errorf("set %q: invalid prefix", s.Name))
				bad = true
				break
			}
		}
		if bad {
			continue
		}
		for _, p := range ir.MergePrefixes(s.Prefixes) {
			if p.Addr().Is4() {
				v4 = append(v4, p)
			} else {
				v6 = append(v6, p)
			}
		}
		byFam := map[Family]string{}
		for _, f := range []struct {
			fam   Family
			elems []netip.Prefix
		}{{FamilyIPv4, v4}, {FamilyIPv6, v6}} {
			if s.Kind == ir.SetZone && len(f.elems) == 0 {
				continue
			}
			name := kernelSetName(s.Name, f.fam, used)
			used[name] = true
			byFam[f.fam] = name
			out = append(out, Set{Name: name, Source: s.Name, Family: f.fam, Role: role, Interval: true, Elements: f.elems})
		}
		pl.kernelSets[s.Name] = byFam
	}
	out = append(out,
		Set{Name: setQuarantine4, Family: FamilyIPv4, Role: SetRoleQuarantine, Timeout: true},
		Set{Name: setQuarantine6, Family: FamilyIPv6, Role: SetRoleQuarantine, Timeout: true},
	)
	return out, errors.Join(errs...)
}

// kernelSetName turns "zone:prod" into "zone_prod_v4": nft's identifier
// characters, so the ruleset can be listed and loaded back as text. A
// name that collides or is too long gets a hash of the IR name.
func kernelSetName(irName string, fam Family, used map[string]bool) string {
	var b strings.Builder
	for _, r := range irName {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	base := b.String()
	if base == "" || !(base[0] >= 'a' && base[0] <= 'z' || base[0] >= 'A' && base[0] <= 'Z') {
		base = "s_" + base
	}
	suffix := "_v4"
	if fam == FamilyIPv6 {
		suffix = "_v6"
	}
	name := base + suffix
	if len(name) <= maxNameLen-12 && !used[name] {
		return name
	}
	h := fnv.New32a()
	h.Write([]byte(irName))
	hash := fmt.Sprintf("_%08x", h.Sum32())
	if len(base) > maxNameLen-len(hash)-len(suffix)-4 {
		base = base[:maxNameLen-len(hash)-len(suffix)-4]
	}
	name = base + hash + suffix
	for i := 2; used[name]; i++ { // only for hash collisions
		name = base + hash + "_" + strconv.Itoa(i) + suffix
	}
	return name
}

func (pl *planner) markSet(v MarkVerdict) Stmt {
	return SetCtMark{Mask: pl.layout.Mask(), Value: pl.layout.Value(v, pl.gen)}
}

func (pl *planner) queue() Stmt {
	return Queue{
		Kind:   pl.caps.Queue,
		Num:    pl.cfg.QueueBase,
		Total:  pl.cfg.QueueCount,
		Bypass: pl.p.Settings.FailMode == ir.FailOpen && !pl.cfg.DisableBypass,
		Fanout: pl.cfg.QueueFanout && pl.cfg.QueueCount > 1,
	}
}

func rule(id string, stmts ...Stmt) Rule { return Rule{ID: id, Stmts: stmts} }

// baseChain is the filter chain of one hook: the fixed prologue, the
// dispatch to the rule chains, and the default.
func (pl *planner) baseChain(name string, hook Hook) Chain {
	c := Chain{Name: name, Hook: hook, Priority: pl.cfg.Priority}
	add := func(r Rule) { c.Rules = append(c.Rules, r) }
	add(rule(IDInvalid, CtState{CtInvalid}, Counter{}, Verdict{Kind: VerdictDrop}))
	switch hook {
	case HookInput:
		add(rule(IDLoopback, Iface{Index: loopbackIndex}, Counter{}, Verdict{Kind: VerdictAccept}))
	case HookOutput:
		add(rule(IDLoopback, Iface{Out: true, Index: loopbackIndex}, Counter{}, Verdict{Kind: VerdictAccept}))
	}
	if hook != HookForward {
		// Neighbor discovery (RFC 4861 types 133-137) and multicast
		// listener discovery (RFC 2710 types 130-132, RFC 3810 type 143)
		// are link-local control traffic that must pass or IPv6 stops
		// working.
		for _, t := range []ICMPv6Type{{130, 137}, {143, 143}} {
			add(rule(IDNeighbor, NFProto{FamilyIPv6}, L4Proto{ir.ProtoICMPv6}, t, Counter{}, Verdict{Kind: VerdictAccept}))
		}
	}
	for _, q := range []struct {
		fam Family
		set string
	}{{FamilyIPv4, setQuarantine4}, {FamilyIPv6, setQuarantine6}} {
		for _, field := range []AddrField{AddrSrc, AddrDst} {
			add(rule(IDQuarantine, NFProto{q.fam}, Addr{Field: field, Family: q.fam, Set: q.set}, Counter{}, Verdict{Kind: VerdictDrop}))
		}
	}
	mask := pl.layout.Mask()
	add(rule(IDDecided, CtMark{mask, pl.layout.Value(MarkAllow, pl.gen)}, Counter{}, Verdict{Kind: VerdictAccept}))
	// A flow the inspector denied: its TCP packets are answered with a
	// reset, so that the end still sending learns at once; resets
	// themselves pass (the inspector's reset to the other end, and the
	// kernel's own, which carry the flow's conntrack entry).
	deny := CtMark{mask, pl.layout.Value(MarkDeny, pl.gen)}
	add(rule(IDDecided, deny, L4Proto{ir.ProtoTCP}, TCPFlags{Mask: tcpFlagRst, Value: tcpFlagRst}, Counter{}, Verdict{Kind: VerdictAccept}))
	add(rule(IDDecided, deny, L4Proto{ir.ProtoTCP}, Counter{}, Reject{TCP: true}))
	add(rule(IDDecided, deny, Counter{}, Verdict{Kind: VerdictDrop}))
	if pl.caps.Queue != QueueNone {
		add(rule(IDDecided, CtMark{mask, pl.layout.Value(MarkInspect, pl.gen)}, Counter{}, pl.queue()))
	}
	add(rule(IDRelated, CtState{CtRelated}, Counter{}, Verdict{Kind: VerdictAccept}))
	orig, reply := chainRulesFwd, chainRulesFwd+replySuffix
	switch hook {
	case HookInput:
		orig, reply = chainRulesIn, chainRulesOut+replySuffix
	case HookOutput:
		orig, reply = chainRulesOut, chainRulesIn+replySuffix
	}
	add(rule(IDDispatch, CtDirection{}, Verdict{Kind: VerdictJump, Chain: orig}))
	add(rule(IDDispatch, CtDirection{Reply: true}, Verdict{Kind: VerdictJump, Chain: reply}))
	add(pl.defaultRule())
	return c
}

func (pl *planner) defaultRule() Rule {
	s := pl.p.Settings
	if s.Default == ir.ActionAllow {
		stmts := []Stmt{Counter{}}
		if s.Log == ir.LogAll {
			stmts = append(stmts, Log{Group: pl.cfg.LogGroupAllow, Prefix: IDDefault})
		}
		return rule(IDDefault, append(stmts, pl.markSet(MarkAllow), Verdict{Kind: VerdictAccept})...)
	}
	if s.Mode == ir.ModeObserve {
		return rule(IDDefault, Counter{}, Log{Group: pl.cfg.LogGroupObserve, Prefix: IDDefault},
			pl.markSet(MarkAllow), Verdict{Kind: VerdictAccept})
	}
	stmts := []Stmt{Counter{}}
	if s.Log == ir.LogDeny || s.Log == ir.LogAll {
		stmts = append(stmts, Log{Group: pl.cfg.LogGroupDeny, Prefix: IDDefault})
	}
	// No DENY mark: a denied flow's every packet meets the rules again
	// (and is dropped again), while DENY marks mean "denied by the
	// inspector", whose flows get resets (see the fast path).
	return rule(IDDefault, append(stmts, Verdict{Kind: VerdictDrop})...)
}

// verdictChain copies the inspector's verdict from the packet mark into
// the conntrack mark (mark.go).
func (pl *planner) verdictChain(name string, hook Hook) Chain {
	vm := pl.layout.VerdictMask()
	c := Chain{Name: name, Hook: hook, Priority: pl.cfg.VerdictPriority}
	c.Rules = append(c.Rules, rule(IDVerdict, MetaMark{vm, 0}, Verdict{Kind: VerdictAccept}))
	for _, v := range []MarkVerdict{MarkAllow, MarkDeny, MarkInspect} {
		stmts := []Stmt{MetaMark{vm, pl.layout.PacketMark(v)}, Counter{}, pl.markSet(v), ClearMetaMark{vm}}
		if v == MarkDeny {
			// The inspector turns the packet that decided a TCP denial
			// into a reset for its receiver, which passes; anything else
			// it denies is dropped.
			rst := []Stmt{MetaMark{vm, pl.layout.PacketMark(v)}, L4Proto{ir.ProtoTCP}, TCPFlags{Mask: tcpFlagRst, Value: tcpFlagRst},
				Counter{}, pl.markSet(v), ClearMetaMark{vm}, Verdict{Kind: VerdictAccept}}
			c.Rules = append(c.Rules, rule(IDVerdict, rst...))
			stmts = append(stmts, Verdict{Kind: VerdictDrop})
		}
		c.Rules = append(c.Rules, rule(IDVerdict, stmts...))
	}
	return c
}

// chainCtx is which rule chain a rule is being laid out for: the flow's
// relation to this host, and whether the chain sees its reply direction.
type chainCtx struct {
	flow  ir.Direction // DirIn, DirOut, or DirBoth for forwarded flows
	reply bool
}

func (c chainCtx) name() string {
	n := chainRulesFwd
	switch c.flow {
	case ir.DirIn:
		n = chainRulesIn
	case ir.DirOut:
		n = chainRulesOut
	}
	if c.reply {
		n += replySuffix
	}
	return n
}

var ruleContexts = []chainCtx{
	{ir.DirIn, false}, {ir.DirIn, true},
	{ir.DirOut, false}, {ir.DirOut, true},
	{ir.DirBoth, false}, {ir.DirBoth, true},
}

func (pl *planner) ruleChains() ([]Chain, error) {
	chains := make([]Chain, len(ruleContexts))
	for i, c := range ruleContexts {
		chains[i].Name = c.name()
	}
	var errs []error
	ids := map[string]bool{}
	for i := range pl.p.Rules {
		r := &pl.p.Rules[i]
		if err := pl.checkRule(r, ids); err != nil {
			errs = append(errs, fmt.Errorf("rule %q: %w", r.ID, err))
			continue
		}
		for ci, ctx := range ruleContexts {
			if ctx.flow == ir.DirIn && r.Dir == ir.DirOut || ctx.flow == ir.DirOut && r.Dir == ir.DirIn {
				continue
			}
			krs, err := pl.kernelRules(r, ctx)
			if err != nil {
				errs = append(errs, fmt.Errorf("rule %q: %w", r.ID, err))
				break
			}
			chains[ci].Rules = append(chains[ci].Rules, krs...)
		}
	}
	return chains, errors.Join(errs...)
}

func (pl *planner) checkRule(r *ir.Rule, ids map[string]bool) error {
	switch {
	case r.ID == "":
		return errors.New("empty id")
	case len(r.ID) > maxNameLen:
		return fmt.Errorf("id longer than %d bytes", maxNameLen)
	case strings.HasPrefix(r.ID, "septa:"):
		return errors.New(`id prefix "septa:" is reserved`)
	case ids[r.ID]:
		return errors.New("id used twice")
	}
	ids[r.ID] = true
	if r.Dir != ir.DirIn && r.Dir != ir.DirOut && r.Dir != ir.DirBoth {
		return fmt.Errorf("direction %q", r.Dir)
	}
	if r.Action != ir.ActionAllow && r.Action != ir.ActionDeny && r.Action != ir.ActionReject {
		return fmt.Errorf("action %q", r.Action)
	}
	if !r.Needs.KernelOnly() && pl.caps.Queue == QueueNone {
		return fmt.Errorf("needs %s: %w", r.Needs, ErrNoQueue)
	}
	for _, pt := range r.Ports {
		if pt.First > pt.Last {
			return fmt.Errorf("port range %d-%d is empty", pt.First, pt.Last)
		}
		if !pt.AllPorts() && !pt.Proto.HasPorts() {
			return fmt.Errorf("protocol %s has no ports (%s)", pt.Proto, pt)
		}
	}
	for _, e := range []ir.Endpoint{r.From, r.To} {
		for _, name := range e.Sets {
			if _, ok := pl.kernelSets[name]; !ok {
				return fmt.Errorf("unknown set %q", name)
			}
		}
		n4, n6 := 0, 0
		for _, p := range e.Prefixes {
			if !p.IsValid() {
				return errors.New("invalid prefix")
			}
			if p.Addr().Unmap().Is4() {
				n4++
			} else {
				n6++
			}
		}
		if n4 > maxLiteral || n6 > maxLiteral {
			return fmt.Errorf("more than %d literal prefixes of a family: use a set", maxLiteral)
		}
	}
	if len(r.Ports) > maxLiteral {
		return fmt.Errorf("more than %d port ranges", maxLiteral)
	}
	return nil
}

// addrAlt is one way an endpoint can match: any address of any family
// (Neutral), or an address of one family in a set or in literal prefixes.
type addrAlt struct {
	neutral  bool
	family   Family
	set      string
	prefixes []netip.Prefix
}

// alts lists the alternatives of an endpoint in a chain. dst says which
// end it is. An empty list matches nothing.
func (pl *planner) alts(e ir.Endpoint, dst bool, ctx chainCtx) []addrAlt {
	if e.Any {
		return []addrAlt{{neutral: true}}
	}
	if e.Self && (dst && ctx.flow == ir.DirIn || !dst && ctx.flow == ir.DirOut) {
		return []addrAlt{{neutral: true}}
	}
	var out []addrAlt
	for _, name := range e.Sets {
		byFam := pl.kernelSets[name]
		for _, fam := range []Family{FamilyIPv4, FamilyIPv6} {
			if ks, ok := byFam[fam]; ok {
				out = append(out, addrAlt{family: fam, set: ks})
			}
		}
	}
	var v4, v6 []netip.Prefix
	for _, p := range ir.MergePrefixes(e.Prefixes) {
		if p.Addr().Is4() {
			v4 = append(v4, p)
		} else {
			v6 = append(v6, p)
		}
	}
	if len(v4) > 0 {
		out = append(out, addrAlt{family: FamilyIPv4, prefixes: v4})
	}
	if len(v6) > 0 {
		out = append(out, addrAlt{family: FamilyIPv6, prefixes: v6})
	}
	return out
}

// protoAlt is one protocol of a rule with its port ranges (none: every
// port); proto ProtoAny matches every protocol.
type protoAlt struct {
	proto  ir.Proto
	ranges []PortRange
}

func protoAlts(ports []ir.Port) []protoAlt {
	if len(ports) == 0 {
		return []protoAlt{{proto: ir.ProtoAny}}
	}
	var out []protoAlt
	all := map[ir.Proto]bool{}
	for _, p := range ports {
		if p.Proto == ir.ProtoAny {
			return []protoAlt{{proto: ir.ProtoAny}}
		}
		if p.AllPorts() {
			all[p.Proto] = true
		}
	}
	idx := map[ir.Proto]int{}
	for _, p := range ports {
		i, ok := idx[p.Proto]
		if !ok {
			i = len(out)
			idx[p.Proto] = i
			out = append(out, protoAlt{proto: p.Proto})
		}
		if !all[p.Proto] {
			out[i].ranges = append(out[i].ranges, PortRange{p.First, p.Last})
		}
	}
	for i := range out {
		out[i].ranges = mergeRanges(out[i].ranges)
	}
	return out
}

// mergeRanges sorts ranges and joins overlapping and adjacent ones (an
// interval set rejects overlaps).
func mergeRanges(rs []PortRange) []PortRange {
	if len(rs) == 0 {
		return nil
	}
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b PortRange) int { return int(a.First) - int(b.First) })
	out := rs[:1]
	for _, r := range rs[1:] {
		last := &out[len(out)-1]
		if int(r.First) <= int(last.Last)+1 {
			last.Last = max(last.Last, r.Last)
			continue
		}
		out = append(out, r)
	}
	return out
}

func (a addrAlt) stmt(field AddrField) Stmt {
	return Addr{Field: field, Family: a.family, Set: a.set, Prefixes: a.prefixes}
}

// kernelRules lays out one IR rule in one chain.
func (pl *planner) kernelRules(r *ir.Rule, ctx chainCtx) ([]Rule, error) {
	froms := pl.alts(r.From, false, ctx)
	tos := pl.alts(r.To, true, ctx)
	protos := protoAlts(r.Ports)
	if n := len(froms) * len(tos) * len(protos); n > maxKernelRulesPerRule {
		return nil, fmt.Errorf("expands to %d kernel rules (more than %d): use fewer sets or a group", n, maxKernelRulesPerRule)
	}
	var head []Stmt
	if !r.Expires.IsZero() {
		if pl.caps.MetaTime {
			head = append(head, TimeBefore{T: r.Expires})
		} else if ctx.flow == ir.DirBoth && !ctx.reply { // once per rule
			pl.warnings = append(pl.warnings, fmt.Sprintf("rule %q: expiry left to the daemon (kernel has no meta time)", r.ID))
		}
	}
	var out []Rule
	for _, f := range froms {
		for _, t := range tos {
			fam := f.family
			if f.neutral {
				fam = t.family
			} else if !t.neutral && t.family != f.family {
				continue
			}
			var match []Stmt
			if fam != FamilyAny {
				match = append(match, NFProto{fam})
			}
			match = append(match, head...)
			// In a reply chain the packet goes from the rule's
			// destination to its source.
			srcField, dstField := AddrSrc, AddrDst
			if ctx.reply {
				srcField, dstField = AddrDst, AddrSrc
			}
			if !f.neutral {
				match = append(match, f.stmt(srcField))
			}
			if !t.neutral {
				match = append(match, t.stmt(dstField))
			}
			for _, pa := range protos {
				m := slices.Clone(match)
				if pa.proto != ir.ProtoAny {
					m = append(m, L4Proto{Proto: pa.proto})
				}
				if len(pa.ranges) > 0 {
					m = append(m, Port{Src: ctx.reply, Ranges: pa.ranges})
				}
				out = append(out, pl.identityRules(r, m, fam, srcField, ctx, pa.proto)...)
				out = append(out, pl.actions(r, m, pa.proto, ctx)...)
			}
		}
	}
	return out, nil
}

// actions appends what a matching rule does.
func (pl *planner) actions(r *ir.Rule, match []Stmt, proto ir.Proto, ctx chainCtx) []Rule {
	if !r.Needs.KernelOnly() {
		with := func(extra ...Stmt) Rule {
			s := make([]Stmt, 0, len(match)+len(extra))
			return Rule{ID: r.ID, Stmts: append(append(s, match...), extra...)}
		}
		var out []Rule
		if r.Action == ir.ActionAllow {
			// A flow the inspector allowed under an older generation and
			// that still matches an allow rule needing inspection was
			// inspected already: re-mark it instead of sending the middle
			// of a stream to the inspector.
			revalidate := make([]Stmt, 0, len(match)+5)
			revalidate = append(revalidate, CtState{CtEstablished | CtRelated},
				CtMark{pl.layout.VerdictMask(), pl.layout.PacketMark(MarkAllow)})
			revalidate = append(revalidate, match...)
			out = append(out, Rule{ID: r.ID, Stmts: append(revalidate, Counter{}, pl.markSet(MarkAllow), Verdict{Kind: VerdictAccept})})
		}
		if proto == ir.ProtoTCP {
			// The handshake carries no data to inspect: it passes without
			// a trip to userspace (and without deciding the flow), so that
			// the first queued packet of a flow is its first data, or the
			// client's ACK. A SYN with a Fast Open option may carry data
			// and is queued.
			out = append(out, with(TCPHandshake{Reply: ctx.reply}, Counter{}, Verdict{Kind: VerdictAccept}))
		}
		return append(out, with(Counter{}, pl.queue()))
	}
	return pl.kernelActions(r, match, proto)
}

// identityRules lets the kernel decide a rule whose only condition beyond
// addresses and ports is the user, for flows from addresses where a single
// user is logged in: the daemon keeps those addresses in the identity sets
// (one per user and group the rules name). Flows from other addresses
// (unknown, or shared by several users) go on to the queue rule that
// follows, and the inspector decides them one by one. Only for flows to
// this host and forwarded ones: for its own outbound flows, the user is
// the local socket's owner, which the queue reports.
func (pl *planner) identityRules(r *ir.Rule, match []Stmt, fam Family, srcField AddrField, ctx chainCtx, proto ir.Proto) []Rule {
	if r.Needs != ir.NeedUser || ctx.flow == ir.DirOut {
		return nil
	}
	var out []Rule
	for _, u := range r.Users {
		byFam := pl.kernelSets["identity:"+u]
		for _, f := range []Family{FamilyIPv4, FamilyIPv6} {
			ks, ok := byFam[f]
			if !ok || fam != FamilyAny && fam != f {
				continue
			}
			m := slices.Clone(match)
			if fam == FamilyAny {
				m = append(m, NFProto{f})
			}
			m = append(m, Addr{Field: srcField, Family: f, Set: ks})
			out = append(out, pl.kernelActions(r, m, proto)...)
		}
	}
	return out
}

// kernelActions is what a rule decided in the kernel does.
func (pl *planner) kernelActions(r *ir.Rule, match []Stmt, proto ir.Proto) []Rule {
	with := func(extra ...Stmt) Rule {
		s := make([]Stmt, 0, len(match)+len(extra))
		return Rule{ID: r.ID, Stmts: append(append(s, match...), extra...)}
	}
	logTo := func(group uint16) []Stmt {
		if !r.Log {
			return nil
		}
		return []Stmt{Log{Group: group, Prefix: logPrefix(r.ID)}}
	}
	observe := r.Observe || pl.p.Settings.Mode == ir.ModeObserve
	switch {
	case r.Action == ir.ActionAllow:
		return []Rule{with(append(append([]Stmt{Counter{}}, logTo(pl.cfg.LogGroupAllow)...), pl.markSet(MarkAllow), Verdict{Kind: VerdictAccept})...)}
	case observe:
		return []Rule{with(Counter{}, Log{Group: pl.cfg.LogGroupObserve, Prefix: logPrefix(r.ID)}, pl.markSet(MarkAllow), Verdict{Kind: VerdictAccept})}
	case r.Action == ir.ActionDeny:
		return []Rule{with(append(append([]Stmt{Counter{}}, logTo(pl.cfg.LogGroupDeny)...), Verdict{Kind: VerdictDrop})...)}
	}
	// Reject: a TCP reset for TCP, ICMP(v6) port unreachable otherwise.
	tail := func(tcp bool) []Stmt {
		return append(append([]Stmt{Counter{}}, logTo(pl.cfg.LogGroupDeny)...), Reject{TCP: tcp})
	}
	switch proto {
	case ir.ProtoTCP:
		return []Rule{with(tail(true)...)}
	case ir.ProtoAny:
		tcp := Rule{ID: r.ID, Stmts: append(append(slices.Clone(match), L4Proto{ir.ProtoTCP}), tail(true)...)}
		return []Rule{tcp, with(tail(false)...)}
	}
	return []Rule{with(tail(false)...)}
}

func logPrefix(id string) string {
	if len(id) > maxLogPrefix {
		return id[:maxLogPrefix]
	}
	return id
}
