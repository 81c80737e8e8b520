package sig

import (
	"regexp"
	"strings"
	"testing"
)

func TestTranslatePCRERepeat(t *testing.T) {
	tests := []struct {
		pcre, want string
		match      []string
		noMatch    []string
	}{
		{pcre: `a{2000}`, want: `(?:a){1000}(?:a){1000}`,
			match: []string{strings.Repeat("a", 2000)}, noMatch: []string{strings.Repeat("a", 1999)}},
		{pcre: `^x[a-z]{1024,}y`, want: `^x(?:[a-z]){1000}(?:[a-z]){24}(?:[a-z])*y`,
			match: []string{"x" + strings.Repeat("q", 1024) + "y", "x" + strings.Repeat("q", 3000) + "y"}, noMatch: []string{"x" + strings.Repeat("q", 1023) + "y"}},
		{pcre: `^(ab|c){128,1024}$`, want: `^(?:(ab|c)){128}(?:(ab|c)){0,896}$`,
			match: []string{strings.Repeat("ab", 128), strings.Repeat("c", 1024)}, noMatch: []string{strings.Repeat("c", 127), strings.Repeat("c", 1025)}},
		{pcre: `^\x41{1001}?`, want: `^(?:\x41){1000}?(?:\x41){1}?`,
			match: []string{strings.Repeat("A", 1001)}, noMatch: []string{strings.Repeat("A", 1000)}},
		{pcre: `^[^\]]{0,1500}\]`, want: `^(?:[^\x{5d}]){0,1000}(?:[^\x{5d}]){0,500}\x{5d}`,
			match: []string{strings.Repeat("z", 1500) + "]"}, noMatch: []string{strings.Repeat("z", 1501) + "]"}},
		{pcre: `a(?#note){1001}`, want: `(?:a){1000}(?:a){1}`},
		{pcre: `a{5}\{x{1,2}`, want: `a{5}\x{7b}x{1,2}`},
		{pcre: `a{,5}{1001}`, want: `a\{,5(?:}){1000}(?:}){1}`},
	}
	for _, tt := range tests {
		got, err := translatePCRE(tt.pcre)
		if err != nil {
			t.Errorf("%s: %v", tt.pcre, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.pcre, got, tt.want)
			continue
		}
		re := regexp.MustCompile(got)
		for _, m := range tt.match {
			if !re.MatchString(m) {
				t.Errorf("%s does not match %d bytes", tt.pcre, len(m))
			}
		}
		for _, m := range tt.noMatch {
			if re.MatchString(m) {
				t.Errorf("%s matches %d bytes", tt.pcre, len(m))
			}
		}
	}
	// Rejected still: no atom to repeat, and nested counts whose product
	// is over Go's limit.
	for _, p := range []string{`\Qab\E{2000}`, `(?:a{5}){1001}`, `a{2000}+`} {
		if got, err := translatePCRE(p); err == nil {
			if _, err := regexp.Compile(got); err == nil {
				t.Errorf("%s: accepted as %s", p, got)
			}
		}
	}
}
