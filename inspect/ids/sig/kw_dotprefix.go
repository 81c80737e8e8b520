package sig

func init() {
	register(&keyword{name: "dotprefix", value: valueNone, doc: "transform: prefix the sticky buffer with a dot (so \".example.com\" matches the domain and its subdomains)", setup: setupDotprefix})
}

func setupDotprefix(p *parser, _ string) error {
	if p.cur == nil {
		return errf("needs a sticky buffer before it")
	}
	if p.cur.dotprefix {
		return nil
	}
	p.cur = p.listFor(p.cur.buf, true)
	return nil
}
