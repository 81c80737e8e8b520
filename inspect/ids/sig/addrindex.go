package sig

import (
	"net/netip"
	"slices"
)

// Signatures without a fast pattern would be checked on every packet of
// their group. Most of those in ET Open are reputation rules whose only
// condition is a list of addresses (Suricata's "IP-only" signatures), so
// they are indexed by address instead: each is filed under the address
// set of its header that is selective (a list of hosts rather than
// $EXTERNAL_NET), and a packet looks up its source and destination. The
// candidates it yields are then checked in full, like the prefilter's.

// maxIndexedSize bounds the IPv4 addresses of a set worth indexing: a
// set this large (a /12) is not selective, and indexing it would copy
// its signatures into many segments.
const maxIndexedSize = 1 << 20

// addrIndex maps an address to the signatures filed under a set
// containing it.
type addrIndex struct {
	v4, v6 segTable
}

// segTable is the elementary segments of the filed sets: segment i
// starts at starts[i] and holds ids[off[i]:off[i+1]] up to the next
// start.
type segTable struct {
	starts []u128
	off    []uint32
	ids    []uint32
}

func (t *segTable) lookup(v u128) []uint32 {
	// The last segment starting at or before v.
	lo, hi := 0, len(t.starts)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if v.less(t.starts[m]) {
			hi = m
		} else {
			lo = m + 1
		}
	}
	if lo == 0 {
		return nil
	}
	return t.ids[t.off[lo-1]:t.off[lo]]
}

func (x *addrIndex) lookup(a netip.Addr) []uint32 {
	if !a.IsValid() {
		return nil
	}
	v, is4 := addrKey(a)
	if is4 {
		return x.v4.lookup(v)
	}
	return x.v6.lookup(v)
}

func (x *addrIndex) empty() bool { return len(x.v4.starts) == 0 && len(x.v6.starts) == 0 }

// indexable reports whether s is selective enough to file under.
func indexable(s *ipSet) bool {
	return !s.all && s.v4.size() <= maxIndexedSize && s.v6.size() <= 1<<63
}

// addrIndexBuilder collects (set, id) pairs.
type addrIndexBuilder struct {
	v4, v6 []filed
}

type filed struct {
	s  spans
	id uint32
}

func (b *addrIndexBuilder) add(s *ipSet, id uint32) {
	if len(s.v4) > 0 {
		b.v4 = append(b.v4, filed{s.v4, id})
	}
	if len(s.v6) > 0 {
		b.v6 = append(b.v6, filed{s.v6, id})
	}
}

func (b *addrIndexBuilder) build() addrIndex {
	return addrIndex{v4: buildSegTable(b.v4), v6: buildSegTable(b.v6)}
}

// buildSegTable sweeps the sets' boundaries, keeping the ids active in
// each segment; neighbouring segments with the same ids are merged.
func buildSegTable(fs []filed) segTable {
	type event struct {
		at  u128
		id  uint32
		add bool
	}
	var ev []event
	for _, f := range fs {
		for _, x := range f.s {
			ev = append(ev, event{x.lo, f.id, true})
			if x.hi != max6 {
				ev = append(ev, event{x.hi.inc(), f.id, false})
			}
		}
	}
	slices.SortFunc(ev, func(a, b event) int { return a.at.cmp(b.at) })
	var t segTable
	var active []uint32
	// A signature can be filed twice (both sides of a <> header).
	refs := map[uint32]int{}
	for i := 0; i < len(ev); {
		at := ev[i].at
		for ; i < len(ev) && ev[i].at == at; i++ {
			e := ev[i]
			j, found := slices.BinarySearch(active, e.id)
			switch {
			case e.add:
				refs[e.id]++
				if !found {
					active = slices.Insert(active, j, e.id)
				}
			default:
				refs[e.id]--
				if found && refs[e.id] == 0 {
					active = slices.Delete(active, j, j+1)
				}
			}
		}
		if n := len(t.starts); n > 0 && slices.Equal(t.ids[t.off[n-1]:], active) {
			continue
		}
		if len(t.starts) == 0 && len(active) == 0 {
			continue
		}
		t.off = append(t.off, uint32(len(t.ids)))
		t.starts = append(t.starts, at)
		t.ids = append(t.ids, active...)
	}
	t.off = append(t.off, uint32(len(t.ids)))
	return t
}
