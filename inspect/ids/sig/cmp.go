package sig

import (
	"strings"
)

// numCmp is a numeric condition: N, !N, <N, >N, <=N, >=N, N<>M (exclusive)
// or N-M (inclusive), as dsize, bsize, urilen, itype and icode write it.
type numCmp struct {
	op     byte // '=', '!', '<', '>', 'l' (<=), 'g' (>=), 'r' (lo<x<hi), 'i' (lo<=x<=hi)
	lo, hi uint64
}

func parseNumCmp(v string, max uint64) (numCmp, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return numCmp{}, errf("empty value")
	}
	if i := strings.Index(v, "<>"); i > 0 {
		lo, err := parseUint(v[:i], max)
		if err != nil {
			return numCmp{}, err
		}
		hi, err := parseUint(v[i+2:], max)
		if err != nil {
			return numCmp{}, err
		}
		if lo >= hi {
			return numCmp{}, errf("range %d<>%d is empty", lo, hi)
		}
		return numCmp{op: 'r', lo: lo, hi: hi}, nil
	}
	switch {
	case strings.HasPrefix(v, "<="):
		n, err := parseUint(v[2:], max)
		return numCmp{op: 'l', lo: n}, err
	case strings.HasPrefix(v, ">="):
		n, err := parseUint(v[2:], max)
		return numCmp{op: 'g', lo: n}, err
	case v[0] == '<':
		n, err := parseUint(v[1:], max)
		return numCmp{op: '<', lo: n}, err
	case v[0] == '>':
		n, err := parseUint(v[1:], max)
		return numCmp{op: '>', lo: n}, err
	case v[0] == '!':
		n, err := parseUint(v[1:], max)
		return numCmp{op: '!', lo: n}, err
	case v[0] == '=':
		n, err := parseUint(v[1:], max)
		return numCmp{op: '=', lo: n}, err
	}
	if i := strings.IndexByte(v, '-'); i > 0 {
		lo, err := parseUint(v[:i], max)
		if err != nil {
			return numCmp{}, err
		}
		hi, err := parseUint(v[i+1:], max)
		if err != nil {
			return numCmp{}, err
		}
		if lo > hi {
			return numCmp{}, errf("range %d-%d is empty", lo, hi)
		}
		return numCmp{op: 'i', lo: lo, hi: hi}, nil
	}
	n, err := parseUint(v, max)
	return numCmp{op: '=', lo: n}, err
}

func (c numCmp) match(x uint64) bool {
	switch c.op {
	case '=':
		return x == c.lo
	case '!':
		return x != c.lo
	case '<':
		return x < c.lo
	case '>':
		return x > c.lo
	case 'l':
		return x <= c.lo
	case 'g':
		return x >= c.lo
	case 'r':
		return x > c.lo && x < c.hi
	case 'i':
		return x >= c.lo && x <= c.hi
	}
	return false
}
