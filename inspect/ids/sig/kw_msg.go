package sig

func init() {
	register(&keyword{name: "msg", doc: "the alert message", setup: func(p *parser, v string) error {
		s, _, err := unquote(v)
		p.sig.Msg = s
		return err
	}})
}
