package rules

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Pos is a place in a policy file: the path as the user gave it, and a
// 1-based line and column (in characters). A zero Line means the file as
// a whole.
type Pos struct {
	File string
	Line int
	Col  int
}

func (p Pos) String() string {
	switch {
	case p.Line == 0:
		return p.File
	case p.Col == 0:
		return p.File + ":" + strconv.Itoa(p.Line)
	}
	return p.File + ":" + strconv.Itoa(p.Line) + ":" + strconv.Itoa(p.Col)
}

// positions maps key paths of one TOML file to where their keys and values
// are written. BurntSushi/toml keeps positions to itself, so the loader
// scans each file a second time, after toml has accepted its syntax, to
// find where every key and value is (STYLE.md Part B: positions come from
// an index recorded at decode time, never from UnmarshalTOML).
//
// A path joins its keys with pathSep; an element of an array of tables or
// of an array value is addressed by its decimal index ("rules/3/from/1").
type positions struct {
	file string
	src  []byte
	keys map[string]Pos // where the key (or table header) is written
	vals map[string]Pos // where the value starts
}

const pathSep = "/"

func joinPath(parts ...string) string { return strings.Join(parts, pathSep) }

// key returns the position of the key at path, falling back to the
// nearest enclosing key that has one, and to the file itself.
func (ps *positions) key(path ...string) Pos {
	for n := len(path); n > 0; n-- {
		if p, ok := ps.keys[joinPath(path[:n]...)]; ok {
			return p
		}
	}
	return Pos{File: ps.file}
}

// val returns the position of the value at path, falling back to its key.
func (ps *positions) val(path ...string) Pos {
	if p, ok := ps.vals[joinPath(path...)]; ok {
		return p
	}
	return ps.key(path...)
}

// inString returns the position of the byte at offset off of the decoded
// content of the single-line string value that starts at p (its opening
// quote), counting escapes (\t, \u00e9) as written in the file. It falls
// back to p for anything else.
func (ps *positions) inString(p Pos, off int) Pos {
	if p.Line < 1 || p.Col < 1 {
		return p
	}
	line := ps.src
	for n := 1; n < p.Line; n++ {
		i := bytes.IndexByte(line, '\n')
		if i < 0 {
			return p
		}
		line = line[i+1:]
	}
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	// Skip to the opening quote, p.Col-1 characters in.
	for n := 1; n < p.Col && len(line) > 0; n++ {
		_, size := utf8.DecodeRune(line)
		line = line[size:]
	}
	if len(line) == 0 || line[0] != '"' && line[0] != '\'' {
		return p
	}
	quote := line[0]
	basic := quote == '"'
	line = line[1:]
	col := p.Col + 1
	for decoded := 0; decoded < off && len(line) > 0 && line[0] != quote; col++ {
		if basic && line[0] == '\\' && len(line) > 1 {
			n, width := 2, 1
			switch line[1] {
			case 'u':
				n = 6
			case 'U':
				n = 10
			}
			if n > 2 && len(line) >= n {
				if v, err := strconv.ParseUint(string(line[2:n]), 16, 32); err == nil {
					width = utf8.RuneLen(rune(v))
				}
			}
			n = min(n, len(line))
			line = line[n:]
			col += n - 1 // the escape's characters but one; the loop adds that
			decoded += max(width, 1)
			continue
		}
		_, size := utf8.DecodeRune(line)
		line = line[size:]
		decoded += size
	}
	return Pos{File: p.File, Line: p.Line, Col: col}
}

// scanPositions indexes a TOML document that toml has already parsed
// without error. It is lenient: on anything it does not understand it
// stops indexing, and lookups fall back to enclosing keys.
func scanPositions(file string, src []byte) *positions {
	s := &scanner{
		ps:     &positions{file: file, src: src, keys: map[string]Pos{}, vals: map[string]Pos{}},
		src:    src,
		line:   1,
		arrIdx: map[string]int{},
	}
	s.document()
	return s.ps
}

type scanner struct {
	ps        *positions
	src       []byte
	i         int
	line      int
	lineStart int
	table     []string       // path of the current table
	arrIdx    map[string]int // current index of each array of tables
}

func (s *scanner) pos() Pos {
	return Pos{File: s.ps.file, Line: s.line, Col: utf8.RuneCount(s.src[s.lineStart:s.i]) + 1}
}

func (s *scanner) eof() bool { return s.i >= len(s.src) }

func (s *scanner) peek() byte {
	if s.eof() {
		return 0
	}
	return s.src[s.i]
}

func (s *scanner) advance() {
	if s.src[s.i] == '\n' {
		s.line++
		s.lineStart = s.i + 1
	}
	s.i++
}

// skipSpace skips blanks, and newlines and comments when nl is set.
func (s *scanner) skipSpace(nl bool) {
	for !s.eof() {
		switch c := s.peek(); {
		case c == ' ' || c == '\t' || c == '\r':
			s.advance()
		case c == '\n' && nl:
			s.advance()
		case c == '#':
			for !s.eof() && s.peek() != '\n' {
				s.advance()
			}
		default:
			return
		}
	}
}

func (s *scanner) document() {
	for steps := 0; steps <= len(s.src); steps++ {
		s.skipSpace(true)
		if s.eof() {
			return
		}
		var ok bool
		if s.peek() == '[' {
			ok = s.header()
		} else {
			ok = s.keyValue(s.table)
		}
		if !ok {
			return
		}
	}
}

