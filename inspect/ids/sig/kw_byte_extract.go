package sig

import "strings"

func init() {
	register(&keyword{name: "byte_extract", doc: "read a number into a variable for later offsets and values: BYTES,OFFSET,NAME[,relative][,multiplier N][,big|little][,string,BASE][,align N][,bitmask M]", setup: setupByteExtract})
}

// maxVars bounds byte_extract variables per signature.
const maxVars = 8

type byteExtract struct {
	byteField
	mult  uint64
	align uint64
	idx   int8
}

func setupByteExtract(p *parser, v string) error {
	parts := splitComma(v)
	if len(parts) < 3 {
		return errf("want BYTES,OFFSET,NAME[,...], have %q", v)
	}
	be := &byteExtract{mult: 1}
	n, err := parseUint(parts[0], 64)
	if err != nil {
		return err
	}
	be.n = int(n)
	if be.offset, be.offVar, err = p.numOrVar(parts[1], -maxOffset, maxOffset); err != nil {
		return err
	}
	name := parts[2]
	if name == "" || !isAlnum(name[0]) {
		return errf("bad variable name %q", name)
	}
	for _, o := range p.sig.varNames {
		if o == name {
			return errf("variable %q defined twice", name)
		}
	}
	if len(p.sig.varNames) == maxVars {
		return errf("more than %d variables", maxVars)
	}
	var rest []string
	for _, o := range parts[3:] {
		switch {
		case strings.HasPrefix(o, "multiplier"):
			m, err := parseUint(strings.TrimPrefix(o, "multiplier"), 65535)
			if err != nil {
				return err
			}
			be.mult = m
		case strings.HasPrefix(o, "align"):
			a, err := parseUint(strings.TrimPrefix(o, "align"), 4)
			if err != nil || (a != 2 && a != 4) {
				return errf("align must be 2 or 4")
			}
			be.align = a
		default:
			rest = append(rest, o)
		}
	}
	if err := parseFieldRest(&be.byteField, rest); err != nil {
		return err
	}
	if err := be.check(be.n); err != nil {
		return err
	}
	be.idx = int8(len(p.sig.varNames))
	p.sig.varNames = append(p.sig.varNames, name)
	p.addStep(be)
	return nil
}

func (be *byteExtract) eval(st *state, buf []byte, cur int, rest []step) bool {
	x, end, ok := be.read(st, buf, cur)
	if !ok {
		return false
	}
	x *= be.mult
	if be.align != 0 && x%be.align != 0 {
		x += be.align - x%be.align
	}
	st.vars[be.idx] = x
	return st.evalSteps(buf, end, rest)
}
