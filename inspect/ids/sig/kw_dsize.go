package sig

func init() {
	register(&keyword{name: "dsize", doc: "the packet payload's size: N, !N, <N, >N, N<>M", setup: func(p *parser, v string) error {
		c, err := parseNumCmp(v, 65535)
		if err != nil {
			return err
		}
		p.sig.checks = append(p.sig.checks, &dsize{cmp: c})
		p.sig.pktOnly = true
		return nil
	}})
}

type dsize struct{ cmp numCmp }

func (d *dsize) check(st *state) bool { return d.cmp.match(uint64(len(st.pkt.Payload))) }
