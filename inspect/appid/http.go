package appid

import "bytes"

// httpMethods are the request methods of RFC 9110 section 9 and the
// WebDAV ones seen in practice. A request line starts with one of them
// followed by a space.
var httpMethods = [][]byte{
	[]byte("GET"), []byte("POST"), []byte("PUT"), []byte("HEAD"), []byte("DELETE"),
	[]byte("OPTIONS"), []byte("PATCH"), []byte("CONNECT"), []byte("TRACE"),
	[]byte("PROPFIND"), []byte("PROPPATCH"), []byte("MKCOL"), []byte("COPY"),
	[]byte("MOVE"), []byte("LOCK"), []byte("UNLOCK"), []byte("REPORT"),
}

// maxHTTPHeader bounds how far the detector reads for the end of the
// request head.
const maxHTTPHeader = 8192

// detectHTTP recognises an HTTP/1.x request (RFC 9112 section 3): a
// method, a space, a target, a space, "HTTP/1.", a digit, CRLF; then reads
// the Host and User-Agent header fields up to the end of the head.
func detectHTTP(in *Input, info *Info) Result {
	b := in.ToServer
	if len(b) == 0 {
		return More
	}
	var method []byte
	for _, m := range httpMethods {
		n := min(len(b), len(m))
		if bytes.Equal(b[:n], m[:n]) {
			if len(b) <= len(m) {
				return More
			}
			if b[len(m)] == ' ' {
				method = m
				break
			}
		}
	}
	if method == nil {
		return No
	}
	line, rest, complete := cutLine(b)
	if !complete {
		if len(b) > maxHTTPHeader {
			return No
		}
		return More
	}
	target, version, ok := bytes.Cut(line[len(method)+1:], []byte(" "))
	if !ok || len(target) == 0 || len(version) != 8 || !bytes.HasPrefix(version, []byte("HTTP/1.")) ||
		version[7] < '0' || version[7] > '9' {
		return No
	}
	info.HTTPMethod = b[:len(method)]
	info.HTTPPath = target
	hosts := 0
	for n := 0; n < 100; n++ {
		var field []byte
		field, rest, complete = cutLine(rest)
		if !complete || len(field) == 0 {
			break
		}
		name, value, ok := bytes.Cut(field, []byte(":"))
		if !ok {
			continue
		}
		value = bytes.TrimSpace(value)
		switch {
		case asciiEqualFold(name, "host"):
			// Two Host fields make a request that servers refuse (RFC
			// 9112 section 3.2) and that would let the inspector and the
			// server read different hosts: no host at all.
			if hosts++; hosts == 1 {
				info.HTTPHost = value
			} else {
				info.HTTPHost = nil
			}
		case asciiEqualFold(name, "user-agent"):
			info.HTTPUserAgent = value
		}
	}
	return Yes
}

// cutLine splits b at its first CRLF (or bare LF).
func cutLine(b []byte) (line, rest []byte, ok bool) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return b, nil, false
	}
	line = b[:i]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, b[i+1:], true
}

// asciiEqualFold reports whether b equals the lower-case ASCII s, ignoring
// case, without allocating.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
