package appid

import (
	"bytes"
	"net"
	"net/http"
	"testing"
	"time"

	"golang.org/x/net/http2/hpack"
)

// Test data for HTTP/2 and gRPC:
//   - testdata/http2/curl-prior-knowledge.hex: curl 7.88.1
//     --http2-prior-knowledge (nghttp2), captured on loopback;
//   - testdata/grpc/curl-grpc.hex: the same with content-type
//     application/grpc;
//   - testdata/grpc/grpc-go-health.hex: google.golang.org/grpc's client
//     calling grpc.health.v1.Health/Check over h2c;
//   - live: Go's net/http client speaking HTTP/2 with prior knowledge
//     (http.Protocols UnencryptedHTTP2), captured in the test
//     (captureH2CRequest).

// captureH2CRequest sends a request with Go's HTTP/2 client over
// cleartext to a loopback listener, which answers with an empty SETTINGS
// frame and its ack, and returns what the client sent until it went
// quiet.
func captureH2CRequest(t testing.TB, header http.Header) []byte {
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
		c.Write([]byte{0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0})
		var buf bytes.Buffer
		chunk := make([]byte, 4096)
		for range 20 {
			c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			n, err := c.Read(chunk)
			buf.Write(chunk[:n])
			if err != nil {
				break
			}
		}
		got <- buf.Bytes()
	}()
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	client := &http.Client{Transport: &http.Transport{Protocols: &p}, Timeout: 2 * time.Second}
	req, err := http.NewRequest("GET", "http://"+ln.Addr().String()+"/cart?id=7", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "shop.example"
	for k, v := range header {
		req.Header[k] = v
	}
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
	}
	b := <-got
	if len(b) < len(http2Preface) {
		t.Fatal("no HTTP/2 request captured")
	}
	return b
}

func TestDetectHTTP2(t *testing.T) {
	goh2 := captureH2CRequest(t, http.Header{"User-Agent": {"septa-test/2.0"}})
	tests := []detectCase{
		{name: "curl", fixture: "http2/curl-prior-knowledge", want: Yes, fields: map[string]string{
			"http_method": "GET", "http_host": "shop.example", "http_path": "/shop/cart", "http_user_agent": "curl/7.88.1"}},
		{name: "net/http", in: &Input{Transport: TCP, ToServer: goh2}, want: Yes, fields: map[string]string{
			"http_method": "GET", "http_host": "shop.example", "http_path": "/cart?id=7", "http_user_agent": "septa-test/2.0"}},
		{name: "preface only", fixture: "http2/curl-prior-knowledge", view: cut(24), want: More},
		{name: "preface prefix", in: &Input{Transport: TCP, ToServer: []byte("PRI * HT")}, want: More},
		{name: "HTTP/1", in: &Input{Transport: TCP, ToServer: []byte("GET / HTTP/1.1\r\n\r\n")}, want: No},
		{name: "oversized frame", in: &Input{Transport: TCP, ToServer: append([]byte(http2Preface), 0xff, 0xff, 0xff, 4, 0, 0, 0, 0, 0)}, want: Yes},
	}
	runDetectCases(t, detectHTTP2, tests)
}

func TestDetectGRPC(t *testing.T) {
	tests := []detectCase{
		{name: "grpc-go", fixture: "grpc/grpc-go-health", want: Yes, fields: map[string]string{
			"http_method": "POST", "http_host": "127.0.0.1:37293", "http_path": "/grpc.health.v1.Health/Check",
			"http_user_agent": "septa-test grpc-go/1.85.0"}},
		{name: "curl with grpc content-type", fixture: "grpc/curl-grpc", want: Yes, fields: map[string]string{
			"http_method": "POST", "http_host": "127.0.0.1:38081", "http_path": "/helloworld.Greeter/SayHello",
			"http_user_agent": "curl/7.88.1"}},
		{name: "plain HTTP/2 is not gRPC", fixture: "http2/curl-prior-knowledge", want: No},
		{name: "before HEADERS", fixture: "grpc/grpc-go-health", view: cut(40), want: More},
	}
	runDetectCases(t, detectGRPC, tests)
}

// TestHuffmanDecode checks the decoder against x/net's HPACK encoder
// over every byte value.
func TestHuffmanDecode(t *testing.T) {
	var all []byte
	for c := range 256 {
		all = append(all, byte(c))
	}
	for _, s := range []string{"application/grpc", "www.example.com", "no-cache", "custom-key", string(all)} {
		enc := hpack.AppendHuffmanString(nil, s)
		dst := make([]byte, 512)
		n, ok := huffmanDecode(dst, enc)
		if !ok || string(dst[:n]) != s {
			t.Errorf("huffmanDecode(%q) = %q, %v", s, dst[:n], ok)
		}
	}
}

func TestDetectHTTP2NoAllocs(t *testing.T) {
	in := &Input{Transport: TCP, ToServer: loadFixture(t, "grpc/grpc-go-health").in.ToServer}
	info := new(Info)
	if n := testing.AllocsPerRun(100, func() { detectGRPC(in, info); detectHTTP2(in, info) }); n != 0 {
		t.Errorf("HTTP/2 detectors allocate %v times, want 0", n)
	}
}

func FuzzDetectHTTP2(f *testing.F) {
	fuzzSeeds(f, "http2", "grpc")
	fuzzDetect(f, detectHTTP2, nil)
}

func FuzzDetectGRPC(f *testing.F) {
	fuzzSeeds(f, "grpc")
	fuzzDetect(f, detectGRPC, func(t *testing.T, in *Input, info *Info) {
		if r, _ := http2Request(in.ToServer, new(Info)); r != Yes {
			t.Errorf("gRPC without HTTP/2")
		}
	})
}
