package sig

import "strings"

func init() {
	register(&keyword{name: "flags", doc: "TCP flags: letters FSRPAUCE0, with + (all of, and more), * (any of), ! (none of); ,MASK ignores flags", setup: setupFlags})
}

type tcpFlags struct {
	mod  byte // 0 exact, '+', '*', '!'
	want uint8
	mask uint8 // flags to ignore
}

func flagBits(s string) (uint8, error) {
	var b uint8
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case 'F', 'f':
			b |= 0x01
		case 'S', 's':
			b |= 0x02
		case 'R', 'r':
			b |= 0x04
		case 'P', 'p':
			b |= 0x08
		case 'A', 'a':
			b |= 0x10
		case 'U', 'u':
			b |= 0x20
		case 'C', 'c', '2':
			b |= 0x80
		case 'E', 'e', '1':
			b |= 0x40
		case '0':
		default:
			return 0, errf("unknown flag %q", s[i])
		}
	}
	return b, nil
}

func setupFlags(p *parser, v string) error {
	f := &tcpFlags{}
	v = strings.TrimSpace(v)
	mask := ""
	if i := strings.IndexByte(v, ','); i >= 0 {
		v, mask = strings.TrimSpace(v[:i]), strings.TrimSpace(v[i+1:])
	}
	for len(v) > 0 && (v[0] == '+' || v[0] == '*' || v[0] == '!') {
		f.mod = v[0]
		v = v[1:]
	}
	for len(v) > 0 && (v[len(v)-1] == '+' || v[len(v)-1] == '*' || v[len(v)-1] == '!') {
		f.mod = v[len(v)-1]
		v = v[:len(v)-1]
	}
	if v == "" {
		return errf("no flags")
	}
	var err error
	if f.want, err = flagBits(v); err != nil {
		return err
	}
	if f.mask, err = flagBits(mask); err != nil {
		return err
	}
	p.sig.checks = append(p.sig.checks, f)
	p.sig.pktOnly = true
	return nil
}

func (f *tcpFlags) check(st *state) bool {
	if st.pkt.Proto != 6 {
		return false
	}
	got := st.pkt.Flags &^ f.mask
	switch f.mod {
	case '+':
		return got&f.want == f.want
	case '*':
		return got&f.want != 0
	case '!':
		return got&f.want == 0
	}
	return got == f.want
}
