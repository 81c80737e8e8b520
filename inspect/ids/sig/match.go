package sig

import (
	"math/bits"
	"slices"

	"github.com/septa-fw/septa/inspect/appid"
	"github.com/septa-fw/septa/inspect/ids"
	"github.com/septa-fw/septa/inspect/ids/internal/mpm"
	"github.com/septa-fw/septa/inspect/packet"
)

// Scratch is a worker's matching state for one engine: prefilter hits,
// candidate list, buffers built for the current packet and threshold
// state. It is not safe for concurrent use.
type Scratch struct {
	e    *Engine
	st   state
	hits [NumBuffers]*mpm.Hits // for both directions' automata
	// payHits is the payload's when the stream window is scanned too;
	// jobs and jobInfo are the packet's scans (scan).
	payHits *mpm.Hits
	jobs    []mpm.Job
	jobInfo []scanJob
	// pgOn stamps the port groups that apply to the packet; bufMask
	// the buffers their fast patterns are in.
	pgOn    []uint32
	bufMask uint64
	cands   []uint32
	seen    []uint32 // stamp per signature id
	gen     uint32

	// Incremental stream inspection: the ids whose fast pattern the
	// stream holds (streamSeen stamps them), and the ids that matched
	// (matched stamps them).
	streamCands []uint32
	streamSeen  []uint32
	matched     []uint32
	// The stream is scanned from scanFrom; payloadInWindow: the packet's
	// payload is the tail of that window.
	scanFrom        int
	payloadInWindow bool
	// grew: the packet's stream grew since the flow's last packet in
	// its direction (always true without a tracked TCP stream).
	grew bool

	// Buffers of the current packet, computed on first use.
	done     [NumBuffers]bool
	have     [NumBuffers]bool
	bufs     [NumBuffers][]byte
	own      [NumBuffers][]byte // storage for buffers septa builds
	dot      [NumBuffers][]byte // dotprefix copies
	dotOK    [NumBuffers]bool
	req      httpMsg
	resp     httpMsg
	httpDone bool
	hello    *[4096]byte // a ClientHello split over records (ja3.string)

	thr thresholds
}

var _ ids.Scratch = (*Scratch)(nil)

// Engine implements ids.Scratch.
func (sc *Scratch) Engine() ids.Engine { return sc.e }

// NewScratch implements ids.Engine.
func (e *Engine) NewScratch() ids.Scratch { return e.newScratch() }

func (e *Engine) newScratch() *Scratch {
	n := len(e.sigs)
	sc := &Scratch{
		e: e, cands: make([]uint32, 0, n), seen: make([]uint32, n),
		streamCands: make([]uint32, 0, n), streamSeen: make([]uint32, n), matched: make([]uint32, n),
	}
	sc.pgOn = make([]uint32, e.npg)
	for b := range sc.hits {
		if e.pre[0][b] != nil || e.pre[1][b] != nil {
			sc.hits[b] = mpm.NewHits(matcher(e.pre[0][b]), matcher(e.pre[1][b]))
		}
	}
	sc.payHits = mpm.NewHits(matcher(e.pre[0][BufPayload]), matcher(e.pre[1][BufPayload]))
	sc.jobs = make([]mpm.Job, 0, NumBuffers+1)
	sc.jobInfo = make([]scanJob, 0, NumBuffers+1)
	sc.st.latinBuf = make([]byte, 0, 4096)
	sc.st.timeouts = &e.pcreTimeouts
	sc.thr.init()
	return sc
}

// Inspect implements ids.Engine.
func (e *Engine) Inspect(in *ids.Input, s ids.Scratch, res *ids.Result) {
	res.Reset()
	sc, ok := s.(*Scratch)
	if !ok || sc.e != e || in.Packet == nil {
		return
	}
	e.inspect(in, sc, res)
}

