package sig

import (
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

func init() {
	register(&keyword{name: "pcre", doc: "match a regular expression \"/re/flags\" (! to negate); Go regexp syntax after translating PCRE's, bytes read as Latin-1", setup: setupPcre})
}

// pcre is a regular expression match. Go's regexp reads UTF-8, so the
// pattern and the inspected bytes are both read as Latin-1 (each byte one
// rune): \xff then means the byte 0xff, as in PCRE without UTF mode.
type pcre struct {
	re       *regexp.Regexp
	neg      bool
	relative bool
}

func setupPcre(p *parser, v string) error {
	raw, neg, err := unquoteRegex(v)
	if err != nil {
		return err
	}
	if len(raw) < 2 || raw[0] != '/' {
		return errf("want \"/regex/flags\"")
	}
	end := strings.LastIndexByte(raw, '/')
	if end == 0 {
		return errf("missing closing /")
	}
	pat, flags := raw[1:end], raw[end+1:]
	pc := &pcre{neg: neg}
	var goFlags strings.Builder
	anchored, extended := false, false
	buf, haveBuf := BufPayload, false
	for i := 0; i < len(flags); i++ {
		f := flags[i]
		switch f {
		case 'i', 's', 'm':
			goFlags.WriteByte(f)
		case 'U':
			if haveBuf && buf != BufHTTPURI {
				return errf("flag U with another buffer flag")
			}
			buf, haveBuf = BufHTTPURI, true
		case 'x':
			extended = true
		case 'A':
			anchored = true
		case 'E', 'O', 'B':
			// E: $ matches only at the very end, which is Go's default
			// without m. O: match limits (Go's regexp has none). B:
			// rawbytes.
		case 'G':
			goFlags.WriteByte('U')
		case 'R':
			pc.relative = true
		default:
			b, ok := pcreBuffer(f)
			if !ok {
				return errf("unknown flag %q", f)
			}
			if haveBuf && buf != b {
				return errf("two buffer flags")
			}
			buf, haveBuf = b, true
		}
	}
	if extended {
		pat = stripExtended(pat)
	}
	goPat, err := translatePCRE(pat)
	if err != nil {
		return err
	}
	if anchored {
		goPat = `\A(?:` + goPat + `)`
	}
	if goFlags.Len() > 0 {
		goPat = "(?" + goFlags.String() + ")" + goPat
	}
	re, err := regexp.Compile(goPat)
	if err != nil {
		return errf("go regexp: %v", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	pc.re = re
	if haveBuf {
		if pc.relative && (p.lastList == nil || p.lastList.buf != buf) {
			// Relative to a match in another buffer: Suricata
			// rejects this too.
			return errf("flag R relative to a match in another buffer")
		}
		if p.cur != nil && p.cur.buf != buf {
			return errf("buffer flag %s with sticky buffer %s", buffers[buf].Name, p.cur.buf)
		}
		save := p.cur
		p.cur = p.listFor(buf, false)
		p.addStep(pc)
		p.cur = save
		return nil
	}
	p.addStep(pc)
	return nil
}

func pcreBuffer(f byte) (Buffer, bool) {
	for b := Buffer(0); b < NumBuffers; b++ {
		if buffers[b].PCRE == f {
			return b, true
		}
	}
	return 0, false
}

// unquoteRegex strips quotes and an optional ! but keeps backslashes
// (they belong to the regex); only \" and \; are unescaped.
func unquoteRegex(v string) (string, bool, error) {
	v = strings.TrimSpace(v)
	neg := false
	if strings.HasPrefix(v, "!") {
		neg = true
		v = strings.TrimSpace(v[1:])
	}
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", neg, errf("want a quoted \"/regex/flags\"")
	}
	v = v[1 : len(v)-1]
	v = strings.ReplaceAll(v, `\;`, `;`)
	v = strings.ReplaceAll(v, `\"`, `"`)
	return v, neg, nil
}

// stripExtended removes the whitespace and #-comments of PCRE's x flag,
// outside character classes and escapes.
func stripExtended(s string) string {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			b.WriteByte(c)
			b.WriteByte(s[i+1])
			i++
			continue
		case inClass:
			if c == ']' {
				inClass = false
			}
		case c == '[':
			inClass = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			continue
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// translatePCRE rewrites the PCRE constructs Go's syntax spells
// differently and rejects those Go's regexp (RE2, linear time by design)
// cannot express: lookaround, backreferences, atomic groups, possessive
// quantifiers, \G, \K.
func translatePCRE(s string) (string, error) {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			b.WriteRune(rune(c)) // Latin-1
			continue
		}
		if c == '\\' && i+1 < len(s) {
			n := s[i+1]
			i++
			switch {
			case n >= '1' && n <= '9' && !inClass:
				return "", errf("backreference \\%c is not supported by Go regexp", n)
			case n == 'Z':
				b.WriteString(`(?:\n?\z)`)
			case n == 'z' || n == 'A' || n == 'b' || n == 'B':
				b.WriteByte('\\')
				b.WriteByte(n)
			case n == 'h':
				if inClass {
					b.WriteString(`\t `)
				} else {
					b.WriteString(`[\t ]`)
				}
			case n == 'H':
				b.WriteString(`[^\t ]`)
			case n == 'e':
				b.WriteString(`\x1b`)
			case n == 'R':
				b.WriteString(`(?:\r\n|\n|\r)`)
			case n == 'G', n == 'K':
				return "", errf("\\%c is not supported by Go regexp", n)
			case n == '0':
				// \0, \0N, \0NN: octal.
				j := i + 1
				v := 0
				for j < len(s) && j < i+3 && s[j] >= '0' && s[j] <= '7' {
					v = v*8 + int(s[j]-'0')
					j++
				}
				b.WriteString(`\x{` + strconv.FormatInt(int64(v), 16) + `}`)
				i = j - 1
			case n == 'c' && i+1 < len(s):
				ctl := s[i+1]&^0x20 ^ 0x40
				b.WriteString(`\x{` + strconv.FormatInt(int64(ctl), 16) + `}`)
				i++
			case n == 'Q':
				end := strings.Index(s[i+1:], `\E`)
				lit := s[i+1:]
				if end >= 0 {
					lit = s[i+1 : i+1+end]
					i += end + 2
				} else {
					i = len(s)
				}
				b.WriteString(regexp.QuoteMeta(lit))
			case n >= utf8.RuneSelf:
				b.WriteRune(rune(n))
			case isAlnum(n):
				b.WriteByte('\\')
				b.WriteByte(n)
			default:
				// An escaped punctuation or space: Go rejects
				// escaping some of these; write them as hex.
				b.WriteString(`\x{` + strconv.FormatInt(int64(n), 16) + `}`)
			}
			continue
		}
		if inClass {
			if c == ']' {
				inClass = false
			} else if c == '[' && i+1 < len(s) && s[i+1] != ':' {
				b.WriteString(`\[`)
				continue
			} else if c == '[' && i+1 < len(s) && s[i+1] == ':' {
				end := strings.Index(s[i:], ":]")
				if end > 0 {
					b.WriteString(s[i : i+end+2])
					i += end + 1
					continue
				}
			}
			b.WriteByte(c)
			continue
		}
		switch c {
		case '[':
			inClass = true
			b.WriteByte(c)
			// A ] right after [ or [^ is a literal.
			if i+1 < len(s) && s[i+1] == '^' {
				b.WriteByte('^')
				i++
			}
			if i+1 < len(s) && s[i+1] == ']' {
				b.WriteString(`\]`)
				i++
			}
			continue
		case '(':
			if strings.HasPrefix(s[i:], "(?=") || strings.HasPrefix(s[i:], "(?!") ||
				strings.HasPrefix(s[i:], "(?<=") || strings.HasPrefix(s[i:], "(?<!") {
				return "", errf("lookaround %s is not supported by Go regexp", s[i:i+3])
			}
			if strings.HasPrefix(s[i:], "(?>") {
				return "", errf("atomic group (?> is not supported by Go regexp")
			}
			if strings.HasPrefix(s[i:], "(?#") {
				end := strings.IndexByte(s[i:], ')')
				if end < 0 {
					return "", errf("unterminated comment")
				}
				i += end
				continue
			}
		case '+', '*', '?', '}':
			if i+1 < len(s) && s[i+1] == '+' {
				return "", errf("possessive quantifier %c+ is not supported by Go regexp", c)
			}
		case '{':
			// PCRE reads { as a literal unless it starts a valid
			// quantifier; Go rejects some such braces.
			end := strings.IndexByte(s[i:], '}')
			if end < 0 || !isQuantifier(s[i+1:i+end]) {
				b.WriteString(`\{`)
				continue
			}
			q := s[i+1 : i+end]
			if lo, hi, ok := quantBounds(q); ok && (lo > 1000 || hi > 1000) {
				return "", errf("repeat count {%s} is over Go regexp's limit of 1000", q)
			}
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isQuantifier(q string) bool {
	if q == "" {
		return false
	}
	parts := strings.Split(q, ",")
	if len(parts) > 2 || parts[0] == "" {
		return false
	}
	for _, p := range parts {
		for i := 0; i < len(p); i++ {
			if p[i] < '0' || p[i] > '9' {
				return false
			}
		}
	}
	return true
}

func quantBounds(q string) (lo, hi int, ok bool) {
	parts := strings.Split(q, ",")
	lo, err := strconv.Atoi(parts[0])
	if err != nil {
		return 0, 0, false
	}
	hi = lo
	if len(parts) == 2 {
		if parts[1] == "" {
			hi = -1
		} else if hi, err = strconv.Atoi(parts[1]); err != nil {
			return 0, 0, false
		}
	}
	return lo, hi, true
}

func (pc *pcre) isRelative() bool { return pc.relative }

func (pc *pcre) eval(st *state, buf []byte, cur int, rest []step) bool {
	start := 0
	if pc.relative {
		start = cur
		if start > len(buf) {
			start = len(buf)
		}
	}
	sub := buf[start:]
	needEnd := !pc.neg && len(rest) > 0 && dependsOnCursor(rest[0])
	if text, ok := st.latin1(sub); ok {
		sub = text
	}
	latin := len(sub) != len(buf)-start
	if !needEnd {
		if pc.re.Match(sub) == pc.neg {
			return false
		}
		return st.evalSteps(buf, cur, rest)
	}
	loc := pc.re.FindIndex(sub)
	if loc == nil {
		return false
	}
	end := loc[1]
	if latin {
		end = utf8.RuneCount(sub[:end])
	}
	return st.evalSteps(buf, start+end, rest)
}
