package appid

import "encoding/binary"

// Kerberos message application tags (RFC 4120 section 5.4.1): AS-REQ is
// [APPLICATION 10], TGS-REQ [APPLICATION 12], both constructed.
const (
	krbASReq  = 0x6a
	krbTGSReq = 0x6c
	// krbMaxRecord bounds a TCP record (RFC 4120 section 7.2.2 leaves it
	// to implementations; MIT's default is 1 MiB... requests are small).
	krbMaxRecord = 1 << 16
)

// detectKerberos recognises an AS-REQ or TGS-REQ (RFC 4120 section
// 5.4.1): the application tag, then KDC-REQ ::= SEQUENCE { [1] pvno 5,
// [2] msg-type 10 or 12 matching the tag, ... }. Over TCP the message
// follows a 4-byte record mark whose high bit is reserved (section
// 7.2.2).
func detectKerberos(in *Input, info *Info) Result {
	b := in.ToServer
	if in.Transport == TCP {
		if len(b) < 4 {
			for i := range min(len(b), 2) {
				if b[i] != 0 {
					return No
				}
			}
			return More
		}
		l := int(binary.BigEndian.Uint32(b))
		if l < 16 || l > krbMaxRecord {
			return No
		}
		b = b[4:]
	}
	if len(b) == 0 {
		return More
	}
	tag, _, h, r := berHeader(b)
	if r != Yes {
		return r
	}
	if tag != krbASReq && tag != krbTGSReq {
		return No
	}
	seq, _, sh, r := berHeader(b[h:])
	if r != Yes {
		return r
	}
	if seq != 0x30 {
		return No
	}
	p := b[h+sh:]
	// [1] pvno INTEGER 5
	if len(p) < 5 {
		return More
	}
	if p[0] != 0xa1 || p[1] != 3 || p[2] != 2 || p[3] != 1 || p[4] != 5 {
		return No
	}
	p = p[5:]
	if len(p) < 5 {
		return More
	}
	want := byte(10)
	if tag == krbTGSReq {
		want = 12
	}
	if p[0] != 0xa2 || p[1] != 3 || p[2] != 2 || p[3] != 1 || p[4] != want {
		return No
	}
	return Yes
}
