package rules

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseSelector(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // canonical form
	}{
		{"equal", "app=shop", "app=shop"},
		{"double equal", "app==shop", "app=shop"},
		{"not equal", "env!=dev", "env!=dev"},
		{"in, sorted and de-duplicated", " tier in ( web , api ,web) ", "tier in (api, web)"},
		{"in without a space", "tier in(web)", "tier in (web)"},
		{"notin", "tier notin (b,a)", "tier notin (a, b)"},
		{"exists", "owner", "owner"},
		{"not exists", "!legacy", "!legacy"},
		{"not exists with space", "! legacy", "!legacy"},
		{"requirements sorted by key then operator", "tier=db, app=shop, env!=dev, app", "app=shop, app, env!=dev, tier=db"},
		{"tag characters", "k8s.io/app-name_x=v1.2/x", "k8s.io/app-name_x=v1.2/x"},
		{"tabs", "\tapp=shop\t,\ttier=web", "app=shop, tier=web"},
		{"key named in", "in=x", "in=x"},
		{"spaces around operators", "app = shop , env != dev", "app=shop, env!=dev"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel, err := ParseSelector(tt.in)
			if err != nil {
				t.Fatalf("ParseSelector(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, sel.String()); diff != "" {
				t.Errorf("ParseSelector(%q).String() (-want +got):\n%s", tt.in, diff)
			}
			again, err := ParseSelector(sel.String())
			if err != nil {
				t.Fatalf("canonical form %q does not parse: %v", sel.String(), err)
			}
			if diff := cmp.Diff(sel.String(), again.String()); diff != "" {
				t.Errorf("canonical form is not stable (-first +second):\n%s", diff)
			}
		})
	}
}

func TestParseSelectorErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want SelectorError
	}{
		{"empty", "", SelectorError{0, "empty selector"}},
		{"blank", "   ", SelectorError{3, "empty selector"}},
		{"no value", "app=", SelectorError{4, "want a tag value at the end"}},
		{"no key", "=x", SelectorError{0, `want a tag name, found '='`}},
		{"missing comma", "app=shop tier=db", SelectorError{9, `want ',' between requirements, found 't'`}},
		{"in without list", "tier in web", SelectorError{8, "want '(' to open the list of values"}},
		{"unclosed list", "tier in (web", SelectorError{12, "want ')' to close the list of values"}},
		{"list without comma", "tier in (web api)", SelectorError{13, `want ',' or ')', found 'a'`}},
		{"empty list", "tier in ()", SelectorError{9, `want a tag value, found ')'`}},
		{"trailing comma", "app=shop,", SelectorError{9, "want a tag name at the end"}},
		{"double comma", "a,,b", SelectorError{2, `want a tag name, found ','`}},
		{"unknown operator", "owner ~ bob", SelectorError{6, `want =, ==, !=, in or notin after "owner"`}},
		{"in glued to its value", "tier inweb", SelectorError{5, `want =, ==, !=, in or notin after "tier"`}},
		{"non-ASCII is one character", "tier=wéb", SelectorError{6, `want ',' between requirements, found 'é'`}},
		{"bang alone", "!", SelectorError{1, "want a tag name at the end"}},
		{"invalid UTF-8", "a=\xff", SelectorError{2, `want a tag value, found '�'`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel, err := ParseSelector(tt.in)
			if err == nil {
				t.Fatalf("ParseSelector(%q) = %q, want an error", tt.in, sel)
			}
			se, ok := err.(*SelectorError)
			if !ok {
				t.Fatalf("ParseSelector(%q): %T %v, want a *SelectorError", tt.in, err, err)
			}
			if diff := cmp.Diff(tt.want, *se); diff != "" {
				t.Errorf("ParseSelector(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestSelectorMatches(t *testing.T) {
	web := map[string]string{"app": "shop", "tier": "web", "env": "prod"}
	bare := map[string]string{}
	tests := []struct {
		name string
		sel  string
		tags map[string]string
		want bool
	}{
		{"equal", "app=shop", web, true},
		{"equal, other value", "app=blog", web, false},
		{"equal, no tag", "app=shop", bare, false},
		{"not equal", "env!=dev", web, true},
		{"not equal, same value", "env!=prod", web, false},
		{"not equal holds without the tag", "env!=dev", bare, true},
		{"in", "tier in (api, web)", web, true},
		{"in, other value", "tier in (api, db)", web, false},
		{"in, no tag", "tier in (web)", bare, false},
		{"notin", "tier notin (db)", web, true},
		{"notin, listed value", "tier notin (db, web)", web, false},
		{"notin holds without the tag", "tier notin (web)", bare, true},
		{"exists", "env", web, true},
		{"exists, no tag", "env", bare, false},
		{"not exists", "!legacy", web, true},
		{"not exists, tag present", "!env", web, false},
		{"all must hold", "app=shop, tier=web, env!=dev, !legacy", web, true},
		{"one fails", "app=shop, tier=db", web, false},
		{"nil tags", "!x, y!=z", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel, err := ParseSelector(tt.sel)
			if err != nil {
				t.Fatal(err)
			}
			if got := sel.Matches(tt.tags); got != tt.want {
				t.Errorf("%q.Matches(%v) = %v, want %v", tt.sel, tt.tags, got, tt.want)
			}
		})
	}
}
