package inspect

import (
	"encoding/binary"
	"net/netip"
	"slices"
)

// addrSet is a set of addresses as sorted, disjoint ranges of 128-bit
// values (IPv4 as IPv4-mapped IPv6), for lookups that allocate nothing.
type addrSet struct {
	ranges []addrRange
}

type addrRange struct{ lo, hi u128 }

type u128 struct{ hi, lo uint64 }

func (a u128) less(b u128) bool { return a.hi < b.hi || a.hi == b.hi && a.lo < b.lo }

func toU128(a netip.Addr) u128 {
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

// prefixRange returns the first and last address of a prefix.
func prefixRange(p netip.Prefix) addrRange {
	p = p.Masked()
	lo := toU128(p.Addr())
	bits := p.Bits()
	if p.Addr().Is4() {
		bits += 96
	}
	hi := lo
	host := 128 - bits
	switch {
	case host >= 64:
		hi.lo = ^uint64(0)
		if host >= 128 {
			hi.hi = ^uint64(0)
		} else if host > 64 {
			hi.hi |= 1<<(host-64) - 1
		}
	case host > 0:
		hi.lo |= 1<<host - 1
	}
	return addrRange{lo, hi}
}

func newAddrSet(ps []netip.Prefix) *addrSet {
	s := &addrSet{ranges: make([]addrRange, 0, len(ps))}
	for _, p := range ps {
		s.ranges = append(s.ranges, prefixRange(p))
	}
	slices.SortFunc(s.ranges, func(a, b addrRange) int {
		switch {
		case a.lo.less(b.lo):
			return -1
		case b.lo.less(a.lo):
			return 1
		}
		return 0
	})
	// Merge overlaps, so that a binary search on lo finds the one range
	// that can hold an address.
	out := s.ranges[:0]
	for _, r := range s.ranges {
		if n := len(out); n > 0 && !out[n-1].hi.less(r.lo) {
			if out[n-1].hi.less(r.hi) {
				out[n-1].hi = r.hi
			}
			continue
		}
		out = append(out, r)
	}
	s.ranges = out
	return s
}

func (s *addrSet) contains(a netip.Addr) bool {
	if s == nil || len(s.ranges) == 0 {
		return false
	}
	// An IPv4 address and its IPv4-mapped IPv6 form are the same value.
	v := toU128(a)
	// The last range whose lo <= v.
	i, j := 0, len(s.ranges)
	for i < j {
		h := int(uint(i+j) >> 1)
		if !v.less(s.ranges[h].lo) {
			i = h + 1
		} else {
			j = h
		}
	}
	if i == 0 {
		return false
	}
	return !s.ranges[i-1].hi.less(v)
}
