package sig

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"

	"github.com/septa-fw/septa/inspect/appid"
)

// buffer returns the sticky buffer b of the current packet, building it
// on first use; ok is false when the packet's flow does not have it (a
// signature needing it then does not match).
func (sc *Scratch) buffer(b Buffer) ([]byte, bool) {
	if sc.done[b] {
		return sc.bufs[b], sc.have[b]
	}
	sc.done[b] = true
	buf, ok := sc.build(b)
	sc.bufs[b], sc.have[b] = buf, ok
	return buf, ok
}

func (sc *Scratch) build(b Buffer) ([]byte, bool) {
	in := sc.st.in
	info := in.Info
	toServer := sc.st.toServer
	switch b {
	case BufTLSSNI:
		if info == nil || len(info.SNI) == 0 {
			return nil, false
		}
		return info.SNI, true
	case BufJA3Hash:
		if info == nil || info.JA3 == [16]byte{} {
			return nil, false
		}
		const hexd = "0123456789abcdef"
		o := sc.own[b][:0]
		for _, c := range info.JA3 {
			o = append(o, hexd[c>>4], hexd[c&15])
		}
		sc.own[b] = o
		return o, true
	case BufJA4Hash:
		if info == nil || info.JA4Len == 0 {
			return nil, false
		}
		return info.JA4[:info.JA4Len], true
	case BufDNSQuery:
		if info == nil || info.App != appid.DNS || len(info.DNSQuery) == 0 {
			return nil, false
		}
		return info.DNSQuery, true
	case BufSSHProto, BufSSHSoftware:
		// The buffers are the sending side's identification string:
		// app-ID keeps only one side's.
		if info == nil || info.App != appid.SSH {
			return nil, false
		}
		d := 0
		if !toServer {
			d = 1
		}
		proto, soft := sshIdent(in.Stream[d], !toServer)
		if proto == nil && info.SSHFromServer == !toServer {
			proto, soft = info.SSHProto, info.SSHSoftware
		}
		if b == BufSSHProto {
			return proto, len(proto) > 0
		}
		return soft, len(soft) > 0
	case BufTLSCertSubject, BufTLSCertIssuer, BufTLSCertSerial, BufTLSCertFingerprint:
		c := sc.st.tlsCerts()
		if c == nil {
			return nil, false
		}
		switch b {
		case BufTLSCertSubject:
			return c.Subject, true
		case BufTLSCertIssuer:
			return c.Issuer, true
		case BufTLSCertSerial:
			return c.Serial, true
		}
		return c.Fingerprint, true
	case BufTLSCerts:
		// A multi-buffer: see Scratch.certs.
		return nil, false
	case BufJA3String:
		// The client's hello, inspected to the server (Suricata).
		if in.App != appid.TLS || !toServer {
			return nil, false
		}
		if sc.hello == nil {
			sc.hello = new([4096]byte)
		}
		o, ok := appid.AppendJA3String(sc.own[b][:0], in.Stream[0], sc.hello)
		sc.own[b] = o
		return o, ok
	case BufJA3SHash:
		// The server's hello, inspected to the client.
		if in.App != appid.TLS || toServer {
			return nil, false
		}
		s, ok := appid.AppendJA3S(sc.own[b][:0], in.Stream[1])
		if !ok {
			return nil, false
		}
		sum := md5.Sum(s) // the string's storage then takes its hash
		o := hex.AppendEncode(s[:0], sum[:])
		sc.own[b] = o
		return o, true
	case BufBase64Data, BufHTTPHeaderRaw:
		return nil, false
	}
	// HTTP.
	if in.App != appid.HTTP {
		return nil, false
	}
	if b.isHTTPRequest() && !toServer || b.isHTTPResponse() && toServer {
		return nil, false
	}
	sc.parseHTTP()
	m := &sc.req
	if !toServer {
		m = &sc.resp
	}
	if !m.ok {
		return sc.fromInfo(b)
	}
	var v []byte
	switch b {
	case BufHTTPURI:
		v = appendNormURI(sc.own[b][:0], m.uri)
		sc.own[b] = v
		return v, true
	case BufHTTPURIRaw:
		v = m.uri
	case BufHTTPMethod:
		v = m.method
	case BufHTTPHost:
		h := m.header("host")
		if h == nil {
			return nil, false
		}
		v = appendHost(sc.own[b][:0], h)
		sc.own[b] = v
		return v, true
	case BufHTTPHostRaw:
		v = m.header("host")
	case BufHTTPUserAgent:
		v = m.header("user-agent")
	case BufHTTPHeader:
		v = m.appendHeaders(sc.own[b][:0], toServer)
		sc.own[b] = v
		return v, len(v) > 0
	case BufHTTPHeaderNames:
		v = m.appendHeaderNames(sc.own[b][:0])
		sc.own[b] = v
		return v, true
	case BufHTTPCookie:
		if toServer {
			v = m.header("cookie")
		} else {
			v = m.header("set-cookie")
		}
	case BufHTTPContentType:
		v = m.header("content-type")
	case BufHTTPContentLen:
		v = m.header("content-length")
	case BufHTTPReferer:
		v = m.header("referer")
	case BufHTTPAccept:
		v = m.header("accept")
	case BufHTTPAcceptEnc:
		v = m.header("accept-encoding")
	case BufHTTPAcceptLang:
		v = m.header("accept-language")
	case BufHTTPConnection:
		v = m.header("connection")
	case BufHTTPServer:
		v = m.header("server")
	case BufHTTPLocation:
		v = m.header("location")
	case BufHTTPRequestLine, BufHTTPResponseLine:
		v = m.startLine
	case BufHTTPStart:
		v = m.start
	case BufHTTPProtocol:
		v = m.protocol
	case BufHTTPRequestBody, BufHTTPResponseBody, BufFileData:
		v = m.body
	case BufHTTPStatCode:
		v = m.statCode
	case BufHTTPStatMsg:
		v = m.statMsg
	}
	return v, len(v) > 0
}

