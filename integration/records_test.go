//go:build linux

package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/septa-fw/septa/daemon"
	"github.com/septa-fw/septa/daemon/events"
	"github.com/septa-fw/septa/integration/lab"
	"github.com/septa-fw/septa/internal/journaltest"
)

// recordsPolicy runs on the server: a kernel-only stream port, an
// inspected HTTP port (app-ID reads the Host), an observed deny, and
// the default deny, logged (as zone isolation's denies are).
const recordsPolicy = `
[settings]
default = "deny"
fail_mode = "closed"
log = "deny"

[zones.test]
cidrs = ["10.2.0.0/16"]
[zones.prod]
cidrs = ["10.3.0.0/16"]

[[rules]]
name = "bulk-in"
direction = "in"
from = "zone:test"
to = "self"
ports = ["tcp/9000"]
action = "allow"

[[rules]]
name = "shop-http"
direction = "in"
from = "any"
to = "self"
ports = ["tcp/8080"]
http_host = ["shop.example"]
action = "allow"

[[rules]]
name = "legacy-observed"
direction = "in"
from = "any"
to = "self"
ports = ["tcp/9100"]
action = "deny"
observe = true
`

// exchange sends up bytes to a server that answers with down bytes, and
// returns when the connection is closed.
type exchange struct {
	up, down        int
	connect, closed time.Time
	local           netip.AddrPort
}

// serveExchange answers each connection on port: it reads until the
// client half-closes, then writes down bytes and closes.
func serveExchange(t *testing.T, h *lab.Host, port uint16, down int) {
	t.Helper()
	ln, err := h.ListenTCP(port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				io.Copy(io.Discard, c)
				c.Write(make([]byte, down))
			}()
		}
	}()
}

func runExchange(t *testing.T, client *lab.Host, dst netip.AddrPort, up, down int) exchange {
	t.Helper()
	x := exchange{up: up, down: down, connect: time.Now()}
	c, err := client.DialTCP(dst, 3*time.Second)
	if err != nil {
		t.Fatalf("connect %s: %v", dst, err)
	}
	x.local = netip.MustParseAddrPort(c.LocalAddr().String())
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(make([]byte, up)); err != nil {
		t.Fatalf("send to %s: %v", dst, err)
	}
	c.(*net.TCPConn).CloseWrite()
	n, err := io.Copy(io.Discard, c)
	c.Close()
	x.closed = time.Now()
	if err != nil || int(n) != down {
		t.Fatalf("receive from %s: %d bytes, %v; want %d", dst, n, err, down)
	}
	return x
}

