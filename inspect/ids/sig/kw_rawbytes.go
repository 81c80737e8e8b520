package sig

func init() {
	register(&keyword{name: "rawbytes", value: valueNone, doc: "no effect (Snort's telnet normalization is not done)", setup: setupRawbytes})
}

func setupRawbytes(p *parser, _ string) error {
	_, err := p.modContent()
	return err
}
