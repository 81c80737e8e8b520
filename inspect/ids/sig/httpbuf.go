package sig

import "bytes"

// httpMsg is an HTTP/1.x message found at the start of a stream: the
// first request (to server) or response (to client). Slices alias the
// stream. Only the first message is parsed: pipelined requests and
// later transactions are not inspected as HTTP (they still are as
// stream bytes).
type httpMsg struct {
	ok         bool
	startLine  []byte // without CRLF
	start      []byte // start line and headers up to and including the blank line
	headers    []byte // header lines, each with its CRLF
	body       []byte
	method     []byte
	uri        []byte
	protocol   []byte
	statCode   []byte
	statMsg    []byte
	headerDone bool
}

var crlf = []byte("\r\n")

// parseHTTP parses b as a request (req) or response.
func parseHTTP(b []byte, req bool, m *httpMsg) {
	*m = httpMsg{}
	eol := bytes.Index(b, crlf)
	if eol < 0 {
		return
	}
	line := b[:eol]
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 {
		return
	}
	rest := line[sp1+1:]
	sp2 := bytes.LastIndexByte(rest, ' ')
	if req {
		m.method = line[:sp1]
		if sp2 < 0 {
			m.uri = rest // HTTP/0.9
		} else {
			m.uri, m.protocol = rest[:sp2], rest[sp2+1:]
		}
		if !bytes.HasPrefix(m.protocol, []byte("HTTP/")) && m.protocol != nil {
			return
		}
	} else {
		if !bytes.HasPrefix(line, []byte("HTTP/")) {
			return
		}
		m.protocol = line[:sp1]
		if sp := bytes.IndexByte(rest, ' '); sp >= 0 {
			m.statCode, m.statMsg = rest[:sp], rest[sp+1:]
		} else {
			m.statCode = rest
		}
	}
	m.ok = true
	m.startLine = line
	hdrStart := eol + 2
	end := bytes.Index(b[hdrStart:], []byte("\r\n\r\n"))
	if end < 0 {
		if bytes.HasPrefix(b[hdrStart:], crlf) { // no headers
			m.start = b[:hdrStart+2]
			m.headerDone = true
			m.body = b[hdrStart+2:]
			return
		}
		m.headers = b[hdrStart:]
		m.start = b
		return
	}
	m.headers = b[hdrStart : hdrStart+end+2]
	m.start = b[:hdrStart+end+4]
	m.headerDone = true
	m.body = b[hdrStart+end+4:]
	if cl := m.header("content-length"); cl != nil {
		n := 0
		for _, c := range cl {
			if c < '0' || c > '9' || n > 1<<30 {
				n = -1
				break
			}
			n = n*10 + int(c-'0')
		}
		if n >= 0 && n < len(m.body) {
			m.body = m.body[:n]
		}
	}
}

// header returns the value of the first header named name (lower case),
// trimmed.
func (m *httpMsg) header(name string) []byte {
	h := m.headers
	for len(h) > 0 {
		var line []byte
		line, h = nextLine(h)
		colon := bytes.IndexByte(line, ':')
		if colon != len(name) {
			continue
		}
		match := true
		for i := 0; i < colon; i++ {
			if lower[line[i]] != name[i] {
				match = false
				break
			}
		}
		if match {
			return bytes.TrimSpace(line[colon+1:])
		}
	}
	return nil
}

// appendHeaders appends Suricata's http.header buffer: each header as
// "Name: value\r\n" with the value trimmed, leaving out Cookie in a
// request and Set-Cookie in a response (they are http.cookie's).
func (m *httpMsg) appendHeaders(dst []byte, req bool) []byte {
	skip := "set-cookie"
	if req {
		skip = "cookie"
	}
	h := m.headers
	for len(h) > 0 {
		var line []byte
		line, h = nextLine(h)
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			continue
		}
		name := line[:colon]
		if len(name) == len(skip) {
			same := true
			for i := range name {
				if lower[name[i]] != skip[i] {
					same = false
					break
				}
			}
			if same {
				continue
			}
		}
		dst = append(dst, name...)
		dst = append(dst, ": "...)
		dst = append(dst, bytes.TrimSpace(line[colon+1:])...)
		dst = append(dst, crlf...)
	}
	return dst
}

// appendHeaderNames appends Suricata's http.header_names buffer:
// "\r\n" then each name followed by "\r\n", then a final "\r\n".
func (m *httpMsg) appendHeaderNames(dst []byte) []byte {
	dst = append(dst, crlf...)
	h := m.headers
	for len(h) > 0 {
		var line []byte
		line, h = nextLine(h)
		if colon := bytes.IndexByte(line, ':'); colon > 0 {
			dst = append(dst, line[:colon]...)
			dst = append(dst, crlf...)
		}
	}
	if m.headerDone {
		dst = append(dst, crlf...)
	}
	return dst
}

// appendNormURI appends the URI with %XX decoded and lone "/./" and
// "//" left as they are (libhtp's default normalization is larger; this
// covers what signatures rely on most: percent-decoding).
func appendNormURI(dst, uri []byte) []byte {
	for i := 0; i < len(uri); i++ {
		c := uri[i]
		if c == '%' && i+2 < len(uri) {
			h, l := unhex(uri[i+1]), unhex(uri[i+2])
			if h >= 0 && l >= 0 {
				dst = append(dst, byte(h<<4|l))
				i += 2
				continue
			}
		}
		dst = append(dst, c)
	}
	return dst
}

// appendHost appends the host lower-cased without its port.
func appendHost(dst, host []byte) []byte {
	if i := bytes.LastIndexByte(host, ':'); i >= 0 && bytes.IndexByte(host, ']') < i {
		host = host[:i]
	}
	for _, c := range host {
		dst = append(dst, lower[c])
	}
	return dst
}

// nextLine splits the first CRLF-terminated line off h (all of h when it
// has no CRLF).
func nextLine(h []byte) (line, rest []byte) {
	if eol := bytes.Index(h, crlf); eol >= 0 {
		return h[:eol], h[eol+2:]
	}
	return h, nil
}
