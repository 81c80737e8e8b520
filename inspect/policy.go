package inspect

import (
	"bytes"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/septa-fw/septa/inspect/appid"
	"github.com/septa-fw/septa/inspect/packet"
	"github.com/septa-fw/septa/inspect/userid"
	"github.com/septa-fw/septa/rules/ir"
)

// Policy is the compiled policy as the inspector evaluates it: the rules
// of the IR with their address sets resolved for lookups that allocate
// nothing. It is immutable; a reload or a set change builds a new one and
// publishes it atomically.
type Policy struct {
	ir       *ir.Policy
	rules    []rule
	settings ir.Settings
	// Generation is the kernel generation the policy was applied as.
	Generation uint64
}

type rule struct {
	ir        *ir.Rule
	from, to  endpoint
	ports     []ir.Port
	app       appid.App
	sni       [][]byte
	httpHost  [][]byte
	users     []string // user names
	groups    []string // group names
	processes []string
}

type endpoint struct {
	any  bool
	self bool
	sets []*addrSet
	lit  *addrSet
}

// NewPolicy prepares an IR policy for the inspector.
func NewPolicy(p *ir.Policy, generation uint64) *Policy {
	sets := make(map[string]*addrSet, len(p.Sets))
	for i := range p.Sets {
		sets[p.Sets[i].Name] = newAddrSet(p.Sets[i].Prefixes)
	}
	ep := func(e ir.Endpoint) endpoint {
		out := endpoint{any: e.Any, self: e.Self}
		for _, name := range e.Sets {
			if s, ok := sets[name]; ok {
				out.sets = append(out.sets, s)
			}
		}
		if len(e.Prefixes) > 0 {
			out.lit = newAddrSet(e.Prefixes)
		}
		return out
	}
	bs := func(ss []string) [][]byte {
		out := make([][]byte, len(ss))
		for i, s := range ss {
			out[i] = []byte(s)
		}
		return out
	}
	pol := &Policy{ir: p, settings: p.Settings, Generation: generation}
	for i := range p.Rules {
		r := &p.Rules[i]
		app, _ := appid.ParseApp(r.App.Name)
		ru := rule{
			ir: r, from: ep(r.From), to: ep(r.To), ports: r.Ports, app: app,
			sni: bs(r.App.SNI), httpHost: bs(r.App.HTTPHost), processes: r.Processes,
		}
		for _, u := range r.Users {
			switch kind, name, _ := strings.Cut(u, ":"); kind {
			case "user":
				ru.users = append(ru.users, name)
			case "group":
				ru.groups = append(ru.groups, name)
			}
		}
		pol.rules = append(pol.rules, ru)
	}
	return pol
}

// IR returns the policy the inspector evaluates.
func (p *Policy) IR() *ir.Policy { return p.ir }

// Hook is the netfilter hook a packet was queued from.
type Hook uint8

const (
	HookUnknown Hook = iota
	HookInput        // to this host
	HookOutput       // from this host
	HookForward      // through this host
)

// Facts is what is known of a flow when the policy is asked. What the
// inspector has not learnt yet is marked unknown, and a rule that needs it
// makes Decide answer NeedMore rather than guess.
type Facts struct {
	Src, Dst netip.Addr
	Proto    uint8
	DstPort  uint16
	Hook     Hook
	Now      time.Time

	// AppDone: identification has finished (Info.App may be Unknown).
	AppDone bool
	Info    *appid.Info

	// UserDone: the user is known, or known to be unknowable.
	UserDone bool
	// User is who sent the flow; nil when unknown.
	User *userid.Identity

	ProcessDone bool
	Process     string // executable path; "" when unknown
}

// Need is what Decide still needs to know.
type Need uint8

const (
	NeedNothing Need = 0
	NeedApp     Need = 1 << iota
	NeedUser
	NeedProcess
)

// Decision is the policy's answer for a flow.
type Decision struct {
	// Rule is the index of the deciding rule in the IR, or -1 for the
	// policy's default.
	Rule   int
	Action ir.Action
	// Observe: the decision is a deny that the rule or the policy only
	// observes; the flow is allowed and logged as "would deny".
	Observe bool
	IDS     ir.IDSMode
	Reason  packet.Reason
	// Need is non-zero when no decision is possible yet: a rule whose
	// addresses and ports match needs these facts.
	Need Need
}

// Decide evaluates the rules in order, first match wins, as the kernel
// does; for rules that need more than addresses and ports it checks the
// facts, and asks for more when one is unknown. It allocates nothing.
func (p *Policy) Decide(f *Facts) Decision {
	// When a rule's conditions fail, the reason for the default that
	// follows is the condition that failed last.
	failed := packet.ReasonDefault
	for i := range p.rules {
		r := &p.rules[i]
		if !r.matchL34(f) {
			continue
		}
		if r.ir.Needs&(ir.NeedApp|ir.NeedUser|ir.NeedProcess) != 0 {
			need := NeedNothing
			if r.ir.Needs&ir.NeedApp != 0 && !f.AppDone {
				need |= NeedApp
			}
			if r.ir.Needs&ir.NeedUser != 0 && !f.UserDone {
				need |= NeedUser
			}
			if r.ir.Needs&ir.NeedProcess != 0 && !f.ProcessDone {
				need |= NeedProcess
			}
			if need != NeedNothing {
				return Decision{Rule: i, Need: need}
			}
			if reason, ok := r.matchConditions(f); !ok {
				failed = reason
				continue
			}
		}
		return p.decided(i, r.ir.Action, r.ir.Observe, r.ir.IDS, packet.ReasonPolicy)
	}
	return p.decided(-1, p.settings.Default, false, ir.IDSOff, failed)
}

