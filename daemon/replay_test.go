package daemon

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	_ "github.com/septa-fw/septa/inspect/ids/sig"
)

// writePcap writes one TCP connection carrying an HTTP request whose
// request line is split over two segments, sent out of order, and its
// response, as an Ethernet capture.
func writePcap(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	client, server := net.IP{10, 1, 0, 11}, net.IP{10, 3, 1, 10}
	ts := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	cseq, sseq := uint32(1000), uint32(5000)
	emit := func(fromClient bool, flags string, seq, ack uint32, payload string) {
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: client, DstIP: server}
		tcp := &layers.TCP{SrcPort: 40000, DstPort: 80, Seq: seq, Ack: ack, Window: 502}
		if !fromClient {
			ip.SrcIP, ip.DstIP = server, client
			tcp.SrcPort, tcp.DstPort = 80, 40000
		}
		for _, c := range flags {
			switch c {
			case 'S':
				tcp.SYN = true
			case 'A':
				tcp.ACK = true
			case 'P':
				tcp.PSH = true
			}
		}
		tcp.SetNetworkLayerForChecksum(ip)
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp, gopacket.Payload(payload)); err != nil {
			t.Fatal(err)
		}
		ts = ts.Add(time.Millisecond)
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(buf.Bytes()), Length: len(buf.Bytes())}, buf.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	first, second := "GET /cgi-bin/run?cmd=/bi", "n/sh HTTP/1.1\r\nHost: shop.example\r\n\r\n"
	emit(true, "S", cseq, 0, "")
	emit(false, "SA", sseq, cseq+1, "")
	emit(true, "A", cseq+1, sseq+1, "")
	emit(true, "PA", cseq+1+uint32(len(first)), sseq+1, second) // out of order
	emit(true, "PA", cseq+1, sseq+1, first)
	emit(false, "PA", sseq+1, cseq+1+uint32(len(first)+len(second)), "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
}

func readEVE(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("EVE line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func TestReplay(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "in.pcap")
	writePcap(t, pcap)
	rules := filepath.Join(dir, "test.rules")
	os.WriteFile(rules, []byte(`alert http any any -> any any (msg:"shell in URI"; flow:established,to_server; http.uri; content:"/bin/sh"; sid:9100001; rev:2;)`+"\n"), 0o644)

	t.Run("app-ID alone", func(t *testing.T) {
		var out bytes.Buffer
		st, err := Replay(ReplayConfig{Pcap: pcap, EVE: &out})
		if err != nil {
			t.Fatal(err)
		}
		lines := readEVE(t, out.Bytes())
		if st.Packets != 6 || st.Flows != 1 || len(lines) != 1 || lines[0]["event_type"] != "flow" || lines[0]["app_proto"] != "http" {
			t.Errorf("stats %+v, EVE %v; want one flow event with app_proto http", st, lines)
		}
	})
	t.Run("signatures", func(t *testing.T) {
		var out bytes.Buffer
		st, err := Replay(ReplayConfig{Pcap: pcap, Rules: []string{rules}, EVE: &out})
		if err != nil {
			t.Fatal(err)
		}
		var alerts []map[string]any
		for _, l := range readEVE(t, out.Bytes()) {
			if l["event_type"] == "alert" {
				alerts = append(alerts, l)
			}
		}
		if st.Alerts != 1 || len(alerts) != 1 {
			t.Fatalf("stats %+v, alerts %v; want the one alert", st, alerts)
		}
		a := alerts[0]["alert"].(map[string]any)
		if a["signature_id"] != float64(9100001) || a["rev"] != float64(2) || alerts[0]["src_ip"] != "10.1.0.11" || alerts[0]["dest_port"] != float64(80) {
			t.Errorf("alert %v", alerts[0])
		}
	})
}
