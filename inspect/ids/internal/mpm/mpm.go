// Package mpm is the signature engine's multi-pattern prefilter: an
// Aho-Corasick automaton over ASCII-lower-cased patterns. It reports
// which patterns occur in a text, case-insensitively; the engine then
// confirms each candidate with its full, case-exact match chain.
//
// The automaton runs on byte classes (the bytes of the patterns, and one
// class for all others). The hot states (the root, the states one byte
// deep, the states with the most edges, then the shallowest, up to a
// memory budget) have a dense row, one transition per class with the
// fail links already followed, so a scan spends one load per byte there.
// The others keep their few edges and their fail link, so the automaton
// of all of ET Open's fast patterns stays in megabytes where a dense DFA
// would take hundreds. States are numbered dense ones first, and a state
// number carries a flag when patterns end there, so the common step (a
// dense state, no pattern) reads nothing but its row. A built Matcher is
// immutable and safe for concurrent use; Scan allocates nothing.
//
// It imports the standard library only.
package mpm

import "sort"

// Matcher is a built automaton.
type Matcher struct {
	// rows[s*nc+class[c]] is the next state from dense state s (s <
	// ndense) on byte c; the root is state 0. Sparse states' edges are
	// on classes too.
	rows   []int32
	ndense int32
	nc     int       // byte classes: the row width
	class  [256]byte // byte -> class, lower-casing included
	st     []state   // per state; only sparse states use edges and fail
	// Edges of the sparse states, sorted by byte within a state.
	edgeByte []byte
	edgeNext []int32
	// out[outStart[slot]:outStart[slot+1]] are the patterns ending in
	// the state with outSlot slot (its own and through fail links).
	outStart []int32
	out      []int32
	npat     int
	nout     int // states with patterns
	maxLen   int // the longest pattern's length
}

// A state number is an index into st, with outFlag set when patterns end
// in that state.
const (
	outFlag = int32(-1 << 31)
	idxMask = int32(1<<31 - 1)
)

// state is one sparse automaton state, laid out so that a step through
// it touches one cache line: up to two edges inline, more in the flat
// edge arrays.
type state struct {
	fail int32 // a state number
	// n <= 2: the edges are byte[:n] to next[:n]; n > 2: they are
	// edgeByte/edgeNext[next[0]:next[1]].
	next [2]int32
	byte [2]byte
	n    uint8
	// outSlot is the dense index among the states with patterns (-1:
	// none); their patterns are out[outStart[slot]:outStart[slot+1]].
	outSlot int32
}

// Dense row budget per automaton (4 bytes per class each): the root,
// every state one byte deep, the states with at least minDenseEdges
// edges, most edges first, then the rest in breadth-first order.
const (
	maxDenseBytes = 4 << 20
	minDenseEdges = 3
)

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
func Build(patterns [][]byte) *Matcher { return build(patterns, -1) }

// trie is the automaton while it is built, in insertion numbering.
type trie struct {
	next []map[byte]int32
	out  [][]int32
	fail []int32
}

// build builds with at most maxRows dense rows (-1: as many as
// maxDenseBytes holds).
func build(patterns [][]byte, maxRows int) *Matcher {
	// Byte classes: the (lower-cased) bytes of the patterns get a class
	// each, from 1; the bytes in no pattern share class 0. The automaton
	// runs on classes, so a dense row has as many entries as classes.
	var used [256]bool
	for _, p := range patterns {
		for _, c := range p {
			used[lower[c]] = true
		}
	}
	var class [256]byte
	nc := 1
	for c := range 256 {
		if used[c] {
			class[c] = byte(nc)
			nc++
		}
	}
	if maxRows < 0 {
		maxRows = max(maxDenseBytes/(4*nc), 1)
	}
	t := &trie{next: []map[byte]int32{{}}, out: [][]int32{nil}}
	for i, p := range patterns {
		if len(p) == 0 {
			continue
		}
		s := int32(0)
		for _, c := range p {
			c = class[lower[c]]
			n, ok := t.next[s][c]
			if !ok {
				n = int32(len(t.next))
				t.next = append(t.next, map[byte]int32{})
				t.out = append(t.out, nil)
				t.next[s][c] = n
			}
			s = n
		}
		t.out[s] = append(t.out[s], int32(i))
	}
	order := t.link()
	dense := t.pickDense(order, maxRows)
	m := t.compile(order, dense, len(patterns), nc)
	for c := range 256 {
		m.class[c] = class[lower[c]]
	}
	for _, p := range patterns {
		m.maxLen = max(m.maxLen, len(p))
	}
	return m
}

