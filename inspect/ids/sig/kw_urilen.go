package sig

import "strings"

func init() {
	register(&keyword{name: "urilen", doc: "the request URI's length: N, <N, >N, N<>M, then ,norm or ,raw", setup: setupUrilen})
}

type urilen struct{ cmp numCmp }

func setupUrilen(p *parser, v string) error {
	buf := BufHTTPURI
	if i := strings.IndexByte(v, ','); i >= 0 {
		switch strings.TrimSpace(v[i+1:]) {
		case "norm":
		case "raw":
			buf = BufHTTPURIRaw
		default:
			return errf("want norm or raw after the comma, have %q", strings.TrimSpace(v[i+1:]))
		}
		v = v[:i]
	}
	c, err := parseNumCmp(v, maxOffset)
	if err != nil {
		return err
	}
	l := p.listFor(buf, false)
	l.steps = append(l.steps, &urilen{cmp: c})
	return nil
}

func (u *urilen) eval(st *state, buf []byte, cur int, rest []step) bool {
	return u.cmp.match(uint64(len(buf))) && st.evalSteps(buf, cur, rest)
}
