package mpm

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// etOpenContents returns a prefilter pattern per rule of the Emerging
// Threats Open rules beside the repository (../shared/corpus/et-open):
// its longest content, as a stand-in for the engine's choice, cut to 32
// bytes, deduplicated. It skips when the corpus is absent.
func etOpenContents(b *testing.B) [][]byte {
	files, _ := filepath.Glob("../../../../../shared/corpus/et-open/*.rules")
	if len(files) == 0 {
		b.Skip("no ET Open corpus beside the repository")
	}
	re := regexp.MustCompile(`content:"((?:[^"\\]|\\.)*)"`)
	seen := map[string]bool{}
	var out [][]byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		for _, line := range bytes.Split(data, []byte("\n")) {
			if len(line) == 0 || line[0] == '#' {
				continue
			}
			var p []byte
			for _, m := range re.FindAllSubmatch(line, -1) {
				if c := decodeContent(m[1]); len(c) > len(p) {
					p = c
				}
			}
			if len(p) > 32 {
				p = p[:32]
			}
			if len(p) > 0 && !seen[string(p)] {
				seen[string(p)] = true
				out = append(out, p)
			}
		}
	}
	return out
}

// decodeContent turns a rule's content text (|hex| runs, escapes) into
// bytes, well enough for a benchmark.
func decodeContent(s []byte) []byte {
	var out []byte
	for len(s) > 0 {
		switch {
		case s[0] == '|':
			end := bytes.IndexByte(s[1:], '|')
			if end < 0 {
				return out
			}
			h, _ := hex.DecodeString(string(bytes.ReplaceAll(s[1:1+end], []byte(" "), nil)))
			out = append(out, h...)
			s = s[end+2:]
		case s[0] == '\\' && len(s) > 1:
			out = append(out, s[1])
			s = s[2:]
		default:
			out = append(out, s[0])
			s = s[1:]
		}
	}
	return out
}

// BenchmarkScanETOpen scans an HTTP request and response with one
// automaton of a pattern from each ET Open rule.
func BenchmarkScanETOpen(b *testing.B) {
	pats := etOpenContents(b)
	m := Build(pats)
	b.Logf("%d patterns, %d states (%d dense, %d classes), %.1f MiB", len(pats), m.States(), m.ndense, m.nc, float64(m.Size())/(1<<20))
	text := []byte("GET /index.html?q=search+terms&page=2 HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0\r\nAccept: text/html,application/xhtml+xml\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\nConnection: keep-alive\r\nCookie: sid=0123456789abcdef\r\n\r\n" +
		"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 440\r\n\r\n" + string(bytes.Repeat([]byte("<p>The shop's <b>catalogue</b> of shoes, 42 items.</p>\n"), 8)))
	h := NewHits(m)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		h.Reset()
		m.Scan(text, h)
	}
}
