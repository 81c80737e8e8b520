package sig

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/septa-fw/septa/inspect/ids"
)

// keyword is one rule option: its parser (setup, which compiles the value
// into the signature being parsed) and a one-line doc.
type keyword struct {
	name string
	doc  string
	// value says whether the keyword takes a value.
	value valueKind
	setup func(p *parser, v string) error
}

type valueKind uint8

const (
	valueRequired valueKind = iota
	valueNone
	valueOptional
)

var keywords = map[string]*keyword{}

// register adds a keyword; a duplicate name is a programming error.
func register(k *keyword) {
	if _, dup := keywords[k.name]; dup {
		panic("sig: keyword registered twice: " + k.name)
	}
	keywords[k.name] = k
}

// Keywords returns the known keyword names with their doc lines.
func Keywords() map[string]string {
	out := make(map[string]string, len(keywords))
	for n, k := range keywords {
		out[n] = k.doc
	}
	return out
}

// parser is the state of parsing one signature's options.
type parser struct {
	sig  *Signature
	vars *Vars
	// cur is the list a sticky buffer selected; nil: the payload list.
	cur *list
	// last is the last content or pcre, with the list it is in, for
	// modifiers and relative matches.
	lastContent *content
	lastStep    step
	lastList    *list
}

// Parse parses one signature. Variables resolve through vars (nil:
// DefaultVars). Errors are *Error.
func Parse(text string, vars *Vars) (*Signature, error) {
	if vars == nil {
		vars = defaultVars
	}
	s := &Signature{GID: 1, Priority: 3}
	open := strings.IndexByte(text, '(')
	close := strings.LastIndexByte(text, ')')
	if open < 0 || close < open {
		return nil, &Error{Err: errf("missing ( options )")}
	}
	if strings.TrimSpace(text[close+1:]) != "" {
		return nil, &Error{Err: errf("text after the closing )")}
	}
	opts, err := splitOptions(text[open+1 : close])
	if err != nil {
		return nil, &Error{Err: err}
	}
	s.Options = opts
	// Find the sid first so that every later error can name it.
	for _, o := range opts {
		if o.Name == "sid" {
			if n, err := strconv.ParseUint(strings.TrimSpace(o.Value), 10, 32); err == nil {
				s.SID = uint32(n)
			}
		}
	}
	if err := parseHeader(s, text[:open], vars); err != nil {
		return nil, &Error{SID: s.SID, Err: err}
	}
	p := &parser{sig: s, vars: vars}
	for _, o := range opts {
		k, ok := keywords[o.Name]
		if !ok {
			return nil, &Error{SID: s.SID, Keyword: o.Name, Err: ErrUnknownKeyword}
		}
		switch {
		case k.value == valueRequired && !o.HasValue:
			return nil, &Error{SID: s.SID, Keyword: o.Name, Err: errf("value required")}
		case k.value == valueNone && o.HasValue:
			return nil, &Error{SID: s.SID, Keyword: o.Name, Err: errf("takes no value")}
		}
		if err := k.setup(p, o.Value); err != nil {
			return nil, &Error{SID: s.SID, Keyword: o.Name, Err: err}
		}
	}
	if err := p.finish(); err != nil {
		return nil, &Error{SID: s.SID, Err: err}
	}
	return s, nil
}

var defaultVars = DefaultVars()

// finish checks what only the whole signature can tell.
func (p *parser) finish() error {
	s := p.sig
	if s.SID == 0 {
		return errf("no sid")
	}
	if s.Msg == "" {
		s.Msg = ""
	}
	if s.threshold != nil && s.detFilter != nil {
		return errf("threshold and detection_filter together")
	}
	return nil
}

func parseHeader(s *Signature, h string, vars *Vars) error {
	f, err := headerFields(h)
	if err != nil {
		return err
	}
	if len(f) != 7 {
		return errf("header: want 7 fields (action proto src port dir dst port), have %d", len(f))
	}
	switch f[0] {
	case "alert":
		s.Action = ids.ActionAlert
	case "drop":
		s.Action = ids.ActionDrop
	case "reject", "rejectsrc", "rejectdst", "rejectboth":
		s.Action = ids.ActionReject
	case "pass":
		s.Action = ids.ActionPass
	default:
		return errf("unknown action %q", f[0])
	}
	switch proto := strings.ToLower(f[1]); proto {
	case "ip", "pkthdr":
		s.Proto = ProtoIP
	case "tcp":
		s.Proto = ProtoTCP
	case "udp":
		s.Proto = ProtoUDP
	case "icmp", "icmpv4", "icmpv6":
		s.Proto = ProtoICMP
	case "tcp-pkt":
		s.Proto = ProtoTCPPkt
	case "tcp-stream":
		s.Proto = ProtoTCPStream
	default:
		apps, ok := appProtos[proto]
		if !ok {
			return errf("unknown protocol %q", f[1])
		}
		s.Proto, s.AppName, s.Apps = ProtoApp, proto, apps
		if len(apps) == 0 {
			s.Inert = append(s.Inert, "protocol "+proto)
		}
	}
	s.Src, s.SrcPort, s.Dst, s.DstPort = f[2], f[3], f[5], f[6]
	switch f[4] {
	case "->":
	case "<>":
		s.Bidir = true
	case "<-":
		return errf("direction <- is not supported; swap the sides and use ->")
	default:
		return errf("bad direction %q", f[4])
	}
	if s.src, err = vars.parseAddr(s.Src, 0); err != nil {
		return errf("source: %v", err)
	}
	if s.dst, err = vars.parseAddr(s.Dst, 0); err != nil {
		return errf("destination: %v", err)
	}
	if s.sport, err = vars.parsePort(s.SrcPort, 0); err != nil {
		return errf("source port: %v", err)
	}
	if s.dport, err = vars.parsePort(s.DstPort, 0); err != nil {
		return errf("destination port: %v", err)
	}
	s.srcSet, s.dstSet = compileAddr(&s.src), compileAddr(&s.dst)
	s.sportSet, s.dportSet = compilePort(&s.sport), compilePort(&s.dport)
	return nil
}

