package sig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/septa-fw/septa/inspect/appid"
	"github.com/septa-fw/septa/inspect/ids"
)

func seedRules(f *testing.F) []string {
	files, _ := filepath.Glob("../testdata/*/test.rules")
	var out []string
	for _, fn := range files {
		b, err := os.ReadFile(fn)
		if err != nil {
			f.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if strings.TrimSpace(l) != "" {
				out = append(out, l)
			}
		}
	}
	return out
}

// FuzzSignature: whatever parses formats to text that parses again to
// the same text.
func FuzzSignature(f *testing.F) {
	for _, r := range seedRules(f) {
		f.Add(r)
	}
	f.Fuzz(func(t *testing.T, text string) {
		s, err := Parse(text, nil)
		if err != nil {
			return
		}
		one := Format(s)
		s2, err := Parse(one, nil)
		if err != nil {
			t.Fatalf("formatted rule does not parse: %v\n%s", err, one)
		}
		if two := Format(s2); two != one {
			t.Fatalf("format not stable:\n%s\n%s", one, two)
		}
	})
}

// FuzzMatch: any payload through an engine built from the test rules
// never panics.
func FuzzMatch(f *testing.F) {
	res := &LoadResult{}
	if err := Load("seed", strings.NewReader(strings.Join(seedRules(f), "\n")), LoadOptions{}, res); err != nil {
		f.Fatal(err)
	}
	e, err := Build(res.Sigs)
	if err != nil {
		f.Fatal(err)
	}
	sc := e.NewScratch()
	f.Add([]byte("GET /admin/login.php HTTP/1.1\r\nHost: a\r\n\r\n"), []byte("HTTP/1.1 200 OK\r\n\r\nbody"))
	f.Add([]byte("\x00\x10\x00\x05hello"), []byte{})
	f.Fuzz(func(t *testing.T, req, resp []byte) {
		var info appid.Info
		in, _ := benchInput(req, &info)
		var r ids.Result
		e.Inspect(in, sc, &r)
		in.Dir = ids.ToClient
		in.Packet.Payload = resp
		in.Stream[1] = resp
		e.Inspect(in, sc, &r)
	})
}

// FuzzPCRE: translating and compiling any pattern never panics, and
// where both Go's regexp and the backtracking engine compile it, the two
// agree on whether it matches the input (when the backtracking engine
// finishes in time). (Patterns PCRE itself rejects, "{2}" with nothing to
// repeat, may compile on one only.)
func FuzzPCRE(f *testing.F) {
	for _, s := range []string{`a.c`, `(["'])[a-z]+\1`, `user=(?!admin)`, `\x41{1001}`, `[[:alpha:]]+\d`, `\Qa.b\E`, `(?i)abc$`, `^a\Z`, `[^\]]x`, `\h+\R`, `(?P<n>x)(?P=n)`, `\0101`, `(?>a+)b`, `a++`, `\x{e9}|\x2`} {
		f.Add(s, "xabc aa 'q' A\n\xe9")
	}
	f.Fuzz(func(t *testing.T, pat, input string) {
		for _, flags := range []string{"", "is", "m"} {
			re, err := compileRE2(pat, flags, false)
			bt, berr := compileBacktrack(pat, flags, false)
			if err != nil || berr != nil {
				continue
			}
			var st state
			end, ok := st.backtrackMatch(bt, []byte(input), false)
			if !ok {
				continue
			}
			text := []byte(input)
			if l, changed := st.latin1(text); changed {
				text = l
			}
			if got, want := end >= 0, re.Match(text); got != want {
				t.Fatalf("(?%s)%q on %q: backtracking %v, Go %v", flags, pat, input, got, want)
			}
		}
	})
}
