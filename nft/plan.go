package nft

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Plan is what one apply puts in the kernel: plain data, produced by
// PlanPolicy and encoded by the Firewall into one netlink batch. Its Dump
// reads like `nft list table`, for golden tests and `septa show --plan`.
type Plan struct {
	Table      string
	Generation uint64
	Caps       Caps
	Sets       []Set
	Chains     []Chain
	// Warnings are things the kernel leaves to the daemon (rule expiry
	// without meta time).
	Warnings []string
}

// Family is an address family of a set or a match.
type Family int

const (
	FamilyAny Family = iota // no address: matches both families
	FamilyIPv4
	FamilyIPv6
)

func (f Family) String() string {
	switch f {
	case FamilyIPv4:
		return "ipv4"
	case FamilyIPv6:
		return "ipv6"
	}
	return "any"
}

func (f Family) ip() string {
	if f == FamilyIPv6 {
		return "ip6"
	}
	return "ip"
}

func familyOf(a netip.Addr) Family {
	if a.Is4() {
		return FamilyIPv4
	}
	return FamilyIPv6
}

// SetRole says who owns a set's contents.
type SetRole int

const (
	SetRoleUnknown SetRole = iota
	// SetRolePolicy: a zone or group; every apply replaces its contents
	// with the policy's, and UpdateSet changes them in between.
	SetRolePolicy
	// SetRoleIdentity: filled at run time by the daemon; an apply creates
	// it (with the policy's elements, normally none) and keeps its
	// contents afterwards.
	SetRoleIdentity
	// SetRoleQuarantine: addresses with timeouts, kept across applies.
	SetRoleQuarantine
)

func (r SetRole) String() string {
	switch r {
	case SetRolePolicy:
		return "policy"
	case SetRoleIdentity:
		return "identity"
	case SetRoleQuarantine:
		return "quarantine"
	}
	return "unknown"
}

// Set is a named set of addresses of one family.
type Set struct {
	Name   string // in the kernel
	Source string // the IR set name ("zone:prod"); empty for septa's own sets
	Family Family
	Role   SetRole
	// Interval sets hold prefixes; the others (quarantine) hold addresses
	// with a timeout each.
	Interval bool
	Timeout  bool
	Elements []netip.Prefix
}

// Hook is where a base chain is attached.
type Hook int

const (
	HookNone Hook = iota // a regular chain, reached by jumps
	HookInput
	HookOutput
	HookForward
)

func (h Hook) String() string {
	switch h {
	case HookInput:
		return "input"
	case HookOutput:
		return "output"
	case HookForward:
		return "forward"
	}
	return "none"
}

// Chain is a base chain (Hook set, filter type, policy accept) or a
// regular chain.
type Chain struct {
	Name     string
	Hook     Hook
	Priority int32
	Rules    []Rule
}

// Rule is one kernel rule. ID names the IR rule it comes from (or one of
// septa's built-in rules, "septa:..."); it goes into the rule's userdata
// as its comment, so counters and errors map back to the policy.
type Rule struct {
	ID    string
	Stmts []Stmt
}

// Dump returns the plan in a stable text form close to nft syntax.
func (p *Plan) Dump() string {
	var b strings.Builder
	b.WriteString("table inet " + p.Table + " # generation " + strconv.FormatUint(p.Generation, 10) + " caps " + p.Caps.String() + "\n")
	for _, w := range p.Warnings {
		b.WriteString("# warning: " + w + "\n")
	}
	for _, s := range p.Sets {
		b.WriteString("set " + s.Name + " { type " + s.Family.String() + "_addr; role " + s.Role.String())
		var flags []string
		if s.Interval {
			flags = append(flags, "interval")
		}
		if s.Timeout {
			flags = append(flags, "timeout")
		}
		if len(flags) > 0 {
			b.WriteString("; flags " + strings.Join(flags, ","))
		}
		b.WriteString(" }")
		if s.Source != "" {
			b.WriteString(" # " + s.Source)
		}
		b.WriteString("\n")
		for _, e := range s.Elements {
			b.WriteString("  " + e.String() + "\n")
		}
	}
	for _, c := range p.Chains {
		b.WriteString("chain " + c.Name)
		if c.Hook != HookNone {
			b.WriteString(" { type filter hook " + c.Hook.String() + " priority " + strconv.Itoa(int(c.Priority)) + "; policy accept; }")
		}
		b.WriteString("\n")
		for _, r := range c.Rules {
			b.WriteString("  " + r.String() + "\n")
		}
	}
	return b.String()
}

// String is the rule in nft-like syntax with its ID as comment.
func (r Rule) String() string {
	parts := make([]string, 0, len(r.Stmts)+1)
	for _, s := range r.Stmts {
		parts = append(parts, s.String())
	}
	return strings.Join(parts, " ") + " comment " + strconv.Quote(r.ID)
}