func (e *Engine) inspect(in *ids.Input, sc *Scratch, res *ids.Result) {
	p := in.Packet
	st := &sc.st
	st.in, st.pkt, st.toServer, st.flow = in, p, in.Dir != ids.ToClient, in.Flow
	if f := in.Flow; f != nil && f.Gen != e.gen {
		*f = ids.Flow{Gen: e.gen}
	}
	sc.done = [NumBuffers]bool{}
	sc.dotOK = [NumBuffers]bool{}
	sc.httpDone = false
	sc.gen++
	if sc.gen == 0 {
		clear(sc.seen)
		clear(sc.streamSeen)
		clear(sc.matched)
		clear(sc.pgOn)
		sc.gen = 1
	}
	sc.cands = sc.cands[:0]
	sc.streamCands = sc.streamCands[:0]
	sc.bufMask = 0
	sp := e.streamStart(sc)

	toClient := !st.toServer
	class := classIP
	switch p.Proto {
	case packet.ProtoTCP:
		class = classTCP
	case packet.ProtoUDP:
		class = classUDP
	case packet.ProtoICMP, packet.ProtoICMPv6:
		class = classICMP
	}
	port := p.DstPort
	if toClient {
		port = p.SrcPort
	}
	e.prefilter(sc, e.group[groupIndex(classIP, toClient)], port)
	if class != classIP {
		e.prefilter(sc, e.group[groupIndex(class, toClient)], port)
	}
	if in.App != appid.Unknown {
		e.prefilter(sc, e.group[groupIndex(classApp0+int(in.App), toClient)], port)
	}
	e.scan(sc)
	if sp != nil {
		for _, id := range sp.Pending[:sp.NPending] {
			sc.addStreamCand(id)
		}
	}
	slices.Sort(sc.cands)
	defer e.streamDone(sc, sp)
	for _, id := range sc.cands {
		s := e.sigs[id]
		if !e.matchSig(sc, s) {
			continue
		}
		sc.matched[id] = sc.gen
		if !sc.thr.allow(s, id, in) {
			e.post(st, s)
			continue
		}
		e.post(st, s)
		if s.Action == ids.ActionPass {
			if res.Verdict == packet.Inspect {
				res.Verdict = packet.Allow
			}
			return
		}
		if dedup(s, p) && in.Flow != nil && alerted(in.Flow, id) {
			continue
		}
		if s.noalert {
			continue
		}
		res.Add(ids.Alert{Action: s.Action, GID: s.GID, SID: s.SID, Rev: s.Rev, Priority: uint8(s.Priority), Msg: s.Msg, Class: s.Class})
		if s.Action == ids.ActionDrop || s.Action == ids.ActionReject {
			res.Verdict, res.Reason = packet.Deny, packet.ReasonSignature
		}
	}
}

func (e *Engine) post(st *state, s *Signature) {
	for _, a := range s.postMatch {
		a.apply(st)
	}
}

// dedup says whether s's matches are remembered per flow: a signature on
// the growing stream or app fields would otherwise alert on every later
// packet of the flow.
func dedup(s *Signature, p *packet.Packet) bool {
	return !s.pktOnly && s.Proto != ProtoTCPPkt && p.Proto != packet.ProtoICMP && p.Proto != packet.ProtoICMPv6
}

// alerted reports whether id already alerted on f, and remembers it.
func alerted(f *ids.Flow, id uint32) bool {
	for _, a := range f.Alerted[:f.NAlerted] {
		if a == id {
			return true
		}
	}
	if int(f.NAlerted) < len(f.Alerted) {
		f.Alerted[f.NAlerted] = id
		f.NAlerted++
	}
	return false
}

// prefilter adds the candidates of g for this packet.
func (e *Engine) prefilter(sc *Scratch, g *group, port uint16) {
	if g == nil {
		return
	}
	if g.anyPort != nil {
		e.prefilterPort(sc, g.anyPort)
	}
	if pg := g.forPort(port); pg != nil {
		e.prefilterPort(sc, pg)
	}
}

// prefilterPort adds the candidates of pg without a fast pattern and
// marks pg as applying to the packet, for scan.
func (e *Engine) prefilterPort(sc *Scratch, pg *portGroup) {
	for _, id := range pg.always {
		sc.addCand(id)
	}
	p := sc.st.pkt
	if !pg.bySrc.empty() {
		sc.addCands(pg.bySrc.lookup(p.Src))
	}
	if !pg.byDst.empty() {
		sc.addCands(pg.byDst.lookup(p.Dst))
	}
	if !pg.byEither.empty() {
		sc.addCands(pg.byEither.lookup(p.Src))
		sc.addCands(pg.byEither.lookup(p.Dst))
	}
	sc.pgOn[pg.idx] = sc.gen
	sc.bufMask |= pg.bufs
}

// scan runs the prefilter of the packet's direction once over each
// buffer that the applying port groups have fast patterns in, and adds
// the signatures of those groups whose pattern it finds. The buffers are
// scanned together (mpm.ScanAll), certificates one by one.
func (e *Engine) scan(sc *Scratch) {
	d := 0
	if !sc.st.toServer {
		d = 1
	}
	p := sc.st.pkt
	sc.jobs, sc.jobInfo = sc.jobs[:0], sc.jobInfo[:0]
	add := func(bm *bufMPM, text []byte, h *mpm.Hits, stream bool) {
		h.Reset()
		sc.jobs = append(sc.jobs, mpm.Job{M: bm.m, Text: text, H: h})
		sc.jobInfo = append(sc.jobInfo, scanJob{bm, stream})
	}
	for mask := sc.bufMask; mask != 0; mask &= mask - 1 {
		b := Buffer(bits.TrailingZeros64(mask))
		bm, h := e.pre[d][b], sc.hits[b]
		if bm == nil || b != BufPayload && !sc.grew {
			continue
		}
		switch b {
		case BufTLSCerts:
			for _, c := range sc.certs() {
				h.Reset()
				bm.m.Scan(c, h)
				sc.addHits(bm, h, false)
			}
		case BufPayload:
			if p.Proto == packet.ProtoTCP && sc.grew {
				// The new part of the stream; its candidates are
				// remembered for the next packets until they match.
				if win := sc.stream()[sc.scanFrom:]; len(win) > 0 {
					add(bm, win, h, true)
					h = sc.payHits
				}
				if sc.payloadInWindow {
					continue
				}
			}
			if len(p.Payload) > 0 {
				add(bm, p.Payload, h, false)
			}
		default:
			if buf, ok := sc.buffer(b); ok && len(buf) > 0 {
				add(bm, buf, h, false)
			}
		}
	}
	mpm.ScanAll(sc.jobs)
	for i, j := range sc.jobInfo {
		sc.addHits(j.bm, sc.jobs[i].H, j.stream)
	}
}

