package rules

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestExcerpt(t *testing.T) {
	src := map[string][]byte{
		"a.toml": []byte("[zones.prod]\n\tcidrs = [\"10.3.0.1/16\"]\r\ns = { d = \"café\", x = 1 }\nlast = 1"),
	}
	tests := []struct {
		name string
		pos  Pos
		want string
	}{
		{"first column", Pos{"a.toml", 1, 1}, "    [zones.prod]\n    ^"},
		{"inside the line", Pos{"a.toml", 1, 8}, "    [zones.prod]\n           ^"},
		{"a tab stays a tab, so the caret lines up", Pos{"a.toml", 2, 11}, "    \tcidrs = [\"10.3.0.1/16\"]\n    \t         ^"},
		{"carriage return dropped", Pos{"a.toml", 2, 2}, "    \tcidrs = [\"10.3.0.1/16\"]\n    \t^"},
		{"columns are characters", Pos{"a.toml", 3, 19}, "    s = { d = \"café\", x = 1 }\n                      ^"},
		{"last line without newline", Pos{"a.toml", 4, 8}, "    last = 1\n           ^"},
		{"past the end of the line", Pos{"a.toml", 4, 20}, "    last = 1\n            ^"},
		{"no column", Pos{"a.toml", 4, 0}, "    last = 1\n    ^"},
		{"whole file", Pos{File: "a.toml"}, ""},
		{"line past the end", Pos{"a.toml", 9, 1}, ""},
		{"unknown file", Pos{"b.toml", 1, 1}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Excerpt(&Error{Pos: tt.pos, Err: errors.New("x")}, src)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Excerpt(%v) (-want +got):\n%s", tt.pos, diff)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{"rule field", &Error{Pos: Pos{"p.toml", 14, 7}, What: "rule", Name: "web-in", Field: "to", Err: errors.New("unknown zone")},
			`p.toml:14:7: rule "web-in": to: unknown zone`},
		{"no name", &Error{Pos: Pos{"p.toml", 2, 1}, What: "settings", Field: "mode", Err: errors.New("bad")},
			`p.toml:2:1: settings: mode: bad`},
		{"no field", &Error{Pos: Pos{"p.toml", 1, 1}, What: "group", Name: "g", Err: errors.New("empty")},
			`p.toml:1:1: group "g": empty`},
		{"nothing but the problem", &Error{Pos: Pos{"p.toml", 3, 2}, Err: errors.New("TOML syntax")},
			`p.toml:3:2: TOML syntax`},
		{"line without column", &Error{Pos: Pos{"p.toml", 3, 0}, Err: errors.New("x")}, `p.toml:3: x`},
		{"whole file", &Error{Pos: Pos{File: "p.toml"}, Err: errors.New("x")}, `p.toml: x`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.err.Error()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestErrorList(t *testing.T) {
	var c errorsf
	if err := c.result(); err != nil {
		t.Fatalf("no errors: result() = %v, want nil", err)
	}
	for i := maxErrors + 5; i > 0; i-- {
		c.addf(Pos{"b.toml", i, 1}, "", "", "", "error %d", i)
	}
	c.addf(Pos{"a.toml", 9, 1}, "", "", "", "first by file")
	err := c.result()
	l := Errors(err)
	if len(l) != maxErrors+1 {
		t.Fatalf("got %d errors, want %d and a summary", len(l), maxErrors)
	}
	if got := l[0].Error(); got != "a.toml:9:1: first by file" {
		t.Errorf("first error %q, want the one in a.toml", got)
	}
	if got := l[1].Error(); got != "b.toml:1:1: error 1" {
		t.Errorf("second error %q, want b.toml line 1", got)
	}
	if got, want := l[maxErrors].Error(), fmt.Sprintf("b.toml:%d:1: 6 more errors not shown", maxErrors); got != want {
		t.Errorf("summary %q, want %q", got, want)
	}

	inv := &InvalidError{List: l}
	if !errors.Is(inv, ErrInvalid) {
		t.Errorf("errors.Is(InvalidError, ErrInvalid) = false")
	}
	var e *Error
	if !errors.As(fmt.Errorf("wrapped: %w", inv), &e) || e != l[0] {
		t.Errorf("errors.As through InvalidError found %v, want the first error", e)
	}
	if got := Errors(fmt.Errorf("wrapped: %w", inv)); len(got) != len(l) {
		t.Errorf("Errors(wrapped InvalidError) has %d errors, want %d", len(got), len(l))
	}
	if got := Errors(l[3]); len(got) != 1 || got[0] != l[3] {
		t.Errorf("Errors(*Error) = %v, want that error", got)
	}
	if got := Errors(errors.New("other")); got != nil {
		t.Errorf("Errors(other) = %v, want nil", got)
	}
	if !errors.Is(l[2], l[2].Err) {
		t.Errorf("Error does not unwrap to its Err")
	}
}
