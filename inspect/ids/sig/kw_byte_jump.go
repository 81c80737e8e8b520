package sig

import "strings"

func init() {
	register(&keyword{name: "byte_jump", doc: "read a number and move the relative position by it: BYTES,OFFSET[,relative][,multiplier N][,big|little][,string,BASE][,align][,from_beginning|from_end][,post_offset N][,bitmask M]", setup: setupByteJump})
}

type byteJump struct {
	byteField
	mult          uint64
	align         bool
	fromBeginning bool
	fromEnd       bool
	postOffset    int
}

func setupByteJump(p *parser, v string) error {
	parts := splitComma(v)
	if len(parts) < 2 {
		return errf("want BYTES,OFFSET[,...], have %q", v)
	}
	bj := &byteJump{mult: 1}
	n, err := parseUint(parts[0], 64)
	if err != nil {
		return err
	}
	bj.n = int(n)
	if bj.offset, bj.offVar, err = p.numOrVar(parts[1], -maxOffset, maxOffset); err != nil {
		return err
	}
	var rest []string
	for _, o := range parts[2:] {
		switch {
		case o == "align":
			bj.align = true
		case o == "from_beginning":
			bj.fromBeginning = true
		case o == "from_end":
			bj.fromEnd = true
		case strings.HasPrefix(o, "multiplier"):
			m, err := parseUint(strings.TrimPrefix(o, "multiplier"), 65535)
			if err != nil {
				return err
			}
			bj.mult = m
		case strings.HasPrefix(o, "post_offset"):
			n, _, err := p.numOrVar(strings.TrimPrefix(o, "post_offset"), -maxOffset, maxOffset)
			if err != nil {
				return err
			}
			bj.postOffset = n
		default:
			rest = append(rest, o)
		}
	}
	if err := parseFieldRest(&bj.byteField, rest); err != nil {
		return err
	}
	if err := bj.check(bj.n); err != nil {
		return err
	}
	p.addStep(bj)
	return nil
}

func (bj *byteJump) eval(st *state, buf []byte, cur int, rest []step) bool {
	x, end, ok := bj.read(st, buf, cur)
	if !ok {
		return false
	}
	x *= bj.mult
	if bj.align && x%4 != 0 {
		x += 4 - x%4
	}
	base := end
	switch {
	case bj.fromBeginning:
		base = 0
	case bj.fromEnd:
		base = len(buf)
	}
	if x > uint64(len(buf))+maxOffset {
		return false
	}
	pos := base + int(x) + bj.postOffset
	if pos < 0 || pos > len(buf) {
		return false
	}
	return st.evalSteps(buf, pos, rest)
}
