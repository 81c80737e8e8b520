package appid

import (
	"bytes"
	"crypto/sha1"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/septa-fw/septa/internal/testcert"
)

// testChain is testcert's CA and leaf, generated per test run.
type testChain struct {
	leaf, ca []byte
	cert     tls.Certificate
}

func newTestChain(t testing.TB) testChain {
	t.Helper()
	c, err := testcert.New(time.Now().Add(-time.Hour), 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return testChain{leaf: c.Certificate[0], ca: c.Certificate[1], cert: c}
}

// recordConn records what is written through it.
type recordConn struct {
	net.Conn
	mu  sync.Mutex
	out bytes.Buffer
}

func (c *recordConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.out.Write(p)
	c.mu.Unlock()
	return c.Conn.Write(p)
}

// serverFlight runs a crypto/tls handshake over a loopback TCP
// connection, the server limited to maxVersion, and returns what the
// server sent.
func serverFlight(t testing.TB, cert tls.Certificate, maxVersion uint16) []byte {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan *recordConn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- nil
			return
		}
		rc := &recordConn{Conn: c}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		s := tls.Server(rc, &tls.Config{Certificates: []tls.Certificate{cert}, MaxVersion: maxVersion})
		s.Handshake()
		s.Close()
		done <- rc
	}()
	c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	cl := tls.Client(c, &tls.Config{ServerName: "shop.example", InsecureSkipVerify: true})
	if err := cl.Handshake(); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	cl.Close()
	rc := <-done
	if rc == nil {
		t.Fatal("no server connection")
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return bytes.Clone(rc.out.Bytes())
}

// TestTLSCertChain reads the chain from a real TLS 1.2 server's bytes,
// and from every prefix of them says More until the message is whole.
func TestTLSCertChain(t *testing.T) {
	ch := newTestChain(t)
	flight := serverFlight(t, ch.cert, tls.VersionTLS12)
	certs, buf, r := TLSCertChain(flight, nil, nil)
	if r != Yes {
		t.Fatalf("TLSCertChain: %v, want yes", r)
	}
	if diff := cmp.Diff([][]byte{ch.leaf, ch.ca}, certs); diff != "" {
		t.Fatalf("chain (-want +got):\n%s", diff)
	}
	// The Certificate message ends where the leaf and CA end; every
	// shorter prefix of the flight is More.
	end := bytes.Index(flight, ch.ca) + len(ch.ca)
	for n := 0; n < end; n++ {
		if _, _, r := TLSCertChain(flight[:n], buf, nil); r != More {
			t.Fatalf("prefix %d of %d: %v, want more", n, end, r)
		}
	}
	// The same message split over one record per byte of handshake.
	split := resplit(t, flight, 7)
	if certs, _, r := TLSCertChain(split, nil, nil); r != Yes || !bytes.Equal(certs[0], ch.leaf) {
		t.Errorf("split into 7-byte records: %v", r)
	}
}

// resplit rewrites the handshake records at the start of b as records
// of at most n bytes each (TLS allows fragmenting handshake messages
// freely, RFC 5246 section 6.2.1), up to the first other record.
func resplit(t *testing.T, b []byte, n int) []byte {
	t.Helper()
	var hs []byte
	for len(b) >= 5 && b[0] == tlsRecordHandshake {
		l := int(b[3])<<8 | int(b[4])
		hs = append(hs, b[5:5+l]...)
		b = b[5+l:]
	}
	var out []byte
	for len(hs) > 0 {
		k := min(n, len(hs))
		out = append(out, tlsRecordHandshake, 3, 3, byte(k>>8), byte(k))
		out = append(out, hs[:k]...)
		hs = hs[k:]
	}
	return append(out, b...)
}

// TestTLSCertChainNone: TLS 1.3 encrypts the certificate, and bytes that
// are not a TLS server flight have none.
func TestTLSCertChainNone(t *testing.T) {
	ch := newTestChain(t)
	tests := []struct {
		name string
		in   []byte
	}{
		{name: "TLS 1.3", in: serverFlight(t, ch.cert, tls.VersionTLS13)},
		{name: "HTTP", in: []byte("HTTP/1.1 200 OK\r\n\r\n")},
		{name: "alert record", in: []byte{0x15, 3, 3, 0, 2, 2, 40}},
		{name: "bad certificate lengths", in: []byte{0x16, 3, 3, 0, 10, 0x0b, 0, 0, 6, 0, 0, 9, 0, 0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, r := TLSCertChain(tt.in, nil, nil); r != No {
				t.Errorf("TLSCertChain: %v, want no", r)
			}
		})
	}
}

// TestParseTLSCerts checks the leaf's fields in Suricata's formats.
func TestParseTLSCerts(t *testing.T) {
	ch := newTestChain(t)
	certs, _, r := TLSCertChain(serverFlight(t, ch.cert, tls.VersionTLS12), nil, nil)
	if r != Yes {
		t.Fatalf("TLSCertChain: %v", r)
	}
	got, err := ParseTLSCerts(certs)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum(ch.leaf)
	var fp []string
	for _, c := range sum {
		fp = append(fp, fmt.Sprintf("%02x", c))
	}
	want := &TLSCerts{
		DER:         [][]byte{ch.leaf, ch.ca},
		Subject:     []byte("C=US, ST=Oregon, O=Septa Test, OU=Edge, CN=shop.example"),
		Issuer:      []byte("C=US, O=Septa Test CA, CN=Septa Test Root"),
		Serial:      []byte("00:A1:B2:C3:D4"),
		Fingerprint: []byte(strings.Join(fp, ":")),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := ParseTLSCerts([][]byte{[]byte("not DER")}); err == nil {
		t.Error("garbage parsed")
	}
}

// TestTLSCertChainAllocs: finding the chain allocates nothing once the
// buffer has grown.
func TestTLSCertChainAllocs(t *testing.T) {
	ch := newTestChain(t)
	flight := serverFlight(t, ch.cert, tls.VersionTLS12)
	certs, buf, _ := TLSCertChain(flight, nil, nil)
	if n := testing.AllocsPerRun(100, func() { certs, buf, _ = TLSCertChain(flight, buf, certs) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}

func BenchmarkTLSCerts(b *testing.B) {
	ch := newTestChain(b)
	flight := serverFlight(b, ch.cert, tls.VersionTLS12)
	certs, buf, _ := TLSCertChain(flight, nil, nil)
	b.Run("chain", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			certs, buf, _ = TLSCertChain(flight, buf, certs)
		}
	})
	b.Run("parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ParseTLSCerts(certs); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func FuzzTLSCertChain(f *testing.F) {
	ch := newTestChain(f)
	f.Add(serverFlight(f, ch.cert, tls.VersionTLS12))
	f.Add([]byte{0x16, 3, 3, 0, 10, 0x0b, 0, 0, 6, 0, 0, 3, 1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		certs, _, r := TLSCertChain(b, nil, nil)
		if r == Yes {
			if len(certs) == 0 {
				t.Fatal("yes without certificates")
			}
			ParseTLSCerts(certs)
		}
	})
}
