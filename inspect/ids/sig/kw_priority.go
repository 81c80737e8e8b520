package sig

func init() {
	register(&keyword{name: "priority", doc: "the alert's priority, 1 (high) to 255", setup: func(p *parser, v string) error {
		n, err := parseUint(v, 255)
		if err != nil {
			return err
		}
		if n == 0 {
			return errf("priority 0")
		}
		p.sig.Priority = int(n)
		return nil
	}})
}
