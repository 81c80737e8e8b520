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
