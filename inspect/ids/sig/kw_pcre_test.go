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
		{pcre: `^\x41{1001}?`, want: `^(?:\x{41}){1000}?(?:\x{41}){1}?`,
			match: []string{strings.Repeat("A", 1001)}, noMatch: []string{strings.Repeat("A", 1000)}},
		{pcre: `^[^\]]{0,1500}\]`, want: `^(?:[^\x{5d}]){0,1000}(?:[^\x{5d}]){0,500}\x{5d}`,
			match: []string{strings.Repeat("z", 1500) + "]"}, noMatch: []string{strings.Repeat("z", 1501) + "]"}},
		{pcre: `a(?#note){1001}`, want: `(?:a){1000}(?:a){1}`},
		{pcre: `a{5}\{x{1,2}`, want: `a{5}\x{7b}x{1,2}`},
		{pcre: `a{,5}{1001}`, want: `a\{,5(?:}){1000}(?:}){1}`},
	}
	for _, tt := range tests {
		got, err := translatePCRE(tt.pcre, false)
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
		if got, err := translatePCRE(p, false); err == nil {
			if _, err := regexp.Compile(got); err == nil {
				t.Errorf("%s: accepted as %s", p, got)
			}
		}
	}
}

// engineOf names the engine a pcre step compiled to.
func engineOf(t *testing.T, rule string) (*pcre, *Engine) {
	t.Helper()
	s, err := Parse(rule, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range s.lists {
		for _, st := range l.steps {
			if pc, ok := st.(*pcre); ok {
				e, err := Build([]*Signature{s})
				if err != nil {
					t.Fatal(err)
				}
				return pc, e
			}
		}
	}
	t.Fatalf("no pcre in %s", rule)
	return nil, nil
}

// TestPcreEngines: Go's regexp whenever the pattern compiles there, the
// backtracking engine only otherwise, and both match as PCRE does.
func TestPcreEngines(t *testing.T) {
	tests := []struct {
		name, pcre  string
		backtrack   bool
		match, miss []string
	}{
		{name: "plain", pcre: `/a.c/`, match: []string{"xabc"}, miss: []string{"ac"}},
		{name: "repeat over Go's limit stays RE2", pcre: `/^a{1001}/`, match: []string{strings.Repeat("a", 1001)}, miss: []string{strings.Repeat("a", 1000)}},
		{name: "backreference", pcre: `/(["'])[a-z]+\1/`, backtrack: true, match: []string{`x="abc"`, "'q'"}, miss: []string{`"abc'`}},
		{name: "backreference then digit", pcre: `/(a)\10/`, backtrack: true, match: []string{"aa0"}, miss: []string{"aa"}},
		{name: "g backreference", pcre: `/(b+)-\g{1}/`, backtrack: true, match: []string{"bb-bb"}, miss: []string{"b-c"}},
		{name: "named backreference", pcre: `/(?P<q>x+)y(?P=q)/`, backtrack: true, match: []string{"xxyxx"}, miss: []string{"xyz"}},
		{name: "lookahead", pcre: `/user=(?!admin)[a-z]+/`, backtrack: true, match: []string{"user=bob"}, miss: []string{"user=admin"}},
		{name: "negative lookbehind", pcre: `/(?<!\.)exe\b/i`, backtrack: true, match: []string{"run EXE now"}, miss: []string{"a.exe"}},
		{name: "atomic group", pcre: `/(?>a+)b/`, backtrack: true, match: []string{"aab"}, miss: []string{"aa"}},
		{name: "possessive", pcre: `/^\d++x/`, backtrack: true, match: []string{"12x"}, miss: []string{"12"}},
		{name: "backtracking with PCRE escapes", pcre: `/(\x41)\h\1\Z/`, backtrack: true, match: []string{"A A", "A A\n"}, miss: []string{"A B"}},
		{name: "backtracking ASCII classes", pcre: `/(\w)\1/`, backtrack: true, match: []string{"zz"}, miss: []string{"\xe9\xe9"}},
		{name: "backtracking POSIX class", pcre: `/([[:digit:]])\1/`, backtrack: true, match: []string{"a11"}, miss: []string{"12"}},
		{name: "backtracking Latin-1 bytes", pcre: `/(\xff)\1/`, backtrack: true, match: []string{"\xff\xff"}, miss: []string{"\xff\xfe"}},
		{name: "backtracking anchored", pcre: `/(a)\1/A`, backtrack: true, match: []string{"aab"}, miss: []string{"baa"}},
		{name: "backtracking multiline", pcre: `/^(b)\1$/m`, backtrack: true, match: []string{"x\nbb\ny"}, miss: []string{"xbb"}},
		{name: "backtracking extended", pcre: `/(a) \1 # twice/x`, backtrack: true, match: []string{"aa"}, miss: []string{"a a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rule := `alert tcp any any -> any any (msg:"t"; pcre:"` + tt.pcre + `"; sid:1;)`
			pc, e := engineOf(t, rule)
			if got := pc.bt != nil; got != tt.backtrack || (pc.re != nil) == got {
				t.Fatalf("backtracking engine: %v (re2 %v), want %v", got, pc.re != nil, tt.backtrack)
			}
			sc := e.newScratch()
			for _, m := range tt.match {
				if !pc.eval(&sc.st, []byte(m), 0, nil) {
					t.Errorf("does not match %q", m)
				}
			}
			for _, m := range tt.miss {
				if pc.eval(&sc.st, []byte(m), 0, nil) {
					t.Errorf("matches %q", m)
				}
			}
			if n := e.PCRETimeouts(); n != 0 {
				t.Errorf("%d timeouts", n)
			}
		})
	}
}

// TestPcreBacktrackRelative: the backtracking engine reports where its
// match ends, for the relative matches after it.
func TestPcreBacktrackRelative(t *testing.T) {
	rule := `alert tcp any any -> any any (msg:"t"; pcre:"/(a)\1/"; content:"z"; within:1; sid:1;)`
	s, err := Parse(rule, nil)
	if err != nil {
		t.Fatal(err)
	}
	e, err := Build([]*Signature{s})
	if err != nil {
		t.Fatal(err)
	}
	sc := e.newScratch()
	steps := s.lists[0].steps
	for _, tt := range []struct {
		in   string
		want bool
	}{{"xaaz", true}, {"xaa z", false}, {"xaz", false}, {"aazaa", true}} {
		if got := steps[0].eval(&sc.st, []byte(tt.in), 0, steps[1:]); got != tt.want {
			t.Errorf("%q: %v, want %v", tt.in, got, tt.want)
		}
	}
}

// TestPcreBacktrackTimeout: a catastrophic pattern on a crafted input
// gives up, counts the timeout and does not match, negated or not.
func TestPcreBacktrackTimeout(t *testing.T) {
	evil := []byte(strings.Repeat("a", 64) + "!")
	for _, p := range []string{`"/^(?=a)(a|aa)+$/"`, `!"/^(?=a)(a|aa)+$/"`} {
		pc, e := engineOf(t, `alert tcp any any -> any any (msg:"t"; pcre:`+p+`; sid:1;)`)
		if pc.bt == nil {
			t.Fatal("not on the backtracking engine")
		}
		sc := e.newScratch()
		if pc.eval(&sc.st, evil, 0, nil) {
			t.Errorf("%s matched", p)
		}
		if n := e.PCRETimeouts(); n != 1 {
			t.Errorf("%s: %d timeouts, want 1", p, n)
		}
		// The same engine still matches a benign input.
		if want := !pc.neg; pc.eval(&sc.st, []byte("aaa"), 0, nil) != want {
			t.Errorf("%s on aaa: want %v", p, want)
		}
	}
}

// TestPcreBacktrackInputBound: the backtracking engine reads at most
// maxBacktrackInput bytes of a buffer.
func TestPcreBacktrackInputBound(t *testing.T) {
	pc, e := engineOf(t, `alert tcp any any -> any any (msg:"t"; pcre:"/(z)\1/"; sid:1;)`)
	sc := e.newScratch()
	in := []byte(strings.Repeat(".", maxBacktrackInput-2) + "zz")
	if !pc.eval(&sc.st, in, 0, nil) {
		t.Error("no match within the bound")
	}
	in = []byte(strings.Repeat(".", maxBacktrackInput-1) + "zz")
	if pc.eval(&sc.st, in, 0, nil) {
		t.Error("matched beyond the bound")
	}
}

// TestPcreResponseBodyInFileData: after file.data, the Q flag names the
// same buffer (Suricata inspects http_server_body there), so a relative
// pcre with Q follows a file.data content.
func TestPcreResponseBodyInFileData(t *testing.T) {
	s, err := Parse(`alert http any any -> any any (msg:"t"; file_data; content:"<label"; pcre:"/^\d{5}/QR"; sid:1;)`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.lists) != 1 || s.lists[0].buf != BufFileData || len(s.lists[0].steps) != 2 {
		t.Fatalf("lists: %+v", s.lists)
	}
}
