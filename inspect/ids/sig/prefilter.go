package sig

import "github.com/septa-fw/septa/inspect/ids/internal/mpm"

// The prefilter: per direction and buffer, one automaton of the fast
// patterns of every port group. Pattern i yields entries ents[start[i]:
// start[i+1]], each a signature and the port group it is filed under; a
// packet takes the entries of the port groups that apply to it (Scratch.
// pgOn), so that a buffer is scanned once per packet.

// bufMPM is one direction's and buffer's automaton and its entries.
type bufMPM struct {
	m     *mpm.Matcher
	start []int32
	ents  []pgSig
}

// matcher is bm's automaton, nil for none.
func matcher(bm *bufMPM) *mpm.Matcher {
	if bm == nil {
		return nil
	}
	return bm.m
}

// A port group's buffers are a bit mask (portGroup.bufs).
var _ [64 - NumBuffers]struct{}

// pgSig is a signature filed under a port group.
type pgSig struct{ pg, id uint32 }

// prefilterBuilder collects the fast patterns while the groups are built.
type prefilterBuilder struct {
	npg  uint32
	bufs [2][NumBuffers]*pendingMPM
}

type pendingMPM struct {
	pats [][]byte
	ents [][]pgSig
	idx  map[string]int
}

func newPrefilterBuilder() *prefilterBuilder { return &prefilterBuilder{} }

// add files signature id of port group pg under its fast pattern.
func (pb *prefilterBuilder) add(toClient bool, fp fastPat, pg, id uint32) {
	d := 0
	if toClient {
		d = 1
	}
	pd := pb.bufs[d][fp.buf]
	if pd == nil {
		pd = &pendingMPM{idx: map[string]int{}}
		pb.bufs[d][fp.buf] = pd
	}
	k := string(fp.pat)
	i, ok := pd.idx[k]
	if !ok {
		i = len(pd.pats)
		pd.idx[k] = i
		pd.pats = append(pd.pats, fp.pat)
		pd.ents = append(pd.ents, nil)
	}
	pd.ents[i] = append(pd.ents[i], pgSig{pg, id})
}

// build compiles the automata.
func (pb *prefilterBuilder) build() (out [2][NumBuffers]*bufMPM) {
	for d := range pb.bufs {
		for b, pd := range pb.bufs[d] {
			if pd == nil {
				continue
			}
			bm := &bufMPM{m: mpm.Build(pd.pats), start: make([]int32, 0, len(pd.pats)+1)}
			for _, es := range pd.ents {
				bm.start = append(bm.start, int32(len(bm.ents)))
				bm.ents = append(bm.ents, es...)
			}
			bm.start = append(bm.start, int32(len(bm.ents)))
			out[d][b] = bm
		}
	}
	return out
}
