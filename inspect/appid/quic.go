package appid

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
)

// QUIC long header (RFC 8999 section 5.1, RFC 9000 section 17.2): the
// header form and fixed bits, a version, then connection IDs.
const (
	quicMinInitial = 1200 // a client's Initial datagram is padded to this (RFC 9000 section 14.1)
	quicMaxCID     = 20   // RFC 9000 section 17.2
	quicMaxToken   = 1024 // bound on a Retry/NEW_TOKEN token in an Initial
	quicMaxPackets = 4    // coalesced packets looked at in one datagram
	quicMaxFrames  = 64   // frames parsed per packet
	quicMaxRanges  = 16   // CRYPTO fragments tracked for reassembly
)

// quicVersions are the versions whose Initial packets the detector can
// decrypt: their initial salts (RFC 9001 section 5.2, RFC 9369 section
// 3.3.1 for v2, draft-ietf-quic-tls-29 section 5.2) and whether they use
// v2's labels and packet types.
var quicVersions = [...]struct {
	version uint32
	salt    [20]byte
	v2      bool
}{
	{0x00000001, [20]byte{0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a}, false},
	{0x6b3343cf, [20]byte{0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9}, true},
	{0xff00001d, [20]byte{0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97, 0x86, 0xf1, 0xc6, 0x11, 0x1e, 0x04, 0x39, 0x0a, 0x89, 0x9a}, false},
}

// detectQUIC recognises a client's QUIC Initial packet: a long header
// with the fixed bit, a version listed in quicVersions, the Initial
// packet type, connection IDs of legal length, in a datagram of at least
// 1200 bytes. The version goes to info.QUICVersion.
//
// It then decrypts the Initial (RFC 9001 section 5: initial secrets
// derived with HKDF from the destination connection ID, header
// protection removed, AES-128-GCM opened), reassembles the CRYPTO frames
// into info.Scratch and parses the ClientHello with the TLS detector's
// parser for SNI, ALPN, version and fingerprints (JA4 with 'q'). A hello
// longer than the first datagram (post-quantum key shares make it so)
// yields what its first part holds, and no fingerprints.
//
// Allocation: decryption allocates per call (the AES block and GCM
// objects from crypto/aes and crypto/cipher, and the plaintext buffer,
// which escapes through the cipher.AEAD interface): about 2 KiB once per
// QUIC flow, since a client's first datagram is looked at once. Every
// other path allocates nothing.
func detectQUIC(in *Input, info *Info) Result {
	b := in.ToServer
	if len(b) == 0 {
		return More
	}
	if b[0]&0xc0 != 0xc0 || len(b) < 7 {
		return No
	}
	version := binary.BigEndian.Uint32(b[1:])
	vi := -1
	for i := range quicVersions {
		if quicVersions[i].version == version {
			vi = i
		}
	}
	if vi < 0 {
		return No
	}
	v := &quicVersions[vi]
	if quicPacketType(b[0], v.v2) != 0 || len(b) < quicMinInitial {
		return No
	}
	hdr, ok := parseQUICLong(b)
	if !ok {
		return No
	}
	info.QUICVersion = version
	quicClientHello(b, hdr, v.salt[:], v.v2, info)
	return Yes
}

// quicPacketType returns the long packet type with v1 numbering (0
// Initial, 1 0-RTT, 2 Handshake, 3 Retry); v2 rotates them (RFC 9369
// section 3.2).
func quicPacketType(first byte, v2 bool) int {
	t := int(first>>4) & 3
	if v2 {
		t = (t + 3) & 3
	}
	return t
}

// quicLong locates the parts of an Initial packet.
type quicLong struct {
	dcid     []byte
	pnOffset int // where the protected packet number starts
	end      int // the end of this packet in the datagram
}

func parseQUICLong(b []byte) (h quicLong, ok bool) {
	p := 5
	dl := int(b[p])
	if dl > quicMaxCID || len(b) < p+1+dl+1 {
		return h, false
	}
	h.dcid = b[p+1 : p+1+dl]
	p += 1 + dl
	sl := int(b[p])
	if sl > quicMaxCID || len(b) < p+1+sl {
		return h, false
	}
	p += 1 + sl
	tl, n, ok := quicVarint(b[p:])
	if !ok || tl > quicMaxToken || len(b) < p+n+int(tl) {
		return h, false
	}
	p += n + int(tl)
	l, n, ok := quicVarint(b[p:])
	if !ok || l < 20 || uint64(len(b)-p-n) < l {
		return h, false
	}
	p += n
	h.pnOffset = p
	h.end = p + int(l)
	return h, true
}

