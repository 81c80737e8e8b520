package ir

import (
	"net/netip"
	"slices"
)

// MergePrefixes returns the canonical form of a prefix list: masked,
// without prefixes contained in others, siblings joined into their parent,
// IPv4 before IPv6, sorted by address. IPv4-mapped IPv6 addresses are
// turned into IPv4. The input is not modified.
func MergePrefixes(in []netip.Prefix) []netip.Prefix {
	if len(in) == 0 {
		return nil
	}
	ps := make([]netip.Prefix, 0, len(in))
	for _, p := range in {
		if !p.IsValid() {
			continue
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		ps = append(ps, p.Masked())
	}
	for {
		slices.SortFunc(ps, comparePrefix)
		out := ps[:0]
		changed := false
		for _, p := range ps {
			if n := len(out); n > 0 {
				last := out[n-1]
				// Sorted by address then by length: a container comes
				// before everything it contains.
				if last.Bits() <= p.Bits() && last.Contains(p.Addr()) && last.Addr().Is4() == p.Addr().Is4() {
					changed = changed || last != p
					continue
				}
				if parent, ok := siblings(last, p); ok {
					out[n-1] = parent
					changed = true
					continue
				}
			}
			out = append(out, p)
		}
		ps = out
		if !changed {
			return slices.Clip(ps)
		}
	}
}

// siblings reports whether a and b are the two halves of one prefix, and
// returns it.
func siblings(a, b netip.Prefix) (netip.Prefix, bool) {
	if a.Bits() != b.Bits() || a.Bits() == 0 || a.Addr().Is4() != b.Addr().Is4() {
		return netip.Prefix{}, false
	}
	pa, _ := a.Addr().Prefix(a.Bits() - 1)
	pb, _ := b.Addr().Prefix(b.Bits() - 1)
	if pa != pb {
		return netip.Prefix{}, false
	}
	return pa, true
}

func comparePrefix(a, b netip.Prefix) int {
	if a4, b4 := a.Addr().Is4(), b.Addr().Is4(); a4 != b4 {
		if a4 {
			return -1
		}
		return 1
	}
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}

// ComparePrefix orders prefixes as MergePrefixes does.
func ComparePrefix(a, b netip.Prefix) int { return comparePrefix(a, b) }
