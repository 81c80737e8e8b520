package appid

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Test data for TLS:
//   - testdata/tls/curl-https.hex: curl 7.88.1 (OpenSSL 3.0) ClientHello,
//     captured on loopback (see its header);
//   - testdata/tls/chromium.hex: Chromium 156 (headless) ClientHello, with
//     GREASE values, ECH GREASE and an X25519MLKEM768 key share; its JA4
//     cipher hash is 8daaf6152771, the value FoxIO's JA4 README shows for
//     Chrome;
//   - live: Go's crypto/tls client, captured in the test by a loopback
//     listener (captureClientHello).
// JA3 and JA4 are checked against an independent computation: the hello
// is handed to crypto/tls's server, whose ClientHelloInfo lists the
// ciphers, extensions, groups, points and signature schemes; the test
// builds the JA3 and JA4 strings from those with fmt and sort and hashes
// them (wantJA3, wantJA4). The hashing and formatting are further checked
// against a published Chrome fingerprint (TestJA4PublishedChrome).

type capturedHello struct {
	raw []byte
	chi *tls.ClientHelloInfo
}

func tlsHelloConfig() *tls.Config {
	return &tls.Config{ServerName: "shop.example", NextProtos: []string{"h2", "http/1.1"}, InsecureSkipVerify: true}
}

// captureClientHello runs crypto/tls's client against a loopback
// listener and returns the bytes it sent before the server answered.
func captureClientHello(t testing.TB, cfg *tls.Config) capturedHello {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		// Read one whole record: its header says how long it is.
		hdr := make([]byte, 5)
		if _, err := io.ReadFull(c, hdr); err != nil {
			got <- nil
			return
		}
		body := make([]byte, int(hdr[3])<<8|int(hdr[4]))
		io.ReadFull(c, body)
		got <- append(hdr, body...)
	}()
	c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	go tls.Client(c, cfg).Handshake()
	raw := <-got
	if raw == nil {
		t.Fatal("no ClientHello captured")
	}
	return capturedHello{raw: raw, chi: helloInfoOf(t, raw)}
}

// helloInfoOf parses a ClientHello record with crypto/tls's server and
// returns what it saw.
func helloInfoOf(t testing.TB, raw []byte) *tls.ClientHelloInfo {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	a.SetDeadline(time.Now().Add(5 * time.Second))
	b.SetDeadline(time.Now().Add(5 * time.Second))
	go func() {
		a.Write(raw)
		io.Copy(io.Discard, a)
	}()
	var chi *tls.ClientHelloInfo
	stop := errors.New("stop")
	tls.Server(b, &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		chi = h
		return nil, stop
	}}).Handshake()
	if chi == nil {
		t.Fatal("crypto/tls did not parse the ClientHello")
	}
	return chi
}

func join[T any](xs []T, sep string, f func(T) string) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = f(x)
	}
	return strings.Join(s, sep)
}

func noGrease[T ~uint16](xs []T) []T {
	return slices.DeleteFunc(slices.Clone(xs), func(v T) bool { return isGREASE(uint16(v)) })
}

// wantJA3 builds the JA3 string from crypto/tls's view of the hello.
func wantJA3(raw []byte, chi *tls.ClientHelloInfo) (string, string) {
	legacy := int(raw[9])<<8 | int(raw[10]) // record(5) + handshake header(4)
	dec := func(v uint16) string { return fmt.Sprint(v) }
	s := fmt.Sprintf("%d,%s,%s,%s,%s", legacy,
		join(noGrease(chi.CipherSuites), "-", dec),
		join(noGrease(chi.Extensions), "-", dec),
		join(noGrease(chi.SupportedCurves), "-", func(c tls.CurveID) string { return fmt.Sprint(uint16(c)) }),
		join(chi.SupportedPoints, "-", func(p uint8) string { return fmt.Sprint(p) }))
	sum := md5.Sum([]byte(s))
	return s, hex.EncodeToString(sum[:])
}

