package sig

func init() {
	register(&keyword{name: "rev", doc: "the signature's revision", setup: func(p *parser, v string) error {
		n, err := parseUint(v, 1<<32-1)
		p.sig.Rev = uint32(n)
		return err
	}})
}
