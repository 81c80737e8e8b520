package sig

// This file is kw_bytetest.go, not kw_byte_test.go: a _test.go suffix
// would make it a test file.

import "strings"

func init() {
	register(&keyword{name: "byte_test", doc: "compare a number read from the buffer: BYTES,[!]OP,VALUE,OFFSET[,relative][,big|little][,string,dec|hex|oct][,bitmask M]", setup: setupByteTest})
}

type byteTest struct {
	byteField
	op     string
	neg    bool
	value  uint64
	valVar int8
}

func setupByteTest(p *parser, v string) error {
	parts := splitComma(v)
	if len(parts) < 4 {
		return errf("want BYTES,OP,VALUE,OFFSET[,...], have %q", v)
	}
	bt := &byteTest{valVar: -1}
	n, err := parseUint(parts[0], 64)
	if err != nil {
		return err
	}
	bt.n = int(n)
	op := parts[1]
	if strings.HasPrefix(op, "!") && op != "!=" {
		bt.neg, op = true, op[1:]
	}
	switch op {
	case "<", ">", "=", "<=", ">=", "&", "^":
	case "!=", "!":
		bt.neg, op = true, "="
	default:
		return errf("unknown operator %q", parts[1])
	}
	bt.op = op
	if val, idx, err := p.numOrVarU(parts[2]); err != nil {
		return err
	} else {
		bt.value, bt.valVar = val, idx
	}
	if bt.offset, bt.offVar, err = p.numOrVar(parts[3], -maxOffset, maxOffset); err != nil {
		return err
	}
	if err := parseFieldRest(&bt.byteField, parts[4:]); err != nil {
		return err
	}
	if err := bt.check(bt.n); err != nil {
		return err
	}
	p.addStep(bt)
	return nil
}

// parseFieldRest parses the shared trailing options.
func parseFieldRest(f *byteField, opts []string) error {
	for i := 0; i < len(opts); i++ {
		next := func() (string, bool) {
			if i+1 < len(opts) {
				switch opts[i+1] {
				case "dec", "hex", "oct":
					i++
					return opts[i], true
				}
			}
			return "", false
		}
		ok, err := f.parseOpt(opts[i], next)
		if err != nil {
			return err
		}
		if !ok {
			return errf("unknown option %q", opts[i])
		}
	}
	return nil
}

func (p *parser) numOrVarU(v string) (uint64, int8, error) {
	v = strings.TrimSpace(v)
	if strings.HasPrefix(v, "0x") || strings.HasPrefix(v, "0X") {
		var n uint64
		if len(v) == 2 || len(v) > 18 {
			return 0, -1, errf("bad number %q", v)
		}
		for i := 2; i < len(v); i++ {
			d := unhex(v[i])
			if d < 0 {
				return 0, -1, errf("bad number %q", v)
			}
			n = n<<4 | uint64(d)
		}
		return n, -1, nil
	}
	if len(v) > 0 && v[0] >= '0' && v[0] <= '9' {
		n, err := parseUint(v, 1<<64-1)
		return n, -1, err
	}
	_, idx, err := p.numOrVar(v, 0, 0)
	return 0, idx, err
}

func (bt *byteTest) eval(st *state, buf []byte, cur int, rest []step) bool {
	x, _, ok := bt.read(st, buf, cur)
	if !ok {
		return false
	}
	val := bt.value
	if bt.valVar >= 0 {
		val = st.vars[bt.valVar]
	}
	var m bool
	switch bt.op {
	case "<":
		m = x < val
	case ">":
		m = x > val
	case "=":
		m = x == val
	case "<=":
		m = x <= val
	case ">=":
		m = x >= val
	case "&":
		m = x&val != 0
	case "^":
		m = x^val != 0
	}
	if m == bt.neg {
		return false
	}
	return st.evalSteps(buf, cur, rest)
}
