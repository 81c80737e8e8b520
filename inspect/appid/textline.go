package appid

// maxTextLine bounds the first line of the text protocols (SMTP, FTP,
// IMAP, POP3, SIP, memcached): RFC 5321 section 4.5.3.1.5 allows 512
// octets for an SMTP line, and the others are alike. A first line that
// has not ended by then is not one of them.
const maxTextLine = 1024

// firstLine returns the first line of b without its CRLF. r is Yes when
// the line is complete, More when it may still end, No when it is too
// long or holds control bytes (the protocols it serves are text).
func firstLine(b []byte) (line []byte, r Result) {
	for i, c := range b {
		if i >= maxTextLine {
			return nil, No
		}
		switch {
		case c == '\n':
			line = b[:i]
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
			return line, Yes
		case c == '\r' || c == '\t':
		case c < 0x20 || c == 0x7f:
			return nil, No
		}
	}
	if len(b) >= maxTextLine {
		return nil, No
	}
	return b, More
}

// firstWord returns line up to its first space.
func firstWord(line []byte) []byte {
	for i, c := range line {
		if c == ' ' {
			return line[:i]
		}
	}
	return line
}

// hasPrefixFold reports whether b starts with the upper-case ASCII
// prefix, ignoring case.
func hasPrefixFold(b []byte, prefix string) bool {
	if len(b) < len(prefix) {
		return false
	}
	for i := range len(prefix) {
		c := b[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}

// containsFold reports whether b contains the upper-case ASCII s,
// ignoring case.
func containsFold(b []byte, s string) bool {
	for i := 0; i+len(s) <= len(b); i++ {
		if hasPrefixFold(b[i:], s) {
			return true
		}
	}
	return false
}

// wordIn reports whether w equals, ignoring case, one of the upper-case
// words.
func wordIn(w []byte, words []string) bool {
	for _, s := range words {
		if len(w) == len(s) && hasPrefixFold(w, s) {
			return true
		}
	}
	return false
}

// cmdMatch classifies a client's first line against a command set: Yes
// if its verb is one of words, More while the line may still become one,
// No otherwise.
func cmdMatch(b []byte, words []string) (verb []byte, r Result) {
	line, r := firstLine(b)
	if r == No {
		return nil, No
	}
	w := firstWord(line)
	if r == More && len(w) == len(line) {
		// The verb itself may still be growing.
		for _, s := range words {
			if len(w) <= len(s) && hasPrefixFold(w, s[:len(w)]) {
				return nil, More
			}
		}
		return nil, No
	}
	if wordIn(w, words) {
		return w, Yes
	}
	return nil, No
}