// fromInfo falls back on what app-ID extracted when the stream does not
// hold a parsable request (its start was not seen).
func (sc *Scratch) fromInfo(b Buffer) ([]byte, bool) {
	info := sc.st.in.Info
	if info == nil || !sc.st.toServer {
		return nil, false
	}
	var v []byte
	switch b {
	case BufHTTPMethod:
		v = info.HTTPMethod
	case BufHTTPURI, BufHTTPURIRaw:
		v = info.HTTPPath
	case BufHTTPHost, BufHTTPHostRaw:
		v = info.HTTPHost
	case BufHTTPUserAgent:
		v = info.HTTPUserAgent
	}
	return v, len(v) > 0
}

func (sc *Scratch) parseHTTP() {
	if sc.httpDone {
		return
	}
	sc.httpDone = true
	in := sc.st.in
	if sc.st.toServer {
		parseHTTP(in.Stream[0], true, &sc.req)
		sc.resp = httpMsg{}
	} else {
		parseHTTP(in.Stream[1], false, &sc.resp)
		sc.req = httpMsg{}
	}
}

// sshIdent returns the protocol and software versions of the SSH
// identification string "SSH-proto-software [comments]\r\n" at the start
// of a stream; a server may send up to four other lines before it (RFC
// 4253 section 4.2). proto is nil when the line is not (yet) there.
func sshIdent(b []byte, server bool) (proto, soft []byte) {
	pre := 0
	if server {
		pre = 4
	}
	for i := 0; i <= pre; i++ {
		eol := bytes.IndexByte(b, '\n')
		if eol < 0 {
			return nil, nil
		}
		line := bytes.TrimSuffix(b[:eol], []byte("\r"))
		b = b[eol+1:]
		rest, ok := bytes.CutPrefix(line, []byte("SSH-"))
		if !ok {
			continue
		}
		proto, soft, ok = bytes.Cut(rest, []byte("-"))
		if !ok || len(proto) == 0 {
			return nil, nil
		}
		if sp := bytes.IndexByte(soft, ' '); sp >= 0 {
			soft = soft[:sp]
		}
		return proto, soft
	}
	return nil, nil
}
