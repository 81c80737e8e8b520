package appid

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/binary"
	"slices"
)

// TLS record and handshake constants (RFC 8446 sections 4 and 5.1).
const (
	tlsRecordHandshake = 0x16
	tlsHandshakeHello  = 0x01 // client_hello
	tlsHandshakeServer = 0x02 // server_hello
	// tlsMaxRecord is the largest record payload a peer may send
	// (2^14 plus the 2048 bytes of expansion RFC 5246 section 6.2.3 allows).
	tlsMaxRecord = 1<<14 + 2048
	// tlsMaxRecords bounds how many records a fragmented ClientHello may
	// span before the detector gives up on its fields.
	tlsMaxRecords = 16
)

// TLS extension types (IANA TLS ExtensionType Values).
const (
	extServerName        = 0x0000
	extSupportedGroups   = 0x000a
	extECPointFormats    = 0x000b
	extSignatureAlgs     = 0x000d
	extALPN              = 0x0010
	extSupportedVersions = 0x002b
)

// maxTLSList bounds the cipher and extension lists kept for JA3 and JA4.
// A real hello offers well under 100 of each (JA4 itself caps its counts
// at 99); longer lists are cut here, and the fingerprints then describe
// the first maxTLSList entries.
const maxTLSList = 128

// helloFields is what a ClientHello yields. Lists are copied into fixed
// arrays (the hello bytes are parsed once, fingerprints need sorting),
// everything else aliases the hello.
type helloFields struct {
	legacyVersion uint16
	maxVersion    uint16 // highest of supported_versions, 0 if absent
	ciphers       [maxTLSList]uint16
	nCiphers      int
	exts          [maxTLSList]uint16
	nExts         int
	groups        []byte // supported_groups list body (uint16s)
	points        []byte // ec_point_formats list body (uint8s)
	sigAlgs       []byte // signature_algorithms list body (uint16s)
	sni           []byte
	alpn          []byte
}

// isGREASE reports whether v is one of the reserved GREASE values of
// RFC 8701 (0x0a0a, 0x1a1a, ... 0xfafa), which JA3 and JA4 both ignore.
func isGREASE(v uint16) bool {
	return v&0x0f0f == 0x0a0a && v>>8 == v&0xff
}

// detectTLS recognises a TLS ClientHello (RFC 8446 section 4.1.2, RFC 5246
// section 7.4.1.2) from the client, or failing that a ServerHello from the
// server, and extracts SNI, first ALPN, highest offered version, JA3 and
// JA4.
func detectTLS(in *Input, info *Info) Result {
	if len(in.ToServer) > 0 {
		return tlsClientHello(in.ToServer, info)
	}
	if len(in.ToClient) == 0 {
		return More
	}
	r := tlsServerHello(in.ToClient, info)
	if r == No {
		return More // the client may still send a ClientHello
	}
	return r
}

// tlsClientHello parses the handshake records at the start of b. A
// ClientHello split over several records (legal, and a known way to hide
// the SNI from middleboxes) is reassembled into info.Scratch.
func tlsClientHello(b []byte, info *Info) Result {
	body, r := clientHelloBody(b, &info.Scratch)
	if r != Yes || body == nil {
		return r
	}
	return finishHello(body, 't', info)
}

// clientHelloBody returns the body of the ClientHello at the start of b
// (after its handshake header), from scratch when it spans records. A
// hello too big for scratch is Yes with a nil body.
func clientHelloBody(b []byte, scratch *[4096]byte) ([]byte, Result) {
	if len(b) == 0 {
		return nil, More
	}
	if b[0] != tlsRecordHandshake {
		return nil, No
	}
	if len(b) < 5 {
		return nil, tlsPrefixMore(b)
	}
	// Record versions 0x0300..0x0304; ClientHellos use 0x0301 or 0x0303
	// in practice, SSL 3.0 clients 0x0300.
	if b[1] != 3 || b[2] > 4 {
		return nil, No
	}
	recLen := int(binary.BigEndian.Uint16(b[3:5]))
	if recLen < 4 || recLen > tlsMaxRecord {
		return nil, No
	}
	payload := b[5:min(len(b), 5+recLen)]
	if len(payload) < 4 {
		return nil, More
	}
	if payload[0] != tlsHandshakeHello {
		return nil, No
	}
	hsLen := int(payload[1])<<16 | int(payload[2])<<8 | int(payload[3])
	// The smallest hello: version, random, empty session id, one cipher
	// suite, one compression method.
	if hsLen < 2+32+1+4+2 || hsLen > 1<<16 {
		return nil, No
	}
	if 4+hsLen <= recLen {
		// The common case: the whole hello is in the first record.
		if len(payload) < 4+hsLen {
			return nil, More
		}
		return payload[4 : 4+hsLen], Yes
	}
	// The hello continues in later records: gather its fragments.
	if 4+hsLen > len(scratch) {
		// Too big to reassemble here: a ClientHello nevertheless, but
		// without its fields.
		if len(payload) < 4+2+32 || payload[4] != 3 {
			return nil, More
		}
		return nil, Yes
	}
	n := copy(scratch[:], payload)
	rest := b[5+len(payload):]
	for range tlsMaxRecords {
		if n >= 4+hsLen {
			break
		}
		if len(rest) < 5 {
			return nil, More
		}
		if rest[0] != tlsRecordHandshake || rest[1] != 3 {
			return nil, No
		}
		l := int(binary.BigEndian.Uint16(rest[3:5]))
		if l == 0 || l > tlsMaxRecord {
			return nil, No
		}
		if len(rest) < 5+l {
			return nil, More
		}
		n += copy(scratch[n:4+hsLen], rest[5:5+l])
		rest = rest[5+l:]
	}
	if n < 4+hsLen {
		return nil, No
	}
	return scratch[4 : 4+hsLen], Yes
}

