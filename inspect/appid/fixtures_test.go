package appid

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
)

// A fixture is the first bytes of a real flow, stored as
// testdata/<proto>/<name>.hex. Its header comments say how it was
// captured (the client and server, the Debian packages and versions, the
// exact command: see testdata/capture, which recorded them on
// loopback). Then:
//
//	app: <name the flow must be identified as>
//	transport: tcp|udp
//	port: <server port>
//	> hex of what the client sent (lines concatenated)
//	< hex of what the server sent
type fixture struct {
	name string // "<proto>/<name>"
	app  App
	in   Input
}

func loadFixture(t testing.TB, name string) fixture {
	t.Helper()
	path := filepath.Join("testdata", name+".hex")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fx := fixture{name: name}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		bad := func(err any) { t.Fatalf("%s:%d: %v", path, n, err) }
		switch {
		case line[0] == '>' || line[0] == '<':
			b, err := hex.DecodeString(strings.TrimSpace(line[1:]))
			if err != nil {
				bad(err)
			}
			if line[0] == '>' {
				fx.in.ToServer = append(fx.in.ToServer, b...)
			} else {
				fx.in.ToClient = append(fx.in.ToClient, b...)
			}
		case strings.HasPrefix(line, "app:"):
			a, ok := ParseApp(strings.TrimSpace(line[4:]))
			if !ok {
				bad("unknown app")
			}
			fx.app = a
		case strings.HasPrefix(line, "transport:"):
			switch strings.TrimSpace(line[10:]) {
			case "tcp":
				fx.in.Transport = TCP
			case "udp":
				fx.in.Transport = UDP
			default:
				bad("unknown transport")
			}
		case strings.HasPrefix(line, "port:"):
			p, err := strconv.ParseUint(strings.TrimSpace(line[5:]), 10, 16)
			if err != nil {
				bad(err)
			}
			fx.in.ServerPort = uint16(p)
		default:
			bad("unknown line")
		}
	}
	if fx.app == Unknown || fx.in.Transport == TransportUnknown {
		t.Fatalf("%s: app and transport are required", path)
	}
	return fx
}

// fileFixtures loads every testdata/*/*.hex.
func fileFixtures(t testing.TB) []fixture {
	t.Helper()
	paths, err := filepath.Glob("testdata/*/*.hex")
	if err != nil {
		t.Fatal(err)
	}
	var out []fixture
	for _, p := range paths {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.ToSlash(p), "testdata/"), ".hex")
		out = append(out, loadFixture(t, name))
	}
	return out
}

// liveFixtures captures flows from real Go clients in the test itself
// (net/http, crypto/tls, net.Resolver), once per test binary.
func liveFixtures(t testing.TB) []fixture {
	t.Helper()
	var out []fixture
	add := func(name string, app App, tr Transport, toServer []byte) {
		out = append(out, fixture{name: "live/" + name, app: app, in: Input{Transport: tr, ToServer: toServer}})
	}
	add("net-http-get", HTTP, TCP, captureHTTPRequestOnce(t))
	add("net-http-h2c", HTTP2, TCP, captureH2CRequest(t, nil))
	add("crypto-tls", TLS, TCP, captureClientHello(t, tlsHelloConfig()).raw)
	q := captureResolverQueries(t)
	add("resolver-udp", DNS, UDP, q.udp)
	add("resolver-tcp", DNS, TCP, q.tcp)
	return out
}

func allFixtures(t testing.TB) []fixture {
	return append(fileFixtures(t), liveFixtures(t)...)
}

// refines maps a protocol to the one it refines, whose detector also
// claims its bytes (the detector table puts the refinement first).
var refines = map[App]App{GRPC: HTTP2}

// TestIdentifyFixtures runs Identify over every fixture, and then every
// other detector over it: exactly the fixture's app must claim it.
func TestIdentifyFixtures(t *testing.T) {
	for _, fx := range allFixtures(t) {
		t.Run(fx.name, func(t *testing.T) {
			var info Info
			if got := Identify(&fx.in, &info); got != Yes || info.App != fx.app {
				t.Errorf("Identify = %v %v, want yes %v", got, info.App, fx.app)
			}
			for _, d := range detectors {
				if d.App == fx.app || refines[fx.app] == d.App {
					continue
				}
				var info Info
				if r := d.Detect(&fx.in, &info); r == Yes {
					t.Errorf("detector %v also claims these bytes", d.App)
				}
			}
		})
	}
}

// TestIdentifyFixtureViews identifies each fixture with one direction
// dropped, as when a flow's first packets in one direction were missed:
// the answer may be the fixture's app, or not yet known, but never
// another app.
func TestIdentifyFixtureViews(t *testing.T) {
	for _, fx := range allFixtures(t) {
		for _, view := range []struct {
			name string
			in   Input
		}{
			{"client only", Input{Transport: fx.in.Transport, ToServer: fx.in.ToServer, ServerPort: fx.in.ServerPort}},
			{"server only", Input{Transport: fx.in.Transport, ToClient: fx.in.ToClient, ServerPort: fx.in.ServerPort}},
		} {
			var info Info
			if r := Identify(&view.in, &info); r == Yes && info.App != fx.app {
				t.Errorf("%s, %s: identified as %v, want %v or none", fx.name, view.name, info.App, fx.app)
			}
		}
	}
}

