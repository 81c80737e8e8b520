package flowmap

import (
	"cmp"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/septa-fw/septa/daemon/events"
	"github.com/septa-fw/septa/inspect"
	"github.com/septa-fw/septa/inspect/appid"
	"github.com/septa-fw/septa/inspect/userid"
	"github.com/septa-fw/septa/rules/ir"
)

// ImpactOptions tune an impact preview.
type ImpactOptions struct {
	// Self are the addresses of the host whose records these are, for
	// rules about "self" and about a direction; none: self matches
	// nothing and rules of either direction apply.
	Self []netip.Addr
	// Now decides which rules have expired; zero is time.Now.
	Now time.Time
}

// Impact evaluates a candidate policy on recorded flows with the
// inspector's own evaluator (inspect.Policy.Decide on the compiled IR),
// so that the preview is the code that enforces.
type Impact struct {
	pol  *inspect.Policy
	ir   *ir.Policy
	opts ImpactOptions

	flows   uint64
	allowed uint64
	// denied and undecided hold the flows by rule index (-1: default).
	denied    map[int][]ImpactFlow
	undecided map[int][]ImpactFlow
	missing   map[int]inspect.Need
}

// ImpactFlow is one recorded flow in the preview.
type ImpactFlow struct {
	Time  time.Time      `json:"time"`
	Proto uint8          `json:"proto"`
	Src   netip.AddrPort `json:"src"`
	Dst   netip.AddrPort `json:"dst"`
	App   string         `json:"app,omitempty"`
	User  string         `json:"user,omitempty"`
	// Was is the recorded verdict and rule ("allow by web-in").
	Was string `json:"was"`
	// Observe: the candidate would only log the deny (observe mode).
	Observe bool `json:"observe,omitempty"`
}

// NewImpact prepares a candidate policy.
func NewImpact(p *ir.Policy, opts ImpactOptions) *Impact {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	return &Impact{
		pol: inspect.NewPolicy(p, 0), ir: p, opts: opts,
		denied: map[int][]ImpactFlow{}, undecided: map[int][]ImpactFlow{}, missing: map[int]inspect.Need{},
	}
}

// Add evaluates one flow record.
func (x *Impact) Add(e *events.Event) {
	x.flows++
	f := x.facts(e)
	d := x.pol.Decide(&f)
	fl := ImpactFlow{Time: e.Time, Proto: e.Proto, Src: e.Src, Dst: e.Dst, App: e.App, User: e.User, Was: was(e)}
	if !e.Start.IsZero() {
		fl.Time = e.Start
	}
	switch {
	case d.Need != inspect.NeedNothing:
		x.undecided[d.Rule] = append(x.undecided[d.Rule], fl)
		x.missing[d.Rule] |= d.Need
	case d.Action == ir.ActionAllow:
		x.allowed++
	default:
		fl.Observe = d.Observe
		x.denied[d.Rule] = append(x.denied[d.Rule], fl)
	}
}

func was(e *events.Event) string {
	v := VerdictOf(e)
	if v == VerdictSeen {
		return "seen (no verdict)"
	}
	rule := e.Rule
	if rule == "" {
		rule = "(default)"
	}
	return v.String() + " by " + rule
}

// facts are what a record tells the evaluator; what it lacks stays
// unknown, and a rule that needs it makes Decide ask for it.
func (x *Impact) facts(e *events.Event) inspect.Facts {
	f := inspect.Facts{
		Src: e.Src.Addr().Unmap(), Dst: e.Dst.Addr().Unmap(), Proto: e.Proto, DstPort: e.Dst.Port(), Now: x.opts.Now,
	}
	if !hasPorts(e.Proto) {
		f.DstPort = 0
	}
	switch {
	case slices.Contains(x.opts.Self, f.Src):
		f.Hook = inspect.HookOutput
	case slices.Contains(x.opts.Self, f.Dst):
		f.Hook = inspect.HookInput
	case len(x.opts.Self) > 0:
		f.Hook = inspect.HookForward
	}
	if e.App != "" {
		f.AppDone = true
		info := &appid.Info{SNI: []byte(e.SNI), HTTPHost: []byte(e.HTTPHost)}
		info.App, _ = appid.ParseApp(e.App) // "unknown" and names septa lacks: Unknown
		f.Info = info
	}
	if e.User != "" {
		f.UserDone = true
		groups := slices.Clone(e.Groups)
		slices.Sort(groups)
		f.User = &userid.Identity{Name: e.User, Groups: groups}
	}
	if e.Process != "" {
		f.ProcessDone, f.Process = true, e.Process
	}
	return f
}

