package appid

// imapCommands are the commands an IMAP client may send first (RFC 9051
// section 6.1 and 6.2, RFC 2971 ID).
var imapCommands = []string{"CAPABILITY", "NOOP", "LOGOUT", "STARTTLS", "AUTHENTICATE",
	"LOGIN", "ID", "ENABLE", "SELECT", "EXAMINE", "LIST", "LSUB", "STATUS"}

// detectIMAP recognises IMAP by its untagged greeting "* OK", "* PREAUTH"
// or "* BYE" (RFC 9051 section 7.1); the client's first tagged command
// is extracted when it is one of IMAP's.
func detectIMAP(in *Input, info *Info) Result {
	g := imapGreeting(in.ToClient)
	if g == No || len(in.ToClient) == 0 && len(in.ToServer) > 0 {
		return No
	}
	if len(in.ToServer) > 0 {
		line, r := firstLine(in.ToServer)
		if r == No {
			return No
		}
		tag := firstWord(line)
		if len(tag) < len(line) && imapTag(tag) {
			verb := firstWord(line[len(tag)+1:])
			if wordIn(verb, imapCommands) && (r == Yes || len(verb) < len(line)-len(tag)-1) {
				info.Command = verb
				return Yes
			}
		}
		// The greeting decides; without it, a client line that is not
		// (or not yet) an IMAP command proves nothing.
		if g == Yes {
			return Yes
		}
		if r == Yes {
			return No
		}
		return More
	}
	return g
}

// imapGreetings are the untagged responses a server greets with.
var imapGreetings = []string{"* OK", "* PREAUTH", "* BYE"}

func imapGreeting(b []byte) Result {
	if len(b) == 0 {
		return More
	}
	line, r := firstLine(b)
	if r == No {
		return No
	}
	for _, g := range imapGreetings {
		switch {
		case len(line) < len(g):
			if r == More && hasPrefixFold(line, g[:len(line)]) {
				return More
			}
		case hasPrefixFold(line, g) && (len(line) == len(g) || line[len(g)] == ' '):
			if r == More && len(line) == len(g) {
				return More
			}
			return Yes
		}
	}
	return No
}

// imapTag reports whether b is a tag: ASTRING characters without '+'
// (RFC 9051 section 9, "tag").
func imapTag(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c <= 0x20 || c >= 0x7f || c == '(' || c == ')' || c == '{' || c == '%' || c == '*' ||
			c == '"' || c == '\\' || c == '+' {
			return false
		}
	}
	return true
}