// Stats counts a plan's kernel objects.
type Stats struct {
	Sets, Elements, Chains, Rules int
}

// Stats counts the plan's sets, set elements, chains and rules.
func (p *Plan) Stats() Stats {
	s := Stats{Sets: len(p.Sets), Chains: len(p.Chains)}
	for _, set := range p.Sets {
		s.Elements += len(set.Elements)
	}
	for _, c := range p.Chains {
		s.Rules += len(c.Rules)
	}
	return s
}

// RuleIDs returns the distinct rule IDs of the plan, in plan order.
func (p *Plan) RuleIDs() []string {
	seen := map[string]bool{}
	var ids []string
	for _, c := range p.Chains {
		for _, r := range c.Rules {
			if !seen[r.ID] {
				seen[r.ID] = true
				ids = append(ids, r.ID)
			}
		}
	}
	return ids
}

// Validate checks what the encoder needs of a plan, so that a batch is
// never half built: names and IDs the kernel accepts, statements with
// their operands. It does not check set elements against their set's
// family: the kernel does, and rejects the batch.
func (p *Plan) Validate() error {
	var errs []error
	if p.Table == "" || len(p.Table) > maxNameLen {
		errs = append(errs, fmt.Errorf("table name %q", p.Table))
	}
	sets := map[string]bool{}
	for _, s := range p.Sets {
		if s.Name == "" || len(s.Name) > maxNameLen || sets[s.Name] {
			errs = append(errs, fmt.Errorf("set name %q empty, too long or used twice", s.Name))
		}
		sets[s.Name] = true
		if s.Family != FamilyIPv4 && s.Family != FamilyIPv6 {
			errs = append(errs, fmt.Errorf("set %s: family %s", s.Name, s.Family))
		}
		if len(s.Source) > maxNameLen {
			errs = append(errs, fmt.Errorf("set %s: source name too long", s.Name))
		}
	}
	chains := map[string]bool{}
	for _, c := range p.Chains {
		if c.Name == "" || len(c.Name) > maxNameLen || chains[c.Name] {
			errs = append(errs, fmt.Errorf("chain name %q empty, too long or used twice", c.Name))
		}
		chains[c.Name] = true
	}
	for _, c := range p.Chains {
		for _, r := range c.Rules {
			if r.ID == "" || len(r.ID) > maxNameLen {
				errs = append(errs, fmt.Errorf("chain %s: rule id %q empty or too long", c.Name, r.ID))
			}
			for _, st := range r.Stmts {
				if err := checkStmt(st, chains); err != nil {
					errs = append(errs, fmt.Errorf("chain %s: rule %q: %s: %w", c.Name, r.ID, st, err))
				}
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid plan: %w", err)
	}
	return nil
}

func checkStmt(s Stmt, chains map[string]bool) error {
	switch s := s.(type) {
	case nil:
		return errors.New("nil statement")
	case Addr:
		if s.Family != FamilyIPv4 && s.Family != FamilyIPv6 {
			return fmt.Errorf("family %s", s.Family)
		}
		if s.Field != AddrSrc && s.Field != AddrDst {
			return fmt.Errorf("address field %d", s.Field)
		}
		if s.Set == "" && (len(s.Prefixes) == 0 || len(s.Prefixes) > maxLiteral) {
			return fmt.Errorf("want a set or 1 to %d prefixes", maxLiteral)
		}
		for _, p := range s.Prefixes {
			if !p.IsValid() || familyOf(p.Addr()) != s.Family {
				return fmt.Errorf("prefix %s not %s", p, s.Family)
			}
		}
	case NFProto:
		if s.Family != FamilyIPv4 && s.Family != FamilyIPv6 {
			return fmt.Errorf("family %s", s.Family)
		}
	case Port:
		if len(s.Ranges) == 0 || len(s.Ranges) > maxLiteral {
			return fmt.Errorf("want 1 to %d port ranges", maxLiteral)
		}
		for _, r := range s.Ranges {
			if r.First > r.Last {
				return fmt.Errorf("empty range %s", r)
			}
		}
	case Log:
		if len(s.Prefix) > maxLogPrefix {
			return fmt.Errorf("log prefix longer than %d bytes", maxLogPrefix)
		}
	case Verdict:
		switch s.Kind {
		case VerdictAccept, VerdictDrop:
		case VerdictJump:
			if !chains[s.Chain] {
				return fmt.Errorf("jump to unknown chain %q", s.Chain)
			}
		default:
			return fmt.Errorf("verdict kind %d", s.Kind)
		}
	case Queue:
		if s.Kind != QueueNative && s.Kind != QueueCompat {
			return ErrNoQueue
		}
		if int(s.Num)+int(max(s.Total, 1)) > 1<<16 {
			return fmt.Errorf("queues past 65535")
		}
	}
	return nil
}
