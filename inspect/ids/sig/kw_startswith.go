package sig

func init() {
	register(&keyword{name: "startswith", value: valueNone, doc: "the preceding content must be at the start of the buffer", setup: setupStartswith})
}

func setupStartswith(p *parser, _ string) error {
	c, err := p.modContent()
	if err != nil {
		return err
	}
	if c.hasDepth || c.offset != 0 || c.relative {
		return errf("startswith with depth, offset, distance or within")
	}
	c.startswith, c.hasDepth, c.depth = true, true, len(c.pat)
	return nil
}
