package sig

import "strings"

func init() {
	register(&keyword{name: "flow", doc: "flow state and direction: established, not_established, stateless, to_server, to_client, from_server, from_client, only_stream, no_stream, only_frag, no_frag", setup: setupFlow})
}

type flowOpt struct {
	established, notEstablished bool
	toServer, toClient          bool
	onlyStream, noStream        bool
}

func setupFlow(p *parser, v string) error {
	f := &p.sig.flow
	for _, w := range splitComma(v) {
		switch w {
		case "established":
			f.established = true
		case "not_established":
			f.notEstablished = true
		case "stateless":
		case "to_server", "from_client":
			f.toServer = true
		case "to_client", "from_server":
			f.toClient = true
		case "only_stream":
			f.onlyStream = true
		case "no_stream":
			f.noStream = true
		case "only_frag", "no_frag":
		default:
			return errf("unknown option %q", w)
		}
	}
	switch {
	case f.established && f.notEstablished:
		return errf("established and not_established together")
	case f.toServer && f.toClient:
		return errf("both directions")
	case f.onlyStream && f.noStream:
		return errf("only_stream and no_stream together")
	}
	if f.noStream {
		p.sig.pktOnly = true // packets only, as a tcp-pkt rule
	}
	if f.established || f.notEstablished || f.toServer || f.toClient {
		p.sig.checks = append(p.sig.checks, f)
	}
	return nil
}

func (f *flowOpt) check(st *state) bool {
	if f.established && !st.in.Established {
		return false
	}
	if f.notEstablished && st.in.Established {
		return false
	}
	if f.toServer && !st.toServer {
		return false
	}
	if f.toClient && st.toServer {
		return false
	}
	return true
}

// formatFlow is here for tests of the options' order.
func (f *flowOpt) String() string {
	var w []string
	if f.established {
		w = append(w, "established")
	}
	if f.toServer {
		w = append(w, "to_server")
	}
	if f.toClient {
		w = append(w, "to_client")
	}
	return strings.Join(w, ",")
}
