package sig

import "strings"

func init() {
	register(&keyword{name: "tls.version", doc: "the TLS version the client offers: 1.0, 1.1, 1.2, 1.3 or 0xNNNN", setup: setupTLSVersion})
}

type tlsVersion struct{ v uint16 }

func setupTLSVersion(p *parser, v string) error {
	v = strings.TrimSpace(v)
	t := &tlsVersion{}
	switch v {
	case "1.0":
		t.v = 0x0301
	case "1.1":
		t.v = 0x0302
	case "1.2":
		t.v = 0x0303
	case "1.3":
		t.v = 0x0304
	default:
		if len(v) == 6 && strings.HasPrefix(v, "0x") {
			var n uint16
			for i := 2; i < 6; i++ {
				d := unhex(v[i])
				if d < 0 {
					return errf("bad version %q", v)
				}
				n = n<<4 | uint16(d)
			}
			t.v = n
			break
		}
		return errf("bad version %q", v)
	}
	p.sig.checks = append(p.sig.checks, t)
	return nil
}

func (t *tlsVersion) check(st *state) bool {
	return st.in.Info != nil && st.in.Info.TLSVersion == t.v
}
