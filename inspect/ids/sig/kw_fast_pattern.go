package sig

import "strings"

func init() {
	register(&keyword{name: "fast_pattern", value: valueOptional, doc: "use the preceding content (or its off,len part) as the signature's prefilter pattern", setup: setupFastPattern})
}

func setupFastPattern(p *parser, v string) error {
	c, err := p.modContent()
	if err != nil {
		return err
	}
	if c.neg {
		return errf("negated content cannot be the fast pattern")
	}
	for _, l := range p.sig.lists {
		for _, s := range l.steps {
			if o, ok := s.(*content); ok && o.fast && o != c {
				return errf("a second fast_pattern")
			}
		}
	}
	c.fast = true
	v = strings.TrimSpace(v)
	switch {
	case v == "":
	case v == "only":
		c.fastOnly = true
	default:
		parts := splitComma(v)
		if len(parts) != 2 {
			return errf("want only or OFFSET,LENGTH, have %q", v)
		}
		off, err := parseUint(parts[0], maxOffset)
		if err != nil {
			return err
		}
		n, err := parseUint(parts[1], maxOffset)
		if err != nil {
			return err
		}
		if n == 0 || int(off+n) > len(c.pat) {
			return errf("%d,%d is outside the %d-byte content", off, n, len(c.pat))
		}
		c.fastOff, c.fastLen = int(off), int(n)
	}
	return nil
}
