package sig

func init() {
	register(&keyword{name: "endswith", value: valueNone, doc: "the preceding content must be at the end of the buffer", setup: setupEndswith})
}

func setupEndswith(p *parser, _ string) error {
	c, err := p.modContent()
	if err != nil {
		return err
	}
	if c.neg {
		// Suricata allows it; the window makes it "does not end with".
	}
	c.endswith = true
	return nil
}
