// Package nft is septa's kernel side: it turns a compiled policy
// (rules/ir) into one nftables transaction on the table it owns (inet
// septa), updates that table's sets without touching its rules, probes
// what the kernel can do, and reads the rules' counters back.
//
// The work is split in two halves:
//
//   - a pure planner (PlanPolicy) from an *ir.Policy, a Config, a policy
//     generation and the kernel's Caps to a Plan: plain data (sets with
//     their elements, chains, rules as statements that print like nft
//     syntax). It runs anywhere and is tested with go-cmp and fuzzing;
//   - a Linux-only Firewall that encodes a Plan with github.com/google/nftables
//     and sends it as one netlink batch, which the kernel commits or
//     rejects as a whole.
//
// The packet path it builds, per hook (input, output, forward):
//
//	ct state invalid                       -> drop
//	loopback (iif/oif lo), IPv6 ND         -> accept
//	saddr/daddr in a quarantine set        -> drop
//	ct mark (under the mask) = ALLOW|gen   -> accept      (decided flows)
//	ct mark                  = DENY|gen    -> drop
//	ct mark                  = INSPECT|gen -> queue
//	the compiled rules, in IR order        -> mark the flow, accept | drop | reject | queue
//	the default                            -> deny, or observe (log and accept)
//
// and, at a later priority on the same hooks, a verdict chain that copies
// the inspector's verdict from the packet mark into the conntrack mark
// (mark.go explains the layout and why).
//
// Quarantine comes before the decided-flows fast path, not after it:
// quarantining a host must cut its open sessions too (DESIGN.md, failure
// behaviour), and two hash lookups per packet are cheap.
//
// This package imports rules/ir and google/nftables, never rules, inspect
// or daemon. It returns errors and logs nothing.
package nft
