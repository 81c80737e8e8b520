package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRuleLines(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"enabled rules only", "# comment\nalert tcp any any -> any any (sid:1;)\n\n#alert tcp any any -> any any (sid:2;)\n  drop ip any any -> any any (sid:3;)  \n",
			[]string{"alert tcp any any -> any any (sid:1;)", "drop ip any any -> any any (sid:3;)"}},
		{"continuation lines", "alert tcp any any -> any any (msg:\"x\"; \\\n  sid:4;)\n", []string{"alert tcp any any -> any any (msg:\"x\"; sid:4;)"}},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ruleLines(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ruleLines (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFirstRules(t *testing.T) {
	rules := []string{"a", "b", "c"}
	tests := []struct {
		n    int
		want string
	}{{0, ""}, {2, "a\nb\n"}, {3, "a\nb\nc\n"}, {9, "a\nb\nc\n"}, {-1, "a\nb\nc\n"}}
	for _, tt := range tests {
		if got := firstRules(rules, tt.n); got != tt.want {
			t.Errorf("firstRules(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func FuzzRuleLines(f *testing.F) {
	f.Add(fallbackSignatures)
	f.Add("# x\n\\\nalert\\")
	f.Fuzz(func(t *testing.T, s string) {
		lines, err := ruleLines(strings.NewReader(s))
		if err != nil {
			return // a line longer than the scanner's buffer
		}
		for _, l := range lines {
			if l == "" || strings.HasPrefix(l, "#") {
				t.Errorf("ruleLines returned %q", l)
			}
		}
	})
}