// ImpactReport is the preview's result.
type ImpactReport struct {
	Flows   uint64 `json:"flows"`
	Allowed uint64 `json:"allowed"`
	// Denied are the flows the candidate would deny, by deciding rule in
	// evaluation order, the default last.
	Denied []RuleImpact `json:"denied"`
	// Undecided are the flows whose verdict needs facts their records
	// lack (the application, the user, the process), by the rule that
	// needs them.
	Undecided []RuleImpact `json:"undecided"`
}

// RuleImpact is the flows one rule decides.
type RuleImpact struct {
	Rule   string `json:"rule"`
	Origin string `json:"origin,omitempty"`
	// Needs lists the facts the records lack, for undecided flows.
	Needs []string     `json:"needs,omitempty"`
	Flows []ImpactFlow `json:"flows"`
}

// Report returns the result, in a stable order.
func (x *Impact) Report() *ImpactReport {
	r := &ImpactReport{Flows: x.flows, Allowed: x.allowed, Denied: []RuleImpact{}, Undecided: []RuleImpact{}}
	r.Denied = x.group(x.denied, nil)
	r.Undecided = x.group(x.undecided, x.missing)
	return r
}

func (x *Impact) group(m map[int][]ImpactFlow, needs map[int]inspect.Need) []RuleImpact {
	idx := make([]int, 0, len(m))
	for i := range m {
		idx = append(idx, i)
	}
	// Evaluation order, the default (-1) last.
	slices.SortFunc(idx, func(a, b int) int {
		if (a < 0) != (b < 0) {
			return cmp.Compare(b, a)
		}
		return cmp.Compare(a, b)
	})
	out := []RuleImpact{}
	for _, i := range idx {
		ri := RuleImpact{Rule: "(default: " + x.ir.Settings.Default.String() + ")"}
		if i >= 0 {
			ru := &x.ir.Rules[i]
			ri.Rule, ri.Origin = ru.ID, ru.Origin.String()
		}
		if n := needs[i]; n != 0 {
			ri.Needs = needNames(n)
		}
		fl := slices.Clone(m[i])
		slices.SortStableFunc(fl, func(a, b ImpactFlow) int {
			return cmp.Or(a.Time.Compare(b.Time), a.Src.Compare(b.Src), a.Dst.Compare(b.Dst))
		})
		ri.Flows = fl
		out = append(out, ri)
	}
	return out
}

func needNames(n inspect.Need) []string {
	var out []string
	if n&inspect.NeedApp != 0 {
		out = append(out, "app")
	}
	if n&inspect.NeedUser != 0 {
		out = append(out, "user")
	}
	if n&inspect.NeedProcess != 0 {
		out = append(out, "process")
	}
	return out
}

// WriteText writes the report for people: a summary, then the denied
// flows by rule, then those the records cannot decide.
func (r *ImpactReport) WriteText(w io.Writer) error {
	var b strings.Builder
	var denied, undecided int
	for _, ri := range r.Denied {
		denied += len(ri.Flows)
	}
	for _, ri := range r.Undecided {
		undecided += len(ri.Flows)
	}
	fmt.Fprintf(&b, "%s: %d allowed, %d denied, %d undecided (their records lack what a rule needs)\n",
		plural(r.Flows, "flow"), r.Allowed, denied, undecided)
	section := func(title string, list []RuleImpact) {
		for _, ri := range list {
			fmt.Fprintf(&b, "\n%s %s", title, ri.Rule)
			if ri.Origin != "" {
				fmt.Fprintf(&b, " (%s)", ri.Origin)
			}
			if len(ri.Needs) > 0 {
				fmt.Fprintf(&b, ", which needs the %s", strings.Join(ri.Needs, " and the "))
			}
			fmt.Fprintf(&b, ": %s\n", plural(uint64(len(ri.Flows)), "flow"))
			for _, f := range ri.Flows {
				obs := ""
				if f.Observe {
					obs = "  (observe: logged, not denied)"
				}
				fmt.Fprintf(&b, "  %s  %-4s %s -> %s  app %s  user %s  was %s%s\n",
					f.Time.UTC().Format(time.RFC3339), strings.ToLower(events.ProtoName(f.Proto)), f.Src, f.Dst,
					dashIfEmpty(f.App), dashIfEmpty(f.User), f.Was, obs)
			}
		}
	}
	section("denied by", r.Denied)
	section("undecided at", r.Undecided)
	_, err := io.WriteString(w, b.String())
	return err
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
