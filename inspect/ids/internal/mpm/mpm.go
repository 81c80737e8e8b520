// Package mpm is the signature engine's multi-pattern prefilter: an
// Aho-Corasick automaton over ASCII-lower-cased patterns. It reports
// which patterns occur in a text, case-insensitively; the engine then
// confirms each candidate with its full, case-exact match chain.
//
// The root state has a dense 256-entry table (most bytes fail there);
// deeper states keep their few edges sorted in one flat array, so the
// automaton of all of ET Open's fast patterns fits in a few megabytes
// where a dense DFA would take hundreds. A built Matcher is immutable and
// safe for concurrent use; Scan allocates nothing.
//
// It imports the standard library only.
package mpm

import "sort"

// Matcher is a built automaton.
type Matcher struct {
	root [256]int32
	// Per state (state 0 is the root).
	edgeStart []int32 // edges of state s: edgeByte/edgeNext[edgeStart[s]:edgeStart[s+1]]
	fail      []int32
	outStart  []int32 // patterns ending at s (its own and via fail links): out[outStart[s]:outStart[s+1]]
	edgeByte  []byte
	edgeNext  []int32
	out       []int32
	npat      int
}

var lower = func() (t [256]byte) {
	for i := range t {
		c := byte(i)
		if c >= 'A' && c <= 'Z' {
			c += 32
		}
		t[i] = c
	}
	return t
}()

// Build makes a matcher for patterns; pattern i is reported as i. Empty
// patterns are never reported.
func Build(patterns [][]byte) *Matcher {
	type node struct {
		next map[byte]int32
		out  []int32
	}
	nodes := []node{{next: map[byte]int32{}}}
	for i, p := range patterns {
		if len(p) == 0 {
			continue
		}
		s := int32(0)
		for _, c := range p {
			c = lower[c]
			n, ok := nodes[s].next[c]
			if !ok {
				n = int32(len(nodes))
				nodes = append(nodes, node{next: map[byte]int32{}})
				nodes[s].next[c] = n
			}
			s = n
		}
		nodes[s].out = append(nodes[s].out, int32(i))
	}
	m := &Matcher{npat: len(patterns)}
	ns := len(nodes)
	m.fail = make([]int32, ns)
	// Breadth-first order for fail links; outputs merge along them.
	order := make([]int32, 0, ns)
	for c := 0; c < 256; c++ {
		if n, ok := nodes[0].next[byte(c)]; ok {
			m.root[c] = n
			m.fail[n] = 0
			order = append(order, n)
		}
	}
	for i := 0; i < len(order); i++ {
		s := order[i]
		keys := sortedKeys(nodes[s].next)
		for _, c := range keys {
			n := nodes[s].next[c]
			order = append(order, n)
			f := m.fail[s]
			for {
				if nx, ok := nodes[f].next[c]; ok && nx != n {
					m.fail[n] = nx
					break
				}
				if f == 0 {
					m.fail[n] = m.root[c]
					if m.fail[n] == n {
						m.fail[n] = 0
					}
					break
				}
				f = m.fail[f]
			}
			// BFS order means the fail target's outputs are final.
			nodes[n].out = append(nodes[n].out, nodes[m.fail[n]].out...)
		}
	}
	m.edgeStart = make([]int32, ns+1)
	m.outStart = make([]int32, ns+1)
	for s := 0; s < ns; s++ {
		m.edgeStart[s] = int32(len(m.edgeByte))
		m.outStart[s] = int32(len(m.out))
		if s != 0 {
			for _, c := range sortedKeys(nodes[s].next) {
				m.edgeByte = append(m.edgeByte, c)
				m.edgeNext = append(m.edgeNext, nodes[s].next[c])
			}
		}
		m.out = append(m.out, nodes[s].out...)
	}
	m.edgeStart[ns] = int32(len(m.edgeByte))
	m.outStart[ns] = int32(len(m.out))
	return m
}

func sortedKeys(m map[byte]int32) []byte {
	k := make([]byte, 0, len(m))
	for c := range m {
		k = append(k, c)
	}
	sort.Slice(k, func(i, j int) bool { return k[i] < k[j] })
	return k
}

// States returns the number of states, for memory reports.
func (m *Matcher) States() int { return len(m.fail) }

// Hits collects the patterns a scan found. Its buffers are sized for the
// matcher once and reused; Reset between scans of one packet is not
// needed (a pattern is reported once per Reset).
type Hits struct {
	IDs   []int32
	stamp []uint32
	gen   uint32
}

// NewHits returns a Hits for a matcher with n patterns.
func NewHits(n int) *Hits {
	return &Hits{IDs: make([]int32, 0, n), stamp: make([]uint32, n)}
}

// Reset forgets the reported patterns.
func (h *Hits) Reset() {
	h.IDs = h.IDs[:0]
	h.gen++
	if h.gen == 0 {
		clear(h.stamp)
		h.gen = 1
	}
}

func (m *Matcher) next(s int32, c byte) int32 {
	lo, hi := m.edgeStart[s], m.edgeStart[s+1]
	for lo < hi {
		if m.edgeByte[lo] == c {
			return m.edgeNext[lo]
		}
		if m.edgeByte[lo] > c {
			break
		}
		lo++
	}
	return -1
}

// Scan reports into h every pattern occurring in text (case-insensitive).
// h must come from NewHits with at least this matcher's pattern count.
func (m *Matcher) Scan(text []byte, h *Hits) {
	s := int32(0)
	for _, c := range text {
		c = lower[c]
		for {
			if s == 0 {
				s = m.root[c]
				break
			}
			if n := m.next(s, c); n >= 0 {
				s = n
				break
			}
			s = m.fail[s]
		}
		if o, e := m.outStart[s], m.outStart[s+1]; o < e {
			for _, p := range m.out[o:e] {
				if h.stamp[p] != h.gen {
					h.stamp[p] = h.gen
					h.IDs = append(h.IDs, p)
				}
			}
		}
	}
}
