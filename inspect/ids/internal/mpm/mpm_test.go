package mpm

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"
)

func naive(patterns [][]byte, text []byte) []int32 {
	lt := bytes.ToLower(text)
	var out []int32
	for i, p := range patterns {
		if len(p) > 0 && bytes.Contains(lt, bytes.ToLower(p)) {
			out = append(out, int32(i))
		}
	}
	return out
}

func TestScan(t *testing.T) {
	tests := []struct {
		name     string
		patterns []string
		text     string
	}{
		{name: "classic", patterns: []string{"he", "she", "his", "hers"}, text: "ushers"},
		{name: "case", patterns: []string{"GET /", "host:"}, text: "get /x HTTP/1.1\r\nHost: a"},
		{name: "none", patterns: []string{"abc"}, text: "abd"},
		{name: "overlap", patterns: []string{"aa", "aaa", "a"}, text: "aaaa"},
		{name: "binary", patterns: []string{"\x00\x01", "\xff"}, text: "\x00\x00\x01\xfe\xff"},
		{name: "empty pattern", patterns: []string{"", "x"}, text: "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := make([][]byte, len(tt.patterns))
			for i, p := range tt.patterns {
				ps[i] = []byte(p)
			}
			m := Build(ps)
			h := NewHits(m)
			h.Reset()
			m.Scan([]byte(tt.text), h)
			got := slices.Clone(h.IDs)
			slices.Sort(got)
			want := naive(ps, []byte(tt.text))
			if !slices.Equal(got, want) {
				t.Errorf("Scan = %v, want %v", got, want)
			}
		})
	}
}

func TestScanRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alpha := []byte("abAB\x00")
	gen := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = alpha[r.IntN(len(alpha))]
		}
		return b
	}
	for i := range 600 {
		var ps [][]byte
		for range 1 + r.IntN(20) {
			ps = append(ps, gen(1+r.IntN(5)))
		}
		// Short texts take one lane, long ones four (Scan).
		text := gen(r.IntN(60))
		if i%2 == 1 {
			text = gen(lanes*minLane + r.IntN(400))
		}
		// Every dense-row budget: the root's only, a few, the default.
		rows := []int{1, 3, -1}[i%3]
		m := build(ps, rows)
		h := NewHits(m)
		h.Reset()
		m.Scan(text, h)
		got := slices.Clone(h.IDs)
		slices.Sort(got)
		if want := naive(ps, text); !slices.Equal(got, want) {
			t.Fatalf("patterns %q text %q, %d dense rows: got %v want %v", ps, text, rows, got, want)
		}
	}
}

func TestScanNoAllocs(t *testing.T) {
	m := Build([][]byte{[]byte("abc"), []byte("bc")})
	h := NewHits(m)
	text := []byte("xxabcxxbc")
	if n := testing.AllocsPerRun(100, func() { h.Reset(); m.Scan(text, h) }); n != 0 {
		t.Errorf("Scan allocates %v times", n)
	}
	jobs := []Job{{m, text, h}, {m, text[1:], NewHits(m)}}
	if n := testing.AllocsPerRun(100, func() { ScanAll(jobs) }); n != 0 {
		t.Errorf("ScanAll allocates %v times", n)
	}
}

// TestScanAcrossLanes places a pattern at every offset of a text that
// Scan cuts into lanes, so that it straddles each cut in every way.
func TestScanAcrossLanes(t *testing.T) {
	pat := []byte("AbcdefgH")
	m := Build([][]byte{pat, []byte("zz")})
	h := NewHits(m)
	for _, n := range []int{lanes * minLane, lanes*minLane + 3, 1000} {
		for p := 0; p+len(pat) <= n; p++ {
			text := bytes.Repeat([]byte("x"), n)
			copy(text[p:], "aBCDEFGh")
			h.Reset()
			m.Scan(text, h)
			if len(h.IDs) != 1 || h.IDs[0] != 0 {
				t.Fatalf("text of %d bytes, pattern at %d: found %v", n, p, h.IDs)
			}
		}
	}
}

// TestScanAll runs batches of jobs on different automata, short texts
// and long, and compares each job's hits with its own Scan.
func TestScanAll(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	alpha := []byte("abcAB\x00")
	gen := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = alpha[r.IntN(len(alpha))]
		}
		return b
	}
	var ms []*Matcher
	for range 5 {
		var ps [][]byte
		for range 1 + r.IntN(30) {
			ps = append(ps, gen(1+r.IntN(6)))
		}
		ms = append(ms, build(ps, []int{1, 4, -1}[r.IntN(3)]))
	}
	for range 200 {
		var jobs []Job
		for range r.IntN(11) {
			n := r.IntN(80)
			if r.IntN(5) == 0 {
				n = lanes*minLane + r.IntN(300)
			}
			m := ms[r.IntN(len(ms))]
			h := NewHits(m)
			h.Reset()
			jobs = append(jobs, Job{M: m, Text: gen(n), H: h})
		}
		ScanAll(jobs)
		for i, j := range jobs {
			want := NewHits(j.M)
			want.Reset()
			j.M.Scan(j.Text, want)
			got := slices.Clone(j.H.IDs)
			slices.Sort(got)
			slices.Sort(want.IDs)
			if !slices.Equal(got, want.IDs) {
				t.Fatalf("job %d of %d (%d bytes): ScanAll found %v, Scan %v", i, len(jobs), len(j.Text), got, want.IDs)
			}
		}
	}
}
