//go:build linux

package integration

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/septa-fw/septa/integration/lab"
	"golang.org/x/crypto/ssh"
)

// webPolicy runs on the server: HTTP only for the shop's host name, TLS
// only for its server names, PostgreSQL only if it is PostgreSQL, Redis
// only if it is Redis; everything else is denied.
const webPolicy = `
[settings]
default = "deny"
fail_mode = "closed"

[[rules]]
name = "shop-http"
direction = "in"
from = "any"
to = "self"
ports = ["tcp/8080"]
http_host = ["shop.example"]
action = "allow"

[[rules]]
name = "shop-tls"
direction = "in"
from = "any"
to = "self"
ports = ["tcp/8443"]
sni = ["*.shop.example"]
action = "allow"

[[rules]]
name = "only-postgresql"
direction = "in"
from = "any"
to = "self"
ports = ["tcp/5432"]
app = "postgresql"
action = "allow"

[[rules]]
name = "only-redis"
direction = "in"
from = "any"
to = "self"
ports = ["tcp/6379"]
app = "redis"
action = "allow"
`

// TestInspectHTTPHost: Go's HTTP client reaches the server when the Host
// header is allowed; with another host the request never reaches it.
func TestInspectHTTPHost(t *testing.T) {
	l := newLab(t, lab.DefaultHosts()[0], lab.DefaultHosts()[2]) // dev-1, prod-web
	client, web := l.Host("dev-1"), l.Host("prod-web")
	counter := &hostCounter{seen: map[string]int{}}
	serveHTTP(t, web, 8080, counter)
	sd := startSeptad(t, web, webPolicy, "")
	hc := httpClient(client, 3*time.Second)
	get := func(host string) (string, error) {
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://%s:8080/cart", web.V4), nil)
		req.Host = host
		resp, err := hc.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	body, err := get("shop.example")
	if err != nil || !strings.Contains(body, "hello shop.example") {
		t.Fatalf("allowed host: %q, %v", body, err)
	}
	if _, err := get("evil.example"); err == nil {
		t.Errorf("a request for another host must fail")
	}
	if n := counter.count("evil.example"); n != 0 {
		t.Errorf("the server saw %d requests for the denied host; the request must never complete", n)
	}
	if n := sd.verdicts("app"); n == 0 {
		t.Errorf("no verdict counted for reason app")
	}
	// septa show --counters: the policy with the kernel's count per rule.
	out, err := sd.run("show", filepath.Join(sd.dir, "policy.d"), "--counters", "--json")
	if err != nil {
		t.Fatalf("septa show --counters: %v: %s", err, out)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	var policy map[string]any
	var counters []struct {
		Rule    string
		Packets uint64
	}
	if err := dec.Decode(&policy); err != nil {
		t.Fatal(err)
	}
	if err := dec.Decode(&counters); err != nil {
		t.Fatalf("counters: %v: %s", err, out)
	}
	for _, c := range counters {
		if c.Rule == "shop-http" && c.Packets == 0 {
			t.Errorf("rule shop-http counted no packet: %+v", counters)
		}
	}
	if len(counters) != 5 { // the failsafe and the four rules of webPolicy
		t.Errorf("%d counter rows, want one per rule (5): %+v", len(counters), counters)
	}
}

// selfSigned makes a certificate for the names.
func selfSigned(t *testing.T, names ...string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// serveTLSHello runs a crypto/tls server on port in h that greets each
// connection with "hello over tls\n" and closes it.
func serveTLSHello(t *testing.T, h *lab.Host, port uint16, cert tls.Certificate) {
	t.Helper()
	ln, err := h.ListenTCP(port)
	if err != nil {
		t.Fatal(err)
	}
	tln := tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}})
	t.Cleanup(func() { tln.Close() })
	go func() {
		for {
			c, err := tln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				c.Write([]byte("hello over tls\n"))
			}()
		}
	}()
}

// TestInspectTLSServerName: crypto/tls with an allowed server name
// completes its handshake; with another, the ClientHello is held and
// dropped.
func TestInspectTLSServerName(t *testing.T) {
	l := newLab(t, lab.DefaultHosts()[0], lab.DefaultHosts()[2])
	client, web := l.Host("dev-1"), l.Host("prod-web")
	serveTLSHello(t, web, 8443, selfSigned(t, "*.shop.example", "other.example"))
	startSeptad(t, web, webPolicy, "")
	handshake := func(name string) error {
		c, err := client.DialTCP(ap(web.V4, 8443), 3*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(3 * time.Second))
		tc := tls.Client(c, &tls.Config{ServerName: name, InsecureSkipVerify: true, NextProtos: []string{"h2", "http/1.1"}})
		if err := tc.Handshake(); err != nil {
			return err
		}
		line, err := io.ReadAll(io.LimitReader(tc, 15))
		if err != nil || string(line) != "hello over tls\n" {
			return fmt.Errorf("read %q: %v", line, err)
		}
		return nil
	}
	if err := handshake("api.shop.example"); err != nil {
		t.Errorf("allowed server name: %v", err)
	}
	if err := handshake("other.example"); err == nil {
		t.Errorf("a handshake for another server name must fail")
	}
}

