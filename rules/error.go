package rules

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Error is one problem in a policy, at a position:
//
//	policy.d/20-web.toml:14:7: rule "web-in": to: unknown zone "prod"
//
// Rule names the rule (or zone, group, ...) the problem is in, when there
// is one; Field the key.
type Error struct {
	Pos   Pos
	What  string // "rule", "zone", "group", "service", "identity", "host", or ""
	Name  string // the name of the rule, zone, ...
	Field string // the key, e.g. "to" or "ports"
	Err   error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Pos.String())
	b.WriteString(": ")
	switch {
	case e.What != "" && e.Name != "":
		fmt.Fprintf(&b, "%s %q: ", e.What, e.Name)
	case e.What != "":
		// [settings] and [ids] have no name; neither has a host
		// whose name is missing.
		b.WriteString(e.What + ": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Warning is a problem that does not stop a policy from applying, such as
// a rule that can never match.
type Warning = Error

// maxErrors caps how many errors a load reports; more are summarised.
const maxErrors = 100

// ErrorList is every error found in a policy, sorted by position.
type ErrorList []*Error

func (l ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap lets errors.Is and errors.As look at each error.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

func sortErrors(l []*Error) {
	slices.SortStableFunc(l, func(a, b *Error) int {
		return cmp.Or(
			cmp.Compare(a.Pos.File, b.Pos.File),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Col, b.Pos.Col),
		)
	})
}

// errorsf collects errors during one load.
type errorsf struct {
	list []*Error
}

func (c *errorsf) add(e *Error) { c.list = append(c.list, e) }

func (c *errorsf) addf(pos Pos, what, name, field, format string, args ...any) {
	c.add(&Error{Pos: pos, What: what, Name: name, Field: field, Err: fmt.Errorf(format, args...)})
}

// result returns the sorted, capped list, or nil.
func (c *errorsf) result() error {
	if len(c.list) == 0 {
		return nil
	}
	sortErrors(c.list)
	l := ErrorList(c.list)
	if len(l) > maxErrors {
		more := len(l) - maxErrors
		l = append(l[:maxErrors:maxErrors], &Error{Pos: l[maxErrors].Pos, Err: fmt.Errorf("%d more errors not shown", more)})
	}
	return l
}

// Errors returns the policy errors in err, if it holds any.
func Errors(err error) []*Error {
	var inv *InvalidError
	if errors.As(err, &inv) {
		return inv.List
	}
	var l ErrorList
	if errors.As(err, &l) {
		return l
	}
	var e *Error
	if errors.As(err, &e) {
		return []*Error{e}
	}
	return nil
}

// Excerpt returns the source line an error points at with a caret under
// its column, as `septa check` prints it, or "" if the file cannot be
// read. src maps file names to their content.
func Excerpt(e *Error, src map[string][]byte) string {
	data, ok := src[e.Pos.File]
	if !ok || e.Pos.Line < 1 {
		return ""
	}
	lines := strings.Split(string(data), "\n")
	if e.Pos.Line > len(lines) {
		return ""
	}
	line := strings.TrimRight(lines[e.Pos.Line-1], "\r")
	var caret strings.Builder
	col := 0
	for _, r := range line {
		col++
		if col >= e.Pos.Col {
			break
		}
		if r == '\t' {
			caret.WriteByte('\t')
		} else {
			caret.WriteByte(' ')
		}
	}
	return "    " + line + "\n    " + caret.String() + "^"
}
