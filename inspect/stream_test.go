package inspect

import (
	"testing"
)

func TestStream(t *testing.T) {
	type seg struct {
		off  uint32
		data string
	}
	const isn = 0xfffffff0 // sequence numbers wrap inside the stream
	tests := []struct {
		name        string
		depth       int
		segs        []seg
		want        string
		overlapDiff uint32
		dropped     uint32
		full        bool
		guessBase   bool // no handshake: the base comes from the first data
	}{
		{name: "in order", depth: 64, segs: []seg{{0, "GET "}, {4, "/ HTTP/1.1"}}, want: "GET / HTTP/1.1"},
		{name: "out of order", depth: 64, segs: []seg{{4, "/ HTTP/1.1"}, {0, "GET "}}, want: "GET / HTTP/1.1"},
		{name: "gap waits", depth: 64, segs: []seg{{0, "GET "}, {8, "TTP"}}, want: "GET "},
		{name: "retransmission same bytes", depth: 64, segs: []seg{{0, "GET "}, {0, "GET "}, {4, "/"}}, want: "GET /"},
		{name: "overlap first wins", depth: 64, segs: []seg{{0, "GET /a"}, {4, "/b HTTP"}}, want: "GET /a HTTP", overlapDiff: 1},
		{name: "overlap first wins out of order", depth: 64, segs: []seg{{4, "/evil"}, {0, "GET /good"}}, want: "GET /evil", overlapDiff: 1},
		{name: "old data before start ignored", depth: 64, segs: []seg{{0, "abc"}, {0xfffffff0, "0123456789abcdef"}}, want: "abc"},
		{name: "depth bound", depth: 4, segs: []seg{{0, "abcdefgh"}}, want: "abcd", full: true},
		{name: "beyond depth ignored", depth: 4, segs: []seg{{10, "zz"}, {0, "ab"}}, want: "ab"},
		{
			name: "too many pieces dropped whole", depth: 64,
			segs: []seg{{2, "a"}, {4, "b"}, {6, "c"}, {8, "d"}, {10, "e"}, {12, "f"}, {14, "g"}, {16, "h"}, {18, "i"}, {0, "XY"}},
			want: "XYa", dropped: 1,
		},
		{name: "guessed base moves back", depth: 64, guessBase: true, segs: []seg{{7, "TTP"}, {4, "/ H"}, {0, "GET "}}, want: "GET / HTTP"},
		{name: "guessed base keeps the depth", depth: 6, guessBase: true, segs: []seg{{4, "/ HTTP"}, {0, "GET "}}, want: "GET / ", full: true},
		{name: "guessed base overlap", depth: 64, guessBase: true, segs: []seg{{4, "/evil"}, {0, "GET /good"}}, want: "GET /evil", overlapDiff: 1},
		{name: "guessed base beyond the depth", depth: 4, guessBase: true, segs: []seg{{8, "abc"}, {0, "GET "}}, want: "abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pool := newBufPool(tt.depth, 1)
			var s stream
			if !tt.guessBase {
				s.start(isn)
			}
			s.buf = pool.get()
			for _, sg := range tt.segs {
				s.add(isn+sg.off, []byte(sg.data))
			}
			if got := string(s.contiguous()); got != tt.want {
				t.Errorf("contiguous = %q, want %q", got, tt.want)
			}
			if s.overlapDiff != tt.overlapDiff || s.dropped != tt.dropped || s.full() != tt.full {
				t.Errorf("overlapDiff %d dropped %d full %v, want %d %d %v", s.overlapDiff, s.dropped, s.full(), tt.overlapDiff, tt.dropped, tt.full)
			}
			s.release(pool)
			if pool.inUse != 0 || s.buf != nil {
				t.Errorf("buffer not returned")
			}
		})
	}
}

func TestBufPoolBound(t *testing.T) {
	p := newBufPool(8, 2)
	a, b := p.get(), p.get()
	if a == nil || b == nil || p.get() != nil {
		t.Fatalf("pool of 2 must give 2 buffers and then none")
	}
	p.put(a)
	if p.get() == nil {
		t.Errorf("a returned buffer must be handed out again")
	}
}

func FuzzStream(f *testing.F) {
	f.Add([]byte{0, 3, 'a', 'b', 'c', 5, 2, 'x', 'y'})
	f.Fuzz(func(t *testing.T, b []byte) {
		pool := newBufPool(32, 1)
		var s stream
		s.start(1000)
		s.buf = pool.get()
		// Each segment: offset byte, length byte, data.
		for len(b) >= 2 {
			off, n := int(b[0])-8, int(b[1])
			b = b[2:]
			n = min(n, len(b))
			s.add(uint32(1000+off), b[:n])
			b = b[n:]
		}
		if c := s.contiguous(); len(c) > 32 {
			t.Fatalf("contiguous longer than the depth")
		}
		for i := 1; i < int(s.nspans); i++ {
			if s.spans[i-1].end >= s.spans[i].start {
				t.Fatalf("spans overlap or touch: %v", s.spans[:s.nspans])
			}
		}
	})
}

// TestStreamEnded: a direction has ended when its FIN came and every
// byte before it, up to the depth, is in the stream, from a start the
// handshake gave.
func TestStreamEnded(t *testing.T) {
	const isn = 0xfffffff8 // the FIN's place wraps too
	type seg struct {
		off  uint32
		data string
	}
	tests := []struct {
		name  string
		guess bool // no handshake: the base comes from the first data
		segs  []seg
		fin   uint32 // offset of the FIN, after its data
		noFIN bool
		depth int
		ended bool
	}{
		{name: "all data then FIN", segs: []seg{{0, "GET / HTTP/1.1\r\n\r\n"}}, fin: 18, ended: true},
		{name: "no data, FIN", fin: 0, ended: true},
		{name: "no FIN", segs: []seg{{0, "abc"}}, noFIN: true},
		{name: "FIN after a gap", segs: []seg{{0, "abc"}, {6, "ghi"}}, fin: 9},
		{name: "FIN past the data", segs: []seg{{0, "abc"}}, fin: 103},
		{name: "FIN before the data's end", segs: []seg{{0, "abcdef"}}, fin: 3},
		{name: "beyond the depth: full", depth: 4, segs: []seg{{0, "abcdefgh"}}, fin: 8, ended: true},
		{name: "guessed base", guess: true, segs: []seg{{10, "abc"}}, fin: 13},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			depth := tt.depth
			if depth == 0 {
				depth = 64
			}
			s := &stream{buf: make([]byte, depth)}
			if !tt.guess {
				s.start(isn)
			}
			for _, sg := range tt.segs {
				s.add(isn+sg.off, []byte(sg.data))
			}
			if s.ended() {
				t.Fatal("ended before any FIN")
			}
			if !tt.noFIN {
				s.close(isn + tt.fin)
			}
			if got := s.ended(); got != tt.ended {
				t.Errorf("ended = %v, want %v", got, tt.ended)
			}
		})
	}
}
