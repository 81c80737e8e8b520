package sig

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/septa-fw/septa/internal/testcert"
)

// Some verification cases are captures of real client/server traffic:
// TestGenerateCases runs the servers and clients on loopback, records
// what each side sent and writes the case (input.txt, and test.rules and
// want.txt where they depend on what was generated). Run it to rewrite
// them:
//
//	go test ./inspect/ids/sig -run TestGenerateCases -gen-cases
//
// The TLS cases use the certificate chain in testdata/tls-cert/chain.pem
// (generated on the first run and kept, so that fingerprints stay put).
var genCases = flag.Bool("gen-cases", false, "rewrite the generated verification cases in ../testdata")

// exchange is one TCP connection's data as the server saw it, in order.
type exchange struct {
	mu   sync.Mutex
	segs []segment
}

type segment struct {
	toClient bool
	data     []byte
}

func (x *exchange) add(toClient bool, p []byte) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if n := len(x.segs); n > 0 && x.segs[n-1].toClient == toClient && !toClient {
		// Reads of one client write may come in pieces: one segment.
		x.segs[n-1].data = append(x.segs[n-1].data, p...)
		return
	}
	x.segs = append(x.segs, segment{toClient, bytes.Clone(p)})
}

// recConn records a server connection's reads and writes.
type recConn struct {
	net.Conn
	x *exchange
}

func (c *recConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.x.add(false, p[:n])
	}
	return n, err
}

func (c *recConn) Write(p []byte) (int, error) {
	c.x.add(true, p)
	return c.Conn.Write(p)
}

// recListener hands out recorded connections; exchanges() returns them.
type recListener struct {
	net.Listener
	mu sync.Mutex
	xs []*exchange
}

func (l *recListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	x := &exchange{}
	l.mu.Lock()
	l.xs = append(l.xs, x)
	l.mu.Unlock()
	return &recConn{Conn: c, x: x}, nil
}

func (l *recListener) exchanges() []*exchange {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.xs
}

func listen(t *testing.T) *recListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return &recListener{Listener: ln}
}

// writeInput writes an exchange as input.txt lines: the handshake, then
// each segment (cut at 1400 bytes) from client to server as seen on the
// wire between client and server.
func writeInput(t *testing.T, dir, comment string, client, server string, x *exchange) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n", comment)
	fmt.Fprintf(&b, "tcp %s > %s flags=S seq=999\n", client, server)
	fmt.Fprintf(&b, "tcp %s > %s flags=SA seq=4999\n", server, client)
	fmt.Fprintf(&b, "tcp %s > %s flags=A seq=1000\n", client, server)
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, s := range x.segs {
		src, dst := client, server
		if s.toClient {
			src, dst = server, client
		}
		for d := s.data; len(d) > 0; {
			n := min(len(d), 1400)
			fmt.Fprintf(&b, "tcp %s > %s %s\n", src, dst, strconv.QuoteToASCII(string(d[:n])))
			d = d[n:]
		}
	}
	writeFile(t, filepath.Join(dir, "input.txt"), b.String())
}

func TestGenerateCases(t *testing.T) {
	if !*genCases {
		t.Skip("generates the captured verification cases; run with -gen-cases to rewrite them")
	}
	genHTTPCase(t, "pcre-backreference", "GET /search?q=shoes&lang=en&q=boots HTTP/1.1 from net/http, a 200 answer",
		"/search?q=shoes&lang=en&q=boots", "Mozilla/5.0 (Mozilla) Gecko")
	genHTTPCase(t, "pcre-lookaround", "GET /admin/config?lang=en from net/http, a 200 answer with a session cookie",
		"/admin/config?lang=en", "septa-test/1.0")
	chain := loadTestChain(t, "../testdata/tls-cert/chain.pem")
	genTLSCase(t, "tls-cert", chain, tls.VersionTLS12)
	genTLSCase(t, "tls-cert-tls13", chain, tls.VersionTLS13)
}

// genHTTPCase captures one net/http request and response.
func genHTTPCase(t *testing.T, name, comment, uri, ua string) {
	ln := listen(t)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Set-Cookie", "sid=0badc0de; Path=/")
		w.Header().Set("Date", "Mon, 01 Jan 2024 00:00:00 GMT")
		io.WriteString(w, "token=deadbeef\n")
	})}
	go srv.Serve(ln)
	defer srv.Close()
	req, err := http.NewRequest("GET", "http://shop.example"+uri, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", ua)
	cl := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "tcp", ln.Addr().String())
		},
		DisableCompression: true,
	}}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	cl.CloseIdleConnections()
	xs := ln.exchanges()
	if len(xs) != 1 {
		t.Fatalf("%d connections", len(xs))
	}
	writeInput(t, filepath.Join("../testdata", name), comment, "10.0.0.1:40000", "93.184.216.34:80", xs[0])
}

