package sig

import (
	"github.com/septa-fw/septa/inspect/ids"
)

// thresholds keeps threshold and detection_filter state per worker: a
// fixed-size table indexed by a hash of (signature, tracked address).
// A collision evicts the older entry, which may let an alert through
// that a perfect table would have suppressed; the table never grows.
// Per worker means a flow's packets always meet the same state (one
// worker per queue), but "by_src" counts only what this worker saw.
type thresholds struct {
	slots []thrSlot
}

type thrSlot struct {
	key   uint64
	start int64 // window start, ns
	count uint32
	used  bool
}

const thresholdSlots = 4096

func (t *thresholds) init() { t.slots = make([]thrSlot, thresholdSlots) }

// allow counts a match of s and says whether it alerts.
func (t *thresholds) allow(s *Signature, id uint32, in *ids.Input) bool {
	th := s.threshold
	if th == nil {
		th = s.detFilter
	}
	if th == nil {
		return true
	}
	key := uint64(id)<<32 | uint64(th.track)
	p := in.Packet
	switch th.track {
	case trackSrc:
		key ^= addrHash(p.Src.As16())
	case trackDst:
		key ^= addrHash(p.Dst.As16())
	case trackBoth:
		key ^= addrHash(p.Src.As16()) ^ addrHash(p.Dst.As16())*31
	case trackFlow:
		key ^= uint64(in.Key.A.Port())<<16 ^ uint64(in.Key.B.Port()) ^ addrHash(in.Key.A.Addr().As16()) ^ addrHash(in.Key.B.Addr().As16())*7
	}
	sl := &t.slots[(key*0x9E3779B97F4A7C15)>>52&(thresholdSlots-1)]
	window := int64(th.seconds) * 1e9
	if !sl.used || sl.key != key || in.Now-sl.start >= window {
		*sl = thrSlot{key: key, start: in.Now, used: true}
	}
	sl.count++
	c := sl.count
	switch th.typ {
	case thLimit:
		return c <= th.count
	case thThreshold:
		return c%th.count == 0
	case thBoth:
		return c == th.count
	case thDetection:
		return c > th.count
	}
	return true
}

func addrHash(a [16]byte) uint64 {
	var h uint64 = 1469598103934665603
	for _, c := range a {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}
