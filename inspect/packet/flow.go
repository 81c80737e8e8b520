package packet

import (
	"encoding/binary"
	"hash/maphash"
	"net/netip"
)

// FlowKey identifies a flow in both directions: the same key for a packet
// and its reply. The lower endpoint (by address, then port) is A.
type FlowKey struct {
	A, B  netip.AddrPort
	Proto uint8
}

// Key returns the flow key of a packet, and whether the packet goes from
// A to B (the key's forward direction).
func (p *Packet) Key() (FlowKey, bool) {
	src := netip.AddrPortFrom(p.Src, p.SrcPort)
	dst := netip.AddrPortFrom(p.Dst, p.DstPort)
	if src.Compare(dst) <= 0 {
		return FlowKey{A: src, B: dst, Proto: p.Proto}, true
	}
	return FlowKey{A: dst, B: src, Proto: p.Proto}, false
}

// Hash returns a hash of the key under seed, without allocating.
func (k FlowKey) Hash(seed maphash.Seed) uint64 {
	var buf [2*18 + 1]byte
	a16, b16 := k.A.Addr().As16(), k.B.Addr().As16()
	copy(buf[0:16], a16[:])
	binary.BigEndian.PutUint16(buf[16:18], k.A.Port())
	copy(buf[18:34], b16[:])
	binary.BigEndian.PutUint16(buf[34:36], k.B.Port())
	buf[36] = k.Proto
	return maphash.Bytes(seed, buf[:])
}

// Verdict is the inspector's decision on a packet's flow.
type Verdict uint8

const (
	VerdictUnknown Verdict = iota
	// Allow: the flow is allowed for good; the kernel takes it over.
	Allow
	// Deny: the flow is denied for good; TCP gets a reset.
	Deny
	// Inspect: pass (or hold) this packet and keep inspecting the flow.
	Inspect
)

func (v Verdict) String() string {
	switch v {
	case Allow:
		return "allow"
	case Deny:
		return "deny"
	case Inspect:
		return "inspect"
	}
	return "unknown"
}

// Reason says why a verdict was given. The numbers are stable: they reach
// logs, EVE records and metrics. Retire a value, never renumber it.
type Reason uint8

const (
	ReasonUnknown     Reason = 0
	ReasonPolicy      Reason = 1  // a policy rule decided
	ReasonDefault     Reason = 2  // no rule matched: the policy's default
	ReasonApp         Reason = 3  // the application did not match the rule
	ReasonUser        Reason = 4  // the user did not match the rule
	ReasonProcess     Reason = 5  // the process did not match the rule
	ReasonSignature   Reason = 6  // an IDS signature in prevent mode
	ReasonQuarantine  Reason = 7  // the source is quarantined
	ReasonDecodeError Reason = 8  // the packet could not be decoded
	ReasonFlowTable   Reason = 9  // the flow table was full
	ReasonPanic       Reason = 10 // the inspector recovered from a panic: fail_mode
	ReasonDepth       Reason = 11 // inspection depth reached without a decision
	ReasonFailMode    Reason = 12 // the inspector could not inspect: fail_mode
	ReasonObserve     Reason = 13 // would have been denied; observe mode let it pass
	ReasonEvasion     Reason = 14 // TCP segments overlapped with different bytes
	reasonCount              = 15
)

// NumReasons is one more than the largest Reason, for counter arrays.
const NumReasons = reasonCount

func (r Reason) String() string {
	switch r {
	case ReasonPolicy:
		return "policy"
	case ReasonDefault:
		return "default"
	case ReasonApp:
		return "app"
	case ReasonUser:
		return "user"
	case ReasonProcess:
		return "process"
	case ReasonSignature:
		return "signature"
	case ReasonQuarantine:
		return "quarantine"
	case ReasonDecodeError:
		return "decode-error"
	case ReasonFlowTable:
		return "flow-table-full"
	case ReasonPanic:
		return "panic"
	case ReasonDepth:
		return "depth"
	case ReasonFailMode:
		return "fail-mode"
	case ReasonObserve:
		return "observe"
	case ReasonEvasion:
		return "evasion"
	}
	return "unknown"
}
