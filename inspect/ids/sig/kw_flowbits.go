package sig

import "strings"

func init() {
	register(&keyword{name: "flowbits", doc: "per-flow flags: set, unset, toggle, isset, isnotset NAME (a|b: any, a&b: all), or noalert", setup: setupFlowbits})
}

type bitOp uint8

const (
	bitSet bitOp = iota + 1
	bitUnset
	bitToggle
	bitIsset
	bitIsnotset
)

// flowbit is one flowbits or xbits option. idx are the engine's bit
// indexes of names, filled by the build.
type flowbit struct {
	op    bitOp
	names []string
	idx   []uint16
	any   bool // names joined by |
}

func setupFlowbits(p *parser, v string) error {
	return parseBits(p, v, false)
}

func parseBits(p *parser, v string, xbits bool) error {
	parts := splitComma(v)
	if parts[0] == "noalert" {
		if len(parts) != 1 {
			return errf("noalert takes no name")
		}
		p.sig.noalert = true
		return nil
	}
	var op bitOp
	switch parts[0] {
	case "set":
		op = bitSet
	case "unset":
		op = bitUnset
	case "toggle":
		op = bitToggle
	case "isset":
		op = bitIsset
	case "isnotset":
		op = bitIsnotset
	default:
		return errf("unknown operation %q", parts[0])
	}
	if len(parts) < 2 || parts[1] == "" {
		return errf("%s needs a name", parts[0])
	}
	if !xbits && len(parts) > 2 {
		return errf("want OP,NAME, have %q", v)
	}
	if xbits {
		if len(parts) < 3 || !strings.HasPrefix(parts[2], "track") {
			return errf("want OP,NAME,track ip_src|ip_dst|ip_pair[,expire N]")
		}
	}
	fb := &flowbit{op: op}
	name := parts[1]
	switch {
	case strings.Contains(name, "|"):
		fb.any = true
		fb.names = splitTrim(name, "|")
	case strings.Contains(name, "&"):
		fb.names = splitTrim(name, "&")
	default:
		fb.names = []string{name}
	}
	if len(fb.names) > 1 && op != bitIsset && op != bitIsnotset {
		return errf("| and & only with isset and isnotset")
	}
	for _, n := range fb.names {
		if n == "" {
			return errf("empty name in %q", name)
		}
	}
	p.sig.flowbitRef = append(p.sig.flowbitRef, fb.names...)
	switch op {
	case bitIsset, bitIsnotset:
		p.sig.checks = append(p.sig.checks, fb)
		p.sig.hasFlowGet = true
	default:
		p.sig.postMatch = append(p.sig.postMatch, fb)
		p.sig.hasFlowSet = true
	}
	return nil
}

func splitTrim(s, sep string) []string {
	parts := strings.Split(s, sep)
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

func isBitSet(f *bitsFlow, i uint16) bool { return f.Bits[i/64]&(1<<(i%64)) != 0 }

func (fb *flowbit) check(st *state) bool {
	f := st.flow
	if f == nil {
		return fb.op == bitIsnotset
	}
	switch {
	case fb.op == bitIsset && fb.any:
		for _, i := range fb.idx {
			if isBitSet(f, i) {
				return true
			}
		}
		return false
	case fb.op == bitIsset:
		for _, i := range fb.idx {
			if !isBitSet(f, i) {
				return false
			}
		}
		return true
	case fb.op == bitIsnotset && fb.any:
		for _, i := range fb.idx {
			if !isBitSet(f, i) {
				return true
			}
		}
		return false
	default: // isnotset, all
		for _, i := range fb.idx {
			if isBitSet(f, i) {
				return false
			}
		}
		return true
	}
}

func (fb *flowbit) apply(st *state) {
	f := st.flow
	if f == nil {
		return
	}
	for _, i := range fb.idx {
		w, m := i/64, uint64(1)<<(i%64)
		switch fb.op {
		case bitSet:
			f.Bits[w] |= m
		case bitUnset:
			f.Bits[w] &^= m
		case bitToggle:
			f.Bits[w] ^= m
		}
	}
}