// quicVarint decodes a variable-length integer (RFC 9000 section 16).
func quicVarint(b []byte) (uint64, int, bool) {
	if len(b) == 0 {
		return 0, 0, false
	}
	n := 1 << (b[0] >> 6)
	if len(b) < n {
		return 0, 0, false
	}
	v := uint64(b[0] & 0x3f)
	for _, c := range b[1:n] {
		v = v<<8 | uint64(c)
	}
	return v, n, true
}

// quicClientHello decrypts the Initial packets of the datagram and
// parses the ClientHello their CRYPTO frames carry. It changes info only
// where it succeeds.
func quicClientHello(b []byte, first quicLong, salt []byte, v2 bool, info *Info) {
	key, iv, hp := quicInitialKeys(salt, first.dcid, v2)
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return
	}
	hpBlock, err := aes.NewCipher(hp[:])
	if err != nil {
		return
	}
	var ranges cryptoRanges
	plain := make([]byte, 0, 1500)
	h, p := first, 0
	for range quicMaxPackets {
		pkt := b[p+0 : p+h.end]
		out, ok := quicOpen(pkt, h.pnOffset, aead, hpBlock, iv, plain[:0])
		if !ok {
			break
		}
		if !quicCryptoFrames(out, info, &ranges) {
			break
		}
		p += h.end
		// A coalesced packet follows if the rest starts with another
		// Initial of the same connection.
		rest := b[p:]
		if len(rest) < 7 || rest[0]&0xc0 != 0xc0 || quicPacketType(rest[0], v2) != 0 ||
			binary.BigEndian.Uint32(rest[1:]) != binary.BigEndian.Uint32(b[1:]) {
			break
		}
		var ok2 bool
		if h, ok2 = parseQUICLong(rest); !ok2 || string(h.dcid) != string(first.dcid) {
			break
		}
	}
	n := ranges.contiguous()
	crypto := info.Scratch[:n]
	if n < 4 || crypto[0] != tlsHandshakeHello {
		return
	}
	hsLen := int(crypto[1])<<16 | int(crypto[2])<<8 | int(crypto[3])
	if 4+hsLen <= n {
		var hf helloFields
		if parseClientHello(crypto[4:4+hsLen], &hf) {
			hf.fill('q', info)
		}
		return
	}
	// Only the first part of the hello came in this datagram.
	var hf helloFields
	if parsePartialHello(crypto[4:], &hf) {
		info.SNI, info.ALPN = hf.sni, hf.alpn
		info.TLSVersion = hf.legacyVersion
		if hf.maxVersion != 0 {
			info.TLSVersion = hf.maxVersion
		}
	}
	// Chrome scatters its hello over several datagrams in CRYPTO frames
	// of random offsets ("chaos protection"), so the extensions after a
	// gap cannot be walked from the start: look for the server_name and
	// ALPN extensions inside each fragment instead.
	for i := range ranges.n {
		frag := info.Scratch[ranges.start[i]:ranges.end[i]]
		if hf.maxVersion == 0 {
			if v := scanExtVersions(frag); v != 0 {
				hf.maxVersion, info.TLSVersion = v, v
			}
		}
		if info.SNI == nil {
			info.SNI = scanExtSNI(frag)
		}
		if info.ALPN == nil {
			info.ALPN = scanExtALPN(frag)
		}
	}
}

// scanExtSNI finds a server_name extension (RFC 6066 section 3) in a
// fragment of a hello: type 0, then three lengths that must agree (the
// extension's, the list's and the name's, each 2 or 3 bytes shorter
// than the one before) and a host name of LDH characters. Random bytes
// pass all of that with negligible probability.
func scanExtSNI(b []byte) []byte {
	for i := 0; i+9 < len(b); i++ {
		if b[i] != 0 || b[i+1] != 0 || b[i+6] != 0 {
			continue
		}
		extLen := int(binary.BigEndian.Uint16(b[i+2:]))
		listLen := int(binary.BigEndian.Uint16(b[i+4:]))
		nameLen := int(binary.BigEndian.Uint16(b[i+7:]))
		if nameLen == 0 || listLen != extLen-2 || nameLen != listLen-3 || i+9+nameLen > len(b) {
			continue
		}
		name := b[i+9 : i+9+nameLen]
		if hostChars(name) {
			return name
		}
	}
	return nil
}

