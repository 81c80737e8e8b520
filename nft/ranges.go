package nft

import (
	"net/netip"
	"slices"
)

// addrRange is an inclusive range of addresses of one family. An interval
// set holds ranges: the kernel stores each as a start element and an end
// element (the address after the last one, flagged as interval end).
type addrRange struct{ from, to netip.Addr }

func prefixRange(p netip.Prefix) addrRange {
	p = p.Masked()
	from := p.Addr()
	b := from.AsSlice()
	hostBits := len(b)*8 - p.Bits()
	for i := len(b) - 1; i >= 0 && hostBits > 0; i-- {
		n := min(hostBits, 8)
		b[i] |= byte(1<<n - 1)
		hostBits -= n
	}
	to, _ := netip.AddrFromSlice(b)
	return addrRange{from, to}
}

// rangesOf returns the prefixes of one family as sorted, disjoint,
// non-adjacent ranges.
func rangesOf(ps []netip.Prefix) []addrRange {
	rs := make([]addrRange, 0, len(ps))
	for _, p := range ps {
		if p.IsValid() {
			rs = append(rs, prefixRange(p))
		}
	}
	return normalizeRanges(rs)
}

// normalizeRanges sorts ranges and joins overlapping and adjacent ones.
func normalizeRanges(rs []addrRange) []addrRange {
	if len(rs) == 0 {
		return nil
	}
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b addrRange) int { return a.from.Compare(b.from) })
	out := rs[:1]
	for _, r := range rs[1:] {
		last := &out[len(out)-1]
		if next := last.to.Next(); r.from.Compare(last.to) <= 0 || next.IsValid() && next == r.from {
			if r.to.Compare(last.to) > 0 {
				last.to = r.to
			}
			continue
		}
		out = append(out, r)
	}
	return out
}

// subtractRanges returns a minus b; both normalized.
func subtractRanges(a, b []addrRange) []addrRange {
	var out []addrRange
	j := 0
	for _, r := range a {
		cur := r
		for j < len(b) && b[j].to.Compare(cur.from) < 0 {
			j++
		}
		alive := true
		for k := j; k < len(b) && b[k].from.Compare(cur.to) <= 0; k++ {
			if b[k].from.Compare(cur.from) > 0 {
				out = append(out, addrRange{cur.from, b[k].from.Prev()})
			}
			if b[k].to.Compare(cur.to) >= 0 {
				alive = false
				break
			}
			cur.from = b[k].to.Next()
		}
		if alive {
			out = append(out, cur)
		}
	}
	return out
}

// diffRanges returns the ranges to delete from old and to add to get new,
// comparing whole ranges (the kernel deletes an interval only by its exact
// start and end).
func diffRanges(old, new []addrRange) (del, add []addrRange) {
	in := func(set []addrRange) map[addrRange]bool {
		m := make(map[addrRange]bool, len(set))
		for _, r := range set {
			m[r] = true
		}
		return m
	}
	oldSet, newSet := in(old), in(new)
	for _, r := range old {
		if !newSet[r] {
			del = append(del, r)
		}
	}
	for _, r := range new {
		if !oldSet[r] {
			add = append(add, r)
		}
	}
	return del, add
}
