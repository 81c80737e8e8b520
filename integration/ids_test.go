//go:build linux

package integration

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/septa-fw/septa/daemon/events"
	"github.com/septa-fw/septa/integration/lab"
	"github.com/septa-fw/septa/internal/journaltest"
)

const idsSignatures = `alert http any any -> $HOME_NET any (msg:"SEPTA-TEST traversal in URI"; flow:established,to_server; http.uri; content:"../"; sid:9000001; rev:1;)
drop http any any -> $HOME_NET any (msg:"SEPTA-TEST shell in URI"; flow:established,to_server; http.uri; content:"/bin/sh"; nocase; sid:9000002; rev:1;)
alert http any any -> $HOME_NET any (msg:"SEPTA-TEST backtracking pcre"; flow:established,to_server; http.uri; content:"/slow?"; pcre:"/^\/slow\?(?=a)(a|aa)+$/"; sid:9000003; rev:1;)
`

func idsPolicy(mode, rulesFile string) string {
	quarantine := ""
	if mode == "prevent" {
		quarantine = `quarantine = "1m"`
	}
	return fmt.Sprintf(`
[settings]
default = "deny"
[[rules]]
name = "web-ids"
direction = "in"
from = "any"
to = "self"
ports = ["tcp/80"]
ids = %q
%s
action = "allow"
[ids]
signatures = [%q]
`, mode, quarantine, rulesFile)
}

// TestIPS: inside an allowed HTTP flow, a request matching a drop
// signature never reaches the server in prevent mode, and its alert is
// reported; in detect mode the same request passes and is reported.
func TestIPS(t *testing.T) {
	for _, mode := range []string{"prevent", "detect"} {
		t.Run(mode, func(t *testing.T) {
			l := newLab(t, lab.DefaultHosts()[0], lab.DefaultHosts()[2])
			client, web := l.Host("dev-1"), l.Host("prod-web")
			counter := &hostCounter{seen: map[string]int{}}
			serveHTTP(t, web, 80, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				counter.ServeHTTP(w, r)
			}))
			rulesFile := filepath.Join(t.TempDir(), "test.rules")
			if err := os.WriteFile(rulesFile, []byte(idsSignatures), 0o644); err != nil {
				t.Fatal(err)
			}
			journaltest.Ensure(t)
			eve := filepath.Join(t.TempDir(), "eve.json")
			sd := startSeptad(t, web, idsPolicy(mode, rulesFile), fmt.Sprintf("[events]\njournald = true\neve = %q\n", eve))
			get := func(path string) error {
				req, _ := http.NewRequest("GET", fmt.Sprintf("http://%s%s", web.V4, path), nil)
				req.Host = "shop.example"
				resp, err := httpClient(client, 3*time.Second).Do(req)
				if err != nil {
					return err
				}
				resp.Body.Close()
				return nil
			}
			if err := get("/index.html"); err != nil {
				t.Fatalf("a benign request: %v", err)
			}
			err := get("/cgi-bin/run?cmd=/bin/sh")
			served := counter.count("shop.example")
			switch mode {
			case "prevent":
				if err == nil || served != 1 {
					t.Errorf("prevent: the attack must not reach the server: err %v, server saw %d requests", err, served)
				}
			case "detect":
				if err != nil || served != 2 {
					t.Errorf("detect: the request must pass: err %v, server saw %d requests", err, served)
				}
			}
			var alerts []events.Event
			ok := pollFor(5*time.Second, func() bool {
				out, err := sd.run("alerts", "--json")
				if err != nil {
					return false
				}
				alerts = nil
				jsonOut(t, out, &alerts)
				return len(alerts) > 0
			})
			if !ok {
				t.Fatalf("no alert reported")
			}
			a := alerts[len(alerts)-1]
			wantAction := map[string]string{"prevent": events.AlertBlocked, "detect": events.AlertAllowed}[mode]
			if a.Alert.SID != 9000002 || a.Alert.Action != wantAction || !strings.Contains(a.Alert.Signature, "shell") {
				t.Errorf("alert: %+v, want sid 9000002 %s", a.Alert, wantAction)
			}
			// The alert in the EVE file, in Suricata's schema, and in journald.
			ok = pollFor(5*time.Second, func() bool {
				b, _ := os.ReadFile(eve)
				return strings.Contains(string(b), `"event_type":"alert"`) && strings.Contains(string(b), `"signature_id":9000002`) &&
					strings.Contains(string(b), `"action":"`+wantAction+`"`)
			})
			if !ok {
				b, _ := os.ReadFile(eve)
				t.Errorf("no %s alert for sid 9000002 in the EVE file:\n%s", wantAction, b)
			}
			ok = pollFor(10*time.Second, func() bool {
				out, err := exec.Command("journalctl", "-o", "json", "--no-pager", "SEPTA_EVENT=alert", "SEPTA_SID=9000002",
					"SEPTA_SRC="+a.Src.String()).Output()
				return err == nil && len(out) > 0
			})
			if !ok {
				t.Errorf("journald has no alert entry for sid 9000002 from %s", a.Src)
			}

			// septa ids stats: the engine in force.
			out, err := sd.run("ids", "stats", "--json")
			if err != nil {
				t.Fatalf("septa ids stats: %v: %s", err, out)
			}
			var st struct {
				Loaded, Failed int
				Alerts         uint64
				Inspected      uint64 `json:"inspected_packets"`
			}
			jsonOut(t, out, &st)
			if st.Loaded != 3 || st.Failed != 0 || st.Alerts == 0 || st.Inspected == 0 {
				t.Errorf("ids stats %+v: want 3 loaded, alerts and inspected packets", st)
			}
			if mode != "prevent" {
				// A URI that makes the backtracking pcre of sid 9000003
				// exponential: the match is given up (no alert), the
				// request passes, and ids stats counts the timeout.
				if err := get("/slow?" + strings.Repeat("a", 64) + "!"); err != nil {
					t.Fatalf("the request with a slow pcre: %v", err)
				}
				out, err := sd.run("ids", "stats", "--json")
				if err != nil {
					t.Fatalf("septa ids stats: %v: %s", err, out)
				}
				var st struct {
					Timeouts uint64 `json:"pcre_timeouts"`
				}
				jsonOut(t, out, &st)
				if st.Timeouts == 0 {
					t.Errorf("ids stats: no pcre timeout counted:\n%s", out)
				}
				out, _ = sd.run("alerts", "--json")
				if strings.Contains(out, `9000003`) {
					t.Errorf("a pcre that timed out alerted:\n%s", out)
				}
				return
			}
			// The rule quarantines the attacker: the kernel drops its next
			// connection, without a trip to the inspector.
			ok = pollFor(5*time.Second, func() bool {
				out, _ := sd.run("quarantine", "--json")
				return strings.Contains(out, client.V4.String())
			})
			if !ok {
				t.Fatalf("the source was not quarantined")
			}
			before := sd.queued()
			if got, _ := client.Connect(ap(web.V4, 80), time.Second); got != lab.TimedOut {
				t.Errorf("a quarantined source connected: %s", got)
			}
			if q := sd.queued(); q != before {
				t.Errorf("the quarantined source's packets reached the queue (%d)", q-before)
			}
		})
	}
}
