package sig

func init() {
	register(&keyword{name: "offset", doc: "the preceding content must start at or after byte N of the buffer", setup: setupOffset})
}

func setupOffset(p *parser, v string) error {
	c, err := p.modContent()
	if err != nil {
		return err
	}
	if c.startswith {
		return errf("offset with startswith")
	}
	n, idx, err := p.numOrVar(v, 0, maxOffset)
	if err != nil {
		return err
	}
	c.offset, c.offsetVar = n, idx
	return nil
}