// wantJA4 builds JA4 from crypto/tls's view of the hello, following
// FoxIO's technical_details/JA4.md.
func wantJA4(proto string, raw []byte, chi *tls.ClientHelloInfo) string {
	vers := map[uint16]string{0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10"}
	top := uint16(0)
	for _, v := range noGrease(chi.SupportedVersions) {
		top = max(top, v)
	}
	sni := "i"
	if chi.ServerName != "" {
		sni = "d"
	}
	alpn := "00"
	if len(chi.SupportedProtos) > 0 {
		p := chi.SupportedProtos[0]
		alpn = p[:1] + p[len(p)-1:]
	}
	ciphers := noGrease(chi.CipherSuites)
	exts := noGrease(chi.Extensions)
	h4 := func(v uint16) string { return fmt.Sprintf("%04x", v) }
	a := fmt.Sprintf("%s%s%s%02d%02d%s", proto, vers[top], sni, min(len(ciphers), 99), min(len(exts), 99), alpn)
	sc := slices.Clone(ciphers)
	slices.Sort(sc)
	se := slices.DeleteFunc(slices.Clone(exts), func(v uint16) bool { return v == 0 || v == 16 })
	slices.Sort(se)
	c := join(se, ",", h4)
	if len(chi.SignatureSchemes) > 0 {
		// GREASE is ignored "anywhere" (JA4.md), signature algorithms
		// included (Chrome sends one there; see TestJA4PublishedChrome).
		c += "_" + join(noGrease(chi.SignatureSchemes), ",", func(s tls.SignatureScheme) string { return h4(uint16(s)) })
	}
	trunc := func(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:6]) }
	return a + "_" + trunc(join(sc, ",", h4)) + "_" + trunc(c)
}

func TestDetectTLS(t *testing.T) {
	go13 := captureClientHello(t, tlsHelloConfig())
	go12 := captureClientHello(t, &tls.Config{MaxVersion: tls.VersionTLS12, InsecureSkipVerify: true})
	curl := loadFixture(t, "tls/curl-https")
	curlCHI := helloInfoOf(t, curl.in.ToServer)
	chrome := loadFixture(t, "tls/chromium")
	chromeCHI := helloInfoOf(t, chrome.in.ToServer)
	if len(noGrease(chromeCHI.CipherSuites)) == len(chromeCHI.CipherSuites) {
		t.Error("the Chromium hello has no GREASE cipher: the GREASE path is not exercised")
	}
	fields := func(raw []byte, chi *tls.ClientHelloInfo, sni, alpn, version string) map[string]string {
		_, ja3 := wantJA3(raw, chi)
		m := map[string]string{"tls_version": version, "ja3": ja3, "ja4": wantJA4("t", raw, chi)}
		if sni != "" {
			m["sni"] = sni
		}
		if alpn != "" {
			m["alpn"] = alpn
		}
		return m
	}
	// The same hello cut into three records, as evasive clients do.
	frag := fragmentHello(go13.raw, 100, 200)
	tests := []detectCase{
		{name: "curl", fixture: "tls/curl-https", want: Yes,
			fields: fields(curl.in.ToServer, curlCHI, "shop.example", "h2", "0x0304")},
		{name: "chromium (GREASE, 2 KB hello)", fixture: "tls/chromium", want: Yes,
			fields: fields(chrome.in.ToServer, chromeCHI, "shop.example", "h2", "0x0304")},
		{name: "crypto/tls 1.3", in: &Input{Transport: TCP, ToServer: go13.raw}, want: Yes,
			fields: fields(go13.raw, go13.chi, "shop.example", "h2", "0x0304")},
		{name: "crypto/tls 1.2 no SNI no ALPN", in: &Input{Transport: TCP, ToServer: go12.raw}, want: Yes,
			fields: fields(go12.raw, go12.chi, "", "", "0x0303")},
		{name: "fragmented over records", in: &Input{Transport: TCP, ToServer: frag}, want: Yes,
			fields: fields(go13.raw, go13.chi, "shop.example", "h2", "0x0304")},
		{name: "fragmented, second record missing", in: &Input{Transport: TCP, ToServer: frag[:120]}, want: More},
		{name: "record header only", fixture: "tls/curl-https", view: cut(5), want: More},
		{name: "half a hello", fixture: "tls/curl-https", view: cut(200), want: More},
		{name: "one byte", in: &Input{Transport: TCP, ToServer: []byte{0x16}}, want: More},
		{name: "not handshake", in: &Input{Transport: TCP, ToServer: []byte{0x17, 3, 3, 0, 10}}, want: No},
		{name: "bad record version", in: &Input{Transport: TCP, ToServer: []byte{0x16, 3, 9, 0, 10}}, want: No},
		{name: "server hello, not client", in: &Input{Transport: TCP, ToServer: []byte{0x16, 3, 3, 0, 50, 2, 0, 0, 46}}, want: No},
		{name: "http", in: &Input{Transport: TCP, ToServer: []byte("GET / HTTP/1.1\r\n")}, want: No},
	}
	runDetectCases(t, detectTLS, tests)
}

