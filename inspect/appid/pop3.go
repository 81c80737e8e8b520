package appid

// pop3Commands are the commands a POP3 client may send first (RFC 1939
// section 4 and 7, RFC 2449 CAPA, RFC 2595 STLS, RFC 5034 AUTH).
var pop3Commands = []string{"USER", "APOP", "CAPA", "STLS", "AUTH", "QUIT", "NOOP"}

// detectPOP3 recognises POP3 by its "+OK" greeting (RFC 1939 section 4).
// A bare "+OK" is also what a Redis server answers, so if the client has
// spoken, its first command must then be POP3's.
func detectPOP3(in *Input, info *Info) Result {
	if len(in.ToClient) == 0 {
		if len(in.ToServer) > 0 {
			return No // the server speaks first
		}
		return More
	}
	line, r := firstLine(in.ToClient)
	if r == No {
		return No
	}
	n := min(len(line), 3)
	if string(line[:n]) != "+OK"[:n] {
		return No
	}
	if r == More {
		return More
	}
	if len(line) < 3 || len(line) > 3 && line[3] != ' ' {
		return No
	}
	verb, r := cmdMatch(in.ToServer, pop3Commands)
	if r == Yes {
		info.Command = verb
		return Yes
	}
	// A greeting with text ("+OK Dovecot ready.") decides; a bare "+OK"
	// is also a Redis reply, and needs the client's command to tell.
	if len(line) > 4 || len(in.ToServer) == 0 {
		return Yes
	}
	return r
}
