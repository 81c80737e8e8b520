package nft

import (
	"fmt"
	"math/bits"
)

// The mark layout: septa owns a contiguous field of the 32-bit conntrack
// mark, chosen by Config.MarkMask (0x00fff000 by default, so that Docker,
// Kubernetes and others keep the bits they use: KERNEL.md #2). Within the
// field, counting from its lowest bit:
//
//	bits 0-1       verdict: 1 ALLOW, 2 DENY, 3 INSPECT (0: undecided)
//	bits 2..w-1    policy generation, modulo 2^(w-2)
//
// With the default mask the field is 12 bits wide: 2 verdict bits and 10
// generation bits (generations repeat every 1024 applies).
//
// Every decision in the kernel writes verdict|generation into the field
// and keeps the bits outside the mask (ct mark set ct mark & ~mask | v).
// The fast path honours only marks of the current generation: after a
// reload, a flow decided under an older generation is decided again by the
// new rules on its next packet, so a reload revokes the flows it no longer
// allows (DESIGN.md, failure behaviour) while the flows it still allows are
// re-marked with the new generation and never notice. A flow idle for
// exactly a multiple of 2^(w-2) generations would be honoured again under
// its old verdict; a wider mask makes that rarer.
//
// The inspector cannot set the conntrack mark from a queue verdict on
// every kernel (KERNEL.md #2). It sets the verdict bits of the packet mark
// instead (PacketMark), and accepts the packet; the verdict chain, at a
// later priority on the same hook, copies the verdict into the conntrack
// mark with the current generation, clears the packet's verdict bits (and
// only those: other software owns the other bits), and drops the packet if
// the verdict is DENY. So the inspector says DENY by accepting with the
// DENY mark, and a plain drop from the inspector drops one packet without
// deciding the flow.

// MarkVerdict is the verdict part of a septa mark.
type MarkVerdict uint8

const (
	MarkUndecided MarkVerdict = iota
	MarkAllow
	MarkDeny
	MarkInspect // keep sending the flow to the inspector
)

func (v MarkVerdict) String() string {
	switch v {
	case MarkUndecided:
		return "undecided"
	case MarkAllow:
		return "allow"
	case MarkDeny:
		return "deny"
	case MarkInspect:
		return "inspect"
	}
	return fmt.Sprintf("verdict-%d", uint8(v))
}

const verdictBits = 2

// MarkLayout places verdicts and generations in septa's part of a mark.
type MarkLayout struct {
	mask  uint32
	shift int // position of the field's lowest bit
	width int // bits in the field
}

// NewMarkLayout returns the layout for a mask: contiguous bits, at least 3
// of them (2 for the verdict, at least one for the generation).
func NewMarkLayout(mask uint32) (MarkLayout, error) {
	if mask == 0 {
		return MarkLayout{}, fmt.Errorf("mark mask is empty")
	}
	shift := bits.TrailingZeros32(mask)
	width := bits.OnesCount32(mask)
	if mask>>shift != 1<<width-1 {
		return MarkLayout{}, fmt.Errorf("mark mask %#08x is not contiguous", mask)
	}
	if width < verdictBits+1 {
		return MarkLayout{}, fmt.Errorf("mark mask %#08x has %d bits, want at least 3", mask, width)
	}
	return MarkLayout{mask: mask, shift: shift, width: width}, nil
}

// Mask is the whole field.
func (l MarkLayout) Mask() uint32 { return l.mask }

// VerdictMask is the verdict bits of the field.
func (l MarkLayout) VerdictMask() uint32 { return (1<<verdictBits - 1) << l.shift }

// Generations is how many generations the field tells apart.
func (l MarkLayout) Generations() uint64 { return 1 << (l.width - verdictBits) }

// Value is the field for a verdict decided under a generation, in place
// (already shifted), for the conntrack mark.
func (l MarkLayout) Value(v MarkVerdict, gen uint64) uint32 {
	g := uint32(gen % l.Generations())
	return (g<<verdictBits | uint32(v)&(1<<verdictBits-1)) << l.shift
}

// PacketMark is the verdict as the inspector puts it in the packet mark
// (OR it into the packet's mark, keeping the bits outside VerdictMask).
func (l MarkLayout) PacketMark(v MarkVerdict) uint32 {
	return uint32(v) & (1<<verdictBits - 1) << l.shift
}

// Decode splits a conntrack mark into septa's verdict and generation bits.
func (l MarkLayout) Decode(mark uint32) (MarkVerdict, uint64) {
	f := (mark & l.mask) >> l.shift
	return MarkVerdict(f & (1<<verdictBits - 1)), uint64(f >> verdictBits)
}
