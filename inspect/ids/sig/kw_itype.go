package sig

func init() {
	register(&keyword{name: "itype", doc: "the ICMP type: N, <N, >N, N<>M", setup: func(p *parser, v string) error {
		c, err := parseNumCmp(v, 255)
		if err != nil {
			return err
		}
		p.sig.checks = append(p.sig.checks, &icmpField{cmp: c})
		p.sig.pktOnly = true
		return nil
	}})
}

type icmpField struct {
	cmp  numCmp
	code bool
}

func (f *icmpField) check(st *state) bool {
	if st.pkt.Proto != 1 && st.pkt.Proto != 58 {
		return false
	}
	v := st.pkt.ICMPType
	if f.code {
		v = st.pkt.ICMPCode
	}
	return f.cmp.match(uint64(v))
}