func (p *Policy) decided(idx int, a ir.Action, observe bool, ids ir.IDSMode, reason packet.Reason) Decision {
	d := Decision{Rule: idx, Action: a, IDS: ids, Reason: reason}
	if a != ir.ActionAllow && (observe || p.settings.Mode == ir.ModeObserve) {
		d.Observe = true
	}
	return d
}

func (r *rule) matchL34(f *Facts) bool {
	switch r.ir.Dir {
	case ir.DirIn:
		if f.Hook == HookOutput {
			return false
		}
	case ir.DirOut:
		if f.Hook == HookInput {
			return false
		}
	}
	if !r.ir.Expires.IsZero() && !f.Now.Before(r.ir.Expires) {
		return false
	}
	if !r.from.match(f.Src, f.Hook == HookOutput) || !r.to.match(f.Dst, f.Hook == HookInput) {
		return false
	}
	if len(r.ports) == 0 {
		return true
	}
	for _, p := range r.ports {
		if p.Proto != ir.ProtoAny && uint8(p.Proto) != f.Proto {
			continue
		}
		if p.AllPorts() || p.First <= f.DstPort && f.DstPort <= p.Last {
			return true
		}
	}
	return false
}

// match reports whether an address is in the endpoint; local says the
// address is this host's own (the hook tells: input's destination,
// output's source).
func (e *endpoint) match(a netip.Addr, local bool) bool {
	if e.any || e.self && local {
		return true
	}
	for _, s := range e.sets {
		if s.contains(a) {
			return true
		}
	}
	return e.lit.contains(a)
}

func (r *rule) matchConditions(f *Facts) (packet.Reason, bool) {
	if r.ir.Needs&ir.NeedApp != 0 {
		if !r.matchApp(f.Info) {
			return packet.ReasonApp, false
		}
	}
	if r.ir.Needs&ir.NeedUser != 0 && !r.matchUser(f) {
		return packet.ReasonUser, false
	}
	if r.ir.Needs&ir.NeedProcess != 0 && (f.Process == "" || !slices.Contains(r.processes, f.Process)) {
		return packet.ReasonProcess, false
	}
	return packet.ReasonPolicy, true
}

func (r *rule) matchApp(info *appid.Info) bool {
	if info == nil {
		return false
	}
	if r.app != appid.Unknown && info.App != r.app {
		return false
	}
	if len(r.sni) > 0 && !matchHost(r.sni, info.SNI) {
		return false
	}
	if len(r.httpHost) > 0 && !matchHost(r.httpHost, stripPort(requestHost(info))) {
		return false
	}
	return true
}

// requestHost is the host an HTTP/1 server serves a request for: the
// authority of an absolute-form target ("GET http://a.example/ ..."),
// which a server must prefer to the Host field (RFC 9112 section 3.2.2),
// or else the Host field. app-ID leaves the Host empty when the request
// has two (servers refuse those, and a rule never matches them).
func requestHost(info *appid.Info) []byte {
	t := info.HTTPPath
	for _, scheme := range [...]string{"http://", "https://"} {
		if len(t) > len(scheme) && bytes.EqualFold(t[:len(scheme)], []byte(scheme)) {
			a := t[len(scheme):]
			if i := bytes.IndexAny(a, "/?#"); i >= 0 {
				a = a[:i]
			}
			if i := bytes.LastIndexByte(a, '@'); i >= 0 {
				a = a[i+1:]
			}
			return a
		}
	}
	return info.HTTPHost
}

func (r *rule) matchUser(f *Facts) bool {
	u := f.User
	if u == nil {
		return false
	}
	if slices.Contains(r.users, u.Name) {
		return true
	}
	for _, g := range r.groups {
		if slices.Contains(u.Groups, g) {
			return true
		}
	}
	return false
}

// matchHost matches a host name against patterns: an exact name, or
// "*.example.com" for any name below example.com. Names compare without
// regard to ASCII case and to a final dot.
func matchHost(patterns [][]byte, name []byte) bool {
	if n := len(name); n > 0 && name[n-1] == '.' {
		name = name[:n-1]
	}
	if len(name) == 0 {
		return false
	}
	for _, p := range patterns {
		if len(p) > 2 && p[0] == '*' && p[1] == '.' {
			suffix := p[1:] // ".example.com"
			if len(name) > len(suffix) && bytes.EqualFold(name[len(name)-len(suffix):], suffix) {
				return true
			}
			continue
		}
		if bytes.EqualFold(p, name) {
			return true
		}
	}
	return false
}

// stripPort removes a ":port" from an HTTP Host value ("[::1]:8080" too).
func stripPort(h []byte) []byte {
	if len(h) > 0 && h[0] == '[' {
		if i := bytes.IndexByte(h, ']'); i > 0 {
			return h[1:i]
		}
		return h
	}
	if i := bytes.LastIndexByte(h, ':'); i >= 0 && bytes.IndexByte(h[:i], ':') < 0 {
		return h[:i]
	}
	return h
}
