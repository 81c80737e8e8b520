//go:build linux

package integration

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/septa-fw/septa/internal/suricatatest"
)

// BenchmarkReplayVsSuricata compares septa's offline signature matching
// (septa replay) with Suricata's (suricata -r, one thread) on the same
// capture and all of Emerging Threats Open, alternating the two in each
// round. Each run includes loading the rules, so each tool also runs on a
// one-flow capture, and the difference is the matching time. It needs
// suricata on PATH and the corpus in ../shared/corpus/et-open.
//
//	go test -run '^$' -bench ReplayVsSuricata -benchtime 3x ./integration
func BenchmarkReplayVsSuricata(b *testing.B) {
	suricata, err := exec.LookPath("suricata")
	if err != nil {
		b.Skip("suricata is not installed")
	}
	corpus, _ := filepath.Abs("../../shared/corpus/et-open")
	files, _ := filepath.Glob(filepath.Join(corpus, "*.rules"))
	if len(files) == 0 {
		b.Skipf("no ET Open rules in %s", corpus)
	}
	_, septa := binaries(b)
	dir := b.TempDir()
	// One rules file for both (suricata -S takes one).
	var all bytes.Buffer
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		all.Write(data)
		all.WriteByte('\n')
	}
	rules := filepath.Join(dir, "all.rules")
	if err := os.WriteFile(rules, all.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	capture := filepath.Join(dir, "http.pcap")
	flows := writeHTTPCapture(b, capture, 20000)
	tiny := filepath.Join(dir, "tiny.pcap")
	writeHTTPCapture(b, tiny, 1)
	cfg, err := suricatatest.WriteConfig(dir)
	if err != nil {
		b.Fatal(err)
	}
	runSepta := func(pcap string) float64 {
		start := time.Now()
		if o, err := exec.Command(septa, "replay", "--pcap", pcap, "--rules", rules, "--eve", filepath.Join(dir, "septa.json")).CombinedOutput(); err != nil {
			b.Fatalf("septa replay: %v: %s", err, o)
		}
		return time.Since(start).Seconds()
	}
	runSuricata := func(pcap string) float64 {
		logDir := filepath.Join(dir, "suri")
		os.RemoveAll(logDir)
		os.MkdirAll(logDir, 0o755)
		start := time.Now()
		if o, err := exec.Command(suricata, "-c", cfg, "-r", pcap, "-S", rules, "-l", logDir, "-k", "none", "--runmode", "single").CombinedOutput(); err != nil {
			b.Fatalf("suricata: %v: %s", err, o)
		}
		return time.Since(start).Seconds()
	}
	var septaT, suriT, septaM, suriM, ratio, mratio []float64
	for b.Loop() {
		st, stLoad := runSepta(capture), runSepta(tiny)
		su, suLoad := runSuricata(capture), runSuricata(tiny)
		septaT, suriT = append(septaT, st), append(suriT, su)
		septaM, suriM = append(septaM, st-stLoad), append(suriM, su-suLoad)
		ratio, mratio = append(ratio, su/st), append(mratio, (su-suLoad)/(st-stLoad))
	}
	b.ReportMetric(median(septaT), "septa-s")
	b.ReportMetric(median(suriT), "suricata-s")
	b.ReportMetric(median(septaM), "septa-match-s")
	b.ReportMetric(median(suriM), "suricata-match-s")
	b.ReportMetric(median(ratio), "suricata/septa")
	b.ReportMetric(median(mratio), "suricata/septa-match")
	b.Logf("%d flows, %d rule files; totals septa %v s, suricata %v s; matching septa %v s, suricata %v s",
		flows, len(files), septaT, suriT, septaM, suriM)
}

// writeHTTPCapture writes n HTTP flows (handshake, a request with varied
// URI and user agent, a response, close) as an Ethernet pcap.
func writeHTTPCapture(tb testing.TB, path string, n int) int {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		tb.Fatal(err)
	}
	ts := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	server := net.IP{10, 3, 1, 10}
	paths := []string{"/index.html", "/cart?id=%d", "/search?q=shoes+%d", "/api/v1/items/%d", "/static/app.js?v=%d", "/login"}
	agents := []string{"Mozilla/5.0 (X11; Linux x86_64)", "curl/7.88.1", "Go-http-client/1.1"}
	for i := range n {
		client := net.IP{10, 1, byte(i >> 8), byte(i)}
		cport := layers.TCPPort(30000 + i%30000)
		cseq, sseq := uint32(1000+i), uint32(90000+i)
		emit := func(fromClient bool, syn, ack, fin bool, payload string) {
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
			tcp.SetNetworkLayerForChecksum(ip)
			buf := gopacket.NewSerializeBuffer()
			if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp, gopacket.Payload(payload)); err != nil {
				tb.Fatal(err)
			}
			ts = ts.Add(50 * time.Microsecond)
			if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(buf.Bytes()), Length: len(buf.Bytes())}, buf.Bytes()); err != nil {
				tb.Fatal(err)
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
		}
		p := paths[i%len(paths)]
		if strings.Contains(p, "%d") {
			p = fmt.Sprintf(p, i)
		}
		req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: %s\r\nAccept: */*\r\n\r\n", p, agents[i%len(agents)])
		body := strings.Repeat("<p>shop</p>", 40)
		resp := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		emit(true, true, false, false, "")
		emit(false, true, true, false, "")
		emit(true, false, true, false, "")
		emit(true, false, true, false, req)
		emit(false, false, true, false, resp)
		emit(true, false, true, true, "")
		emit(false, false, true, true, "")
		emit(true, false, true, false, "")
	}
	return n
}
