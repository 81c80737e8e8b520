package sig

func init() {
	register(&keyword{name: "noalert", value: valueNone, doc: "match without raising an alert (to set flowbits)", setup: func(p *parser, _ string) error {
		p.sig.noalert = true
		return nil
	}})
}