// link sets the fail links and merges outputs along them; it returns
// the states in breadth-first order, the root first.
func (t *trie) link() []int32 {
	ns := len(t.next)
	t.fail = make([]int32, ns)
	order := make([]int32, 1, ns)
	for i := 0; i < len(order); i++ {
		s := order[i]
		for _, c := range sortedKeys(t.next[s]) {
			n := t.next[s][c]
			order = append(order, n)
			if s != 0 {
				f := t.fail[s]
				for {
					if nx, ok := t.next[f][c]; ok {
						t.fail[n] = nx
						break
					}
					if f == 0 {
						break // fail[n] stays the root
					}
					f = t.fail[f]
				}
			}
			// Breadth-first order means the fail target's outputs are
			// final.
			t.out[n] = append(t.out[n], t.out[t.fail[n]]...)
		}
	}
	return order
}

// pickDense returns which states get dense rows (at most maxRows): the
// root, the states one byte deep, by edge count, then breadth first.
func (t *trie) pickDense(order []int32, maxRows int) []bool {
	dense := make([]bool, len(t.next))
	dense[0] = true
	budget := maxRows - 1
	for _, n := range t.next[0] {
		if budget > 0 {
			dense[n] = true
			budget--
		}
	}
	var rest []int32
	for _, s := range order {
		if !dense[s] && len(t.next[s]) >= minDenseEdges {
			rest = append(rest, s)
		}
	}
	sort.SliceStable(rest, func(i, j int) bool { return len(t.next[rest[i]]) > len(t.next[rest[j]]) })
	for _, s := range rest[:min(len(rest), max(budget, 0))] {
		dense[s] = true
		budget--
	}
	for _, s := range order {
		if budget <= 0 {
			break
		}
		if !dense[s] {
			dense[s] = true
			budget--
		}
	}
	return dense
}