// tlsPrefixMore returns More if b (shorter than a record header) could
// start a handshake record.
func tlsPrefixMore(b []byte) Result {
	if len(b) >= 2 && b[1] != 3 {
		return No
	}
	if len(b) >= 3 && b[2] > 4 {
		return No
	}
	return More
}

// finishHello parses a complete ClientHello body and fills info.
func finishHello(body []byte, proto byte, info *Info) Result {
	var h helloFields
	if !parseClientHello(body, &h) {
		return No
	}
	h.fill(proto, info)
	return Yes
}

// parseClientHello parses a ClientHello handshake body (after the 4-byte
// handshake header). It reports false if the structure is not a hello.
func parseClientHello(body []byte, h *helloFields) bool {
	return parseHello(body, h, false)
}

// parsePartialHello parses the first part of a ClientHello body, up to
// where it is cut off, for fields (not fingerprints).
func parsePartialHello(body []byte, h *helloFields) bool {
	return parseHello(body, h, true)
}

func parseHello(body []byte, h *helloFields, partial bool) bool {
	if len(body) < 2+32+1 {
		return false
	}
	h.legacyVersion = binary.BigEndian.Uint16(body)
	if body[0] != 3 || body[1] > 4 {
		return false
	}
	p := body[34:]
	sid := int(p[0])
	if sid > 32 || len(p) < 1+sid+2 {
		return false
	}
	p = p[1+sid:]
	cl := int(binary.BigEndian.Uint16(p))
	if cl < 2 || cl%2 != 0 || len(p) < 2+cl+1 {
		return false
	}
	for i := 0; i < cl; i += 2 {
		v := binary.BigEndian.Uint16(p[2+i:])
		if !isGREASE(v) && h.nCiphers < maxTLSList {
			h.ciphers[h.nCiphers] = v
			h.nCiphers++
		}
	}
	p = p[2+cl:]
	comp := int(p[0])
	if comp < 1 || len(p) < 1+comp {
		return false
	}
	p = p[1+comp:]
	if len(p) == 0 {
		return true // no extensions: an SSL 3.0 style hello
	}
	if len(p) < 2 {
		return false
	}
	el := int(binary.BigEndian.Uint16(p))
	if len(p) != 2+el && !(partial && len(p) < 2+el) {
		return false
	}
	p = p[2:]
	for len(p) > 0 {
		if len(p) < 4 {
			return partial
		}
		typ := binary.BigEndian.Uint16(p)
		l := int(binary.BigEndian.Uint16(p[2:]))
		if len(p) < 4+l {
			return partial
		}
		data := p[4 : 4+l]
		p = p[4+l:]
		if isGREASE(typ) {
			continue
		}
		if h.nExts < maxTLSList {
			h.exts[h.nExts] = typ
			h.nExts++
		}
		switch typ {
		case extServerName:
			h.sni = parseSNI(data)
		case extALPN:
			// ProtocolNameList: uint16 length, then uint8-prefixed names.
			if len(data) >= 3 && int(binary.BigEndian.Uint16(data)) == len(data)-2 {
				if n := int(data[2]); n > 0 && 3+n <= len(data) {
					h.alpn = data[3 : 3+n]
				}
			}
		case extSupportedVersions:
			if len(data) >= 1 && int(data[0]) == len(data)-1 {
				for i := 1; i+1 < len(data); i += 2 {
					v := binary.BigEndian.Uint16(data[i:])
					if !isGREASE(v) && v > h.maxVersion {
						h.maxVersion = v
					}
				}
			}
		case extSupportedGroups, extSignatureAlgs:
			if len(data) >= 2 && int(binary.BigEndian.Uint16(data)) == len(data)-2 && len(data)%2 == 0 {
				if typ == extSupportedGroups {
					h.groups = data[2:]
				} else {
					h.sigAlgs = data[2:]
				}
			}
		case extECPointFormats:
			if len(data) >= 1 && int(data[0]) == len(data)-1 {
				h.points = data[1:]
			}
		}
	}
	return true
}

