package sig

func init() {
	register(&keyword{name: "distance", doc: "the preceding content must start N bytes (may be negative) after the previous match", setup: setupDistance})
}

func setupDistance(p *parser, v string) error {
	c, err := p.modContent()
	if err != nil {
		return err
	}
	n, idx, err := p.numOrVar(v, -maxOffset, maxOffset)
	if err != nil {
		return err
	}
	c.distance, c.distanceVar, c.relative = n, idx, true
	return nil
}
