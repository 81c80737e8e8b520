package sig

func init() {
	register(&keyword{name: "bsize", doc: "the sticky buffer's length: N, <N, >N, N<>M", setup: setupBsize})
}

type bsize struct{ cmp numCmp }

func setupBsize(p *parser, v string) error {
	if p.cur == nil {
		return errf("needs a sticky buffer before it")
	}
	c, err := parseNumCmp(v, maxOffset)
	if err != nil {
		return err
	}
	p.addStep(&bsize{cmp: c})
	return nil
}

func (b *bsize) eval(st *state, buf []byte, cur int, rest []step) bool {
	n := len(buf)
	if st.dotprefixed {
		n-- // bsize measures the buffer before the transform
	}
	return b.cmp.match(uint64(n)) && st.evalSteps(buf, cur, rest)
}