// scanExtALPN finds an ALPN extension (RFC 7301 section 3.1) in a
// fragment of a hello, with the same agreement of lengths, and returns
// its first protocol.
func scanExtALPN(b []byte) []byte {
	for i := 0; i+7 < len(b); i++ {
		if b[i] != 0 || b[i+1] != 0x10 {
			continue
		}
		extLen := int(binary.BigEndian.Uint16(b[i+2:]))
		listLen := int(binary.BigEndian.Uint16(b[i+4:]))
		n := int(b[i+6])
		if listLen != extLen-2 || n == 0 || n > listLen-1 || i+7+n > len(b) {
			continue
		}
		proto := b[i+7 : i+7+n]
		ok := true
		for _, c := range proto {
			if c <= 0x20 || c >= 0x7f {
				ok = false
			}
		}
		if ok {
			return proto
		}
	}
	return nil
}

// scanExtVersions finds a client's supported_versions extension (RFC
// 8446 section 4.2.1) in a fragment of a hello: type 43, a length one
// more than the list's, an even list of TLS versions (0x03xx or GREASE);
// it returns the highest.
func scanExtVersions(b []byte) uint16 {
	for i := 0; i+7 < len(b); i++ {
		if b[i] != 0 || b[i+1] != extSupportedVersions {
			continue
		}
		extLen := int(binary.BigEndian.Uint16(b[i+2:]))
		n := int(b[i+4])
		if n == 0 || n%2 != 0 || n != extLen-1 || i+5+n > len(b) {
			continue
		}
		var top uint16
		ok := true
		for j := i + 5; j < i+5+n; j += 2 {
			v := binary.BigEndian.Uint16(b[j:])
			switch {
			case isGREASE(v):
			case b[j] == 3 && b[j+1] <= 4:
				top = max(top, v)
			default:
				ok = false
			}
		}
		if ok && top != 0 {
			return top
		}
	}
	return 0
}