// headerFields splits the header at spaces outside brackets.
func headerFields(h string) ([]string, error) {
	var out []string
	depth, start := 0, -1
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c == '[':
			depth++
		case c == ']':
			depth--
			if depth < 0 {
				return nil, errf("header: unbalanced ]")
			}
		}
		space := c == ' ' || c == '\t'
		if space && depth == 0 {
			if start >= 0 {
				out = append(out, h[start:i])
				start = -1
			}
			continue
		}
		if start < 0 {
			start = i
		}
	}
	if depth != 0 {
		return nil, errf("header: unbalanced [")
	}
	if start >= 0 {
		out = append(out, h[start:])
	}
	// Spaces inside brackets are allowed; drop them.
	for i, f := range out {
		if strings.ContainsAny(f, " \t") {
			out[i] = strings.NewReplacer(" ", "", "\t", "").Replace(f)
		}
	}
	return out, nil
}

// splitOptions splits "name:value; name; ..." at semicolons that are not
// escaped. Like Suricata, quotes do not protect a semicolon (a value
// must write \; or |3b|), so a stray quote inside a pcre is harmless.
func splitOptions(s string) ([]Option, error) {
	var out []Option
	i := 0
	for {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) {
			return out, nil
		}
		start := i
		for i < len(s) && s[i] != ':' && s[i] != ';' {
			i++
		}
		name := strings.TrimSpace(s[start:i])
		if name == "" {
			return nil, errf("empty option at offset %d", start)
		}
		if i >= len(s) {
			return nil, errf("option %q: missing ;", name)
		}
		if s[i] == ';' {
			out = append(out, Option{Name: name})
			i++
			continue
		}
		i++ // ':'
		vstart := i
		esc := false
		for ; i < len(s); i++ {
			c := s[i]
			if esc {
				esc = false
				continue
			}
			if c == '\\' {
				esc = true
				continue
			}
			if c == ';' {
				break
			}
		}
		if i >= len(s) {
			return nil, errf("option %q: missing ;", name)
		}
		out = append(out, Option{Name: name, Value: strings.TrimSpace(s[vstart:i]), HasValue: true})
		i++
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// unquote strips surrounding quotes and resolves backslash escapes. A
// leading ! (before the quote) is returned as neg.
func unquote(v string) (s string, neg bool, err error) {
	v = strings.TrimSpace(v)
	if strings.HasPrefix(v, "!") {
		neg = true
		v = strings.TrimSpace(v[1:])
	}
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	} else if strings.HasPrefix(v, "\"") {
		return "", neg, errf("unterminated quote")
	}
	if strings.IndexByte(v, '\\') < 0 {
		return v, neg, nil
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) {
			i++
		}
		b.WriteByte(v[i])
	}
	return b.String(), neg, nil
}

// Format prints s as a rule: the header as written and each option,
// normalized to "name:value; ".
func Format(s *Signature) string {
	var b strings.Builder
	b.WriteString(s.Action.String())
	b.WriteByte(' ')
	if s.Proto == ProtoApp {
		b.WriteString(s.AppName)
	} else {
		b.WriteString(s.Proto.String())
	}
	dir := "->"
	if s.Bidir {
		dir = "<>"
	}
	fmt.Fprintf(&b, " %s %s %s %s %s (", s.Src, s.SrcPort, dir, s.Dst, s.DstPort)
	for i, o := range s.Options {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(o.Name)
		if o.HasValue {
			b.WriteByte(':')
			b.WriteString(o.Value)
		}
		b.WriteByte(';')
	}
	b.WriteByte(')')
	return b.String()
}

// parseUint parses a decimal number within [0, max].
func parseUint(s string, max uint64) (uint64, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, errf("bad number %q", strings.TrimSpace(s))
	}
	if n > max {
		return 0, errf("number %d out of range (max %d)", n, max)
	}
	return n, nil
}

// splitComma splits at commas and trims each part.
func splitComma(v string) []string {
	parts := strings.Split(v, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// curList returns the list new matches go to: the sticky buffer's, or
// the payload list.
func (p *parser) curList() *list {
	if p.cur != nil {
		return p.cur
	}
	return p.listFor(BufPayload, false)
}

// listFor returns the signature's list for buf, creating it.
func (p *parser) listFor(buf Buffer, dotprefix bool) *list {
	for _, l := range p.sig.lists {
		if l.buf == buf && l.dotprefix == dotprefix {
			return l
		}
	}
	l := &list{buf: buf, dotprefix: dotprefix}
	p.sig.lists = append(p.sig.lists, l)
	return l
}

// addStep appends a match to the current list.
func (p *parser) addStep(st step) {
	l := p.curList()
	l.steps = append(l.steps, st)
	p.lastStep, p.lastList = st, l
	if c, ok := st.(*content); ok {
		p.lastContent = c
	}
}

// inert records a keyword the engine cannot evaluate.
func (p *parser) inert(kw string) {
	for _, k := range p.sig.Inert {
		if k == kw {
			return
		}
	}
	p.sig.Inert = append(p.sig.Inert, kw)
}
