package sig

import (
	"strings"
)

func init() {
	register(&keyword{name: "content", doc: "match bytes (\"text|41 42|text\", ! to negate) in the current buffer", setup: setupContent})
}

// content is a content match with its modifiers. Offsets follow
// Suricata: offset and depth are absolute in the buffer (depth counted
// from offset); distance and within are relative to the end of the
// previous match in the same buffer (within counted from distance).
type content struct {
	pat    []byte // lower-cased when nocase
	nocase bool
	neg    bool

	offset, depth, distance, within int
	hasDepth, hasWithin, relative   bool
	// Indexes of byte_extract variables for the numbers, or -1.
	offsetVar, depthVar, distanceVar, withinVar int8

	startswith, endswith bool

	fast, fastOnly   bool
	fastOff, fastLen int // fast_pattern:off,len; fastLen 0: whole
}

func setupContent(p *parser, v string) error {
	raw, neg, err := unquote(v)
	if err != nil {
		return err
	}
	pat, err := parseContent(raw)
	if err != nil {
		return err
	}
	if len(pat) == 0 {
		return errf("empty pattern")
	}
	c := &content{pat: pat, neg: neg, offsetVar: -1, depthVar: -1, distanceVar: -1, withinVar: -1}
	p.addStep(c)
	return nil
}

// parseContent decodes a content string: text with |hex| runs.
func parseContent(s string) ([]byte, error) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '|' {
			out = append(out, c)
			continue
		}
		end := strings.IndexByte(s[i+1:], '|')
		if end < 0 {
			return nil, errf("unterminated |hex|")
		}
		hex := s[i+1 : i+1+end]
		i += end + 1
		var hi int = -1
		for j := 0; j < len(hex); j++ {
			h := hex[j]
			if h == ' ' || h == '\t' {
				if hi >= 0 {
					return nil, errf("odd number of hex digits in |%s|", hex)
				}
				continue
			}
			d := unhex(h)
			if d < 0 {
				return nil, errf("bad hex digit %q in |%s|", h, hex)
			}
			if hi < 0 {
				hi = d
				continue
			}
			out = append(out, byte(hi<<4|d))
			hi = -1
		}
		if hi >= 0 {
			return nil, errf("odd number of hex digits in |%s|", hex)
		}
	}
	return out, nil
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// lastContent returns the content a modifier applies to.
func (p *parser) modContent() (*content, error) {
	if p.lastContent == nil {
		return nil, errf("no preceding content")
	}
	return p.lastContent, nil
}

// window returns the range of buf where c's match must lie, given the
// previous match's end cur; ok is false when it is empty.
func (c *content) window(st *state, n, cur int) (lo, hi int, ok bool) {
	lo, hi = 0, n
	if c.relative {
		d := c.distance
		if c.distanceVar >= 0 {
			d = int(st.vars[c.distanceVar])
		}
		lo = cur + d
		if lo < 0 {
			lo = 0
		}
		if c.hasWithin {
			w := c.within
			if c.withinVar >= 0 {
				w = int(st.vars[c.withinVar])
			}
			if e := cur + d + w; e < hi {
				hi = e
			}
		}
	}
	if c.offset != 0 || c.offsetVar >= 0 {
		o := c.offset
		if c.offsetVar >= 0 {
			o = int(st.vars[c.offsetVar])
		}
		if o > lo {
			lo = o
		}
	}
	if c.hasDepth {
		d := c.depth
		if c.depthVar >= 0 {
			d = int(st.vars[c.depthVar])
		}
		o := c.offset
		if c.offsetVar >= 0 {
			o = int(st.vars[c.offsetVar])
		}
		if e := o + d; e < hi {
			hi = e
		}
	}
	if c.endswith {
		if l := n - len(c.pat); l > lo {
			lo = l
		}
	}
	if hi > n {
		hi = n
	}
	return lo, hi, hi-lo >= len(c.pat)
}

func (c *content) eval(st *state, buf []byte, cur int, rest []step) bool {
	lo, hi, ok := c.window(st, len(buf), cur)
	if c.neg {
		if ok && indexIn(buf[lo:hi], c.pat, c.nocase) >= 0 {
			return false
		}
		return st.evalSteps(buf, cur, rest)
	}
	if !ok {
		return false
	}
	retry := len(rest) > 0 && dependsOnCursor(rest[0])
	for lo <= hi-len(c.pat) {
		i := indexIn(buf[lo:hi], c.pat, c.nocase)
		if i < 0 {
			return false
		}
		end := lo + i + len(c.pat)
		if c.endswith && end != len(buf) {
			lo += i + 1
			continue
		}
		if st.evalSteps(buf, end, rest) {
			return true
		}
		if !retry || st.budget <= 0 {
			return false
		}
		st.budget--
		lo += i + 1
	}
	return false
}

func (c *content) isRelative() bool { return c.relative }

// relativeStep is implemented by steps whose match depends on the
// previous match's end.
type relativeStep interface{ isRelative() bool }

func dependsOnCursor(s step) bool {
	r, ok := s.(relativeStep)
	return ok && r.isRelative()
}

// indexIn finds pat in b; with nocase pat is lower-case and b is folded
// (ASCII only, as Suricata does).
func indexIn(b, pat []byte, nocase bool) int {
	if !nocase {
		return indexBytes(b, pat)
	}
	n := len(pat)
	if n == 0 {
		return 0
	}
	first := pat[0]
	upper := first
	if first >= 'a' && first <= 'z' {
		upper = first - 32
	}
	for i := 0; i+n <= len(b); i++ {
		c := b[i]
		if c != first && c != upper {
			continue
		}
		j := 1
		for ; j < n; j++ {
			if lower[b[i+j]] != pat[j] {
				break
			}
		}
		if j == n {
			return i
		}
	}
	return -1
}

// lower maps a byte to its ASCII lower case.
var lower = func() (t [256]byte) {
	for i := range t {
		c := byte(i)
		if c >= 'A' && c <= 'Z' {
			c += 32
		}
		t[i] = c
	}
	return t
}()

func toLower(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		out[i] = lower[c]
	}
	return out
}
