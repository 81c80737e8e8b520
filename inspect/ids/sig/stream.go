package sig

import (
	"bytes"

	"github.com/septa-fw/septa/inspect/ids"
	"github.com/septa-fw/septa/inspect/packet"
)

// Incremental stream inspection. The stream of a direction is its bytes
// from the start of the flow up to the inspection depth, so scanning all
// of it on every packet costs the square of the depth. Instead the
// prefilter scans the bytes added since the flow's last packet, from
// maxPayloadPat-1 bytes before them so that a fast pattern straddling the
// boundary is still seen. Candidates are checked against the whole
// stream as before, so offsets, depths and relative matches keep their
// meaning.
//
// A signature whose fast pattern is in the stream but that did not match
// yet (its other contents may come later) is kept in the flow's Pending
// list and checked again on each later packet until it matches; a
// signature that matched on the stream is done with it (its alert is
// remembered per flow anyway). When Pending overflows, the flow falls
// back to scanning its whole stream on every packet, which is exact.
//
// The sticky buffers of a TCP flow (HTTP, TLS, SSH fields) are built from
// the streams, so they are scanned only when the packet's stream grew:
// a packet that adds nothing (an ACK, a FIN, a retransmission, a segment
// after a gap) would find the same candidates again, and a signature that
// a buffer's patterns made a candidate was checked then. This is
// Suricata's model too: an application-layer buffer is inspected when its
// transaction progresses.

// streamStart sets the scan window for the packet's stream and returns
// the flow's progress in that direction (nil: not tracked).
func (e *Engine) streamStart(sc *Scratch) *ids.StreamProgress {
	st := &sc.st
	p := st.pkt
	sc.scanFrom, sc.payloadInWindow, sc.grew = 0, false, true
	if p.Proto != packet.ProtoTCP {
		return nil
	}
	stream := sc.stream()
	var sp *ids.StreamProgress
	if f := st.flow; f != nil {
		d := 0
		if !st.toServer {
			d = 1
		}
		sp = &f.Stream[d]
		switch {
		case sp.Overflow:
		case sp.App != st.in.App || int(sp.Scanned) > len(stream):
			// app-ID's verdict changes the groups: start again.
			sp.App, sp.NPending, sp.Scanned = st.in.App, 0, 0
		default:
			if from := int(sp.Scanned) - max(e.maxPayloadPat-1, 0); from > 0 {
				sc.scanFrom = from
			}
		}
		sc.grew = sp.Overflow || int(sp.Scanned) < len(stream)
	}
	win := stream[sc.scanFrom:]
	pl := p.Payload
	// In order, the payload is the stream's tail: scanning the window
	// covers it.
	sc.payloadInWindow = len(pl) <= len(win) && bytes.Equal(win[len(win)-len(pl):], pl)
	return sp
}

// streamDone records the progress and the signatures to check again.
func (e *Engine) streamDone(sc *Scratch, sp *ids.StreamProgress) {
	if sp == nil {
		return
	}
	sp.Scanned = uint32(len(sc.stream()))
	if sp.Overflow {
		return
	}
	n := 0
	for _, id := range sc.streamCands {
		s := e.sigs[id]
		if s.Proto == ProtoTCPPkt || s.pktOnly {
			continue // never inspects the stream
		}
		if sc.matched[id] == sc.gen && s.Action != ids.ActionPass {
			continue
		}
		if n == len(sp.Pending) {
			sp.Overflow, sp.NPending = true, 0
			return
		}
		sp.Pending[n] = id
		n++
	}
	sp.NPending = uint8(n)
}
