package sig

func init() {
	register(&keyword{name: "within", doc: "the preceding content must end within N bytes of the previous match (after distance)", setup: setupWithin})
}

func setupWithin(p *parser, v string) error {
	c, err := p.modContent()
	if err != nil {
		return err
	}
	if c.hasWithin {
		return errf("within given twice")
	}
	n, idx, err := p.numOrVar(v, 1, maxOffset)
	if err != nil {
		return err
	}
	if idx < 0 && n < len(c.pat) {
		return errf("within %d shorter than the content (%d bytes)", n, len(c.pat))
	}
	c.within, c.withinVar, c.hasWithin, c.relative = n, idx, true, true
	return nil
}
