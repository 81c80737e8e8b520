package sig

func init() {
	register(&keyword{name: "icode", doc: "the ICMP code: N, <N, >N, N<>M", setup: func(p *parser, v string) error {
		c, err := parseNumCmp(v, 255)
		if err != nil {
			return err
		}
		p.sig.checks = append(p.sig.checks, &icmpField{cmp: c, code: true})
		p.sig.pktOnly = true
		return nil
	}})
}
