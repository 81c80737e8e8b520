package sig

func init() {
	register(&keyword{name: "gid", doc: "the generator id (default 1)", setup: func(p *parser, v string) error {
		n, err := parseUint(v, 1<<32-1)
		p.sig.GID = uint32(n)
		return err
	}})
}
