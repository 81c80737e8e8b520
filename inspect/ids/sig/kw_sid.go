package sig

func init() {
	register(&keyword{name: "sid", doc: "the signature id (1 to 2^32-1)", setup: func(p *parser, v string) error {
		n, err := parseUint(v, 1<<32-1)
		if err != nil {
			return err
		}
		if n == 0 {
			return errf("sid 0")
		}
		p.sig.SID = uint32(n)
		return nil
	}})
}