// genTLSCase captures a crypto/tls handshake (and one request) with the
// server limited to version.
func genTLSCase(t *testing.T, name string, chain tls.Certificate, version uint16) {
	ln := listen(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		s := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{chain}, MaxVersion: version})
		br := bufio.NewReader(s)
		if _, err := br.ReadString('\n'); err != nil {
			return
		}
		io.WriteString(s, "pong\n")
	}()
	c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	cl := tls.Client(c, &tls.Config{ServerName: "shop.example", InsecureSkipVerify: true})
	if _, err := io.WriteString(cl, "ping\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := bufio.NewReader(cl).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	if cl.ConnectionState().Version != version {
		t.Fatalf("negotiated %x, want %x", cl.ConnectionState().Version, version)
	}
	cl.Close()
	<-done
	ln.Close()
	xs := ln.exchanges()
	if len(xs) != 1 {
		t.Fatalf("%d connections", len(xs))
	}
	dir := filepath.Join("../testdata", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	v := map[uint16]string{tls.VersionTLS12: "1.2", tls.VersionTLS13: "1.3"}[version]
	writeInput(t, dir, "crypto/tls client and server (TLS "+v+"), the chain of ../tls-cert/chain.pem, one line each way", "10.0.0.1:40000", "198.51.100.10:443", xs[0])

	// The rules: the certificate's fields as Suricata prints them.
	sum := sha1.Sum(chain.Certificate[0])
	var fp []string
	for _, c := range sum {
		fp = append(fp, fmt.Sprintf("%02x", c))
	}
	fingerprint := strings.Join(fp, ":")
	const h = `alert tls any any -> any any (msg:"t"; `
	rules := []string{
		h + `flow:established,to_client; tls.cert_subject; content:"CN=shop.example"; endswith; sid:1; rev:1;)`,
		h + `tls.cert_issuer; content:"O=Septa Test CA"; sid:2; rev:1;)`,
		h + `tls.cert_serial; content:"00:A1:B2:C3:D4"; startswith; endswith; sid:3; rev:1;)`,
		h + `tls.cert_fingerprint; content:"` + fingerprint + `"; startswith; endswith; sid:4; rev:1;)`,
		h + `tls.certs; content:"Septa Test Root"; sid:5; rev:1;)`,
		h + `tls.subject:"O=Septa Test"; sid:6; rev:1;)`,
		h + `tls.issuerdn:!"CN=Other CA"; sid:7; rev:1;)`,
		h + `tls.cert_subject; content:"CN=other.example"; sid:8; rev:1;)`,
		h + `tls_cert_subject; content:"ST=Oregon"; sid:9; rev:1;)`,
		h + `tls.cert_subject; content:"C=US, ST=Oregon, O=Septa Test, OU=Edge, CN=shop.example"; startswith; endswith; sid:10; rev:1;)`,
		h + `tls.cert_issuer; content:"C=US, O=Septa Test CA, CN=Septa Test Root"; startswith; endswith; sid:11; rev:1;)`,
		h + `tls.fingerprint:"` + fingerprint + `"; sid:12; rev:1;)`,
		h + `tls.certs; content:"|06 03 55 04 03 13 0c|shop.example"; sid:13; rev:1;)`,
		h + `tls.cert_serial; content:"A1:B2:C3:D4"; pcre:"/^00:(?=A1)/"; sid:14; rev:1;)`,
		h + `tls.issuerdn:"CN=Other CA"; sid:15; rev:1;)`,
	}
	writeFile(t, filepath.Join(dir, "test.rules"), strings.Join(rules, "\n")+"\n")
	want := "# TLS 1.2 sends the certificate in clear text: every rule but the\n# non-matching 8 and 15 alerts.\n"
	for _, sid := range []int{1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14} {
		want += fmt.Sprintf("%d 1\n", sid)
	}
	if version == tls.VersionTLS13 {
		want = "# TLS 1.3 encrypts the certificate: no certificate buffer, no alert\n# (as in Suricata).\n"
	}
	writeFile(t, filepath.Join(dir, "want.txt"), want)
}

// loadTestChain reads the test chain (testcert's, with the leaf's key)
// from file, generating it on the first run.
func loadTestChain(t *testing.T, file string) tls.Certificate {
	t.Helper()
	if b, err := os.ReadFile(file); err == nil {
		c, err := tls.X509KeyPair(b, b)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c, err := testcert.New(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), 30*365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leaf, ca, key := c.Certificate[0], c.Certificate[1], c.PrivateKey.(*ecdsa.PrivateKey)
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	out.WriteString("# Test chain for the tls-cert verification cases (gen_test.go); the key is a test key.\n")
	pem.Encode(&out, &pem.Block{Type: "CERTIFICATE", Bytes: leaf})
	pem.Encode(&out, &pem.Block{Type: "CERTIFICATE", Bytes: ca})
	pem.Encode(&out, &pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, file, out.String())
	return c
}