// fragmentHello re-frames the handshake message of a one-record hello
// into records cut at the given payload offsets.
func fragmentHello(raw []byte, cuts ...int) []byte {
	payload := raw[5:]
	var out []byte
	prev := 0
	for _, c := range append(cuts, len(payload)) {
		part := payload[prev:c]
		out = append(out, 0x16, 3, 1, byte(len(part)>>8), byte(len(part)))
		out = append(out, part...)
		prev = c
	}
	return out
}

// TestJA4PublishedChrome checks the hashing and formatting helpers
// against a Chrome 143 fingerprint published with its raw form
// (browserleaks.com's TLS page, as quoted in service0427/v2_cp_app
// tls.md): ja4_r
// t13d1516h2_002f,0035,...,cca9_0005,...,ff01_0403,...,0601 gives ja4
// t13d1516h2_8daaf6152771_d8a2da3f94cd, and ja3_text gives ja3_hash
// 98487aa16281980e7d1120d399efb6a4.
func TestJA4PublishedChrome(t *testing.T) {
	ciphers := []uint16{0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035}
	exts := []uint16{0x002d, 0x0033, 0x0010, 0xfe0d, 0x0017, 0x44cd, 0x0000, 0x000b, 0x000a, 0x002b, 0xff01, 0x0023, 0x0012, 0x0005, 0x000d, 0x001b}
	sigs := []uint16{0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601}
	var h helloFields
	h.legacyVersion, h.maxVersion = 0x0303, 0x0304
	h.nCiphers = copy(h.ciphers[:], ciphers)
	h.nExts = copy(h.exts[:], exts)
	h.sni, h.alpn = []byte("tls.browserleaks.com"), []byte("h2")
	for _, s := range sigs {
		h.sigAlgs = append(h.sigAlgs, byte(s>>8), byte(s))
	}
	for _, g := range []uint16{4588, 29, 23, 24} {
		h.groups = append(h.groups, byte(g>>8), byte(g))
	}
	h.points = []byte{0}
	var out [36]byte
	n := h.ja4('t', &out)
	if got, want := string(out[:n]), "t13d1516h2_8daaf6152771_d8a2da3f94cd"; got != want {
		t.Errorf("ja4 = %s, want %s", got, want)
	}
	ja3 := h.ja3()
	if got, want := hex.EncodeToString(ja3[:]), "98487aa16281980e7d1120d399efb6a4"; got != want {
		t.Errorf("ja3 = %s, want %s", got, want)
	}
}

// TestJA4ChromiumMatchesFoxIO checks the Chromium 156 fixture against
// FoxIO's own reference output for a Chrome hello that, like it, puts
// GREASE among its signature algorithms: FoxIO-LLC/ja4
// rust/ja4/src/snapshots/ja4__insta@sigalg-grease.pcapng.snap gives
// ja4 t13d1517h2_8daaf6152771_cb7bf5808d99.
func TestJA4ChromiumMatchesFoxIO(t *testing.T) {
	in := loadFixture(t, "tls/chromium").in
	var info Info
	if detectTLS(&in, &info) != Yes {
		t.Fatal("not TLS")
	}
	if got, want := string(info.JA4[:info.JA4Len]), "t13d1517h2_8daaf6152771_cb7bf5808d99"; got != want {
		t.Errorf("JA4 = %s, want FoxIO's %s", got, want)
	}
}

