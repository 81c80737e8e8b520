package sig

import (
	"cmp"
	"net/netip"
	"slices"
)

// A header's address and port expressions are compiled into sorted,
// disjoint interval sets, so that a packet's address is checked with a
// binary search instead of a walk over a list of hundreds of prefixes
// (ET Open's reputation rules). Negation is resolved at compile time.

// u128 is an address (IPv6, or IPv4 and ports in lo) as a number.
type u128 struct{ hi, lo uint64 }

func (a u128) cmp(b u128) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	return cmp.Compare(a.lo, b.lo)
}

func (a u128) less(b u128) bool { return a.hi < b.hi || a.hi == b.hi && a.lo < b.lo }

func (a u128) inc() u128 {
	a.lo++
	if a.lo == 0 {
		a.hi++
	}
	return a
}

func (a u128) dec() u128 {
	if a.lo == 0 {
		a.hi--
	}
	a.lo--
	return a
}

// span is an inclusive interval.
type span struct{ lo, hi u128 }

// spans is a sorted list of disjoint, non-adjacent spans of one
// family, whose largest value is max.
type spans []span

var (
	max4    = u128{lo: 0xffffffff}
	max6    = u128{hi: ^uint64(0), lo: ^uint64(0)}
	maxPort = u128{lo: 0xffff}
)

// normalize sorts and merges overlapping and adjacent spans in place.
func (s spans) normalize() spans {
	if len(s) == 0 {
		return nil
	}
	slices.SortFunc(s, func(a, b span) int { return a.lo.cmp(b.lo) })
	out := s[:1]
	for _, x := range s[1:] {
		last := &out[len(out)-1]
		if last.hi.cmp(max6) != 0 && x.lo.cmp(last.hi.inc()) <= 0 {
			if x.hi.cmp(last.hi) > 0 {
				last.hi = x.hi
			}
			continue
		}
		out = append(out, x)
	}
	return slices.Clip(out)
}

func union(a, b spans) spans {
	out := make(spans, 0, len(a)+len(b))
	out = append(append(out, a...), b...)
	return out.normalize()
}

// complement returns the values of [0, max] not in s.
func complement(s spans, max u128) spans {
	var out spans
	next := u128{}
	done := false
	for _, x := range s {
		if x.lo.cmp(next) > 0 {
			out = append(out, span{next, x.lo.dec()})
		}
		if x.hi.cmp(max) >= 0 {
			done = true
			break
		}
		next = x.hi.inc()
	}
	if !done {
		out = append(out, span{next, max})
	}
	return out
}

func intersect(a, b spans, max u128) spans {
	return complement(union(complement(a, max), complement(b, max)), max)
}

// contains reports whether v is in s.
func (s spans) contains(v u128) bool {
	if len(s) <= 8 {
		// Short lists ($HOME_NET, its complement, port lists) are
		// walked: the spans are sorted.
		for i := range s {
			if v.less(s[i].lo) {
				return false
			}
			if !s[i].hi.less(v) {
				return true
			}
		}
		return false
	}
	lo, hi := 0, len(s)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s[m].hi.less(v) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo < len(s) && !v.less(s[lo].lo)
}

// size returns the number of values in s, saturating at 2^64-1.
func (s spans) size() uint64 {
	var n uint64
	for _, x := range s {
		if x.hi.hi != x.lo.hi {
			return ^uint64(0)
		}
		d := x.hi.lo - x.lo.lo
		if d == ^uint64(0) || n+d+1 < n {
			return ^uint64(0)
		}
		n += d + 1
	}
	return n
}

// ipSet is a compiled address expression.
type ipSet struct {
	all    bool // every address
	v4, v6 spans
}

func addrKey(a netip.Addr) (v u128, is4 bool) {
	a = a.Unmap()
	if a.Is4() {
		b := a.As4()
		return u128{lo: uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])}, true
	}
	b := a.As16()
	var hi, lo uint64
	for i := 0; i < 8; i++ {
		hi = hi<<8 | uint64(b[i])
		lo = lo<<8 | uint64(b[i+8])
	}
	return u128{hi, lo}, false
}

func (s *ipSet) contains(a netip.Addr) bool {
	if s.all {
		return true
	}
	if !a.IsValid() {
		return false
	}
	v, is4 := addrKey(a)
	if is4 {
		return s.v4.contains(v)
	}
	return s.v6.contains(v)
}

// compileAddr resolves e into an ipSet.
func compileAddr(e *addrExpr) ipSet {
	v4, v6 := e.addrSpans()
	if e.neg {
		v4, v6 = complement(v4, max4), complement(v6, max6)
	}
	return ipSet{
		all: len(v4) == 1 && v4[0] == span{hi: max4} && len(v6) == 1 && v6[0] == span{hi: max6},
		v4:  v4, v6: v6,
	}
}

// addrSpans returns the addresses innerAddr accepts.
func (e *addrExpr) addrSpans() (v4, v6 spans) {
	switch {
	case e.any:
		return spans{{hi: max4}}, spans{{hi: max6}}
	case e.leaf:
		p := e.prefix
		if !p.IsValid() {
			return nil, nil
		}
		lo, is4 := addrKey(p.Addr())
		if is4 && p.Addr().Is4() {
			bits := 32 - p.Bits()
			hi := u128{lo: lo.lo | (uint64(1)<<bits - 1)}
			return spans{{lo, hi}}, nil
		}
		if p.Addr().Is4In6() {
			// Prefix.Contains never matches an unmapped address
			// against a mapped prefix.
			return nil, nil
		}
		bits := 128 - p.Bits()
		hi := lo
		switch {
		case bits >= 64:
			hi.lo = ^uint64(0)
			if bits == 128 {
				hi.hi = ^uint64(0)
			} else {
				hi.hi |= uint64(1)<<(bits-64) - 1
			}
		default:
			hi.lo |= uint64(1)<<bits - 1
		}
		return nil, spans{{lo, hi}}
	}
	var pos4, pos6, neg4, neg6 spans
	hasPos := false
	for i := range e.items {
		it := &e.items[i]
		a4, a6 := it.addrSpans()
		if it.neg {
			neg4, neg6 = union(neg4, a4), union(neg6, a6)
			continue
		}
		hasPos = true
		pos4, pos6 = union(pos4, a4), union(pos6, a6)
	}
	if !hasPos {
		pos4, pos6 = spans{{hi: max4}}, spans{{hi: max6}}
	}
	return intersect(pos4, complement(neg4, max4), max4), intersect(pos6, complement(neg6, max6), max6)
}

// portSet is a compiled port expression.
type portSet struct {
	all bool
	s   spans
}

func (s *portSet) contains(p uint16) bool {
	return s.all || s.s.contains(u128{lo: uint64(p)})
}

func compilePort(e *addrExpr) portSet {
	s := e.portSpans()
	if e.neg {
		s = complement(s, maxPort)
	}
	return portSet{all: len(s) == 1 && s[0] == span{hi: maxPort}, s: s}
}

// portSpans returns the ports innerPort accepts.
func (e *addrExpr) portSpans() spans {
	switch {
	case e.any:
		return spans{{hi: maxPort}}
	case e.leaf:
		return spans{{u128{lo: uint64(e.lo)}, u128{lo: uint64(e.hi)}}}
	}
	var pos, neg spans
	hasPos := false
	for i := range e.items {
		it := &e.items[i]
		if it.neg {
			neg = union(neg, it.portSpans())
			continue
		}
		hasPos = true
		pos = union(pos, it.portSpans())
	}
	if !hasPos {
		pos = spans{{hi: maxPort}}
	}
	return intersect(pos, complement(neg, maxPort), maxPort)
}
