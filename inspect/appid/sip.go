package appid

import "bytes"

// sipMethods are the request methods of RFC 3261 section 7.1 and its
// extensions (PRACK, SUBSCRIBE/NOTIFY, PUBLISH, INFO, REFER, MESSAGE,
// UPDATE).
var sipMethods = []string{"INVITE", "ACK", "BYE", "CANCEL", "REGISTER", "OPTIONS", "PRACK",
	"SUBSCRIBE", "NOTIFY", "PUBLISH", "INFO", "REFER", "MESSAGE", "UPDATE"}

// detectSIP recognises a SIP request line "METHOD sip:... SIP/2.0"
// (RFC 3261 section 7.1; sips: and tel: URIs too) or a status line
// "SIP/2.0 NNN reason" (section 7.2), over UDP or TCP. The method is
// extracted.
func detectSIP(in *Input, info *Info) Result {
	b := in.ToServer
	if len(b) == 0 {
		b = in.ToClient
		if len(b) == 0 {
			return More
		}
		if in.Transport == TCP {
			// A TCP server speaks only once asked.
			return No
		}
	}
	line, r := firstLine(b)
	if r == No {
		return No
	}
	const version = "SIP/2.0"
	if n := min(len(line), len(version)+1); string(line[:n]) == (version + " ")[:n] {
		if r == More || len(line) < len(version)+4 {
			if r == More && len(line) < 64 {
				return More
			}
			return No
		}
		code := line[len(version)+1:]
		if code[0] < '1' || code[0] > '6' || code[1] < '0' || code[1] > '9' || code[2] < '0' || code[2] > '9' ||
			len(code) > 3 && code[3] != ' ' {
			return No
		}
		return Yes
	}
	verb, r := cmdMatch(b, sipMethods)
	if r != Yes {
		return r
	}
	// Methods are case-sensitive (RFC 3261 section 7.1).
	if !bytes.Equal(verb, upperCase(verb)) {
		return No
	}
	if r2 := firstLineResult(b); r2 != Yes {
		return r2 // the request line has not ended yet
	}
	if len(line) <= len(verb) {
		return No // the method alone ("OPTIONS\n"): no URI
	}
	uri, ver, ok := bytes.Cut(line[len(verb)+1:], []byte(" "))
	if !ok || string(ver) != version {
		return No
	}
	if !bytes.HasPrefix(uri, []byte("sip:")) && !bytes.HasPrefix(uri, []byte("sips:")) &&
		!bytes.HasPrefix(uri, []byte("tel:")) {
		return No
	}
	info.Command = verb
	return Yes
}

// firstLineResult reports whether b's first line is complete.
func firstLineResult(b []byte) Result {
	_, r := firstLine(b)
	return r
}

// upperCase reports b if it has no lower-case ASCII letters, else nil; it
// lets a case-sensitive check reuse the case-insensitive tables.
func upperCase(b []byte) []byte {
	for _, c := range b {
		if 'a' <= c && c <= 'z' {
			return nil
		}
	}
	return b
}
