package sig

import (
	"net/netip"
	"path/filepath"
	"runtime"
	"sort"
	"testing"
	"time"

	"github.com/septa-fw/septa/inspect/appid"
	"github.com/septa-fw/septa/inspect/ids"
	"github.com/septa-fw/septa/inspect/packet"
)

// buildETOpen builds an engine from every ET Open rule that parses.
func buildETOpen(t testing.TB) *Engine {
	t.Helper()
	res, _ := loadETOpen(t)
	e, err := Build(res.Sigs)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestETOpenBuild reports the build time and heap of the whole-ruleset
// engine. Skipped with -short.
func TestETOpenBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds all of ET Open; skipped with -short")
	}
	dir := etOpenDir(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*.rules"))
	sort.Strings(files)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	res := &LoadResult{}
	for _, f := range files {
		if err := LoadFile(f, LoadOptions{}, res); err != nil {
			t.Fatal(err)
		}
	}
	parsed := time.Since(start)
	e, err := Build(res.Sigs)
	if err != nil {
		t.Fatal(err)
	}
	total := time.Since(start)
	res = nil
	runtime.GC()
	runtime.ReadMemStats(&after)
	st := e.Stats()
	t.Logf("ET Open engine: %d signatures (%d prefiltered, %d inert), %d groups, %d port groups, %d automaton states in %.1f MiB; parse %v, parse+build %v; heap %.1f MiB",
		st.Loaded, st.Prefiltered, st.Inert, st.Groups, st.PortGroups, st.MPMStates, float64(st.MPMBytes)/(1<<20), parsed.Round(time.Millisecond), total.Round(time.Millisecond),
		float64(after.HeapAlloc-before.HeapAlloc)/(1<<20))
	runtime.KeepAlive(e)
}

var benchRequests = []struct {
	name    string
	payload string
}{
	{"http-get", "GET /index.html?q=search+terms&page=2 HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0\r\nAccept: text/html,application/xhtml+xml\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\nConnection: keep-alive\r\nCookie: sid=0123456789abcdef\r\n\r\n"},
	{"http-post", "POST /api/v1/upload.php HTTP/1.1\r\nHost: api.example.net\r\nUser-Agent: curl/8.5.0\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 41\r\n\r\nname=report&data=SGVsbG8gd29ybGQ%3D&x=1"},
	{"malformed", "\x16\x03GET /\x00\x00\xff\xfe%%%%\r\n\r\nHost\x00: \xff\xff\xff"},
}

// benchInput is a to-server packet of an established HTTP flow whose
// stream is the request.
func benchInput(payload []byte, info *appid.Info) (*ids.Input, *packet.Packet) {
	p := &packet.Packet{
		Src: netip.MustParseAddr("192.168.1.10"), Dst: netip.MustParseAddr("93.184.216.34"),
		SrcPort: 40000, DstPort: 80, Proto: packet.ProtoTCP, IPVersion: 4,
		Flags: packet.TCPPsh | packet.TCPAck, Payload: payload,
	}
	key, _ := p.Key()
	in := &ids.Input{Packet: p, Key: key, Dir: ids.ToServer, Established: true, Stream: [2][]byte{payload, nil}, Flow: &ids.Flow{}}
	ain := appid.Input{Transport: appid.TCP, ToServer: payload, ServerPort: 80}
	if appid.Identify(&ain, info) == appid.Yes {
		in.App, in.Info = info.App, info
	}
	return in, p
}

func BenchmarkMatch(b *testing.B) {
	e := buildETOpen(b)
	sc := e.NewScratch()
	for _, br := range benchRequests {
		b.Run(br.name, func(b *testing.B) {
			var info appid.Info
			in, p := benchInput([]byte(br.payload), &info)
			var r ids.Result
			b.ReportAllocs()
			b.SetBytes(int64(len(p.Payload)))
			for b.Loop() {
				*in.Flow = ids.Flow{}
				e.Inspect(in, sc, &r)
			}
		})
	}
}

