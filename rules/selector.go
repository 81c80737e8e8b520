package rules

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Selector chooses inventory hosts by their tags, in the syntax of
// Kubernetes label selectors: requirements separated by commas, all of
// which must hold.
//
//	app=shop, tier in (web, api), env!=dev, !legacy, owner
type Selector []requirement

type selOp int

const (
	opEq selOp = iota + 1
	opNotEq
	opIn
	opNotIn
	opExists
	opNotExists
)

type requirement struct {
	key    string
	op     selOp
	values []string // sorted
}

// SelectorError is a problem at a byte offset of a selector's text.
type SelectorError struct {
	Offset int
	Msg    string
}

func (e *SelectorError) Error() string { return e.Msg }

// ParseSelector parses a tag selector.
func ParseSelector(s string) (Selector, error) {
	p := &selParser{s: s}
	var sel Selector
	for {
		p.space()
		if p.i >= len(p.s) {
			if len(sel) == 0 {
				return nil, &SelectorError{p.i, "empty selector"}
			}
			// After a comma: something was left out.
			return nil, &SelectorError{p.i, "want a tag name at the end"}
		}
		r, err := p.requirement()
		if err != nil {
			return nil, err
		}
		sel = append(sel, r)
		p.space()
		if p.i >= len(p.s) {
			break
		}
		if p.s[p.i] != ',' {
			return nil, &SelectorError{p.i, fmt.Sprintf("want ',' between requirements, found %q", p.found())}
		}
		p.i++
	}
	slices.SortStableFunc(sel, func(a, b requirement) int {
		return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.op, b.op))
	})
	return sel, nil
}

type selParser struct {
	s string
	i int
}

// found is the character at the parser's offset, for messages: a whole
// rune, not half of one.
func (p *selParser) found() rune {
	r, _ := utf8.DecodeRuneInString(p.s[p.i:])
	return r
}

func (p *selParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func isTagChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '/'
}

func (p *selParser) word(what string) (string, error) {
	p.space()
	start := p.i
	for p.i < len(p.s) && isTagChar(p.s[p.i]) {
		p.i++
	}
	if p.i == start {
		if p.i >= len(p.s) {
			return "", &SelectorError{p.i, "want a " + what + " at the end"}
		}
		return "", &SelectorError{p.i, fmt.Sprintf("want a %s, found %q", what, p.found())}
	}
	return p.s[start:p.i], nil
}

func (p *selParser) requirement() (requirement, error) {
	p.space()
	if p.i < len(p.s) && p.s[p.i] == '!' {
		p.i++
		k, err := p.word("tag name")
		if err != nil {
			return requirement{}, err
		}
		return requirement{key: k, op: opNotExists}, nil
	}
	k, err := p.word("tag name")
	if err != nil {
		return requirement{}, err
	}
	p.space()
	rest := p.s[p.i:]
	switch {
	case strings.HasPrefix(rest, "=="):
		p.i += 2
		return p.single(k, opEq)
	case strings.HasPrefix(rest, "!="):
		p.i += 2
		return p.single(k, opNotEq)
	case strings.HasPrefix(rest, "="):
		p.i++
		return p.single(k, opEq)
	case strings.HasPrefix(rest, "in ") || strings.HasPrefix(rest, "in("):
		p.i += 2
		return p.set(k, opIn)
	case strings.HasPrefix(rest, "notin ") || strings.HasPrefix(rest, "notin("):
		p.i += 5
		return p.set(k, opNotIn)
	case rest == "" || rest[0] == ',':
		return requirement{key: k, op: opExists}, nil
	}
	return requirement{}, &SelectorError{p.i, fmt.Sprintf("want =, ==, !=, in or notin after %q", k)}
}

func (p *selParser) single(k string, op selOp) (requirement, error) {
	v, err := p.word("tag value")
	if err != nil {
		return requirement{}, err
	}
	return requirement{key: k, op: op, values: []string{v}}, nil
}

func (p *selParser) set(k string, op selOp) (requirement, error) {
	p.space()
	if p.i >= len(p.s) || p.s[p.i] != '(' {
		return requirement{}, &SelectorError{p.i, "want '(' to open the list of values"}
	}
	p.i++
	var vals []string
	for {
		v, err := p.word("tag value")
		if err != nil {
			return requirement{}, err
		}
		vals = append(vals, v)
		p.space()
		if p.i >= len(p.s) {
			return requirement{}, &SelectorError{p.i, "want ')' to close the list of values"}
		}
		if p.s[p.i] == ')' {
			p.i++
			break
		}
		if p.s[p.i] != ',' {
			return requirement{}, &SelectorError{p.i, fmt.Sprintf("want ',' or ')', found %q", p.found())}
		}
		p.i++
	}
	slices.Sort(vals)
	return requirement{key: k, op: op, values: slices.Compact(vals)}, nil
}

// Matches reports whether a host with the given tags is selected.
func (s Selector) Matches(tags map[string]string) bool {
	for _, r := range s {
		v, has := tags[r.key]
		switch r.op {
		case opExists:
			if !has {
				return false
			}
		case opNotExists:
			if has {
				return false
			}
		case opEq, opIn:
			if !has || !slices.Contains(r.values, v) {
				return false
			}
		case opNotEq, opNotIn:
			// As in Kubernetes: a host without the tag satisfies !=.
			if has && slices.Contains(r.values, v) {
				return false
			}
		}
	}
	return true
}

// String is the canonical form: requirements sorted, no spaces but in lists.
func (s Selector) String() string {
	parts := make([]string, len(s))
	for i, r := range s {
		switch r.op {
		case opEq:
			parts[i] = r.key + "=" + r.values[0]
		case opNotEq:
			parts[i] = r.key + "!=" + r.values[0]
		case opIn:
			parts[i] = r.key + " in (" + strings.Join(r.values, ", ") + ")"
		case opNotIn:
			parts[i] = r.key + " notin (" + strings.Join(r.values, ", ") + ")"
		case opExists:
			parts[i] = r.key
		case opNotExists:
			parts[i] = "!" + r.key
		}
	}
	return strings.Join(parts, ", ")
}
