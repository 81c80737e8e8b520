package appid

import "bytes"

// http2Preface is the client connection preface (RFC 9113 section 3.4).
const http2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// HTTP/2 frame layout (RFC 9113 section 4.1) and the bounds the detector
// keeps: a first HEADERS frame is short, and a client sends it right
// after its SETTINGS.
const (
	h2FrameHeader = 9
	h2FrameMax    = 1 << 14 // SETTINGS_MAX_FRAME_SIZE's initial value
	h2MaxFrames   = 8       // frames read looking for the first HEADERS
	h2MaxFields   = 64      // header field representations decoded
	h2TypeHeaders = 0x1
	h2FlagPadded  = 0x8
	h2FlagPrio    = 0x20
)

// HPACK static table indices (RFC 7541 Appendix A) the detector reads.
const (
	hpAuthority   = 1
	hpMethodGET   = 2
	hpMethodPOST  = 3
	hpPathRoot    = 4
	hpPathIndex   = 5
	hpContentType = 31
	hpUserAgent   = 58
	hpStaticLen   = 61
)

// Values of the static entries above, shared (callers must not write
// to Info's slices).
var (
	hpackGET   = []byte("GET")
	hpackPOST  = []byte("POST")
	hpackRoot  = []byte("/")
	hpackIndex = []byte("/index.html")
)

// hpackStaticNames are the names of the static entries the detector
// reads by name, for literals that spell the name out.
var hpackStaticNames = [...]struct {
	idx  int
	name string
}{
	{hpAuthority, ":authority"}, {hpMethodGET, ":method"}, {hpPathRoot, ":path"},
	{hpContentType, "content-type"}, {hpUserAgent, "user-agent"},
}

// detectGRPC recognises gRPC: HTTP/2 whose first request has the
// content type application/grpc (gRPC over HTTP2, "Requests").
func detectGRPC(in *Input, info *Info) Result {
	r, grpc := http2Request(in.ToServer, info)
	if r == Yes && !grpc {
		// Plain HTTP/2: leave the fields to its own detector.
		info.HTTPMethod, info.HTTPHost, info.HTTPPath, info.HTTPUserAgent = nil, nil, nil, nil
		return No
	}
	return r
}

// detectHTTP2 recognises HTTP/2 with prior knowledge by the client
// preface, and reads the first HEADERS frame for the method, authority,
// path and user agent.
func detectHTTP2(in *Input, info *Info) Result {
	r, _ := http2Request(in.ToServer, info)
	return r
}

// http2Request checks the preface and decodes the first HEADERS frame. It
// returns Yes once the request is known to be HTTP/2 (with grpc telling
// whether its content type is gRPC's), More while the first HEADERS could
// still arrive.
func http2Request(b []byte, info *Info) (r Result, grpc bool) {
	n := min(len(b), len(http2Preface))
	if !bytes.Equal(b[:n], []byte(http2Preface)[:n]) {
		return No, false
	}
	if n < len(http2Preface) {
		return More, false
	}
	p := b[len(http2Preface):]
	for range h2MaxFrames {
		if len(p) < h2FrameHeader {
			return More, false
		}
		l := int(p[0])<<16 | int(p[1])<<8 | int(p[2])
		typ, flags := p[3], p[4]
		if l > h2FrameMax {
			// Not a first flight any client sends; it is HTTP/2 all
			// the same.
			return Yes, false
		}
		if len(p) < h2FrameHeader+l {
			return More, false
		}
		payload := p[h2FrameHeader : h2FrameHeader+l]
		p = p[h2FrameHeader+l:]
		if typ != h2TypeHeaders {
			continue
		}
		if flags&h2FlagPadded != 0 {
			if len(payload) < 1 || int(payload[0]) >= len(payload) {
				return Yes, false
			}
			payload = payload[1 : len(payload)-int(payload[0])]
		}
		if flags&h2FlagPrio != 0 {
			if len(payload) < 5 {
				return Yes, false
			}
			payload = payload[5:]
		}
		return Yes, h2Fields(payload, info)
	}
	return Yes, false
}