// TestInspectAppOnPort: an SSH server (x/crypto/ssh) on 5432, where the
// policy expects PostgreSQL, is denied; a real Redis server from Debian,
// where the policy expects Redis, is allowed (real redis-cli).
func TestInspectAppOnPort(t *testing.T) {
	l := newLab(t, lab.DefaultHosts()[0], lab.DefaultHosts()[2])
	client, web := l.Host("dev-1"), l.Host("prod-web")
	serveSSH(t, web, 5432)
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server is not installed (.ci/run installs it): %v", err)
	}
	if _, err := web.Start("redis-server", "--port", "6379", "--bind", web.V4.String(), "--save", "", "--appendonly", "no", "--protected-mode", "no"); err != nil {
		t.Fatal(err)
	}
	waitListening(t, web, 6379)
	sd := startSeptad(t, web, webPolicy, "")

	cfg := &ssh.ClientConfig{User: "x", Auth: []ssh.AuthMethod{ssh.Password("x")},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 3 * time.Second}
	c, err := client.DialTCP(ap(web.V4, 5432), 3*time.Second)
	if err == nil {
		c.SetDeadline(time.Now().Add(3 * time.Second))
		_, _, _, err = ssh.NewClientConn(c, web.V4.String(), cfg)
		c.Close()
	}
	if err == nil {
		t.Errorf("SSH on the PostgreSQL port must be denied, the handshake succeeded")
	}
	out, err := client.Run(5*time.Second, "redis-cli", "-h", web.V4.String(), "-p", "6379", "PING")
	if err != nil || strings.TrimSpace(out) != "PONG" {
		t.Errorf("redis-cli PING: %q, %v", out, err)
	}
	if n := sd.verdicts("app"); n == 0 {
		t.Errorf("the SSH flow was not denied for its application")
	}
}

// serveSSH runs lab.ServeSSH for the test.
func serveSSH(t *testing.T, h *lab.Host, port uint16) {
	t.Helper()
	stop, err := h.ServeSSH(port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
}

// waitListening waits (bounded) until something listens on port in h.
func waitListening(t testing.TB, h *lab.Host, port uint16) {
	t.Helper()
	for i := 0; i < 100; i++ {
		c, err := h.DialTCP(ap(h.V4, port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s:%d", h.Name, port)
}

// TestInspectDecidedFlowLeavesQueue: once a flow is allowed, the rest of
// it never reaches the inspector.
func TestInspectDecidedFlowLeavesQueue(t *testing.T) {
	l := newLab(t, lab.DefaultHosts()[0], lab.DefaultHosts()[2])
	client, web := l.Host("dev-1"), l.Host("prod-web")
	big := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
	serveHTTP(t, web, 8080, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, big)
	}))
	sd := startSeptad(t, web, webPolicy, "")
	hc := httpClient(client, 10*time.Second)
	req, _ := http.NewRequest("GET", fmt.Sprintf("http://%s:8080/big", web.V4), nil)
	req.Host = "shop.example"
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || n != int64(len(big)) {
		t.Fatalf("read %d bytes (%v), want %d", n, err, len(big))
	}
	// A 1 MiB response is hundreds of packets; only the handshake and the
	// request (a handful) may have been queued.
	if q := sd.queued(); q == 0 || q > 10 {
		t.Errorf("%d packets queued for one flow, want the first few only", q)
	}
	// septa top ranks live flows by conntrack's bytes: the download leads.
	out, err := sd.run("top", "--json")
	if err != nil {
		t.Fatalf("septa top: %v: %s", err, out)
	}
	var top struct {
		Flows []struct {
			Dst           string
			Verdict       string
			BytesToClient uint64
		}
	}
	jsonOut(t, out, &top)
	if len(top.Flows) == 0 || top.Flows[0].Dst != ap(web.V4, 8080).String() || top.Flows[0].Verdict != "allow" || top.Flows[0].BytesToClient < uint64(len(big)) {
		t.Errorf("top flows: %+v; want the 1 MiB download first, allowed", top.Flows)
	}
	// septa flows: the inspector's decision, with the live flow's bytes.
	out, err = sd.run("flows", "--json")
	if err != nil {
		t.Fatalf("septa flows: %v: %s", err, out)
	}
	var flows []struct {
		Rule, App     string
		BytesToClient uint64
	}
	jsonOut(t, out, &flows)
	if len(flows) != 1 || flows[0].Rule != "shop-http" || flows[0].App != "http" || flows[0].BytesToClient < uint64(len(big)) {
		t.Errorf("flows: %+v; want the download, by shop-http, app http, with its bytes", flows)
	}
}

// TestInspectDenyResetsBothEnds: when the inspector denies a TCP flow
// (here a request for a host the rule does not allow), both ends learn at
// once: the server's socket gets a reset in place of the request, and the
// client's retransmission is answered with a reset.
func TestInspectDenyResetsBothEnds(t *testing.T) {
	l := newLab(t, lab.DefaultHosts()[0], lab.DefaultHosts()[2])
	client, web := l.Host("dev-1"), l.Host("prod-web")
	ln, err := web.ListenTCP(8080)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	serverErr := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			serverErr <- err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		_, err = c.Read(make([]byte, 512))
		serverErr <- err
	}()
	startSeptad(t, web, webPolicy, "")
	c, err := client.DialTCP(ap(web.V4, 8080), 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	_, cerr := c.Read(make([]byte, 512))
	if cerr == nil || !strings.Contains(cerr.Error(), "reset") {
		t.Errorf("client: %v, want a reset", cerr)
	}
	select {
	case err := <-serverErr:
		if err == nil || !strings.Contains(err.Error(), "reset") {
			t.Errorf("server: %v, want a reset in place of the request", err)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("server: nothing within 10 s")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the resets took %v", d)
	}
}
