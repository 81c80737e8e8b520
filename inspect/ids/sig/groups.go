package sig

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// Port grouping follows Suricata (detect-engine-build.c,
// RulesGroupByPorts): within a transport or application class and
// direction, signatures are split by the server's port (the destination
// of a packet to the server, the source of one to the client), so that a
// packet to port 80 does not pay for the rules on port 445. Where
// Suricata copies the signatures on any port (and <> ones, whose sides
// may swap) into every port group, here they form one shared port group
// and each port group holds only its port-specific signatures: a packet
// takes both. The number of port groups is bounded as Suricata's detect
// profile bounds them: the port sets with the most signatures get their
// own group, the rest share one.
//
// The fast patterns of all port groups of a direction share one
// automaton per buffer (prefilter.go): a packet's buffer is scanned once,
// however many groups apply to the packet (IP, transport, application;
// any port and its port), and a pattern found yields the signatures of
// the port groups that apply.

// Maximum port groups per class and direction (Suricata's "medium"
// profile: toserver-groups 25, toclient-groups 3).
const (
	maxPortGroupsToServer = 25
	maxPortGroupsToClient = 3
)

// fastPat is a signature's prefilter pattern, nil when it has none.
type fastPat struct {
	buf Buffer
	pat []byte
}

// group is the signatures that may match one kind of packet (transport
// or application class, and direction): those on any port, and those on
// specific server ports.
type group struct {
	anyPort *portGroup // nil: none
	// Port p uses ports[i] (nil: none) for the last i with
	// portStart[i] <= p.
	portStart []uint16
	ports     []*portGroup
	nsigs     int
}

// forPort returns the port-specific signatures for server port p.
func (g *group) forPort(p uint16) *portGroup {
	if len(g.ports) == 0 {
		return nil
	}
	i, found := slices.BinarySearch(g.portStart, p)
	if !found {
		i--
	}
	return g.ports[i]
}

// portGroup is the signatures of a group on some ports. Their fast
// patterns are in the engine's prefilter (prefilter.go), under the
// group's index.
type portGroup struct {
	idx  uint32
	bufs uint64 // buffers (bit per Buffer) that hold its fast patterns
	// always are the ids of signatures without a fast pattern that the
	// address index does not cover, sorted.
	always []uint32
	// Signatures without a fast pattern filed by address: by the
	// packet's source, its destination, or either (<> headers).
	bySrc, byDst, byEither addrIndex
	nsigs                  int
}

// serverPorts returns the server-side ports of s for a direction, or
// nil for all ports.
func serverPorts(s *Signature, toClient bool) spans {
	if s.Bidir {
		return nil
	}
	ps := &s.dportSet
	if toClient {
		ps = &s.sportSet
	}
	if ps.all {
		return nil
	}
	return ps.s
}

