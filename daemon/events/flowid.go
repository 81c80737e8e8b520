package events

import (
	"encoding/binary"
	"net/netip"
	"time"
)

// flowIDMask keeps flow IDs within 51 bits, as Suricata does, so that
// JSON readers that hold numbers as float64 (JavaScript, jq) keep them
// exact (2^53 is their limit).
const flowIDMask = 1<<51 - 1

// FlowID returns the ID of the flow between a and b over proto that
// started at start: the same for every event about the flow, whichever
// end is given first, and the same across restarts (a FNV-1a hash, not a
// random seed). It is never zero, which means "no flow".
func FlowID(a, b netip.AddrPort, proto uint8, start time.Time) uint64 {
	if b.Compare(a) < 0 {
		a, b = b, a
	}
	var buf [2*18 + 1 + 8]byte
	a16, b16 := a.Addr().As16(), b.Addr().As16()
	copy(buf[0:16], a16[:])
	binary.BigEndian.PutUint16(buf[16:18], a.Port())
	copy(buf[18:34], b16[:])
	binary.BigEndian.PutUint16(buf[34:36], b.Port())
	buf[36] = proto
	binary.BigEndian.PutUint64(buf[37:], uint64(start.UnixNano()))
	// FNV-1a, 64 bits (offset basis and prime from the FNV draft,
	// draft-eastlake-fnv section 5).
	h := uint64(14695981039346656037)
	for _, c := range buf {
		h ^= uint64(c)
		h *= 1099511628211
	}
	h &= flowIDMask
	if h == 0 {
		h = 1
	}
	return h
}
