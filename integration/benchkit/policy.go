package benchkit

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/septa-fw/septa/nft"
	"github.com/septa-fw/septa/rules/ir"
)

// BigPolicy is a policy of rules rules over sets zones of perSet host
// addresses each (sets*perSet set elements): rule i allows TCP port
// 1000+i from zone i%sets to the host. Zones have only IPv4, so each rule
// becomes 4 kernel rules (rules_in, rules_fwd and their reply chains).
func BigPolicy(rules, sets, perSet int) *ir.Policy {
	sets = max(sets, 1)
	var ss []ir.Set
	for s := range sets {
		var ps []netip.Prefix
		for i := range perSet {
			// every other address, so that nothing merges
			n := s*perSet*2 + i*2
			ps = append(ps, netip.PrefixFrom(netip.AddrFrom4([4]byte{172, byte(16 + n>>16), byte(n >> 8), byte(n)}), 32))
		}
		ss = append(ss, ir.Set{Name: fmt.Sprintf("zone:z%03d", s), Kind: ir.SetZone, Prefixes: ps})
	}
	var rs []ir.Rule
	for i := range rules {
		port := uint16(1000 + i)
		rs = append(rs, ir.Rule{
			ID: fmt.Sprintf("r%05d", i), Index: i, Section: ir.SectionApplication,
			Action: ir.ActionAllow, Dir: ir.DirIn,
			From:   ir.Endpoint{Sets: []string{fmt.Sprintf("zone:z%03d", i%sets)}},
			To:     ir.Endpoint{Self: true},
			Ports:  []ir.Port{{Proto: ir.ProtoTCP, First: port, Last: port}},
			Origin: ir.Origin{File: "bench", Line: 1},
		})
	}
	return &ir.Policy{
		Settings: ir.Settings{Default: ir.ActionDeny, Mode: ir.ModeEnforce, FailMode: ir.FailClosed, Log: ir.LogNone},
		Sets:     ss,
		Rules:    rs,
	}
}

// NFTText renders a plan as `nft -f` input: the same table, sets and
// rules (what nft would load for the same policy). The plan must have no
// queue rules: their compat form cannot be loaded as text (KERNEL.md).
func NFTText(p *nft.Plan) string {
	var b strings.Builder
	b.WriteString("table inet " + p.Table + " {\n")
	for _, s := range p.Sets {
		fmt.Fprintf(&b, "set %s { type %s_addr;", s.Name, s.Family)
		var flags []string
		if s.Interval {
			flags = append(flags, "interval")
		}
		if s.Timeout {
			flags = append(flags, "timeout")
		}
		if len(flags) > 0 {
			b.WriteString(" flags " + strings.Join(flags, ",") + ";")
		}
		if len(s.Elements) > 0 {
			b.WriteString(" elements = { ")
			for i, e := range s.Elements {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString(e.String())
			}
			b.WriteString(" };")
		}
		b.WriteString(" }\n")
	}
	for _, c := range p.Chains {
		b.WriteString("chain " + c.Name + " {\n")
		if c.Hook != nft.HookNone {
			fmt.Fprintf(&b, "type filter hook %s priority %d; policy accept;\n", c.Hook, c.Priority)
		}
		for _, r := range c.Rules {
			line := r.String()
			line = strings.ReplaceAll(line, "meta iif 1", `iif "lo"`)
			line = strings.ReplaceAll(line, "meta oif 1", `oif "lo"`)
			b.WriteString(line + "\n")
		}
		b.WriteString("}\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// PlainRuleset is a hand-written nftables ruleset equivalent to a septa
// policy of kernel-only rules allowing TCP ports to the host (septa's
// failsafe SSH port 22 included) with default deny both ways: conntrack
// lets established flows through, loopback is open, everything else is
// dropped. Load it with `nft -f`; delete it with `nft delete table inet
// NAME`.
func PlainRuleset(table string, ports ...uint16) string {
	ps := []string{"22"}
	for _, p := range ports {
		ps = append(ps, fmt.Sprint(p))
	}
	return fmt.Sprintf(`table inet %s {
	chain input {
		type filter hook input priority 0; policy drop;
		ct state invalid drop
		ct state established,related accept
		iif "lo" accept
		icmpv6 type { 130-137, 143 } accept
		tcp dport { %s } ct state new accept
	}
	chain output {
		type filter hook output priority 0; policy drop;
		ct state invalid drop
		ct state established,related accept
		oif "lo" accept
		icmpv6 type { 130-137, 143 } accept
	}
}
`, table, strings.Join(ps, ", "))
}