// scanJob is what a scan of Scratch.jobs is for.
type scanJob struct {
	bm     *bufMPM
	stream bool // found in the stream window (addStreamCand)
}

// addHits adds the signatures under the patterns found, of the port
// groups that apply; stream: found in the stream (addStreamCand).
func (sc *Scratch) addHits(bm *bufMPM, h *mpm.Hits, stream bool) {
	for _, pi := range h.IDs {
		for _, en := range bm.ents[bm.start[pi]:bm.start[pi+1]] {
			if sc.pgOn[en.pg] != sc.gen {
				continue
			}
			if stream {
				sc.addStreamCand(en.id)
			} else {
				sc.addCand(en.id)
			}
		}
	}
}

func (sc *Scratch) addCands(ids []uint32) {
	for _, id := range ids {
		sc.addCand(id)
	}
}

func (sc *Scratch) addCand(id uint32) {
	if sc.seen[id] == sc.gen {
		return
	}
	sc.seen[id] = sc.gen
	sc.cands = append(sc.cands, id)
}

// addStreamCand adds a candidate found in the stream.
func (sc *Scratch) addStreamCand(id uint32) {
	if sc.streamSeen[id] != sc.gen {
		sc.streamSeen[id] = sc.gen
		sc.streamCands = append(sc.streamCands, id)
	}
	sc.addCand(id)
}

func (sc *Scratch) stream() []byte {
	if sc.st.toServer {
		return sc.st.in.Stream[0]
	}
	return sc.st.in.Stream[1]
}

// matchSig runs s's whole chain on the current packet.
func (e *Engine) matchSig(sc *Scratch, s *Signature) bool {
	st := &sc.st
	p := st.pkt
	switch s.Proto {
	case ProtoTCP, ProtoTCPPkt, ProtoTCPStream:
		if p.Proto != packet.ProtoTCP {
			return false
		}
	case ProtoUDP:
		if p.Proto != packet.ProtoUDP {
			return false
		}
	case ProtoICMP:
		if p.Proto != packet.ProtoICMP && p.Proto != packet.ProtoICMPv6 {
			return false
		}
	}
	if !matchHeader(s, p) {
		return false
	}
	for _, c := range s.checks {
		if !c.check(st) {
			return false
		}
	}
	st.budget = maxBacktrack
	for _, l := range s.lists {
		if !sc.matchList(s, l) {
			return false
		}
	}
	return true
}

func matchHeader(s *Signature, p *packet.Packet) bool {
	// Ports first: they are cheaper than addresses.
	fwd := s.sportSet.contains(p.SrcPort) && s.dportSet.contains(p.DstPort) && s.srcSet.contains(p.Src) && s.dstSet.contains(p.Dst)
	if fwd || !s.Bidir {
		return fwd
	}
	return s.sportSet.contains(p.DstPort) && s.dportSet.contains(p.SrcPort) && s.srcSet.contains(p.Dst) && s.dstSet.contains(p.Src)
}

func (sc *Scratch) matchList(s *Signature, l *list) bool {
	st := &sc.st
	if l.buf == BufPayload {
		p := st.pkt
		if s.Proto != ProtoTCPStream && !s.flow.onlyStream && len(p.Payload) > 0 && st.evalSteps(p.Payload, 0, l.steps) {
			return true
		}
		if p.Proto == packet.ProtoTCP && s.Proto != ProtoTCPPkt && !s.pktOnly {
			if b := sc.stream(); len(b) > 0 {
				return st.evalSteps(b, 0, l.steps)
			}
		}
		return false
	}
	if l.buf == BufTLSCerts {
		// Each certificate is a buffer of its own (Suricata's
		// multi-buffer matching): the list matches if it matches one.
		for _, c := range sc.certs() {
			if st.evalSteps(c, 0, l.steps) {
				return true
			}
		}
		return false
	}
	buf, ok := sc.buffer(l.buf)
	if !ok {
		return false
	}
	st.dotprefixed = false
	if l.dotprefix {
		if !sc.dotOK[l.buf] {
			sc.dot[l.buf] = append(append(sc.dot[l.buf][:0], '.'), buf...)
			sc.dotOK[l.buf] = true
		}
		buf = sc.dot[l.buf]
		st.dotprefixed = true
	}
	return st.evalSteps(buf, 0, l.steps)
}
