package sig

func init() {
	register(&keyword{name: "nocase", value: valueNone, doc: "make the preceding content match regardless of ASCII case", setup: setupNocase})
}

func setupNocase(p *parser, _ string) error {
	c, err := p.modContent()
	if err != nil {
		return err
	}
	if c.nocase {
		return errf("nocase given twice")
	}
	c.nocase = true
	c.pat = toLower(c.pat)
	return nil
}
