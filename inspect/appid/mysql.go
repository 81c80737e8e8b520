package appid

// mysqlMaxHandshake bounds the server's greeting packet; real ones are
// under 128 bytes.
const mysqlMaxHandshake = 1024

// detectMySQL recognises the server's Initial Handshake Packet protocol
// version 10 (MySQL internals, "Protocol::HandshakeV10"; MariaDB's is the
// same): a 3-byte little-endian payload length, sequence id 0, protocol
// version 10, a NUL-terminated printable server version (extracted),
// connection id, 8 bytes of auth data and a zero filler. MySQL servers
// speak first.
func detectMySQL(in *Input, info *Info) Result {
	b := in.ToClient
	if len(b) == 0 {
		if len(in.ToServer) > 0 {
			return No
		}
		return More
	}
	if len(b) < 5 {
		if len(b) == 4 && b[3] != 0 || len(b) >= 3 && b[2] != 0 {
			return No
		}
		return More
	}
	l := int(b[0]) | int(b[1])<<8 | int(b[2])<<16
	if b[3] != 0 || b[4] != 10 || l < 1+2+4+8+1+2 || l > mysqlMaxHandshake {
		return No
	}
	if len(b) < 4+l {
		return More
	}
	p := b[5 : 4+l]
	end := -1
	for i, c := range p {
		if c == 0 {
			end = i
			break
		}
		if c < 0x20 || c > 0x7e {
			return No
		}
	}
	if end < 1 || p[0] < '0' || p[0] > '9' || len(p) < end+1+4+8+1+2 {
		return No
	}
	q := p[end+1+4+8:]
	if q[0] != 0 { // filler
		return No
	}
	info.ServerVersion = p[:end]
	return Yes
}
