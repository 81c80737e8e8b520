package appid

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"
)

// Test data for DNS:
//   - testdata/dns/dig-udp.hex, dig-tcp.hex: dig 9.18 (dnsutils) queries
//     to a loopback listener (see their headers);
//   - live: Go's own resolver (net.Resolver with PreferGo) whose Dial is
//     pointed at a loopback UDP or TCP listener (captureResolverQueries);
//     Go picks the framing from the connection type, so the TCP query
//     has the 2-byte length prefix.

type resolverQueries struct{ udp, tcp []byte }

func captureResolverQueries(t testing.TB) resolverQueries {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	udpGot := make(chan []byte, 1)
	go func() {
		buf := make([]byte, 1500)
		pc.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			n = 0
		}
		udpGot <- buf[:n]
	}()
	tcpGot := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			tcpGot <- nil
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		hdr := make([]byte, 2)
		io.ReadFull(c, hdr)
		msg := make([]byte, binary.BigEndian.Uint16(hdr))
		io.ReadFull(c, msg)
		tcpGot <- append(hdr, msg...)
	}()
	lookup := func(addr, network string, f func(r *net.Resolver, ctx context.Context)) {
		r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}}
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		f(r, ctx)
	}
	lookup(pc.LocalAddr().String(), "udp", func(r *net.Resolver, ctx context.Context) { r.LookupTXT(ctx, "shop.example") })
	lookup(ln.Addr().String(), "tcp", func(r *net.Resolver, ctx context.Context) { r.LookupMX(ctx, "mail.example") })
	q := resolverQueries{udp: <-udpGot, tcp: <-tcpGot}
	if len(q.udp) == 0 || len(q.tcp) == 0 {
		t.Fatal("resolver queries not captured")
	}
	return q
}

func TestDetectDNS(t *testing.T) {
	q := captureResolverQueries(t)
	tests := []detectCase{
		{name: "dig udp", fixture: "dns/dig-udp", want: Yes, fields: map[string]string{"dns_query": "shop.example"}},
		{name: "dig tcp", fixture: "dns/dig-tcp", want: Yes, fields: map[string]string{"dns_query": "_ldap._tcp.example.org"}},
		{name: "go resolver udp", in: &Input{Transport: UDP, ToServer: q.udp}, want: Yes, fields: map[string]string{"dns_query": "shop.example"}},
		{name: "go resolver tcp", in: &Input{Transport: TCP, ToServer: q.tcp}, want: Yes, fields: map[string]string{"dns_query": "mail.example"}},
		{name: "tcp length only", fixture: "dns/dig-tcp", view: cut(2), want: More},
		{name: "tcp half message", fixture: "dns/dig-tcp", view: cut(30), want: More},
		{name: "udp cut short", fixture: "dns/dig-udp", view: cut(30), want: No},
		{name: "udp trailing bytes", in: &Input{Transport: UDP, ToServer: append(append([]byte(nil), q.udp...), 0)}, want: No},
		{name: "response", in: &Input{Transport: UDP, ToServer: withByte(q.udp, 2, q.udp[2]|0x80)}, want: No},
		{name: "two questions", in: &Input{Transport: UDP, ToServer: withByte(q.udp, 5, 2)}, want: No},
		{name: "root query", in: &Input{Transport: UDP, ToServer: []byte{1, 2, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1}},
			want: Yes, fields: map[string]string{"dns_query": "."}},
		{name: "text", in: &Input{Transport: UDP, ToServer: []byte("hello world, this is text")}, want: No},
	}
	runDetectCases(t, detectDNS, tests)
}

func withByte(b []byte, i int, v byte) []byte {
	c := append([]byte(nil), b...)
	c[i] = v
	return c
}

func TestDetectDNSNoAllocs(t *testing.T) {
	for _, name := range []string{"dns/dig-udp", "dns/dig-tcp"} {
		in := loadFixture(t, name).in
		info := new(Info)
		if n := testing.AllocsPerRun(100, func() { detectDNS(&in, info) }); n != 0 {
			t.Errorf("%s: detectDNS allocates %v times, want 0", name, n)
		}
	}
}

func FuzzDetectDNS(f *testing.F) {
	fuzzSeeds(f, "dns")
	fuzzDetect(f, detectDNS, func(t *testing.T, in *Input, info *Info) {
		if len(info.DNSQuery) == 0 || len(info.DNSQuery) > dnsMaxName {
			t.Errorf("query name %q", info.DNSQuery)
		}
	})
}
