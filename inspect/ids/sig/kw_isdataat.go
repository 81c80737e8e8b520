package sig

import "strings"

func init() {
	register(&keyword{name: "isdataat", doc: "the buffer has data at offset N ([!]N[,relative])", setup: setupIsdataat})
}

type isdataat struct {
	n        int
	nVar     int8
	neg      bool
	relative bool
}

func setupIsdataat(p *parser, v string) error {
	d := &isdataat{}
	parts := splitComma(v)
	if len(parts) > 2 {
		return errf("want [!]N[,relative], have %q", v)
	}
	num := parts[0]
	if strings.HasPrefix(num, "!") {
		d.neg, num = true, strings.TrimSpace(num[1:])
	}
	n, idx, err := p.numOrVar(num, 0, maxOffset)
	if err != nil {
		return err
	}
	d.n, d.nVar = n, idx
	if len(parts) == 2 {
		if parts[1] != "relative" && parts[1] != "rawbytes" {
			return errf("unknown option %q", parts[1])
		}
		d.relative = parts[1] == "relative"
	}
	p.addStep(d)
	return nil
}

func (d *isdataat) isRelative() bool { return d.relative }

func (d *isdataat) eval(st *state, buf []byte, cur int, rest []step) bool {
	n := d.n
	if d.nVar >= 0 {
		n = int(st.vars[d.nVar])
	}
	// As Suricata: absolute, a byte at offset n; relative, n more bytes
	// after the cursor (not a byte at cur+n).
	has := n < len(buf)
	if d.relative {
		has = cur+n <= len(buf)
	}
	if has == d.neg {
		return false
	}
	return st.evalSteps(buf, cur, rest)
}
