package inspect

import (
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"
)

// clientHello returns the first record crypto/tls's client sends for
// serverName, read through a pipe.
func clientHello(t *testing.T, serverName string) string {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	b.SetDeadline(time.Now().Add(5 * time.Second))
	go tls.Client(a, &tls.Config{ServerName: serverName, InsecureSkipVerify: true}).Handshake()
	hdr := make([]byte, 5)
	if _, err := io.ReadFull(b, hdr); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, int(hdr[3])<<8|int(hdr[4]))
	if _, err := io.ReadFull(b, body); err != nil {
		t.Fatal(err)
	}
	return string(hdr) + string(body)
}

// TestInterleavedFlowsKeepTheirOwnFields: the worker keeps what app-ID
// extracted (SNI, host, JA3) for the flow it identified last. Flows
// interleave: a later packet of an earlier flow must be matched against
// its own server name, never the one of the flow identified since.
func TestInterleavedFlowsKeepTheirOwnFields(t *testing.T) {
	sink := &sinkRecorder{}
	w := idsWorker(t, "tcp/443", "tls", `alert tls any any -> any any (msg:"evil name"; flow:to_server; tls.sni; content:"evil.example"; sid:1; rev:1;)
alert tls any any -> any any (msg:"keeps flows inspected"; flow:to_client; content:"never sent"; sid:2; rev:1;)
`, nopVerdicter{}, sink)

	good := &tcpConn{t: t, client: net.IP{10, 1, 0, 11}, server: net.IP{10, 3, 1, 10}, cport: 40001, sport: 443, cseq: 1, sseq: 1}
	evil := &tcpConn{t: t, client: net.IP{10, 66, 0, 11}, server: net.IP{10, 3, 1, 10}, cport: 40002, sport: 443, cseq: 1, sseq: 1}
	for i, c := range []*tcpConn{good, evil} {
		c.pkt(true, "S", "")
		c.pkt(false, "SA", "")
		w.Handle(&Packet{ID: uint32(10 * i), Payload: c.pkt(true, "A", ""), Hook: HookInput})
	}
	w.Handle(&Packet{ID: 1, Payload: good.pkt(true, "PA", clientHello(t, "shop.example")), Hook: HookInput})
	w.Handle(&Packet{ID: 11, Payload: evil.pkt(true, "PA", clientHello(t, "evil.example")), Hook: HookInput})
	// The good flow's next record comes after the evil flow was
	// identified (a ChangeCipherSpec record).
	w.Handle(&Packet{ID: 2, Payload: good.pkt(true, "PA", "\x14\x03\x03\x00\x01\x01"), Hook: HookInput})

	var alerted []string
	names := map[string]string{}
	for _, e := range sink.events {
		if e.Alert != nil {
			alerted = append(alerted, e.Src.String())
		} else {
			names[e.Src.String()] = e.SNI
		}
	}
	if len(alerted) != 1 || alerted[0] != "10.66.0.11:40002" {
		t.Errorf("alerts from %v, want only the evil flow's", alerted)
	}
	if names["10.1.0.11:40001"] != "shop.example" || names["10.66.0.11:40002"] != "evil.example" {
		t.Errorf("decision events' server names %v", names)
	}
	if n := w.Stats.IDSPackets.Load(); n != 3 {
		t.Errorf("%d packets inspected by the signatures, want the 3 with data", n)
	}
}