// BenchmarkMatchStream inspects one flow's 32 segments of a 1 KiB each
// upload, the stream growing with each: the cost per flow shows whether
// stream inspection grows with the square of the depth.
func BenchmarkMatchStream(b *testing.B) {
	e := buildETOpen(b)
	sc := e.NewScratch()
	head := "POST /upload.php HTTP/1.1\r\nHost: files.example.net\r\nContent-Type: application/octet-stream\r\nContent-Length: 32768\r\n\r\n"
	stream := []byte(head)
	for i := 0; len(stream) < 32*1024; i++ {
		stream = append(stream, "lorem ipsum dolor sit amet, consectetur adipiscing elit "[i%56])
	}
	var info appid.Info
	in, p := benchInput(stream[:1024], &info)
	var r ids.Result
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	for b.Loop() {
		*in.Flow = ids.Flow{}
		for end := 1024; end <= len(stream); end += 1024 {
			p.Payload, in.Stream[0] = stream[end-1024:end], stream[:end]
			e.Inspect(in, sc, &r)
		}
	}
}

func BenchmarkBuildETOpen(b *testing.B) {
	res, _ := loadETOpen(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Build(res.Sigs); err != nil {
			b.Fatal(err)
		}
	}
}

// TestMatchNoAllocs: matching allocates nothing once the scratch is warm,
// for a rule set without pcre end positions (FindIndex allocates).
func TestMatchNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector (make test checks them without it)")
	}
	rules := `alert http any any -> any any (msg:"a"; flow:established,to_server; http.uri; content:"/index"; startswith; http.host; content:"example"; sid:1;)
alert http any any -> any any (msg:"b"; http.user_agent; content:"Firefox"; pcre:"/rv:\d+/"; sid:2;)
alert tcp any any -> any any (msg:"c"; content:"GET"; depth:3; content:"HTTP/1.1"; distance:0; byte_test:1,=,0x0d,0,relative; sid:3;)
alert http any any -> any any (msg:"d"; http.header_names; content:"|0d 0a|Cookie|0d 0a|"; flowbits:set,x; sid:4;)
alert tcp any any -> any any (msg:"e"; flowbits:isset,x; content:"Accept"; nocase; sid:5;)
`
	res := &LoadResult{}
	if err := Load("t.rules", stringsReader(rules), LoadOptions{}, res); err != nil || len(res.Errors) > 0 {
		t.Fatal(err, res.Errors)
	}
	e, _ := Build(res.Sigs)
	sc := e.NewScratch()
	var info appid.Info
	in, _ := benchInput([]byte(benchRequests[0].payload), &info)
	var r ids.Result
	e.Inspect(in, sc, &r)
	if r.NAlerts != 5 {
		t.Fatalf("warm-up: %d alerts, want 5", r.NAlerts)
	}
	if n := testing.AllocsPerRun(100, func() {
		*in.Flow = ids.Flow{}
		e.Inspect(in, sc, &r)
	}); n != 0 {
		t.Errorf("Inspect allocates %v times per packet", n)
	}
}

// BenchmarkPCRE compares one pcre step on the two engines: the same
// pattern compiled with Go's regexp and with the backtracking fallback
// (which septa uses only for patterns Go's cannot express), and two
// patterns that need the fallback, over the 348-byte http-get request.
// "end" variants report where the match ends (a relative match follows).
func BenchmarkPCRE(b *testing.B) {
	payload := []byte(benchRequests[0].payload)
	re2 := func(p string) *pcre {
		re, err := compileRE2(p, "i", false)
		if err != nil {
			b.Fatal(err)
		}
		return &pcre{re: re}
	}
	bt := func(p string) *pcre {
		re, err := compileBacktrack(p, "i", false)
		if err != nil {
			b.Fatal(err)
		}
		return &pcre{bt: re}
	}
	const same = `rv:\d+\.\d+\) gecko`
	cases := []struct {
		name string
		pc   *pcre
		end  bool
	}{
		{"re2", re2(same), false},
		{"re2-end", re2(same), true},
		{"backtrack", bt(same), false},
		{"backtrack-end", bt(same), true},
		{"backtrack-backreference", bt(`(\w)\1{2}`), false},
		{"backtrack-lookahead", bt(`accept-language: (?=en)[a-z]{2}-`), false},
		{"backtrack-miss", bt(`cookie: sid=(\w)\1{3}`), false},
	}
	rest := []step{&content{pat: []byte(" "), relative: true, offsetVar: -1, depthVar: -1, distanceVar: -1, withinVar: -1}}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			e, _ := Build(nil)
			sc := e.newScratch()
			var r []step
			if c.end {
				r = rest
			}
			want := c.name != "backtrack-miss"
			if got := c.pc.eval(&sc.st, payload, 0, r); got != want {
				b.Fatalf("match %v, want %v", got, want)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(payload)))
			for b.Loop() {
				c.pc.eval(&sc.st, payload, 0, r)
			}
		})
	}
}
