package sig

func init() {
	register(&keyword{name: "depth", doc: "the preceding content must end within N bytes of its offset", setup: setupDepth})
}

func setupDepth(p *parser, v string) error {
	c, err := p.modContent()
	if err != nil {
		return err
	}
	if c.startswith {
		return errf("depth with startswith")
	}
	if c.hasDepth {
		return errf("depth given twice")
	}
	n, idx, err := p.numOrVar(v, 1, maxOffset)
	if err != nil {
		return err
	}
	if idx < 0 && n < len(c.pat) {
		return errf("depth %d shorter than the content (%d bytes)", n, len(c.pat))
	}
	c.depth, c.depthVar, c.hasDepth = n, idx, true
	return nil
}