// header reads [a.b] or [[a.b]] and makes it the current table.
func (s *scanner) header() bool {
	at := s.pos()
	s.advance()
	array := s.peek() == '['
	if array {
		s.advance()
	}
	keys, ok := s.keyPath()
	if !ok {
		return false
	}
	for range 2 {
		s.skipSpace(false)
		if s.peek() == ']' {
			s.advance()
		}
	}
	// Resolve through arrays of tables: [rules.app] after [[rules]] is a
	// table in the last element of rules.
	var path []string
	for n, k := range keys {
		path = append(path, k)
		if idx, isArr := s.arrIdx[joinPath(path...)]; isArr && (n < len(keys)-1 || !array) {
			path = append(path, strconv.Itoa(idx))
		}
	}
	if array {
		name := joinPath(path...)
		idx, seen := s.arrIdx[name]
		if seen {
			idx++
		}
		s.arrIdx[name] = idx
		if !seen {
			s.ps.keys[name] = at
		}
		path = append(path, strconv.Itoa(idx))
	}
	s.ps.keys[joinPath(path...)] = at
	s.implicit(path, at)
	s.table = path
	return true
}

// implicit records the tables that a header or dotted key creates without
// naming them ([zone.prod] creates zone), where they are first written, so
// that an unknown key among them has a line.
func (s *scanner) implicit(path []string, at Pos) {
	for n := 1; n < len(path); n++ {
		k := joinPath(path[:n]...)
		if _, ok := s.ps.keys[k]; !ok {
			s.ps.keys[k] = at
		}
	}
}

// keyPath reads a dotted key.
func (s *scanner) keyPath() ([]string, bool) {
	var keys []string
	for {
		s.skipSpace(false)
		k, ok := s.key()
		if !ok {
			return nil, false
		}
		keys = append(keys, k)
		s.skipSpace(false)
		if s.peek() != '.' {
			return keys, true
		}
		s.advance()
	}
}

func (s *scanner) key() (string, bool) {
	switch s.peek() {
	case '"', '\'':
		return s.quoted()
	}
	start := s.i
	for !s.eof() {
		c := s.peek()
		if c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			s.advance()
			continue
		}
		break
	}
	if s.i == start {
		return "", false
	}
	return string(s.src[start:s.i]), true
}

// quoted reads a single-line basic or literal string and returns its
// content (escapes in keys are rare; they are kept as written).
func (s *scanner) quoted() (string, bool) {
	q := s.peek()
	s.advance()
	start := s.i
	for !s.eof() && s.peek() != q && s.peek() != '\n' {
		if q == '"' && s.peek() == '\\' && s.i+1 < len(s.src) {
			s.advance()
		}
		s.advance()
	}
	if s.peek() != q {
		return "", false
	}
	v := string(s.src[start:s.i])
	s.advance()
	return v, true
}

// keyValue reads key = value within the table at base.
func (s *scanner) keyValue(base []string) bool {
	at := s.pos()
	keys, ok := s.keyPath()
	if !ok {
		return false
	}
	path := append(append([]string(nil), base...), keys...)
	s.ps.keys[joinPath(path...)] = at
	s.implicit(path, at)
	s.skipSpace(false)
	if s.peek() != '=' {
		return false
	}
	s.advance()
	s.skipSpace(false)
	return s.value(path)
}

func (s *scanner) value(path []string) bool {
	s.ps.vals[joinPath(path...)] = s.pos()
	switch c := s.peek(); c {
	case '"', '\'':
		return s.stringValue()
	case '[':
		return s.array(path)
	case '{':
		return s.inlineTable(path)
	}
	// Numbers, booleans and dates run to a delimiter. A value that is
	// not there at all (input toml would reject) stops the scan, or the
	// array around it would never end.
	start := s.i
	for !s.eof() {
		switch s.peek() {
		case ',', ']', '}', '\n', '#':
			return s.i > start
		}
		s.advance()
	}
	return s.i > start
}

func (s *scanner) stringValue() bool {
	q := s.peek()
	triple := strings.Repeat(string(q), 3)
	if strings.HasPrefix(string(s.src[s.i:min(s.i+3, len(s.src))]), triple) {
		for range 3 {
			s.advance()
		}
		for !s.eof() {
			if q == '"' && s.peek() == '\\' && s.i+1 < len(s.src) {
				s.advance()
				s.advance()
				continue
			}
			if strings.HasPrefix(string(s.src[s.i:min(s.i+3, len(s.src))]), triple) {
				for range 3 {
					s.advance()
				}
				// Up to two more quotes may belong to the content.
				for n := 0; n < 2 && s.peek() == q; n++ {
					s.advance()
				}
				return true
			}
			s.advance()
		}
		return false
	}
	_, ok := s.quoted()
	return ok
}

func (s *scanner) array(path []string) bool {
	s.advance()
	for n := 0; ; n++ {
		s.skipSpace(true)
		if s.eof() {
			return false
		}
		if s.peek() == ']' {
			s.advance()
			return true
		}
		if !s.value(append(path, strconv.Itoa(n))) {
			return false
		}
		s.skipSpace(true)
		if s.peek() == ',' {
			s.advance()
		}
	}
}

func (s *scanner) inlineTable(path []string) bool {
	s.advance()
	for {
		s.skipSpace(true)
		if s.eof() {
			return false
		}
		if s.peek() == '}' {
			s.advance()
			return true
		}
		if !s.keyValue(path) {
			return false
		}
		s.skipSpace(true)
		if s.peek() == ',' {
			s.advance()
		}
	}
}