// TestIdentifyFixturePrefixes identifies every prefix of each fixture
// (TCP bytes arrive a segment at a time): a prefix may be identified as
// the fixture's app or not yet, never as another app; and the prefix
// that says Yes first stays Yes as more bytes come.
func TestIdentifyFixturePrefixes(t *testing.T) {
	for _, fx := range allFixtures(t) {
		if fx.in.Transport == UDP {
			continue // a datagram arrives whole
		}
		for _, side := range []string{"client", "server"} {
			b := fx.in.ToServer
			if side == "server" {
				b = fx.in.ToClient
			}
			seenYes := false
			for n := 0; n <= len(b); n += max(1, min(n/8, 64)) {
				in := fx.in
				if side == "client" {
					in.ToServer = b[:n]
				} else {
					in.ToClient = b[:n]
				}
				var info Info
				r := Identify(&in, &info)
				switch {
				case r == Yes && info.App != fx.app:
					t.Errorf("%s: %s prefix of %d bytes identified as %v", fx.name, side, n, info.App)
				case r == Yes:
					seenYes = true
				case seenYes && side == "client":
					t.Errorf("%s: client prefix of %d bytes says %v after an earlier yes", fx.name, n, r)
				}
			}
		}
	}
}

// TestNoAllocs checks that identifying each fixture, and running every
// detector over it, allocates nothing (QUIC's detector on a QUIC Initial
// excepted: its decryption allocates once per flow, see detectQUIC).
func TestNoAllocs(t *testing.T) {
	for _, fx := range allFixtures(t) {
		t.Run(fx.name, func(t *testing.T) {
			info := new(Info)
			if fx.app != QUIC {
				if n := testing.AllocsPerRun(20, func() { Identify(&fx.in, info) }); n != 0 {
					t.Errorf("Identify allocates %v times, want 0", n)
				}
			}
			for _, d := range detectors {
				if d.App == QUIC && fx.app == QUIC {
					continue
				}
				if n := testing.AllocsPerRun(20, func() { d.Detect(&fx.in, info) }); n != 0 {
					t.Errorf("detector %v allocates %v times, want 0", d.App, n)
				}
			}
		})
	}
}

// TestPortDoesNotDecide checks that each fixture's server port alone,
// with bytes no protocol has, identifies nothing.
func TestPortDoesNotDecide(t *testing.T) {
	junk := []byte{0x17, 0x42, 0x99, 0x00, 0x01, 0x02, 0x03, 0x04, 0xf0, 0x0f}
	for _, fx := range allFixtures(t) {
		in := Input{Transport: fx.in.Transport, ToServer: junk, ToClient: junk, ServerPort: fx.in.ServerPort}
		var info Info
		if r := Identify(&in, &info); r == Yes {
			t.Errorf("%s: port %d with junk identified as %v", fx.name, fx.in.ServerPort, info.App)
		}
	}
}

func BenchmarkIdentify(b *testing.B) {
	fxs := allFixtures(b)
	seen := map[string]bool{}
	for _, fx := range fxs {
		name := fx.app.String()
		if seen[name] {
			continue // one fixture per protocol keeps the names stable
		}
		seen[name] = true
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			info := new(Info)
			for b.Loop() {
				Identify(&fx.in, info)
			}
		})
	}
	b.Run("unknown", func(b *testing.B) {
		b.ReportAllocs()
		in := &Input{Transport: TCP, ToServer: bytes.Repeat([]byte{0x17, 0x42}, 200), ToClient: []byte("\x01\x02")}
		info := new(Info)
		for b.Loop() {
			Identify(in, info)
		}
	})
	b.Run("malformed-tls", func(b *testing.B) {
		b.ReportAllocs()
		hello := captureClientHello(b, tlsHelloConfig()).raw
		bad := bytes.Clone(hello)
		bad[len(bad)-3] ^= 0xff // break the last extension's length
		in := &Input{Transport: TCP, ToServer: bad}
		info := new(Info)
		for b.Loop() {
			Identify(in, info)
		}
	})
}