// parseSNI returns the host_name of a server_name extension (RFC 6066
// section 3), or nil.
func parseSNI(data []byte) []byte {
	if len(data) < 2 || int(binary.BigEndian.Uint16(data)) != len(data)-2 {
		return nil
	}
	p := data[2:]
	for len(p) >= 3 {
		l := int(binary.BigEndian.Uint16(p[1:]))
		if len(p) < 3+l {
			return nil
		}
		if p[0] == 0 && l > 0 { // host_name
			return p[3 : 3+l]
		}
		p = p[3+l:]
	}
	return nil
}

// fill stores the hello's fields and fingerprints into info.
func (h *helloFields) fill(proto byte, info *Info) {
	info.SNI = h.sni
	info.ALPN = h.alpn
	info.TLSVersion = h.legacyVersion
	if h.maxVersion != 0 {
		info.TLSVersion = h.maxVersion
	}
	info.JA3 = h.ja3()
	info.JA4Len = uint8(h.ja4(proto, &info.JA4))
}

// ja3Buf bounds the JA3 string. With maxTLSList entries per list it
// cannot overflow for ciphers and extensions; group and point lists come
// straight from the hello and are cut at the buffer's end (see ja3).
const ja3Buf = 4096

// ja3 returns the MD5 of the JA3 string (appendJA3), built in a stack
// buffer.
func (h *helloFields) ja3() [16]byte {
	var buf [ja3Buf]byte
	return md5.Sum(h.appendJA3(buf[:0]))
}

// appendJA3 appends the JA3 string (Salesforce's JA3 README):
// "SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats"
// with decimal values joined by '-' and GREASE values left out, at most
// ja3Buf bytes of it.
func (h *helloFields) appendJA3(b []byte) []byte {
	limit := len(b) + ja3Buf
	b = appendUint(b, uint64(h.legacyVersion))
	b = append(b, ',')
	for i, v := range h.ciphers[:h.nCiphers] {
		if i > 0 {
			b = append(b, '-')
		}
		b = appendUint(b, uint64(v))
	}
	b = append(b, ',')
	for i, v := range h.exts[:h.nExts] {
		if i > 0 {
			b = append(b, '-')
		}
		b = appendUint(b, uint64(v))
	}
	b = append(b, ',')
	first := true
	for i := 0; i+1 < len(h.groups) && len(b) < limit-16; i += 2 {
		v := binary.BigEndian.Uint16(h.groups[i:])
		if isGREASE(v) {
			continue
		}
		if !first {
			b = append(b, '-')
		}
		first = false
		b = appendUint(b, uint64(v))
	}
	b = append(b, ',')
	for i, v := range h.points {
		if len(b) >= limit-8 {
			break
		}
		if i > 0 {
			b = append(b, '-')
		}
		b = appendUint(b, uint64(v))
	}
	return b
}