// compile numbers the states (dense ones first, each group in
// breadth-first order) and lays out the tables.
func (t *trie) compile(order []int32, dense []bool, npat, nc int) *Matcher {
	ns := len(order)
	num := make([]int32, ns) // trie state -> state index
	m := &Matcher{npat: npat, st: make([]state, ns), nc: nc}
	for _, s := range order {
		if dense[s] {
			num[s] = m.ndense
			m.ndense++
		}
	}
	next := m.ndense
	for _, s := range order {
		if !dense[s] {
			num[s] = next
			next++
		}
	}
	ref := func(s int32) int32 { // trie state -> state number
		if len(t.out[s]) > 0 {
			return num[s] | outFlag
		}
		return num[s]
	}
	for _, s := range order {
		st := &m.st[num[s]]
		st.fail = ref(t.fail[s])
		st.outSlot = -1
		if len(t.out[s]) > 0 {
			st.outSlot = int32(m.nout)
			m.nout++
			m.outStart = append(m.outStart, int32(len(m.out)))
			m.out = append(m.out, t.out[s]...)
		}
		if dense[s] {
			continue
		}
		keys := sortedKeys(t.next[s])
		st.n = uint8(min(len(keys), 3))
		if len(keys) <= 2 {
			for j, c := range keys {
				st.byte[j], st.next[j] = c, ref(t.next[s][c])
			}
			continue
		}
		st.next[0] = int32(len(m.edgeByte))
		for _, c := range keys {
			m.edgeByte = append(m.edgeByte, c)
			m.edgeNext = append(m.edgeNext, ref(t.next[s][c]))
		}
		st.next[1] = int32(len(m.edgeByte))
	}
	m.outStart = append(m.outStart, int32(len(m.out)))
	// Rows in breadth-first order: a state's fail target is fewer bytes
	// deep, so its row (or its edges and fail chain) is complete when a
	// row needs it.
	m.rows = make([]int32, int(m.ndense)*nc)
	for _, s := range order {
		if !dense[s] {
			continue
		}
		row := m.rows[int(num[s])*nc:][:nc]
		if s != 0 {
			// Where s has no edge, it goes where its fail target goes.
			if f := m.st[num[s]].fail & idxMask; f < m.ndense {
				copy(row, m.rows[int(f)*nc:][:nc])
			} else {
				for c := range nc {
					row[c] = m.step(f, byte(c))
				}
			}
		}
		for c, n := range t.next[s] {
			row[c] = ref(n)
		}
	}
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

// step is the transition from state number s on c, following fail links.
func (m *Matcher) step(s int32, c byte) int32 {
	for {
		i := s & idxMask
		if i < m.ndense {
			return m.rows[int(i)*m.nc+int(c)]
		}
		st := &m.st[i]
		if n, ok := m.edge(st, c); ok {
			return n
		}
		s = st.fail
	}
}

// edge returns the sparse state st's edge on c.
func (m *Matcher) edge(st *state, c byte) (int32, bool) {
	switch st.n {
	case 0:
		return 0, false
	case 1:
		return st.next[0], st.byte[0] == c
	case 2:
		if st.byte[0] == c {
			return st.next[0], true
		}
		return st.next[1], st.byte[1] == c
	}
	for i := st.next[0]; i < st.next[1]; i++ {
		if b := m.edgeByte[i]; b >= c {
			if b == c {
				return m.edgeNext[i], true
			}
			break
		}
	}
	return 0, false
}

// States returns the number of states, for memory reports.
func (m *Matcher) States() int { return len(m.st) }

// Size is the automaton's memory in bytes, for reports.
func (m *Matcher) Size() int {
	return len(m.st)*20 + len(m.rows)*4 + len(m.edgeByte) + len(m.edgeNext)*4 + len(m.outStart)*4 + len(m.out)*4
}

// Hits collects the patterns a scan found. Its buffers are sized once
// for the matchers it serves and reused. A pattern is reported once per
// Reset, however many scans of one matcher run in between; a scan with
// another matcher needs a Reset first.
type Hits struct {
	IDs    []int32
	stamp  []uint32 // per pattern
	sstamp []uint32 // per state with patterns, by outSlot
	gen    uint32
}

// NewHits returns a Hits for the given matchers (nil ones are skipped).
func NewHits(ms ...*Matcher) *Hits {
	var npat, nout int
	for _, m := range ms {
		if m != nil {
			npat, nout = max(npat, m.npat), max(nout, m.nout)
		}
	}
	return &Hits{IDs: make([]int32, 0, min(npat, 1024)), stamp: make([]uint32, npat), sstamp: make([]uint32, nout), gen: 1}
}

// Reset forgets the reported patterns.
func (h *Hits) Reset() {
	h.IDs = h.IDs[:0]
	h.gen++
	if h.gen == 0 {
		clear(h.stamp)
		clear(h.sstamp)
		h.gen = 1
	}
}

// Scan reports into h every pattern occurring in text (case-insensitive).
// h must come from NewHits with this matcher among its matchers.
//
// A step of the automaton waits for the load of the last one, so a long
// text is cut into lanes scanned in one loop, one step of each lane per
// round: their loads overlap. A lane starts maxLen-1 bytes before its
// share, so that a pattern across the cut is found whole by the lane it
// ends in (one found by two lanes is reported once).
func (m *Matcher) Scan(text []byte, h *Hits) {
	ov := m.maxLen - 1
	q := len(text) / lanes
	if q < minLane || q < 2*ov {
		m.scanFrom(0, text, h)
		return
	}
	// Lane k is text[k*q-ov : (k+1)*q] (the first from 0, as long as
	// the others); the last goes on to the end alone.
	n := q + ov
	t0, t1, t2, t3 := text[:n], text[q-ov:][:n], text[2*q-ov:][:n], text[3*q-ov:][:n]
	rows, nd, nc, class := m.rows, m.ndense, m.nc, &m.class
	var s0, s1, s2, s3 int32
	for j := range n {
		c0, c1, c2, c3 := class[t0[j]], class[t1[j]], class[t2[j]], class[t3[j]]
		if i := s0 & idxMask; i < nd {
			s0 = rows[int(i)*nc+int(c0)]
		} else {
			s0 = m.sparse(s0, c0)
		}
		if i := s1 & idxMask; i < nd {
			s1 = rows[int(i)*nc+int(c1)]
		} else {
			s1 = m.sparse(s1, c1)
		}
		if i := s2 & idxMask; i < nd {
			s2 = rows[int(i)*nc+int(c2)]
		} else {
			s2 = m.sparse(s2, c2)
		}
		if i := s3 & idxMask; i < nd {
			s3 = rows[int(i)*nc+int(c3)]
		} else {
			s3 = m.sparse(s3, c3)
		}
		if (s0 | s1 | s2 | s3) < 0 {
			for _, s := range [lanes]int32{s0, s1, s2, s3} {
				if s < 0 {
					m.report(s&idxMask, h)
				}
			}
		}
	}
	m.scanFrom(s3, text[4*q:], h)
}

// Lanes of Scan, and the shortest lane worth cutting a text for.
const (
	lanes   = 4
	minLane = 48
)

// scanFrom scans text from state number s, one byte after the other.
func (m *Matcher) scanFrom(s int32, text []byte, h *Hits) {
	rows, nd, nc := m.rows, m.ndense, m.nc
	for _, c := range text {
		c = m.class[c]
		if i := s & idxMask; i < nd {
			s = rows[int(i)*nc+int(c)]
		} else {
			s = m.sparse(s, c)
		}
		if s < 0 {
			m.report(s&idxMask, h)
		}
	}
}

// sparse is the step from sparse state number s on c.
func (m *Matcher) sparse(s int32, c byte) int32 {
	for {
		st := &m.st[s&idxMask]
		if n, ok := m.edge(st, c); ok {
			return n
		}
		s = st.fail
		if i := s & idxMask; i < m.ndense {
			return m.rows[int(i)*m.nc+int(c)]
		}
	}
}

// report adds the patterns ending in state i, unless this scan (since
// the last Reset) has been there.
func (m *Matcher) report(i int32, h *Hits) {
	slot := m.st[i].outSlot
	if h.sstamp[slot] == h.gen {
		return
	}
	h.sstamp[slot] = h.gen
	for _, p := range m.out[m.outStart[slot]:m.outStart[slot+1]] {
		if h.stamp[p] != h.gen {
			h.stamp[p] = h.gen
			h.IDs = append(h.IDs, p)
		}
	}
}

// Job is one text to scan with a matcher, into its own Hits.
type Job struct {
	M    *Matcher
	Text []byte
	H    *Hits
}

// ScanAll scans each job's text as Scan does, into the job's Hits (not
// Reset). Short texts, too short for Scan's lanes, are scanned four at a
// time in one loop, each with its own automaton, so that their loads
// overlap; so a job's Hits must not be another's.
func ScanAll(jobs []Job) {
	var ln [lanes]cursor
	next := 0
	for {
		busy := false
		n := len(idleText)
		for k := range ln {
			for len(ln[k].text) == 0 && next < len(jobs) {
				j := jobs[next]
				next++
				if len(j.Text) >= lanes*minLane {
					j.M.Scan(j.Text, j.H)
					continue
				}
				ln[k] = cursor{m: j.M, text: j.Text, h: j.H}
			}
			if len(ln[k].text) == 0 {
				ln[k] = cursor{m: idle, text: idleText}
				continue
			}
			busy = true
			n = min(n, len(ln[k].text))
		}
		if !busy {
			return
		}
		step4(&ln, n)
		for k := range ln {
			if ln[k].m == idle {
				ln[k].text = nil
			}
		}
	}
}

// cursor is a lane of ScanAll: the rest of a job's text and its state.
type cursor struct {
	m    *Matcher
	text []byte
	s    int32
	h    *Hits
}

// idle runs in a lane without a job: one state, no pattern.
var (
	idle     = Build(nil)
	idleText = make([]byte, 256)
)

// step4 advances the four lanes by n bytes each.
func step4(ln *[lanes]cursor, n int) {
	m0, m1, m2, m3 := ln[0].m, ln[1].m, ln[2].m, ln[3].m
	t0, t1, t2, t3 := ln[0].text[:n], ln[1].text[:n], ln[2].text[:n], ln[3].text[:n]
	s0, s1, s2, s3 := ln[0].s, ln[1].s, ln[2].s, ln[3].s
	for j := range n {
		c0, c1, c2, c3 := m0.class[t0[j]], m1.class[t1[j]], m2.class[t2[j]], m3.class[t3[j]]
		if i := s0 & idxMask; i < m0.ndense {
			s0 = m0.rows[int(i)*m0.nc+int(c0)]
		} else {
			s0 = m0.sparse(s0, c0)
		}
		if i := s1 & idxMask; i < m1.ndense {
			s1 = m1.rows[int(i)*m1.nc+int(c1)]
		} else {
			s1 = m1.sparse(s1, c1)
		}
		if i := s2 & idxMask; i < m2.ndense {
			s2 = m2.rows[int(i)*m2.nc+int(c2)]
		} else {
			s2 = m2.sparse(s2, c2)
		}
		if i := s3 & idxMask; i < m3.ndense {
			s3 = m3.rows[int(i)*m3.nc+int(c3)]
		} else {
			s3 = m3.sparse(s3, c3)
		}
		if (s0 | s1 | s2 | s3) < 0 {
			if s0 < 0 {
				m0.report(s0&idxMask, ln[0].h)
			}
			if s1 < 0 {
				m1.report(s1&idxMask, ln[1].h)
			}
			if s2 < 0 {
				m2.report(s2&idxMask, ln[2].h)
			}
			if s3 < 0 {
				m3.report(s3&idxMask, ln[3].h)
			}
		}
	}
	for k, s := range [lanes]int32{s0, s1, s2, s3} {
		ln[k].s = s
		ln[k].text = ln[k].text[n:]
	}
}
