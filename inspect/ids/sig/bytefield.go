package sig

import (
	"strconv"
	"strings"
)

// byteField is how byte_test, byte_jump and byte_extract read a number:
// N bytes at an offset (relative to the previous match or absolute), as
// binary (big or little endian) or as text in a base, then masked.
type byteField struct {
	n        int
	offset   int
	offVar   int8
	relative bool
	little   bool
	str      bool
	base     int
	bitmask  uint64
	shift    uint
}

// parseFieldOpt handles one of the options the three keywords share; it
// reports whether it recognised opt. next returns the option after opt
// (for "string,dec").
func (f *byteField) parseOpt(opt string, next func() (string, bool)) (bool, error) {
	switch {
	case opt == "relative":
		f.relative = true
	case opt == "big":
	case opt == "little":
		f.little = true
	case opt == "dce":
		f.little = true // DCE/RPC data representation: little-endian in practice
	case opt == "string":
		f.str, f.base = true, 10
		if b, ok := next(); ok {
			switch b {
			case "dec":
			case "hex":
				f.base = 16
			case "oct":
				f.base = 8
			default:
				return true, errf("unknown base %q", b)
			}
		}
	case opt == "hex" || opt == "dec" || opt == "oct":
		// a base given on its own after string
		f.str = true
		f.base = map[string]int{"hex": 16, "dec": 10, "oct": 8}[opt]
	case strings.HasPrefix(opt, "bitmask"):
		v := strings.TrimSpace(strings.TrimPrefix(opt, "bitmask"))
		m, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(v), "0x"), 16, 64)
		if err != nil || m == 0 {
			return true, errf("bad bitmask %q", v)
		}
		f.bitmask = m
		for m&1 == 0 {
			f.shift++
			m >>= 1
		}
	default:
		return false, nil
	}
	return true, nil
}

func (f *byteField) check(nbytes int) error {
	if f.str {
		// 0 with string: read the digits there are (up to 23), as
		// Suricata 7 does.
		if nbytes < 0 || nbytes > 23 {
			return errf("%d bytes: string reads 0 to 23", nbytes)
		}
	} else if nbytes < 1 || nbytes > 8 {
		return errf("%d bytes: binary reads 1 to 8", nbytes)
	}
	return nil
}

// read returns the number at the field's position; ok is false when the
// buffer is too short or the text is not a number.
func (f *byteField) read(st *state, buf []byte, cur int) (v uint64, end int, ok bool) {
	off := f.offset
	if f.offVar >= 0 {
		off = int(st.vars[f.offVar])
	}
	if f.relative {
		off += cur
	}
	n := f.n
	if n == 0 {
		for n < 23 && off+n < len(buf) && unhex(buf[off+n]) >= 0 && unhex(buf[off+n]) < f.base {
			n++
		}
		if n == 0 {
			return 0, 0, false
		}
	}
	if off < 0 || off+n > len(buf) {
		return 0, 0, false
	}
	b := buf[off : off+n]
	if f.str {
		for _, c := range b {
			d := unhex(c)
			if d < 0 || d >= f.base {
				return 0, 0, false
			}
			v = v*uint64(f.base) + uint64(d)
		}
	} else if f.little {
		for i := len(b) - 1; i >= 0; i-- {
			v = v<<8 | uint64(b[i])
		}
	} else {
		for _, c := range b {
			v = v<<8 | uint64(c)
		}
	}
	if f.bitmask != 0 {
		v = (v & f.bitmask) >> f.shift
	}
	return v, off + n, true
}

func (f *byteField) isRelative() bool { return f.relative }
