package appid

// SMTP and FTP both greet with a "220" reply; the shared logic that
// tells them apart lives here.

// smtpCommands are the commands an SMTP client starts with (RFC 5321
// section 4.1.1; LHLO is LMTP's, RFC 2033).
var smtpCommands = []string{"EHLO", "HELO", "LHLO"}

// sharedCommands are valid first commands of both SMTP and FTP.
var sharedCommands = []string{"QUIT", "NOOP", "HELP"}

// greet220 classifies a server greeting (RFC 5321 section 4.2, RFC 959
// section 4.2): a "220" reply whose text may name the protocol.
type greet220 uint8

const (
	g220None     greet220 = iota // nothing sent yet
	g220Partial                  // the first line has not ended
	g220Not                      // not a 220 greeting
	g220SMTP                     // names SMTP (ESMTP, "SMTP")
	g220FTP                      // names FTP (vsFTPd, ProFTPD, "FTP server")
	g220Unmarked                 // a 220 greeting naming neither
)

func classify220(b []byte) greet220 {
	if len(b) == 0 {
		return g220None
	}
	line, r := firstLine(b)
	if r == No {
		return g220Not
	}
	for i := range min(len(line), 3) {
		if line[i] != "220"[i] {
			return g220Not
		}
	}
	if len(line) > 3 && line[3] != ' ' && line[3] != '-' {
		return g220Not
	}
	if r == More {
		return g220Partial
	}
	if len(line) < 3 {
		return g220Not
	}
	text := line[3:]
	switch {
	case containsFold(text, "SMTP"):
		return g220SMTP
	case containsFold(text, "FTP"):
		return g220FTP
	}
	return g220Unmarked
}

// detectSMTP recognises SMTP by its greeting naming SMTP, or by a 220
// greeting answered with EHLO/HELO.
func detectSMTP(in *Input, info *Info) Result {
	return mail220(in, info, smtpCommands, ftpCommands, g220SMTP, g220FTP, in.ServerPort == 25 ||
		in.ServerPort == 465 || in.ServerPort == 587 || in.ServerPort == 2525)
}

// mail220 decides between SMTP and FTP from both directions: the
// client's first command decides when it is one protocol's; a greeting
// naming one protocol decides otherwise; a greeting naming neither waits
// for the client (More), and if the client's command is one both share,
// the server port breaks the tie.
func mail220(in *Input, info *Info, mine, theirs []string, gMine, gTheirs greet220, portMine bool) Result {
	g := classify220(in.ToClient)
	if g == g220Not || g == g220None && len(in.ToServer) > 0 {
		// Not a greeting, or the client spoke first: these servers
		// speak first.
		return No
	}
	verb, r := cmdMatch(in.ToServer, mine)
	if r == Yes {
		if g == gTheirs {
			return No
		}
		info.Command = verb
		return Yes
	}
	if _, r2 := cmdMatch(in.ToServer, theirs); r2 == Yes {
		return No
	}
	shared, r3 := cmdMatch(in.ToServer, sharedCommands)
	if len(in.ToServer) > 0 && r == No && r3 == No {
		return No
	}
	switch g {
	case g220None, g220Partial:
		return More
	case gMine:
		if r3 == Yes {
			info.Command = shared
		}
		return Yes
	case gTheirs:
		return No
	}
	// Unmarked greeting.
	if r3 == Yes {
		if portMine {
			info.Command = shared
			return Yes
		}
		return No
	}
	return More
}