// hostChars reports whether b is made of host name characters.
func hostChars(b []byte) bool {
	for _, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// quicOpen removes header protection (RFC 9001 section 5.4) and opens
// the packet's payload (section 5.3), appending the plaintext to dst.
func quicOpen(pkt []byte, pnOffset int, aead cipher.AEAD, hp cipher.Block, iv [12]byte, dst []byte) ([]byte, bool) {
	if pnOffset+4+16 > len(pkt) {
		return nil, false
	}
	var mask [16]byte
	hp.Encrypt(mask[:], pkt[pnOffset+4:pnOffset+4+16])
	first := pkt[0] ^ mask[0]&0x0f
	pnLen := int(first&3) + 1
	var hdr [1 + 4 + 2 + 2*quicMaxCID + 8 + quicMaxToken + 8 + 4]byte
	if pnOffset+pnLen > len(hdr) {
		return nil, false
	}
	copy(hdr[:], pkt[:pnOffset+pnLen])
	hdr[0] = first
	nonce := iv
	for i := range pnLen {
		hdr[pnOffset+i] ^= mask[1+i]
		nonce[12-pnLen+i] ^= hdr[pnOffset+i]
	}
	out, err := aead.Open(dst, nonce[:], pkt[pnOffset+pnLen:], hdr[:pnOffset+pnLen])
	return out, err == nil
}

// quicCryptoFrames walks the frames of a decrypted Initial (RFC 9000
// section 19): PADDING, PING, ACK and CRYPTO may appear; CRYPTO data is
// copied to its offset in info.Scratch.
func quicCryptoFrames(p []byte, info *Info, r *cryptoRanges) bool {
	for range quicMaxFrames {
		if len(p) == 0 {
			return true
		}
		switch p[0] {
		case 0x00: // PADDING: the rest is usually padding
			i := 1
			for i < len(p) && p[i] == 0 {
				i++
			}
			p = p[i:]
		case 0x01: // PING
			p = p[1:]
		case 0x02, 0x03: // ACK
			q := p[1:]
			var vals [4]uint64
			for i := range vals {
				v, n, ok := quicVarint(q)
				if !ok {
					return false
				}
				vals[i] = v
				q = q[n:]
			}
			if vals[2] > 64 {
				return false
			}
			for range 2 * vals[2] { // gap and length of each range
				_, n, ok := quicVarint(q)
				if !ok {
					return false
				}
				q = q[n:]
			}
			if p[0] == 0x03 { // ECN counts
				for range 3 {
					_, n, ok := quicVarint(q)
					if !ok {
						return false
					}
					q = q[n:]
				}
			}
			p = q
		case 0x06: // CRYPTO
			off, n, ok := quicVarint(p[1:])
			if !ok {
				return false
			}
			l, m, ok := quicVarint(p[1+n:])
			if !ok || uint64(len(p)-1-n-m) < l {
				return false
			}
			data := p[1+n+m : 1+n+m+int(l)]
			p = p[1+n+m+int(l):]
			if off < uint64(len(info.Scratch)) {
				end := min(off+l, uint64(len(info.Scratch)))
				copy(info.Scratch[off:end], data)
				r.add(int(off), int(end))
			}
		default:
			return false // nothing else is allowed in a client Initial
		}
	}
	return true
}

// cryptoRanges tracks which parts of the CRYPTO stream have arrived.
type cryptoRanges struct {
	start, end [quicMaxRanges]int
	n          int
}

func (r *cryptoRanges) add(start, end int) {
	if r.n < quicMaxRanges && end > start {
		r.start[r.n], r.end[r.n] = start, end
		r.n++
	}
}

// contiguous returns how many bytes from offset 0 have arrived.
func (r *cryptoRanges) contiguous() int {
	have := 0
	for changed := true; changed; {
		changed = false
		for i := range r.n {
			if r.start[i] <= have && r.end[i] > have {
				have = r.end[i]
				changed = true
			}
		}
	}
	return have
}

// quicInitialKeys derives the client's Initial key, IV and header
// protection key (RFC 9001 section 5.2; v2 labels per RFC 9369 section
// 3.3.2).
func quicInitialKeys(salt, dcid []byte, v2 bool) (key [16]byte, iv [12]byte, hp [16]byte) {
	initial := hmacSHA256(salt, dcid)
	client := hkdfExpandLabel(initial[:], "client in", 32)
	keyLabel, ivLabel, hpLabel := "quic key", "quic iv", "quic hp"
	if v2 {
		keyLabel, ivLabel, hpLabel = "quicv2 key", "quicv2 iv", "quicv2 hp"
	}
	k := hkdfExpandLabel(client[:], keyLabel, 16)
	i := hkdfExpandLabel(client[:], ivLabel, 12)
	h := hkdfExpandLabel(client[:], hpLabel, 16)
	copy(key[:], k[:16])
	copy(iv[:], i[:12])
	copy(hp[:], h[:16])
	return key, iv, hp
}

// hkdfExpandLabel is TLS 1.3's HKDF-Expand-Label (RFC 8446 section 7.1)
// with an empty context, for outputs of at most one SHA-256 block.
func hkdfExpandLabel(secret []byte, label string, length int) [32]byte {
	var info [2 + 1 + 6 + 16 + 1 + 1]byte
	binary.BigEndian.PutUint16(info[:], uint16(length))
	info[2] = byte(6 + len(label))
	n := 3 + copy(info[3:], "tls13 ")
	n += copy(info[n:], label)
	info[n] = 0 // context length
	info[n+1] = 1
	return hmacSHA256(secret, info[:n+2])
}

// hmacSHA256 is HMAC (RFC 2104) over SHA-256 for keys of at most 64
// bytes and short messages, on the stack (crypto/hmac allocates).
func hmacSHA256(key, msg []byte) [32]byte {
	var buf [64 + 64]byte
	var k [64]byte
	copy(k[:], key)
	for i := range k {
		buf[i] = k[i] ^ 0x36
	}
	n := copy(buf[64:], msg)
	inner := sha256.Sum256(buf[:64+n])
	var outer [64 + 32]byte
	for i := range k {
		outer[i] = k[i] ^ 0x5c
	}
	copy(outer[64:], inner[:])
	return sha256.Sum256(outer[:])
}
