package appid

import "bytes"

// maxSSHLine is the longest identification string RFC 4253 section 4.2
// allows, CR LF included.
const maxSSHLine = 255

// maxSSHPreLines bounds the lines a server may send before its
// identification string (RFC 4253 section 4.2 allows them; OpenSSH never
// sends any).
const maxSSHPreLines = 4

// detectSSH recognises the SSH identification string (RFC 4253 section
// 4.2) "SSH-protoversion-softwareversion [SP comments] CR LF" from the
// client or, if the client has sent nothing yet, from the server. It
// extracts the protocol and software versions, and whether they came from
// the server.
func detectSSH(in *Input, info *Info) Result {
	if len(in.ToServer) > 0 {
		r := sshIdent(in.ToServer, info)
		if r != More {
			return r
		}
		// The client's line has not ended: the server's may already
		// tell.
		if sshServer(in.ToClient, info) == Yes {
			return Yes
		}
		return More
	}
	return sshServer(in.ToClient, info)
}

// sshServer parses the server's identification, which may follow other
// lines (RFC 4253 section 4.2 allows them; OpenSSH never sends any).
func sshServer(b []byte, info *Info) Result {
	for range maxSSHPreLines {
		r := sshIdent(b, info)
		if r == Yes {
			info.SSHFromServer = true
		}
		if r != No || len(b) < 4 {
			return r
		}
		i := bytes.IndexByte(b[:min(len(b), maxSSHLine)], '\n')
		if i < 0 || bytes.HasPrefix(b, []byte("SSH-")) {
			return No
		}
		// The pre-lines must at least be text.
		for _, c := range b[:i] {
			if c < 0x20 && c != '\r' && c != '\t' || c == 0x7f {
				return No
			}
		}
		b = b[i+1:]
	}
	return No
}

// sshIdent parses an identification line at the start of b.
func sshIdent(b []byte, info *Info) Result {
	const prefix = "SSH-"
	if len(b) < len(prefix) {
		if bytes.HasPrefix([]byte(prefix), b) {
			return More
		}
		return No
	}
	if !bytes.HasPrefix(b, []byte(prefix)) {
		return No
	}
	line, _, ok := cutLine(b[:min(len(b), maxSSHLine)])
	if !ok {
		if len(b) >= maxSSHLine {
			return No
		}
		// Check what is there so far before asking for more.
		line = b
		if n := len(line); line[n-1] == '\r' {
			line = line[:n-1]
		}
	}
	rest := line[len(prefix):]
	dash := bytes.IndexByte(rest, '-')
	if dash < 0 {
		if !ok && len(rest) < 8 && sshProtoChars(rest) {
			return More
		}
		return No
	}
	proto := rest[:dash]
	if len(proto) == 0 || !sshProtoChars(proto) {
		return No
	}
	soft := rest[dash+1:]
	if sp := bytes.IndexByte(soft, ' '); sp >= 0 {
		soft = soft[:sp]
	}
	// The software version is printable US-ASCII without spaces (RFC
	// 4253 also bars '-', which is not enforced: nothing is gained by
	// refusing a banner over it).
	for _, c := range soft {
		if c <= 0x20 || c >= 0x7f {
			return No
		}
	}
	if !ok {
		return More
	}
	if len(soft) == 0 {
		return No
	}
	info.SSHProto = proto
	info.SSHSoftware = soft
	return Yes
}

// sshProtoChars reports whether b looks like a protocol version: digits
// and dots ("2.0", "1.99").
func sshProtoChars(b []byte) bool {
	for _, c := range b {
		if (c < '0' || c > '9') && c != '.' {
			return false
		}
	}
	return true
}
