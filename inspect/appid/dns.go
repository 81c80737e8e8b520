package appid

import "encoding/binary"

// DNS limits (RFC 1035 sections 2.3.4 and 4.1).
const (
	dnsHeaderLen = 12
	dnsMaxName   = 255
	// dnsMaxRecords bounds the answer, authority and additional records
	// a query may carry (EDNS OPT, TSIG, a NOTIFY's SOA, UPDATE's
	// prerequisites and updates), so a parse stays short.
	dnsMaxRecords = 16
)

// detectDNS recognises a DNS query (RFC 1035 section 4.1): over UDP the
// first datagram, over TCP the first message after its 2-byte length
// (RFC 1035 section 4.2.2). The header must be a sane query with one
// question, and the records must end exactly where the message does; the
// question name is decoded as dotted text into info.Scratch.
func detectDNS(in *Input, info *Info) Result {
	b := in.ToServer
	switch in.Transport {
	case UDP:
		if len(b) == 0 {
			return More
		}
		return dnsMessage(b, info)
	case TCP:
		if len(b) < 2 {
			return More
		}
		l := int(binary.BigEndian.Uint16(b))
		if l < dnsHeaderLen+5 {
			return No
		}
		msg := b[2:]
		if len(msg) < l {
			// Check what there is of the header while waiting for the
			// rest.
			var hdr [dnsHeaderLen]byte
			hdr[5] = 1 // QDCOUNT, if not there yet
			copy(hdr[:], msg)
			if !dnsHeaderOK(hdr[:]) {
				return No
			}
			return More
		}
		return dnsMessage(msg[:l], info)
	}
	return No
}

// dnsHeaderOK checks a query header: QR clear, a known opcode, RCODE 0,
// one question.
func dnsHeaderOK(m []byte) bool {
	flags := binary.BigEndian.Uint16(m[2:])
	if flags&0x8000 != 0 { // QR: a response
		return false
	}
	switch (flags >> 11) & 0xf { // QUERY, IQUERY, STATUS, NOTIFY, UPDATE
	case 0, 1, 2, 4, 5:
	default:
		return false
	}
	if flags&0x000f != 0 { // RCODE
		return false
	}
	return binary.BigEndian.Uint16(m[4:]) == 1
}

// dnsMessage parses one complete query message.
func dnsMessage(m []byte, info *Info) Result {
	if len(m) < dnsHeaderLen+5 || !dnsHeaderOK(m) {
		return No
	}
	records := int(binary.BigEndian.Uint16(m[6:])) + int(binary.BigEndian.Uint16(m[8:])) +
		int(binary.BigEndian.Uint16(m[10:]))
	if records > dnsMaxRecords {
		return No
	}
	// The question name: plain labels only, since nothing precedes it
	// that a compression pointer could point at.
	p := dnsHeaderLen
	n := 0
	for {
		if p >= len(m) {
			return No
		}
		l := int(m[p])
		p++
		if l == 0 {
			break
		}
		if l > 63 || p+l > len(m) || n+l+1 > dnsMaxName {
			return No
		}
		if n > 0 {
			info.Scratch[n] = '.'
			n++
		}
		for _, c := range m[p : p+l] {
			// Host names, service labels ("_ldap._tcp") and the odd
			// printable character; binary labels are not seen in
			// queries and would make any byte string a name.
			if c <= 0x20 || c >= 0x7f {
				return No
			}
		}
		n += copy(info.Scratch[n:], m[p:p+l])
		p += l
	}
	if n == 0 {
		info.Scratch[0] = '.'
		n = 1
	}
	if p+4 > len(m) {
		return No
	}
	switch binary.BigEndian.Uint16(m[p+2:]) { // QCLASS: IN, CH, HS, NONE, ANY
	case 1, 3, 4, 254, 255:
	default:
		return No
	}
	p += 4
	for range records {
		q, ok := dnsSkipName(m, p)
		if !ok || q+10 > len(m) {
			return No
		}
		rdlen := int(binary.BigEndian.Uint16(m[q+8:]))
		p = q + 10 + rdlen
		if p > len(m) {
			return No
		}
	}
	if p != len(m) {
		return No
	}
	info.DNSQuery = info.Scratch[:n]
	return Yes
}

// dnsSkipName returns the offset after the (possibly compressed) name at
// m[p:].
func dnsSkipName(m []byte, p int) (int, bool) {
	for range 128 {
		if p >= len(m) {
			return 0, false
		}
		l := int(m[p])
		switch {
		case l == 0:
			return p + 1, true
		case l&0xc0 == 0xc0: // a pointer ends the name
			if p+2 > len(m) {
				return 0, false
			}
			return p + 2, true
		case l > 63:
			return 0, false
		}
		p += 1 + l
	}
	return 0, false
}
