package inspect

// stream holds the first bytes of one direction of a flow, in sequence
// order, up to the inspection depth: what app-ID and signatures read.
//
// TCP segments are placed by sequence number, so out-of-order delivery and
// retransmissions give the same bytes as in-order delivery. Where segments
// overlap, the bytes that arrived first win (as Linux's own receive queue
// does for the data it has accepted), and an overlap whose bytes differ is
// counted: it is how evasion attempts look. Data before the stream's start
// or beyond the depth is ignored; a segment that would make the stream
// have more than maxSpans disjoint pieces is dropped and counted.
type stream struct {
	buf      []byte // len == depth once data arrived; nil before
	base     uint32 // sequence number of buf[0]
	haveBase bool
	// guessed: the base is the sequence number of the first data seen,
	// not one the handshake gave. The handshake passes in the kernel, so
	// a flow's first queued segment may be out of order; data before a
	// guessed base moves the base back (rebase) instead of being taken
	// for an old retransmission.
	guessed bool
	spans   [maxSpans]span // filled byte ranges of buf, sorted, disjoint, not adjacent
	nspans  uint8
	// fin: the direction sent a FIN; finSeq is the sequence number
	// after its data (where the stream ends).
	fin    bool
	finSeq uint32
	// Counters for this stream.
	overlapDiff uint32 // overlapping segments whose bytes differed
	dropped     uint32 // segments dropped for too many gaps
}

type span struct{ start, end int32 }

// maxSpans bounds the pieces a stream may be in while waiting for gaps to
// fill, so that a peer sending every other byte costs a bounded time.
const maxSpans = 8

// start sets the sequence number of the stream's first byte, as the
// handshake gives it (the SYN, the SYN-ACK, or the ACK that ends it).
func (s *stream) start(seq uint32) {
	if !s.haveBase || s.guessed && s.nspans == 0 {
		s.base, s.haveBase, s.guessed = seq, true, false
	}
}

// rebase moves a guessed base back by d bytes, keeping the data (what
// moves past the depth is dropped).
func (s *stream) rebase(d int32) {
	s.base -= uint32(d)
	depth := int32(len(s.buf))
	copy(s.buf[d:], s.buf[:depth-d])
	n := 0
	for i := range int(s.nspans) {
		sp := span{s.spans[i].start + d, min(s.spans[i].end+d, depth)}
		if sp.start < depth {
			s.spans[n] = sp
			n++
		}
	}
	s.nspans = uint8(n)
}

// add places a TCP segment's payload. buf must be provided by the caller
// (a pooled buffer of the depth) if s.buf is nil and data is non-empty.
func (s *stream) add(seq uint32, data []byte) {
	if len(data) == 0 || s.buf == nil {
		return
	}
	if !s.haveBase {
		s.base, s.haveBase, s.guessed = seq, true, true
	}
	off := int64(int32(seq - s.base))
	end := off + int64(len(data))
	if off < 0 && s.guessed && -off < int64(len(s.buf)) {
		s.rebase(int32(-off))
		off, end = 0, int64(len(data))
	}
	if end <= 0 || off >= int64(len(s.buf)) {
		return // all before the start (an old retransmission) or beyond the depth
	}
	if off < 0 {
		data = data[-off:]
		off = 0
	}
	if end > int64(len(s.buf)) {
		data = data[:int64(len(s.buf))-off]
		end = int64(len(s.buf))
	}
	s.fill(int32(off), int32(end), data)
}

// fill writes data at [lo, hi) into the gaps only (first wins) and records
// the span. A segment that would leave more than maxSpans pieces is
// dropped whole, before anything is written.
func (s *stream) fill(lo, hi int32, data []byte) {
	spans, n, ok := s.merged(lo, hi)
	if !ok {
		s.dropped++
		return
	}
	pos := lo
	differs := false
	for i := 0; i < int(s.nspans) && pos < hi; i++ {
		sp := s.spans[i]
		if sp.end <= pos {
			continue
		}
		if sp.start >= hi {
			break
		}
		if sp.start > pos {
			copy(s.buf[pos:sp.start], data[pos-lo:sp.start-lo])
		}
		ovLo, ovHi := max(pos, sp.start), min(hi, sp.end)
		if !differs && string(s.buf[ovLo:ovHi]) != string(data[ovLo-lo:ovHi-lo]) {
			differs = true
		}
		pos = ovHi
	}
	if pos < hi {
		copy(s.buf[pos:hi], data[pos-lo:])
	}
	if differs {
		s.overlapDiff++
	}
	s.spans = spans
	s.nspans = n
}

