//go:build linux

package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/septa-fw/septa/daemon/events"
	"github.com/septa-fw/septa/integration/lab"
	"github.com/septa-fw/septa/internal/journaltest"
	"golang.org/x/crypto/ssh"
)

// TestSeptadExplainsDenials: a flow denied for its application is
// explained everywhere septa reports: septa flows, the EVE file in
// Suricata's schema, and journald with structured fields.
func TestSeptadExplainsDenials(t *testing.T) {
	journaltest.Ensure(t)
	l := newLab(t, lab.DefaultHosts()[1], lab.DefaultHosts()[2]) // test-1, prod-web
	client, web := l.Host("test-1"), l.Host("prod-web")
	serveSSH(t, web, 5432)
	eve := filepath.Join(t.TempDir(), "eve.json")
	policy := webPolicy + `
[zones.test]
cidrs = ["10.2.0.0/16"]
[zones.prod]
cidrs = ["10.3.0.0/16"]
`
	sd := startSeptad(t, web, policy, fmt.Sprintf("[events]\njournald = true\neve = %q\nmetrics = \"127.0.0.1:9750\"\n", eve))
	// The server speaks first: its banner decides, and is replaced by a
	// reset, which may reach the client before its connect returns.
	c, err := client.DialTCP(ap(web.V4, 5432), 3*time.Second)
	if err == nil {
		c.SetDeadline(time.Now().Add(3 * time.Second))
		_, _, _, err = ssh.NewClientConn(c, web.V4.String(), &ssh.ClientConfig{User: "x", HostKeyCallback: ssh.InsecureIgnoreHostKey()})
		c.Close()
	}
	if err == nil {
		t.Fatal("SSH on the PostgreSQL port passed")
	}

	// septa flows
	var flows []events.Event
	out, err := sd.run("flows", "--json")
	if err != nil {
		t.Fatalf("septa flows: %v: %s", err, out)
	}
	jsonOut(t, out, &flows)
	var denied *events.Event
	for i := range flows {
		if flows[i].Dst.Port() == 5432 {
			denied = &flows[i]
		}
	}
	if denied == nil {
		t.Fatalf("septa flows lacks the denied flow: %s", out)
	}
	// The app is not PostgreSQL, so only-postgresql does not match; zone
	// isolation (test to prod) decides.
	if denied.App != "ssh" || denied.Action != "deny" || denied.Rule != "zone-isolation:test" || denied.ZoneSrc != "test" || denied.ZoneDst != "prod" {
		t.Errorf("flow: app %q action %q rule %q zones %q -> %q; want ssh, deny, zone-isolation:test, test -> prod",
			denied.App, denied.Action, denied.Rule, denied.ZoneSrc, denied.ZoneDst)
	}

	// The EVE file: a drop event, app_proto ssh, with septa's reason.
	var line map[string]any
	ok := pollFor(5*time.Second, func() bool {
		f, err := os.Open(eve)
		if err != nil {
			return false
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil && m["event_type"] == "drop" && m["dest_port"] == float64(5432) {
				line = m
				return true
			}
		}
		return false
	})
	if !ok {
		b, _ := os.ReadFile(eve)
		t.Fatalf("no drop event for port 5432 in the EVE file:\n%s", b)
	}
	if line["app_proto"] != "ssh" || line["src_ip"] != client.V4.String() || line["proto"] != "TCP" {
		t.Errorf("EVE line: %v", line)
	}

	// journald: structured fields.
	want := fmt.Sprintf("SEPTA_DST=%s", ap(web.V4, 5432))
	var entry string
	ok = pollFor(10*time.Second, func() bool {
		out, err := exec.Command("journalctl", "-o", "json", "--no-pager", "SEPTA_EVENT=drop", want).Output()
		entry = string(out)
		return err == nil && strings.Contains(entry, `"SEPTA_APP":"ssh"`)
	})
	if !ok {
		t.Errorf("journald has no drop entry with %s and SEPTA_APP=ssh: %s", want, entry)
	}

	// Prometheus, on the configured address only (inside the host).
	resp, err := httpClient(web, 3*time.Second).Get("http://127.0.0.1:9750/metrics")
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, m := range []string{`septa_set_prefixes{kind="zone",set="zone:prod"} 1`, `septa_queue_depth `,
		`septa_verdicts_total{action="deny",reason="policy"}`, `septa_policy_generation 1`, `septa_events_total{kind="drop"}`} {
		if !strings.Contains(string(body), m) {
			t.Errorf("metrics lack %q", m)
		}
	}
}

func pollFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}