// h2Fields decodes the first header block fragment. The dynamic table is
// empty at the start of a connection, so static indices and literals are
// all a first block can name, except entries the block itself inserted,
// which the decoder has already seen as literals. Huffman-coded values are
// decoded into info.Scratch. It reports whether content-type is gRPC's.
func h2Fields(b []byte, info *Info) (grpc bool) {
	scratch := info.Scratch[:]
	for range h2MaxFields {
		if len(b) == 0 {
			return grpc
		}
		c := b[0]
		var nameIdx, n int
		var ok bool
		switch {
		case c&0x80 != 0: // indexed field (section 6.1)
			idx, n, ok := hpackInt(b, 7)
			if !ok {
				return grpc
			}
			b = b[n:]
			switch idx {
			case hpMethodGET:
				info.HTTPMethod = hpackGET
			case hpMethodPOST:
				info.HTTPMethod = hpackPOST
			case hpPathRoot:
				info.HTTPPath = hpackRoot
			case hpPathIndex:
				info.HTTPPath = hpackIndex
			}
			continue
		case c&0xc0 == 0x40: // literal with incremental indexing (6.2.1)
			nameIdx, n, ok = hpackInt(b, 6)
		case c&0xe0 == 0x20: // dynamic table size update (6.3)
			_, n, ok = hpackInt(b, 5)
			if !ok {
				return grpc
			}
			b = b[n:]
			continue
		default: // literal without indexing or never indexed (6.2.2, 6.2.3)
			nameIdx, n, ok = hpackInt(b, 4)
		}
		if !ok {
			return grpc
		}
		b = b[n:]
		if nameIdx == 0 {
			var nameBuf [16]byte
			name, used, ok := hpackString(b, nameBuf[:])
			if !ok {
				return grpc
			}
			b = b[used:]
			nameIdx = hpackNameIndex(name)
		} else if nameIdx > hpStaticLen {
			nameIdx = -1 // a dynamic entry: not one the detector reads
		}
		keep := nameIdx == hpAuthority || nameIdx == hpMethodGET || nameIdx == hpMethodPOST ||
			nameIdx == hpPathRoot || nameIdx == hpPathIndex || nameIdx == hpUserAgent
		if !keep {
			// Decoded into a small buffer and dropped, except for the
			// content type's verdict.
			var tmp [24]byte
			val, used, ok := hpackString(b, tmp[:])
			if !ok {
				return grpc
			}
			b = b[used:]
			if nameIdx == hpContentType {
				// "application/grpc", optionally followed by "+proto"
				// or "+json" (gRPC over HTTP2, Content-Type).
				const ct = "application/grpc"
				grpc = bytes.HasPrefix(val, []byte(ct)) &&
					(len(val) == len(ct) || val[len(ct)] == '+' || val[len(ct)] == ';')
			}
			continue
		}
		// Values the detector keeps are Huffman-decoded into scratch.
		val, used, ok := hpackString(b, scratch)
		if !ok {
			return grpc
		}
		b = b[used:]
		if len(val) > 0 && &val[0] == &scratch[0] {
			scratch = scratch[len(val):]
		}
		switch nameIdx {
		case hpAuthority:
			info.HTTPHost = val
		case hpMethodGET, hpMethodPOST:
			info.HTTPMethod = val
		case hpPathRoot, hpPathIndex:
			info.HTTPPath = val
		case hpUserAgent:
			info.HTTPUserAgent = val
		}
	}
	return grpc
}

// hpackNameIndex maps a literal header name to the static index the
// detector reads it by, or -1.
func hpackNameIndex(name []byte) int {
	for _, e := range hpackStaticNames {
		if string(name) == e.name {
			return e.idx
		}
	}
	return -1
}