// buildGroup builds the group of ids (sorted) for one class and
// direction.
func (e *Engine) buildGroup(pb *prefilterBuilder, ids []uint32, fps []fastPat, class int, toClient bool) *group {
	g := &group{nsigs: len(ids)}
	split := class == classTCP || class == classUDP || class >= classApp0
	var anyPort, specific []uint32
	for _, id := range ids {
		if split && serverPorts(e.sigs[id], toClient) != nil {
			specific = append(specific, id)
		} else {
			anyPort = append(anyPort, id)
		}
	}
	if len(anyPort) > 0 {
		g.anyPort = e.buildPortGroup(pb, anyPort, fps, toClient)
	}
	if len(specific) == 0 {
		return g
	}
	// Elementary port segments and the specific signatures on each.
	type event struct {
		at  int
		id  uint32
		add bool
	}
	var ev []event
	for _, id := range specific {
		for _, x := range serverPorts(e.sigs[id], toClient) {
			ev = append(ev, event{int(x.lo.lo), id, true}, event{int(x.hi.lo) + 1, id, false})
		}
	}
	slices.SortFunc(ev, func(a, b event) int { return cmp.Compare(a.at, b.at) })
	type segment struct {
		start int
		sigs  []uint32
	}
	var segs []segment
	var active []uint32
	for i := 0; i < len(ev); {
		at := ev[i].at
		for ; i < len(ev) && ev[i].at == at; i++ {
			j, found := slices.BinarySearch(active, ev[i].id)
			if ev[i].add && !found {
				active = slices.Insert(active, j, ev[i].id)
			} else if !ev[i].add && found {
				active = slices.Delete(active, j, j+1)
			}
		}
		if at > 0xffff {
			break
		}
		if len(segs) == 0 && at > 0 {
			segs = append(segs, segment{0, nil})
		}
		if len(segs) > 0 && slices.Equal(segs[len(segs)-1].sigs, active) {
			continue
		}
		segs = append(segs, segment{at, slices.Clone(active)})
	}
	// Distinct signature sets; the largest get their own port group,
	// the rest share one.
	type set struct {
		sigs []uint32
		pg   int
	}
	byKey := map[string]*set{}
	var sets []*set
	segSet := make([]*set, len(segs))
	for i, sg := range segs {
		k := idsKey(sg.sigs)
		st := byKey[k]
		if st == nil {
			st = &set{sigs: sg.sigs, pg: -1}
			byKey[k] = st
			sets = append(sets, st)
		}
		segSet[i] = st
	}
	limit := maxPortGroupsToServer
	if toClient {
		limit = maxPortGroupsToClient
	}
	// The ports without specific signatures keep a group of their own;
	// the rest by size.
	slices.SortStableFunc(sets, func(a, b *set) int {
		if (len(a.sigs) == 0) != (len(b.sigs) == 0) {
			if len(a.sigs) == 0 {
				return -1
			}
			return 1
		}
		return cmp.Compare(len(b.sigs), len(a.sigs))
	})
	var pgs []*portGroup
	var rest []uint32
	restPG := -1
	for i, st := range sets {
		if i < limit-1 || len(sets) <= limit {
			st.pg = len(pgs)
			var pg *portGroup
			if len(st.sigs) > 0 {
				pg = e.buildPortGroup(pb, st.sigs, fps, toClient)
			}
			pgs = append(pgs, pg)
			continue
		}
		rest = mergeIDs(rest, st.sigs)
		if restPG < 0 {
			restPG = len(pgs)
			pgs = append(pgs, nil)
		}
		st.pg = restPG
	}
	if restPG >= 0 {
		pgs[restPG] = e.buildPortGroup(pb, rest, fps, toClient)
	}
	for i, sg := range segs {
		pg := pgs[segSet[i].pg]
		n := len(g.ports)
		if n > 0 && g.ports[n-1] == pg || n == 0 && pg == nil {
			continue
		}
		if n == 0 && sg.start > 0 {
			g.portStart, g.ports = append(g.portStart, 0), append(g.ports, nil)
		}
		g.portStart = append(g.portStart, uint16(sg.start))
		g.ports = append(g.ports, pg)
	}
	for _, pg := range pgs {
		if pg != nil {
			e.stats.PortGroups++
		}
	}
	return g
}

func idsKey(ids []uint32) string {
	var b strings.Builder
	for _, id := range ids {
		b.WriteString(strconv.FormatUint(uint64(id), 36))
		b.WriteByte(',')
	}
	return b.String()
}

// mergeIDs returns the sorted union of two sorted id lists.
func mergeIDs(a, b []uint32) []uint32 {
	out := make([]uint32, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i] < b[j]:
			out = append(out, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}

// buildPortGroup builds the port group of ids (sorted): their fast
// patterns go to the prefilter of the direction, the rest to the
// address indexes.
func (e *Engine) buildPortGroup(pb *prefilterBuilder, ids []uint32, fps []fastPat, toClient bool) *portGroup {
	pg := &portGroup{nsigs: len(ids), idx: pb.npg}
	pb.npg++
	var bySrc, byDst, byEither addrIndexBuilder
	for _, id := range ids {
		fp := fps[id]
		if fp.pat == nil {
			s := e.sigs[id]
			src, dst := &s.srcSet, &s.dstSet
			srcOK, dstOK := indexable(src), indexable(dst)
			switch {
			case s.Bidir && (srcOK || dstOK):
				// Either side of the packet may be either side of
				// the header: file under the more selective one,
				// looked up with both addresses.
				if !srcOK || dstOK && dst.v4.size() < src.v4.size() {
					src = dst
				}
				byEither.add(src, id)
			case srcOK && (!dstOK || src.v4.size() <= dst.v4.size()):
				bySrc.add(src, id)
			case dstOK:
				byDst.add(dst, id)
			default:
				pg.always = append(pg.always, id)
			}
			continue
		}
		pb.add(toClient, fp, pg.idx, id)
		pg.bufs |= 1 << fp.buf
	}
	pg.bySrc, pg.byDst, pg.byEither = bySrc.build(), byDst.build(), byEither.build()
	return pg
}
