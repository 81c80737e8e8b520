package sig

import (
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/dlclark/regexp2/v2"
)

func init() {
	register(&keyword{name: "pcre", doc: "match a regular expression \"/re/flags\" (! to negate): Go's regexp (RE2) after translating PCRE's syntax, a bounded backtracking engine for lookaround and backreferences; bytes read as Latin-1", setup: setupPcre})
}

// pcre is a regular expression match. Go's regexp reads UTF-8, so the
// pattern and the inspected bytes are both read as Latin-1 (each byte one
// rune): \xff then means the byte 0xff, as in PCRE without UTF mode.
type pcre struct {
	// re is Go's regexp (RE2: linear time), used whenever the pattern
	// compiles there; bt the backtracking fallback otherwise.
	re       *regexp.Regexp
	bt       *regexp2.Regexp
	neg      bool
	relative bool
}

// compileRE2 compiles a PCRE pattern (x flag applied) with Go's regexp.
func compileRE2(pat, flags string, anchored bool) (*regexp.Regexp, error) {
	goPat, err := translatePCRE(pat, false)
	if err != nil {
		return nil, err
	}
	re, err := regexp.Compile(withFlags(goPat, flags, anchored))
	if err != nil {
		return nil, errf("go regexp: %v", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	return re, nil
}

// withFlags applies the A flag and the inline flags to a translated
// pattern.
func withFlags(p, flags string, anchored bool) string {
	if anchored {
		p = `\A(?:` + p + `)`
	}
	if flags != "" {
		p = "(?" + flags + ")" + p
	}
	return p
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
	re, goErr := compileRE2(pat, goFlags.String(), anchored)
	if goErr == nil {
		pc.re = re
	} else {
		// Go's regexp cannot express it: the backtracking engine,
		// bounded (pcre_backtrack.go), or the rule is rejected.
		bt, err := compileBacktrack(pat, goFlags.String(), anchored)
		if err != nil {
			return errf("%v; backtracking engine: %v", goErr, err)
		}
		pc.bt = bt
	}
	if haveBuf && buf == BufHTTPResponseBody && p.cur != nil && p.cur.buf == BufFileData {
		// Suricata inspects http_server_body (Q) in the file.data
		// buffer: after file.data, Q names the same buffer.
		buf = BufFileData
	}
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
// quantifiers, \G, \K. With backtrack it writes for the fallback
// engine instead (regexp2 in its RE2 mode, see pcre_backtrack.go), which
// reads those constructs as PCRE does and has no repeat limit; only \K
// is still rejected.
func translatePCRE(s string, backtrack bool) (string, error) {
	var b outBuf
	inClass := false
	// Atom tracking, for rewriting repeat counts over Go's limit: atom
	// is where the last complete atom starts in b (-1: none, or one a
	// quantifier may not be split over), groups the starts of the open
	// groups, classStart that of the open class.
	atom, classStart := -1, 0
	var groups []int
	var pos int
	var wasClass, escaped, track bool
	advance := func(i int) int {
		switch {
		case !track:
			atom = -1
		case wasClass && !inClass:
			atom = classStart
		case wasClass:
		case inClass:
			classStart = pos
		case escaped:
			atom = pos
		case s[i] == '(':
			groups = append(groups, pos)
			atom = -1
		case s[i] == ')':
			atom = -1
			if n := len(groups); n > 0 {
				atom, groups = groups[n-1], groups[:n-1]
			}
		case s[i] == '{':
			atom = -1
			if string(b.b[pos:]) == `\{` {
				atom = pos // a literal brace
			}
		case strings.IndexByte("|^$*+?", s[i]) >= 0:
			atom = -1
		default:
			atom = pos
		}
		return i + 1
	}
	for i := 0; i < len(s); i = advance(i) {
		c := s[i]
		pos, wasClass, escaped, track = b.Len(), inClass, false, true
		if c >= utf8.RuneSelf {
			b.WriteRune(rune(c)) // Latin-1
			continue
		}
		if c == '\\' && i+1 < len(s) {
			n := s[i+1]
			i++
			escaped = true
			switch {
			case n >= '1' && n <= '9' && !inClass && backtrack:
				// A backreference; delimited, so that a digit after
				// it stays a literal.
				b.WriteString(`(?:\`)
				b.WriteByte(n)
				b.WriteByte(')')
			case n >= '1' && n <= '9' && !inClass:
				return "", errf("backreference \\%c is not supported by Go regexp", n)
			case n == 'g' && !inClass && backtrack:
				// \gN, \g{N}: the backreference \N (relative
				// and named forms are left to the engine, which
				// rejects them).
				j := i + 1
				brace := j < len(s) && s[j] == '{'
				if brace {
					j++
				}
				k := j
				for k < len(s) && s[k] >= '0' && s[k] <= '9' {
					k++
				}
				if k == j || brace && (k >= len(s) || s[k] != '}') {
					return "", errf("\\g: only the numbered backreferences \\gN and \\g{N} are supported")
				}
				b.WriteString(`(?:\` + s[j:k] + `)`)
				i = k - 1
				if brace {
					i = k
				}
			case (n == 'b' || n == 'B') && !inClass && backtrack:
				// regexp2's word boundaries use Unicode word
				// characters even in its RE2 mode; PCRE's (no UCP)
				// are ASCII, as Go's.
				const w = `[0-9A-Za-z_]`
				if n == 'b' {
					b.WriteString(`(?:(?<=` + w + `)(?!` + w + `)|(?<!` + w + `)(?=` + w + `))`)
				} else {
					b.WriteString(`(?:(?<=` + w + `)(?=` + w + `)|(?<!` + w + `)(?!` + w + `))`)
				}
			case n == 'G' && backtrack:
				b.WriteString(`\G`)
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
			case n == 'K' && backtrack:
				return "", errf("\\K is not supported")
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
				track = false // a quantifier would apply to its last byte
			case n == 'x':
				// \xHH or \x{H...}: one atom.
				j := i + 1
				if j < len(s) && s[j] == '{' {
					if end := strings.IndexByte(s[j:], '}'); end > 0 {
						j += end + 1
					}
					b.WriteString(`\x`)
					b.WriteString(s[i+1 : j])
					i = j - 1
					continue
				}
				// \xH, \xHH and a bare \x (0): Go wants two digits.
				v := 0
				for j < len(s) && j < i+3 && unhex(s[j]) >= 0 {
					v = v*16 + unhex(s[j])
					j++
				}
				b.WriteString(`\x{` + strconv.FormatInt(int64(v), 16) + `}`)
				i = j - 1
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
				if end >= 2 && isPOSIXClassName(s[i+2:i+end]) {
					b.WriteString(s[i : i+end+2])
					i += end + 1
					continue
				}
				b.WriteString(`\[`)
				continue
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
			if !backtrack && (strings.HasPrefix(s[i:], "(?=") || strings.HasPrefix(s[i:], "(?!") ||
				strings.HasPrefix(s[i:], "(?<=") || strings.HasPrefix(s[i:], "(?<!")) {
				return "", errf("lookaround %s is not supported by Go regexp", s[i:i+3])
			}
			if !backtrack && strings.HasPrefix(s[i:], "(?>") {
				return "", errf("atomic group (?> is not supported by Go regexp")
			}
			if strings.HasPrefix(s[i:], "(?#") {
				end := strings.IndexByte(s[i:], ')')
				if end < 0 {
					return "", errf("unterminated comment")
				}
				i += end
				pos, track = atom, atom >= 0 // a comment is not an atom
				escaped = true
				continue
			}
		case '+', '*', '?', '}':
			if i+1 < len(s) && s[i+1] == '+' && !backtrack {
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
			if lo, hi, ok := quantBounds(q); !ok || lo > maxPCRERepeat || hi > maxPCRERepeat {
				return "", errf("repeat count {%s} is over PCRE's limit of %d", q, maxPCRERepeat)
			}
			if lo, hi, ok := quantBounds(q); ok && !backtrack && (lo > maxRepeat || hi > maxRepeat) {
				if atom < 0 {
					return "", errf("repeat count {%s} is over Go regexp's limit of %d", q, maxRepeat)
				}
				lazy := i+end+1 < len(s) && s[i+end+1] == '?'
				if i+end+1 < len(s) && s[i+end+1] == '+' {
					return "", errf("possessive quantifier }+ is not supported by Go regexp")
				}
				x := string(b.b[atom:])
				b.b = appendSplitRepeat(b.b[:atom], x, lo, hi, lazy)
				i += end
				if lazy {
					i++
				}
				track = false
				continue
			}
			// Written with its numbers normalized: PCRE reads {00}
			// as zero repeats, Go as a literal.
			lo, hi, _ := quantBounds(q)
			if i+end+1 < len(s) && s[i+end+1] == '+' && !backtrack {
				return "", errf("possessive quantifier }+ is not supported by Go regexp")
			}
			b.WriteString("{" + strconv.Itoa(lo))
			switch {
			case hi < 0:
				b.WriteString(",")
			case hi != lo:
				b.WriteString("," + strconv.Itoa(hi))
			}
			b.WriteString("}")
			i += end
			track = false
			continue
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}

// maxPCRERepeat is PCRE's largest repeat count ("number too big in {}
// quantifier" beyond).
const maxPCRERepeat = 65535

// maxRepeat is Go regexp's largest repeat count.
const maxRepeat = 1000

// appendSplitRepeat appends x{lo,hi} (hi -1: unbounded) written as
// repeats within Go's limit: x{lo} is x{1000}x{1000}...x{r}, and the
// optional part x{0,hi-lo} is x{0,1000}x{0,1000}...; both match the same
// strings. A repeat nested in another still fails Go's check of the
// product of nested counts, so the rule is rejected then as before.
func appendSplitRepeat(out []byte, x string, lo, hi int, lazy bool) []byte {
	g := "(?:" + x + ")"
	q := func(s string) {
		out = append(out, g...)
		out = append(out, s...)
		if lazy {
			out = append(out, '?')
		}
	}
	for n := lo; n > 0; n -= maxRepeat {
		q("{" + strconv.Itoa(min(n, maxRepeat)) + "}")
	}
	if hi < 0 {
		q("*")
		return out
	}
	for n := hi - lo; n > 0; n -= maxRepeat {
		q("{0," + strconv.Itoa(min(n, maxRepeat)) + "}")
	}
	return out
}

// outBuf is a strings.Builder that can be cut back.
type outBuf struct{ b []byte }

func (o *outBuf) WriteByte(c byte) error { o.b = append(o.b, c); return nil }
func (o *outBuf) WriteString(s string)   { o.b = append(o.b, s...) }
func (o *outBuf) WriteRune(r rune)       { o.b = utf8.AppendRune(o.b, r) }
func (o *outBuf) Len() int               { return len(o.b) }
func (o *outBuf) String() string         { return string(o.b) }

// isPOSIXClassName reports whether [:name:] is a POSIX class (a name,
// negated with ^); anything else between [: and :] is literal.
func isPOSIXClassName(n string) bool {
	n = strings.TrimPrefix(n, "^")
	if n == "" {
		return false
	}
	for i := 0; i < len(n); i++ {
		if n[i] < 'a' || n[i] > 'z' {
			return false
		}
	}
	return true
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
	if pc.bt != nil {
		end, ok := st.backtrackMatch(pc.bt, sub, needEnd)
		if !ok {
			return false // timed out: the signature does not match
		}
		if (end >= 0) == pc.neg {
			return false
		}
		if needEnd {
			return st.evalSteps(buf, start+end, rest)
		}
		return st.evalSteps(buf, cur, rest)
	}
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