func TestGREASE(t *testing.T) {
	for _, v := range []uint16{0x0a0a, 0x1a1a, 0x7a7a, 0xfafa} {
		if !isGREASE(v) {
			t.Errorf("isGREASE(%#04x) = false", v)
		}
	}
	for _, v := range []uint16{0x0a1a, 0x1301, 0x0000, 0xfafb} {
		if isGREASE(v) {
			t.Errorf("isGREASE(%#04x) = true", v)
		}
	}
}

func TestJA4ALPNChars(t *testing.T) {
	for _, tt := range []struct{ alpn, want string }{
		{"h2", "h2"}, {"http/1.1", "h1"}, {"", "00"}, {"x", "xx"}, {"\xab\x01", "a1"}, {"h\x00", "60"},
	} {
		var alpn []byte
		if tt.alpn != "" {
			alpn = []byte(tt.alpn)
		}
		if got := string(appendALPNChars(nil, alpn)); got != tt.want {
			t.Errorf("ALPN %q: got %q, want %q", tt.alpn, got, tt.want)
		}
	}
}

func TestDetectTLSNoAllocs(t *testing.T) {
	hello := captureClientHello(t, tlsHelloConfig()).raw
	frag := fragmentHello(hello, 100, 200)
	for _, b := range [][]byte{hello, frag} {
		in := &Input{Transport: TCP, ToServer: b}
		info := new(Info)
		if n := testing.AllocsPerRun(100, func() { detectTLS(in, info) }); n != 0 {
			t.Errorf("detectTLS allocates %v times, want 0", n)
		}
	}
}

func FuzzDetectTLS(f *testing.F) {
	fuzzSeeds(f, "tls")
	hello := captureClientHello(f, tlsHelloConfig()).raw
	f.Add(hello, []byte(nil), false)
	f.Add(fragmentHello(hello, 50, 300), []byte(nil), false)
	fuzzDetect(f, detectTLS, func(t *testing.T, in *Input, info *Info) {
		if info.JA4Len == 36 && !bytes.HasPrefix(info.JA4[:], []byte("t")) {
			t.Errorf("JA4 %q does not start with t", info.JA4[:])
		}
	})
}

// recordingConn keeps what is written through it.
type recordingConn struct {
	net.Conn
	mu  sync.Mutex
	out bytes.Buffer
}

func (c *recordingConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	c.out.Write(b)
	c.mu.Unlock()
	return c.Conn.Write(b)
}

// captureServerHello runs crypto/tls's client and server over a pipe and
// returns the server's first record (its ServerHello).
func captureServerHello(t *testing.T) []byte {
	t.Helper()
	cert := selfSignedCert(t)
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	a.SetDeadline(time.Now().Add(5 * time.Second))
	b.SetDeadline(time.Now().Add(5 * time.Second))
	rec := &recordingConn{Conn: b}
	done := make(chan struct{})
	go func() {
		tls.Server(rec, &tls.Config{Certificates: []tls.Certificate{cert}}).Handshake()
		close(done)
	}()
	tls.Client(a, &tls.Config{InsecureSkipVerify: true}).Handshake()
	a.Close()
	<-done
	rec.mu.Lock()
	defer rec.mu.Unlock()
	out := rec.out.Bytes()
	if len(out) < 5 {
		t.Fatal("no ServerHello captured")
	}
	return out[:5+int(out[3])<<8|int(out[4])]
}

func TestDetectTLSServerHello(t *testing.T) {
	sh := captureServerHello(t)
	tests := []detectCase{
		{name: "crypto/tls server hello", in: &Input{Transport: TCP, ToClient: sh}, want: Yes,
			fields: map[string]string{"tls_version": "0x0304"}},
		{name: "server hello cut", in: &Input{Transport: TCP, ToClient: sh[:30]}, want: More},
	}
	runDetectCases(t, detectTLS, tests)
}

// selfSignedCert makes a throwaway ECDSA certificate for the test server.
func selfSignedCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), DNSNames: []string{"shop.example"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
