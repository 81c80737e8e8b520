package appid

import (
	"bytes"
	"encoding/binary"
)

// detectRDP recognises the client's X.224 Connection Request in a TPKT
// (MS-RDPBCGR section 2.2.1.1): TPKT version 3, reserved 0, a length;
// X.224 length indicator, CR code 0xE0, destination reference 0, class 0;
// then optionally "Cookie: mstshash=USER\r\n" (extracted) and an
// RDP_NEG_REQ.
func detectRDP(in *Input, info *Info) Result {
	b := in.ToServer
	if len(b) == 0 {
		return More
	}
	if b[0] != 3 || len(b) > 1 && b[1] != 0 {
		return No
	}
	if len(b) < 11 {
		if len(b) >= 6 && b[5]&0xf0 != 0xe0 {
			return No
		}
		return More
	}
	l := int(binary.BigEndian.Uint16(b[2:]))
	li := int(b[4])
	if l < 11 || li != l-5 || b[5] != 0xe0 || b[6] != 0 || b[7] != 0 || b[10] != 0 {
		return No
	}
	if len(b) < l {
		return More
	}
	rest := b[11:l]
	const cookie = "Cookie: mstshash="
	if bytes.HasPrefix(rest, []byte(cookie)) {
		end := bytes.Index(rest, []byte("\r\n"))
		if end < 0 {
			return No
		}
		info.RDPCookie = rest[len(cookie):end]
	}
	return Yes
}
