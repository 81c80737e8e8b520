package appid

import (
	"bytes"
	"encoding/binary"
)

// PostgreSQL first-message codes (PostgreSQL docs, "Message Formats"):
// the protocol version 3.x of a StartupMessage and the magic numbers of
// the special requests, which sit where the version would.
const (
	pgProto3         = 3 << 16 // 196608; minor 0..2 (3.2 is PostgreSQL 18's)
	pgCancelRequest  = 80877102
	pgSSLRequest     = 80877103
	pgGSSENCRequest  = 80877104
	pgMaxStartupLen  = 10000 // MAX_STARTUP_PACKET_LENGTH in libpq-be
	pgMaxCancelLen   = 16 + 256
	pgMaxStartupKeys = 64
)

// detectPostgreSQL recognises the first message a PostgreSQL client
// sends: a StartupMessage for protocol 3.x (its parameters a list of
// NUL-terminated name/value pairs ending in an empty name, the "user"
// extracted), an SSLRequest, a GSSENCRequest or a CancelRequest.
func detectPostgreSQL(in *Input, info *Info) Result {
	b := in.ToServer
	if len(b) < 8 {
		// The length is below 10000, so a message starts 00 00.
		for i := range min(len(b), 2) {
			if b[i] != 0 {
				return No
			}
		}
		return More
	}
	l := int(binary.BigEndian.Uint32(b))
	code := binary.BigEndian.Uint32(b[4:])
	switch code {
	case pgSSLRequest, pgGSSENCRequest:
		if l != 8 {
			return No
		}
		return Yes
	case pgCancelRequest:
		if l < 16 || l > pgMaxCancelLen {
			return No
		}
		return Yes
	}
	if code>>16 != 3 || code&0xffff > 2 || l < 8+1 || l > pgMaxStartupLen {
		return No
	}
	if len(b) < l {
		return More
	}
	p := b[8:l]
	var user []byte
	for range pgMaxStartupKeys {
		k := bytes.IndexByte(p, 0)
		if k < 0 {
			return No
		}
		if k == 0 {
			if len(p) != 1 {
				return No // bytes after the terminator
			}
			info.User = user
			return Yes
		}
		name := p[:k]
		p = p[k+1:]
		v := bytes.IndexByte(p, 0)
		if v < 0 {
			return No
		}
		for _, c := range name {
			if c < 0x21 || c > 0x7e {
				return No
			}
		}
		if string(name) == "user" {
			user = p[:v]
		}
		p = p[v+1:]
	}
	return No
}
