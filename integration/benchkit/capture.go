package benchkit

import (
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// PacketsPerHTTPFlow is how many packets WriteHTTPCapture writes per flow.
const PacketsPerHTTPFlow = 8

// WriteHTTPCapture writes n HTTP flows (handshake, a request with varied
// URI and user agent, a response, close) as an Ethernet pcap at path.
func WriteHTTPCapture(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	werr := writeHTTPFlows(f, n)
	if err := f.Close(); werr == nil {
		werr = err
	}
	return werr
}

func writeHTTPFlows(f *os.File, n int) error {
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return err
	}
	ts := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	server := net.IP{10, 3, 1, 10}
	paths := []string{"/index.html", "/cart?id=%d", "/search?q=shoes+%d", "/api/v1/items/%d", "/static/app.js?v=%d", "/login"}
	agents := []string{"Mozilla/5.0 (X11; Linux x86_64)", "curl/7.88.1", "Go-http-client/1.1"}
	buf := gopacket.NewSerializeBuffer()
	for i := range n {
		client := net.IP{10, 1, byte(i >> 8), byte(i)}
		cport := layers.TCPPort(30000 + i%30000)
		cseq, sseq := uint32(1000+i), uint32(90000+i)
		emit := func(fromClient bool, syn, ack, fin bool, payload string) error {
			eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
			ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: client, DstIP: server}
			tcp := &layers.TCP{SrcPort: cport, DstPort: 80, Seq: cseq, Ack: sseq, SYN: syn, ACK: ack, FIN: fin, PSH: payload != "", Window: 502}
			if !fromClient {
				ip.SrcIP, ip.DstIP = server, client
				tcp.SrcPort, tcp.DstPort = 80, cport
				tcp.Seq, tcp.Ack = sseq, cseq
			}
			if !ack {
				tcp.Ack = 0
			}
			if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
				return err
			}
			if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp, gopacket.Payload(payload)); err != nil {
				return err
			}
			ts = ts.Add(50 * time.Microsecond)
			if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(buf.Bytes()), Length: len(buf.Bytes())}, buf.Bytes()); err != nil {
				return err
			}
			adv := uint32(len(payload))
			if syn || fin {
				adv++
			}
			if fromClient {
				cseq += adv
			} else {
				sseq += adv
			}
			return nil
		}
		p := paths[i%len(paths)]
		if strings.Contains(p, "%d") {
			p = fmt.Sprintf(p, i)
		}
		req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: %s\r\nAccept: */*\r\n\r\n", p, agents[i%len(agents)])
		body := strings.Repeat("<p>shop</p>", 40)
		resp := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		for _, pk := range []struct {
			fromClient, syn, ack, fin bool
			payload                   string
		}{
			{true, true, false, false, ""},
			{false, true, true, false, ""},
			{true, false, true, false, ""},
			{true, false, true, false, req},
			{false, false, true, false, resp},
			{true, false, true, true, ""},
			{false, false, true, true, ""},
			{true, false, true, false, ""},
		} {
			if err := emit(pk.fromClient, pk.syn, pk.ack, pk.fin, pk.payload); err != nil {
				return err
			}
		}
	}
	return nil
}