// merged returns the span list with [lo, hi) merged in, and false if it
// would have more than maxSpans pieces.
func (s *stream) merged(lo, hi int32) ([maxSpans]span, uint8, bool) {
	var out [maxSpans]span
	n := 0
	placed := false
	push := func(sp span) bool {
		if n == maxSpans {
			return false
		}
		out[n] = sp
		n++
		return true
	}
	for i := 0; i < int(s.nspans); i++ {
		sp := s.spans[i]
		switch {
		case sp.end < lo: // entirely before, not adjacent
			if !push(sp) {
				return out, 0, false
			}
		case sp.start > hi: // entirely after
			if !placed {
				if !push(span{lo, hi}) {
					return out, 0, false
				}
				placed = true
			}
			if !push(sp) {
				return out, 0, false
			}
		default: // overlapping or adjacent: absorb
			lo, hi = min(lo, sp.start), max(hi, sp.end)
		}
	}
	if !placed && !push(span{lo, hi}) {
		return out, 0, false
	}
	return out, uint8(n), true
}

// contiguous returns the bytes received in order from the stream's start.
func (s *stream) contiguous() []byte {
	if s.nspans == 0 || s.spans[0].start != 0 {
		return nil
	}
	return s.buf[:s.spans[0].end]
}

// close records the FIN of the direction, at seq (the sequence number
// after the FIN segment's data).
func (s *stream) close(seq uint32) { s.fin, s.finSeq = true, seq }

// ended reports whether the direction sent its FIN and every byte before
// it, up to the depth, is in the stream: nothing more can arrive that the
// inspector would read. A FIN whose sequence number is not the end of
// the in-order data (after a gap, or forged) does not end it.
func (s *stream) ended() bool {
	if !s.fin || !s.haveBase || s.guessed {
		// A guessed base (the handshake was not seen) may be wrong:
		// earlier data can still come.
		return false
	}
	if s.full() {
		return true
	}
	// The FIN's place is taken against the base now: a guessed base may
	// have moved back since (rebase).
	end := int64(int32(s.finSeq - s.base))
	if s.nspans == 0 {
		return end == 0
	}
	return s.nspans == 1 && s.spans[0].start == 0 && int64(s.spans[0].end) == end
}

// full reports whether the in-order bytes reached the depth.
func (s *stream) full() bool {
	return s.buf != nil && s.nspans > 0 && s.spans[0].start == 0 && int(s.spans[0].end) == len(s.buf)
}

// setDatagram stores a datagram's payload (UDP): the first one of each
// direction is what app-ID reads.
func (s *stream) setDatagram(data []byte) {
	if s.buf == nil || s.nspans > 0 || len(data) == 0 {
		return
	}
	n := copy(s.buf, data)
	s.spans[0] = span{0, int32(n)}
	s.nspans = 1
}

// release returns the buffer and forgets the data.
func (s *stream) release(p *bufPool) {
	if s.buf != nil {
		p.put(s.buf)
	}
	*s = stream{overlapDiff: s.overlapDiff, dropped: s.dropped}
}

// bufPool hands out stream buffers of one size, up to a bound. It is owned
// by one worker and needs no lock.
type bufPool struct {
	size  int
	max   int // buffers in use at most
	inUse int
	free  [][]byte
}

func newBufPool(size, max int) *bufPool {
	return &bufPool{size: size, max: max, free: make([][]byte, 0, min(max, 1024))}
}

// get returns a buffer, or nil when the bound is reached.
func (p *bufPool) get() []byte {
	if p.inUse >= p.max {
		return nil
	}
	p.inUse++
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free = p.free[:n-1]
		return b
	}
	return make([]byte, p.size)
}

func (p *bufPool) put(b []byte) {
	p.inUse--
	if len(p.free) < cap(p.free) {
		p.free = append(p.free, b)
	}
}
