package sig

import (
	"cmp"
	"slices"

	"github.com/septa-fw/septa/inspect/appid"
	"github.com/septa-fw/septa/inspect/ids"
)

// Group indexes: transport classes, then one per app-ID app, each for
// both directions.
const (
	classIP = iota
	classTCP
	classUDP
	classICMP
	classApp0
	numClasses = classApp0 + 256
	numGroups  = numClasses * 2
)

func groupIndex(class int, toClient bool) int {
	if toClient {
		return class*2 + 1
	}
	return class * 2
}

// maxFastLen caps the prefilter pattern: a prefix of the fast pattern
// is as good a filter in practice and keeps the automaton small.
const maxFastLen = 32

// Build builds an engine from parsed signatures. The signatures are
// owned by the engine afterwards.
func Build(sigs []*Signature) (*Engine, error) {
	e := &Engine{gen: generation.Add(1)}
	// Internal order: pass, drop, reject, then alert (Suricata's
	// default action order); within that, signatures that set flowbits
	// before those that test them, then file order.
	sorted := slices.Clone(sigs)
	slices.SortStableFunc(sorted, func(a, b *Signature) int {
		if c := cmp.Compare(actionRank(a.Action), actionRank(b.Action)); c != 0 {
			return c
		}
		return cmp.Compare(bitRank(a), bitRank(b))
	})
	bits := map[string]uint16{}
	for _, s := range sorted {
		for _, n := range s.flowbitRef {
			if _, ok := bits[n]; !ok {
				bits[n] = uint16(len(bits))
			}
		}
	}
	if len(bits) > ids.FlowBitWords*64 {
		// Bits beyond the flow's capacity alias; count them inert
		// rather than fail the load.
		for n, i := range bits {
			bits[n] = i % (ids.FlowBitWords * 64)
		}
	}
	e.nbits = len(bits)
	var members [numGroups][]uint32
	fps := make([]fastPat, 0, len(sorted))
	for _, s := range sorted {
		if len(s.Inert) > 0 {
			e.stats.Inert++
		}
		id := uint32(len(e.sigs))
		e.sigs = append(e.sigs, s)
		for _, c := range s.checks {
			if fb, ok := c.(*flowbit); ok {
				fb.idx = bitIdx(bits, fb.names)
			}
		}
		for _, a := range s.postMatch {
			if fb, ok := a.(*flowbit); ok {
				fb.idx = bitIdx(bits, fb.names)
			}
		}
		buf, pat := fastPattern(s)
		fps = append(fps, fastPat{buf, pat})
		if pat != nil {
			e.stats.Prefiltered++
			if buf == BufPayload && len(pat) > e.maxPayloadPat {
				e.maxPayloadPat = len(pat)
			}
		}
		for _, class := range classes(s) {
			for dir := 0; dir < 2; dir++ {
				if (dir == 0 && s.flow.toClient) || (dir == 1 && s.flow.toServer) {
					continue
				}
				gi := groupIndex(class, dir == 1)
				members[gi] = append(members[gi], id)
			}
		}
	}
	pb := newPrefilterBuilder()
	for gi, ids := range members {
		if len(ids) == 0 {
			continue
		}
		class, toClient := gi/2, gi%2 == 1
		e.group[gi] = e.buildGroup(pb, ids, fps, class, toClient)
		e.stats.Groups++
	}
	e.npg = pb.npg
	e.pre = pb.build()
	for d := range e.pre {
		for _, bm := range e.pre[d] {
			if bm != nil {
				e.stats.MPMStates += bm.m.States()
				e.stats.MPMBytes += bm.m.Size()
			}
		}
	}
	e.stats.Loaded = len(e.sigs)
	// Parse-only data is dropped: options text stays for Format and
	// alerts; the rest is compiled.
	for _, s := range e.sigs {
		s.flowbitRef = nil
	}
	return e, nil
}

func bitIdx(bits map[string]uint16, names []string) []uint16 {
	out := make([]uint16, len(names))
	for i, n := range names {
		out[i] = bits[n]
	}
	return out
}

func actionRank(a ids.Action) int {
	switch a {
	case ids.ActionPass:
		return 0
	case ids.ActionDrop:
		return 1
	case ids.ActionReject:
		return 2
	}
	return 3
}

func bitRank(s *Signature) int {
	switch {
	case s.hasFlowSet && !s.hasFlowGet:
		return 0
	case s.hasFlowSet:
		return 1
	case !s.hasFlowGet:
		return 2
	}
	return 3
}

// classes returns the group classes a signature belongs to.
func classes(s *Signature) []int {
	switch s.Proto {
	case ProtoIP:
		return []int{classIP}
	case ProtoTCP, ProtoTCPPkt, ProtoTCPStream:
		return []int{classTCP}
	case ProtoUDP:
		return []int{classUDP}
	case ProtoICMP:
		return []int{classICMP}
	case ProtoApp:
		out := make([]int, 0, len(s.Apps))
		for _, a := range s.Apps {
			out = append(out, classApp0+int(a))
		}
		return out
	}
	return nil
}

// fastPattern picks the signature's prefilter pattern: the content
// marked fast_pattern, else the strongest positive content (Suricata's
// PatternStrength: rarer bytes score higher), longer on a tie. It
// returns nil when the signature has no usable content.
func fastPattern(s *Signature) (Buffer, []byte) {
	var best *content
	var bestList *list
	bestScore := -1
	for _, l := range s.lists {
		for _, st := range l.steps {
			c, ok := st.(*content)
			if !ok || c.neg {
				continue
			}
			if c.fast {
				best, bestList, bestScore = c, l, 1<<30
				break
			}
			if sc := strength(c.pat); sc > bestScore || (sc == bestScore && len(c.pat) > len(best.pat)) {
				best, bestList, bestScore = c, l, sc
			}
		}
		if bestScore == 1<<30 {
			break
		}
	}
	if best == nil {
		return 0, nil
	}
	pat := best.pat
	if best.fastLen > 0 {
		pat = pat[best.fastOff : best.fastOff+best.fastLen]
	}
	if bestList.dotprefix && len(pat) > 0 && pat[0] == '.' {
		// The prefilter scans the buffer before the dot is added.
		pat = pat[1:]
		if len(pat) == 0 {
			return 0, nil
		}
	}
	if len(pat) > maxFastLen {
		pat = pat[:maxFastLen]
	}
	return bestList.buf, toLower(pat)
}

// strength scores a pattern as Suricata's PatternStrength does: letters
// are common (3), other printable and 0x00/0x01/0xff bytes less so (4),
// the rest rare (6); a byte repeating the previous one scores 1.
func strength(p []byte) int {
	score := 0
	for i, c := range p {
		switch {
		case i > 0 && p[i-1] == c:
			score++
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			score += 3
		case c >= 0x20 && c < 0x7f || c == 0 || c == 1 || c == 0xff:
			score += 4
		default:
			score += 6
		}
	}
	return score
}

var _ = appid.Unknown
