package sig

import (
	"errors"
	"fmt"
	"strconv"
)

// Error is a problem with one signature. It prints as
// FILE:LINE: sid N: keyword "KW": problem; parts that are not known are
// left out (a signature from a string has no file, a header problem no
// keyword).
type Error struct {
	File    string
	Line    int
	SID     uint32
	Keyword string
	Err     error
}

func (e *Error) Error() string {
	var b []byte
	if e.File != "" {
		b = append(b, e.File...)
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(e.Line), 10)
		b = append(b, ": "...)
	}
	if e.SID != 0 {
		b = append(b, "sid "...)
		b = strconv.AppendUint(b, uint64(e.SID), 10)
		b = append(b, ": "...)
	}
	if e.Keyword != "" {
		b = append(b, "keyword "...)
		b = strconv.AppendQuote(b, e.Keyword)
		b = append(b, ": "...)
	}
	b = append(b, e.Err.Error()...)
	return string(b)
}

func (e *Error) Unwrap() error { return e.Err }

// Reason is the counting key of an error: the keyword, or "header".
func (e *Error) Reason() string {
	if e.Keyword == "" {
		return "header"
	}
	return e.Keyword
}

// ErrUnknownKeyword is wrapped by errors for keywords the parser does not
// know.
var ErrUnknownKeyword = errors.New("unknown keyword")

func errf(format string, args ...any) error { return fmt.Errorf(format, args...) }