// TestSeptadFlowRecords: septad writes one record per flow when it ends,
// from conntrack, with the rule and verdict that decided it: a flow the
// kernel allowed, one the inspector allowed for its HTTP host, a would-be
// deny of observe mode, a connection the kernel denied and a request the
// inspector denied for its host name. The records are read
// back through the API, the CLI, the EVE file and journald, with
// conntrack's bytes each way and its start and stop times; they survive a
// restart.
func TestSeptadFlowRecords(t *testing.T) {
	journaltest.Ensure(t)
	l := newLab(t, lab.DefaultHosts()[1], lab.DefaultHosts()[2]) // test-1, prod-web
	client, web := l.Host("test-1"), l.Host("prod-web")
	// Short conntrack timeouts in the server's namespace, so that ended
	// flows are destroyed (and reported) in seconds, not minutes.
	for _, s := range []string{"tcp_timeout_time_wait", "tcp_timeout_close", "tcp_timeout_close_wait",
		"tcp_timeout_fin_wait", "tcp_timeout_last_ack"} {
		// /proc/sys/net belongs to the namespace of the thread that
		// opens it.
		if err := web.Do(func() error {
			return os.WriteFile("/proc/sys/net/netfilter/nf_conntrack_"+s, []byte("1"), 0)
		}); err != nil {
			t.Fatalf("nf_conntrack_%s: %v", s, err)
		}
	}
	serveExchange(t, web, 9000, 30000)
	serveExchange(t, web, 9100, 1000)
	hosts := &hostCounter{seen: map[string]int{}}
	serveHTTP(t, web, 8080, hosts)
	eve := filepath.Join(t.TempDir(), "eve.json")
	sd := startSeptad(t, web, recordsPolicy, fmt.Sprintf("[events]\njournald = true\neve = %q\n[flows]\nstate_interval = \"1s\"\ndeny_grace = \"3s\"\n", eve))

	var evilPort uint16
	bulk := runExchange(t, client, ap(web.V4, 9000), 100000, 30000)
	observed := runExchange(t, client, ap(web.V4, 9100), 500, 1000)
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://%s/", ap(web.V4, 8080)), nil)
	req.Host = "shop.example"
	resp, err := httpClient(client, 3*time.Second).Do(req)
	if err != nil {
		t.Fatalf("HTTP to the shop: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if hosts.count("shop.example") != 1 {
		t.Fatalf("the shop saw %d requests, want 1", hosts.count("shop.example"))
	}
	expectConnectIn(t, client, ap(web.V4, 7000), nflogTimeout, lab.TimedOut)
	// The inspector denies another host name on the shop's port.
	evil, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://%s/", ap(web.V4, 8080)), nil)
	evil.Host = "evil.example"
	evilClient := httpClient(client, 3*time.Second)
	evilClient.Transport.(*http.Transport).DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := client.DialTCP(netip.MustParseAddrPort(addr), 3*time.Second)
		if err == nil {
			evilPort = netip.MustParseAddrPort(c.LocalAddr().String()).Port()
		}
		return c, err
	}
	if resp, err := evilClient.Do(evil); err == nil {
		resp.Body.Close()
		t.Fatal("a request for evil.example reached the shop")
	}

	// conntrack reports ends when its garbage collector finds them:
	// poll, bounded.
	var recs []events.Event
	byPort := map[uint16]events.Event{}
	var denied events.Event // the inspector's deny, by its client port
	deniedRecords := 0
	ok := pollFor(120*time.Second, func() bool {
		recs, err = sd.client.FlowRecords(daemon.RecordQuery{Zone: "test"})
		if err != nil {
			t.Fatalf("records: %v", err)
		}
		byPort, deniedRecords = map[uint16]events.Event{}, 0
		for _, r := range recs {
			if r.Src.Addr() != client.V4 {
				continue
			}
			if r.Src.Port() == evilPort {
				denied = r
				deniedRecords++
				continue
			}
			byPort[r.Dst.Port()] = r
		}
		return len(byPort) >= 4 && denied.Kind != 0
	})
	for _, r := range recs {
		t.Logf("record: %s %s -> %s rule %q %s observe=%v decider %s app %q bytes %d/%d packets %d/%d %s..%s state %s",
			events.ProtoName(r.Proto), r.Src, r.Dst, r.Rule, r.Action, r.Observe, r.Decider, r.App,
			r.BytesToServer, r.BytesToClient, r.PacketsToServer, r.PacketsToClient, r.Start.Format(time.StampMicro), r.End.Format(time.StampMicro), r.State)
	}
	if !ok {
		st, _ := sd.client.Status()
		t.Fatalf("after 120 s, records for ports %v and of the denied request %+v; want 9000, 9100, 8080, 7000 and it (status %+v)",
			keys(byPort), denied, st)
	}

	// Bytes each way: conntrack counts IP packets, so a direction's
	// bytes are its payload plus at most 80 bytes of headers a packet.
	checkBytes := func(name string, r events.Event, x exchange) {
		t.Helper()
		if r.BytesToServer < uint64(x.up) || r.BytesToServer > uint64(x.up)+80*r.PacketsToServer ||
			r.BytesToClient < uint64(x.down) || r.BytesToClient > uint64(x.down)+80*r.PacketsToClient {
			t.Errorf("%s: bytes %d/%d in %d/%d packets; the client sent %d and received %d", name,
				r.BytesToServer, r.BytesToClient, r.PacketsToServer, r.PacketsToClient, x.up, x.down)
		}
		if r.Src != x.local {
			t.Errorf("%s: client %s, want %s", name, r.Src, x.local)
		}
		// conntrack's own times: the start when the SYN passed, the
		// stop when the entry expired after the close (the timeouts
		// above are 1 s), whenever the report arrived.
		if r.Start.Before(x.connect.Add(-time.Second)) || r.Start.After(x.closed) ||
			r.End.Before(x.closed.Add(-time.Second)) || r.End.After(x.closed.Add(15*time.Second)) {
			t.Errorf("%s: start %s end %s; the client connected at %s and closed at %s", name,
				r.Start.Format(time.StampMicro), r.End.Format(time.StampMicro), x.connect.Format(time.StampMicro), x.closed.Format(time.StampMicro))
		}
		if r.State != "closed" || r.EndReason != "timeout" {
			t.Errorf("%s: state %q reason %q, want closed, timeout", name, r.State, r.EndReason)
		}
	}
	if r := byPort[9000]; r.Rule != "bulk-in" || r.Action != "allow" || r.Observe || r.Decider != events.DeciderKernel ||
		r.ZoneSrc != "test" || r.ZoneDst != "prod" {
		t.Errorf("kernel allow: %+v; want rule bulk-in, allow, decided by the kernel, test -> prod", r)
	} else {
		checkBytes("kernel allow", r, bulk)
	}
	if r := byPort[9100]; r.Rule != "legacy-observed" || r.Action != "deny" || !r.Observe || r.Decider != events.DeciderKernel {
		t.Errorf("would-deny: %+v; want rule legacy-observed, deny, observed, decided by the kernel", r)
	} else {
		checkBytes("would-deny", r, observed)
	}
	if r := byPort[8080]; r.Rule != "shop-http" || r.Action != "allow" || r.App != "http" || r.HTTPHost != "shop.example" ||
		r.Decider != events.DeciderInspector || r.BytesToClient < uint64(len(body)) || r.PacketsToServer < 3 {
		t.Errorf("inspector allow: %+v; want rule shop-http, allow, app http, host shop.example, decided by the inspector, "+
			"at least the %d bytes of the body back", r, len(body))
	}
	// Zones isolate themselves: test to prod is denied by the zone's
	// rule before the default.
	if r := byPort[7000]; r.Rule != "zone-isolation:test" || r.Action != "deny" || r.Reason != "policy" || r.Decider != events.DeciderKernel ||
		r.State != "new" || r.PacketsToServer != 1 || r.BytesToClient != 0 {
		t.Errorf("deny: %+v; want zone-isolation:test, deny, decided by the kernel, state new, the SYN alone", r)
	}

	// The inspector's deny: a record with what app-ID read, whether
	// conntrack reported the flow (the reset confirms its entry) or the
	// decision was recorded alone after deny_grace.
	if deniedRecords != 1 {
		t.Errorf("%d records of the denied request, want 1", deniedRecords)
	}
	if r := denied; r.Action != "deny" || r.Decider != events.DeciderInspector || r.App != "http" || r.HTTPHost != "evil.example" ||
		r.Rule != "zone-isolation:test" || r.Dst != ap(web.V4, 8080) {
		t.Errorf("inspector deny: %+v; want deny by zone-isolation:test, decided by the inspector, app http, host evil.example", r)
	}

	// Filters in the API.
	if got, err := sd.client.FlowRecords(daemon.RecordQuery{WouldDeny: true}); err != nil || len(got) != 1 || got[0].Dst.Port() != 9100 {
		t.Errorf("would-deny records: %+v, %v; want the flow to 9100 alone", got, err)
	}
	if got, err := sd.client.FlowRecords(daemon.RecordQuery{Verdict: daemon.VerdictDeny, Zone: "prod"}); err != nil || len(got) != 2 ||
		got[0].Dst.Port()+got[1].Dst.Port() != 7000+8080 {
		t.Errorf("deny records in zone prod: %+v, %v; want the flows to 7000 and 8080", got, err)
	}

	// The CLI.
	out, err := sd.run("flows", "--records", "--app", "http", "--json")
	if err != nil {
		t.Fatalf("septa flows --records: %v: %s", err, out)
	}
	var cli []events.Event
	jsonOut(t, out, &cli)
	if len(cli) != 2 || cli[0].Dst != ap(web.V4, 8080) || cli[1].Dst != ap(web.V4, 8080) {
		t.Errorf("septa flows --records --app http: %s", out)
	}

	// The EVE file: event_type flow is the record, in Suricata's schema.
	flows := map[float64]map[string]any{}
	ok = pollFor(5*time.Second, func() bool {
		f, err := os.Open(eve)
		if err != nil {
			return false
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil && m["event_type"] == "flow" && m["src_ip"] == client.V4.String() {
				flows[m["dest_port"].(float64)] = m
			}
		}
		return len(flows) >= 4
	})
	if !ok {
		b, _ := os.ReadFile(eve)
		t.Fatalf("EVE flow events for ports %v; want 4:\n%s", flows, b)
	}
	f := flows[9000]["flow"].(map[string]any)
	septa := flows[9000]["septa"].(map[string]any)
	r := byPort[9000]
	if f["bytes_toserver"] != float64(r.BytesToServer) || f["bytes_toclient"] != float64(r.BytesToClient) ||
		f["pkts_toserver"] != float64(r.PacketsToServer) || f["state"] != "closed" || f["reason"] != "timeout" ||
		f["alerted"] != false || f["end"] != r.End.Format(events.EVETimeLayout) || septa["rule"] != "bulk-in" || septa["verdict"] != "allow" {
		t.Errorf("EVE flow event: %v", flows[9000])
	}
	if flows[8080]["app_proto"] != "http" || flows[9100]["septa"].(map[string]any)["observe"] != true {
		t.Errorf("EVE flow events: 8080 %v, 9100 %v", flows[8080], flows[9100])
	}

	// journald: the record's structured fields.
	var entry string
	ok = pollFor(10*time.Second, func() bool {
		out, err := exec.Command("journalctl", "-o", "json", "--no-pager", "SEPTA_EVENT=flow",
			"SEPTA_SRC="+byPort[9000].Src.String()).Output()
		entry = string(out)
		return err == nil && strings.Contains(entry, `"SEPTA_RULE":"bulk-in"`)
	})
	if !ok {
		t.Errorf("journald has no flow record from %s: %s", byPort[9000].Src, entry)
	} else if !strings.Contains(entry, fmt.Sprintf(`"SEPTA_BYTES_TOSERVER":"%d"`, byPort[9000].BytesToServer)) ||
		!strings.Contains(entry, `"SEPTA_DECIDER":"kernel"`) || !strings.Contains(entry, `"SEPTA_STATE":"closed"`) {
		t.Errorf("journald's flow record: %s", entry)
	}

	// The records survive septad: written to the state file every
	// state_interval (a crash loses at most that much), and at stop.
	state := filepath.Join(sd.dir, "state", "flows.json.gz")
	want := len(recs)
	if !pollFor(10*time.Second, func() bool {
		saved, err := daemon.LoadRecords(state, 1000)
		return err == nil && len(saved) >= want
	}) {
		saved, err := daemon.LoadRecords(state, 1000)
		t.Fatalf("state file: %d records, %v; want %d within 10 s", len(saved), err, want)
	}
	bin, _ := binaries(t)
	restored := func(how string) {
		t.Helper()
		after, err := sd.client.FlowRecords(daemon.RecordQuery{Zone: "test"})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[uint16]int{}
		for _, r := range after {
			if r.Src.Addr() == client.V4 {
				seen[r.Dst.Port()]++
			}
		}
		if seen[9000] != 1 || seen[9100] != 1 || seen[8080] != 2 || seen[7000] != 1 {
			t.Errorf("after %s, records by port %v; want one each for 9000, 9100 and 7000, two for 8080", how, seen)
		}
	}
	sd.kill()
	sd.start(bin)
	restored("a crash")
	sd.stop()
	sd.start(bin)
	restored("a stop")
}

func keys(m map[uint16]events.Event) []uint16 {
	var out []uint16
	for k := range m {
		out = append(out, k)
	}
	return out
}