// ja4 writes the JA4 fingerprint (FoxIO, technical_details/JA4.md) into
// out and returns its length (36): protocol, version, SNI flag, cipher
// and extension counts, ALPN first and last characters; then the first
// 12 hex digits of SHA-256 over the sorted cipher list; then over the
// sorted extension list (without SNI and ALPN), '_', and the signature
// algorithms in their original order. GREASE values are ignored.
func (h *helloFields) ja4(proto byte, out *[36]byte) int {
	o := out[:0]
	o = append(o, proto)
	o = append(o, ja4Version(h.legacyVersion, h.maxVersion)...)
	if h.sni != nil {
		o = append(o, 'd')
	} else {
		o = append(o, 'i')
	}
	o = append2Digits(o, h.nCiphers)
	o = append2Digits(o, h.nExts)
	o = appendALPNChars(o, h.alpn)
	o = append(o, '_')

	var list [maxTLSList]uint16
	ciphers := list[:h.nCiphers]
	copy(ciphers, h.ciphers[:h.nCiphers])
	slices.Sort(ciphers)
	var buf [maxTLSList*5*2 + 1]byte
	b := buf[:0]
	for i, v := range ciphers {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendHex16(b, v)
	}
	o = appendTruncSHA256(o, b, len(ciphers) == 0)
	o = append(o, '_')

	exts := list[:0]
	for _, v := range h.exts[:h.nExts] {
		if v != extServerName && v != extALPN {
			exts = append(exts, v)
		}
	}
	slices.Sort(exts)
	b = buf[:0]
	for i, v := range exts {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendHex16(b, v)
	}
	if len(h.sigAlgs) > 0 {
		b = append(b, '_')
		first := true
		for i := 0; i+1 < len(h.sigAlgs) && len(b) < len(buf)-5; i += 2 {
			v := binary.BigEndian.Uint16(h.sigAlgs[i:])
			if isGREASE(v) {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendHex16(b, v)
		}
	}
	o = appendTruncSHA256(o, b, len(exts) == 0)
	return len(o)
}

// ja4Version maps the highest offered version to JA4's two characters.
func ja4Version(legacy, max uint16) string {
	v := legacy
	if max != 0 {
		v = max
	}
	switch v {
	case 0x0304:
		return "13"
	case 0x0303:
		return "12"
	case 0x0302:
		return "11"
	case 0x0301:
		return "10"
	case 0x0300:
		return "s3"
	case 0x0002:
		return "s2"
	case 0xfeff:
		return "d1"
	case 0xfefd:
		return "d2"
	case 0xfefc:
		return "d3"
	}
	return "00"
}

// appendALPNChars appends JA4's ALPN part: "00" without ALPN; the first
// and last characters of the first protocol if both are alphanumeric;
// else the first and last hex digits of the protocol's bytes.
func appendALPNChars(o []byte, alpn []byte) []byte {
	if len(alpn) == 0 {
		return append(o, '0', '0')
	}
	f, l := alpn[0], alpn[len(alpn)-1]
	if isAlnum(f) && isAlnum(l) {
		return append(o, f, l)
	}
	return append(o, hexDigits[f>>4], hexDigits[l&0xf])
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

const hexDigits = "0123456789abcdef"

// appendTruncSHA256 appends the first 12 hex digits of SHA-256(b), or
// twelve zeros when the list was empty (as JA4 specifies).
func appendTruncSHA256(o, b []byte, empty bool) []byte {
	if empty {
		return append(o, "000000000000"...)
	}
	sum := sha256.Sum256(b)
	for _, c := range sum[:6] {
		o = append(o, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return o
}

func appendHex16(b []byte, v uint16) []byte {
	return append(b, hexDigits[v>>12], hexDigits[v>>8&0xf], hexDigits[v>>4&0xf], hexDigits[v&0xf])
}

func append2Digits(b []byte, n int) []byte {
	n = min(n, 99)
	return append(b, byte('0'+n/10), byte('0'+n%10))
}

// appendUint appends v in decimal.
func appendUint(b []byte, v uint64) []byte {
	var d [20]byte
	i := len(d)
	for {
		i--
		d[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(b, d[i:]...)
}

// tlsServerHello recognises a ServerHello record from the server, for
// flows whose client side was not seen; it yields the selected version.
func tlsServerHello(b []byte, info *Info) Result {
	body, r := serverHelloBody(b)
	if r != Yes {
		return r
	}
	version := binary.BigEndian.Uint16(body)
	q := body[34:]
	q = q[1+int(q[0])+3:] // session id, cipher suite, compression method
	if len(q) >= 2 && int(binary.BigEndian.Uint16(q)) == len(q)-2 {
		q = q[2:]
		for len(q) >= 4 {
			typ := binary.BigEndian.Uint16(q)
			l := int(binary.BigEndian.Uint16(q[2:]))
			if len(q) < 4+l {
				break
			}
			if typ == extSupportedVersions && l == 2 {
				version = binary.BigEndian.Uint16(q[4:])
			}
			q = q[4+l:]
		}
	}
	info.TLSVersion = version
	return Yes
}

// serverHelloBody returns the body of the ServerHello in the first
// record of the server's stream b (after its handshake header), checked
// up to the compression method.
func serverHelloBody(b []byte) ([]byte, Result) {
	if len(b) == 0 {
		return nil, More
	}
	if b[0] != tlsRecordHandshake {
		return nil, No
	}
	if len(b) < 5 {
		return nil, tlsPrefixMore(b)
	}
	if b[1] != 3 || b[2] > 4 {
		return nil, No
	}
	recLen := int(binary.BigEndian.Uint16(b[3:5]))
	if recLen < 4+38 || recLen > tlsMaxRecord {
		return nil, No
	}
	if len(b) < 5+recLen {
		return nil, More
	}
	p := b[5 : 5+recLen]
	if p[0] != tlsHandshakeServer {
		return nil, No
	}
	hsLen := int(p[1])<<16 | int(p[2])<<8 | int(p[3])
	if hsLen > len(p)-4 || hsLen < 38 {
		return nil, No
	}
	body := p[4 : 4+hsLen]
	if body[0] != 3 || body[1] > 4 {
		return nil, No
	}
	if sid := int(body[34]); sid > 32 || len(body) < 35+sid+3 {
		return nil, No
	}
	return body, Yes
}