// fieldsOf returns info's extracted fields as text, for comparisons.
func fieldsOf(info *Info) map[string]string {
	m := map[string]string{}
	put := func(k string, v []byte) {
		if v != nil {
			m[k] = string(v)
		}
	}
	put("http_method", info.HTTPMethod)
	put("http_host", info.HTTPHost)
	put("http_path", info.HTTPPath)
	put("http_user_agent", info.HTTPUserAgent)
	put("sni", info.SNI)
	put("alpn", info.ALPN)
	if info.TLSVersion != 0 {
		m["tls_version"] = fmt.Sprintf("%#04x", info.TLSVersion)
	}
	if info.JA3 != ([16]byte{}) {
		m["ja3"] = hex.EncodeToString(info.JA3[:])
	}
	if info.JA4Len != 0 {
		m["ja4"] = string(info.JA4[:info.JA4Len])
	}
	put("ssh_proto", info.SSHProto)
	put("ssh_software", info.SSHSoftware)
	if info.SSHFromServer {
		m["ssh_from_server"] = "true"
	}
	put("dns_query", info.DNSQuery)
	if info.QUICVersion != 0 {
		m["quic_version"] = fmt.Sprintf("%#x", info.QUICVersion)
	}
	put("user", info.User)
	put("command", info.Command)
	put("client_id", info.ClientID)
	put("server_version", info.ServerVersion)
	put("snmp_community", info.SNMPCommunity)
	put("rdp_cookie", info.RDPCookie)
	return m
}

// detectCase is one row of a detector's table test: a fixture (or bytes
// given inline), optionally changed by view, and the answer and fields
// expected.
type detectCase struct {
	name    string
	fixture string            // testdata/<fixture>.hex
	in      *Input            // or the input itself
	view    func(*Input)      // changes the input (drop a direction, cut it short)
	want    Result            // the detector's answer
	fields  map[string]string // on Yes, exactly the fields extracted
}

func runDetectCases(t *testing.T, detect func(*Input, *Info) Result, cases []detectCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			var in Input
			if tt.fixture != "" {
				in = loadFixture(t, tt.fixture).in
			} else {
				in = *tt.in
			}
			if tt.view != nil {
				tt.view(&in)
			}
			var info Info
			if got := detect(&in, &info); got != tt.want {
				t.Fatalf("detect = %v, want %v", got, tt.want)
			}
			if tt.want != Yes {
				return
			}
			if tt.fields == nil {
				tt.fields = map[string]string{}
			}
			if diff := cmp.Diff(tt.fields, fieldsOf(&info)); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
			checkAliases(t, &in, &info)
		})
	}
}

// cut returns a view keeping the first n bytes the client sent.
func cut(n int) func(*Input) {
	return func(in *Input) { in.ToServer = in.ToServer[:min(n, len(in.ToServer))] }
}

// serverOnly drops what the client sent.
func serverOnly(in *Input) { in.ToServer = nil }

// within reports whether s lies inside buf's memory.
func within(s, buf []byte) bool {
	if len(s) == 0 || len(buf) == 0 {
		return len(s) == 0
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
	b := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	return p >= b && p+uintptr(len(s)) <= b+uintptr(len(buf))
}

// checkAliases checks the contract that extracted fields alias the input
// or info.Scratch (or are constants: HPACK's static table values).
func checkAliases(t testing.TB, in *Input, info *Info) {
	t.Helper()
	consts := map[string]bool{"GET": true, "POST": true, "/": true, "/index.html": true}
	for k, v := range map[string][]byte{
		"HTTPMethod": info.HTTPMethod, "HTTPHost": info.HTTPHost, "HTTPPath": info.HTTPPath,
		"HTTPUserAgent": info.HTTPUserAgent, "SNI": info.SNI, "ALPN": info.ALPN,
		"SSHProto": info.SSHProto, "SSHSoftware": info.SSHSoftware, "DNSQuery": info.DNSQuery,
		"User": info.User, "Command": info.Command, "ClientID": info.ClientID,
		"ServerVersion": info.ServerVersion, "SNMPCommunity": info.SNMPCommunity, "RDPCookie": info.RDPCookie,
	} {
		if len(v) == 0 || within(v, in.ToServer) || within(v, in.ToClient) || within(v, info.Scratch[:]) ||
			consts[string(v)] {
			continue
		}
		t.Errorf("%s %q aliases neither the input nor Scratch", k, v)
	}
	if info.JA4Len != 0 && info.JA4Len != 36 {
		t.Errorf("JA4Len = %d, want 36", info.JA4Len)
	}
}

// fuzzSeeds adds the fixtures under the given testdata directories.
func fuzzSeeds(f *testing.F, dirs ...string) {
	for _, d := range dirs {
		paths, _ := filepath.Glob(filepath.Join("testdata", d, "*.hex"))
		for _, p := range paths {
			fx := loadFixture(f, strings.TrimSuffix(strings.TrimPrefix(filepath.ToSlash(p), "testdata/"), ".hex"))
			f.Add(fx.in.ToServer, fx.in.ToClient, fx.in.Transport == UDP)
		}
	}
}

// fuzzDetect runs detect over arbitrary input: it must not panic, and on
// Yes the fields must alias the input and pass check (if any).
func fuzzDetect(f *testing.F, detect func(*Input, *Info) Result, check func(t *testing.T, in *Input, info *Info)) {
	f.Fuzz(func(t *testing.T, toServer, toClient []byte, udp bool) {
		in := Input{Transport: TCP, ToServer: toServer, ToClient: toClient}
		if udp {
			in.Transport = UDP
		}
		var info Info
		if detect(&in, &info) != Yes {
			return
		}
		checkAliases(t, &in, &info)
		if check != nil {
			check(t, &in, &info)
		}
	})
}
