//go:build linux

package integration

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/septa-fw/septa/daemon/events"
	"github.com/septa-fw/septa/daemon/flowmap"
	"github.com/septa-fw/septa/integration/lab"
	"golang.org/x/crypto/ssh"
)

// observePolicy is the shop's first step: zones isolated, admins reach
// prod over SSH and the desktops its web tier over HTTP, and the rest of
// the policy in observe mode, logging every flow (log = "all") so that
// what a proposal must allow is on record.
const observePolicy = `
[settings]
default = "deny"
mode = "observe"
log = "all"
failsafe = []

[zones.dev]
cidrs = ["10.1.0.0/16"]
[zones.prod]
cidrs = ["10.3.0.0/16"]
[zones.vdi]
cidrs = ["10.4.0.0/16"]
[zones.admin]
cidrs = ["10.9.0.0/24"]

[groups.shop]
select = "app=shop, env=prod"

[[rules]]
name = "admin-ssh"
section = "infrastructure"
from = "zone:admin"
to = "zone:prod"
services = ["ssh"]
action = "allow"

[[rules]]
name = "desktops-to-prod-web"
section = "environment"
from = "zone:vdi"
to = "zone:prod"
services = ["http"]
action = "allow"
`

// shopInventory tags the shop's three tiers.
const shopInventory = `
[[hosts]]
name = "prod-web"
addresses = ["10.3.1.10"]
tags = { app = "shop", tier = "web", env = "prod" }

[[hosts]]
name = "prod-app"
addresses = ["10.3.2.10"]
tags = { app = "shop", tier = "app", env = "prod" }

[[hosts]]
name = "prod-db"
addresses = ["10.3.3.10"]
tags = { app = "shop", tier = "db", env = "prod" }
`

// TestRecommendRoundTrip is the visibility journey on real traffic:
// septad runs on the shop's three servers in observe mode; desktops use
// the web tier over HTTP, web calls app over HTTP, app uses Redis on the
// database server, an admin logs in over SSH, and one stray connection
// goes from dev to the database. septa recommend --scope group:shop reads
// the servers' EVE files and proposes a policy; applied in enforce mode
// on the three servers, it lets every legitimate flow through and denies
// the stray one.
func TestRecommendRoundTrip(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server is not installed (.ci/run installs it): %v", err)
	}
	hs := lab.DefaultHosts()
	l := newLab(t, hs[0], hs[2], hs[3], hs[4], hs[5], hs[7])
	dev, web, app, db := l.Host("dev-1"), l.Host("prod-web"), l.Host("prod-app"), l.Host("prod-db")
	desktop, admin := l.Host("vdi-finance"), l.Host("admin")

	serveHTTP(t, web, 80, &hostCounter{seen: map[string]int{}})
	serveHTTP(t, app, 8080, &hostCounter{seen: map[string]int{}})
	if _, err := db.Start("redis-server", "--port", "6379", "--bind", db.V4.String(), "--save", "", "--appendonly", "no", "--protected-mode", "no"); err != nil {
		t.Fatal(err)
	}
	waitListening(t, db, 6379)
	serveSSH(t, db, 22)
	serveSSH(t, web, 22)

	work := t.TempDir()
	invPath := filepath.Join(work, "inventory.toml")
	observeDir := filepath.Join(work, "observe")
	must(t, os.WriteFile(invPath, []byte(shopInventory), 0o644))
	must(t, os.MkdirAll(observeDir, 0o755))
	must(t, os.WriteFile(filepath.Join(observeDir, "10-observe.toml"), []byte(observePolicy), 0o644))

	servers := []*lab.Host{web, app, db}
	var sds []*septadProc
	var eves []string
	for _, h := range servers {
		// Short conntrack timeouts after a close, so that flows end
		// (and septad records them) within seconds.
		for _, s := range []string{"tcp_timeout_time_wait", "tcp_timeout_close", "tcp_timeout_close_wait",
			"tcp_timeout_fin_wait", "tcp_timeout_last_ack"} {
			if out, err := h.Run(5*time.Second, "sysctl", "-w", "net.netfilter.nf_conntrack_"+s+"=1"); err != nil {
				t.Fatalf("sysctl %s: %v: %s", s, err, out)
			}
		}
		eve := filepath.Join(work, h.Name+".eve.json")
		sd := startSeptad(t, h, observePolicy, fmt.Sprintf("[events]\njournald = false\neve = %q\n", eve))
		// septad reads it at the next reload: the proposal's groups
		// select by tags.
		must(t, os.WriteFile(filepath.Join(sd.dir, "inventory.toml"), []byte(shopInventory), 0o644))
		sds = append(sds, sd)
		eves = append(eves, eve)
	}

	legit := []struct {
		name string
		run  func() error
	}{
		{"desktop to web, HTTP", func() error { return httpGet(desktop, ap(web.V4, 80)) }},
		{"web to app, HTTP", func() error { return httpGet(web, ap(app.V4, 8080)) }},
		{"app to db, Redis", func() error { return redisPing(app, ap(db.V4, 6379)) }},
		{"admin to db, SSH", func() error { return sshHandshake(admin, ap(db.V4, 22)) }},
		{"admin to web, SSH", func() error { return sshHandshake(admin, ap(web.V4, 22)) }},
	}
	for _, f := range legit {
		if err := f.run(); err != nil {
			t.Fatalf("observe mode: %s: %v", f.name, err)
		}
	}
	if out, err := dev.Connect(ap(db.V4, 6379), 2*time.Second); out != lab.Connected {
		t.Fatalf("observe mode: the stray connection from dev: %v, %v; observe mode denies nothing", out, err)
	}

	// The servers write each decision to their EVE files as it is made,
	// and a flow record when conntrack reports the flow's end (its
	// garbage collector finds ended flows within about a minute): wait,
	// bounded, until every flow above has its record.
	want := []string{
		desktop.V4.String() + ">" + ap(web.V4, 80).String(),
		web.V4.String() + ">" + ap(app.V4, 8080).String(),
		app.V4.String() + ">" + ap(db.V4, 6379).String(),
		admin.V4.String() + ">" + ap(db.V4, 22).String(),
		admin.V4.String() + ">" + ap(web.V4, 22).String(),
		dev.V4.String() + ">" + ap(db.V4, 6379).String(),
	}
	seen := map[string]string{}
	if !pollFor(150*time.Second, func() bool {
		clear(seen)
		for _, eve := range eves {
			flowmap.ReadEVEFile(eve, func(e *events.Event) {
				what := "decision"
				if e.IsRecord() {
					what = "record"
				}
				seen[e.Src.Addr().String()+">"+e.Dst.String()] = what + ": " + flowmap.VerdictOf(e).String() + " " + e.Rule
			})
		}
		for _, w := range want {
			if !strings.HasPrefix(seen[w], "record: ") {
				return false
			}
		}
		return true
	}) {
		t.Fatalf("after 150 s the EVE files hold %v; want records of %v", seen, want)
	}
	for _, w := range want {
		t.Logf("on record: %s: %s", w, seen[w])
	}
	if got := seen[want[5]]; got != "record: would-deny zone-isolation:dev" {
		t.Errorf("the stray flow is on record as %q, want would-deny by zone-isolation:dev", got)
	}

	// The three servers' EVE files: a flow between two of them is on
	// both; septa recommend counts it once.
	var eveArgs []string
	for _, eve := range eves {
		eveArgs = append(eveArgs, "--eve", eve)
	}
	_, cli := binaries(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, cli, append([]string{"recommend", "--inventory", invPath, "--policy", observeDir, "--scope", "group:shop"}, eveArgs...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	proposal, err := cmd.Output()
	if err != nil {
		t.Fatalf("septa recommend: %v: %s", err, stderr.String())
	}
	t.Logf("septa recommend: %s\n%s", stderr.String(), proposal)
	if strings.Contains(string(proposal), `"`+dev.V4.String()) || !strings.Contains(string(proposal), "would-deny by rule zone-isolation:dev") {
		t.Errorf("the proposal must leave the stray flow out, and say so")
	}

	// The map of the database server's records, asked of its septad: the
	// stray flow is an edge from zone dev, would-deny.
	out, err := exec.CommandContext(ctx, cli, "map", "--live", "--socket", sds[2].sock, "--format", "json",
		"--inventory", invPath, "--policy", observeDir).Output()
	if err != nil {
		t.Fatalf("septa map --live: %v", err)
	}
	var m flowmap.Map
	jsonOut(t, string(out), &m)
	stray := false
	for _, e := range m.Edges {
		if e.From == "zone:dev" && e.To == "workload:app=shop,env=prod,tier=db" && e.Verdicts.WouldDeny == 1 {
			stray = true
		}
	}
	if !stray {
		t.Errorf("septa map --live of prod-db has no would-deny edge from zone:dev:\n%s", out)
	}

	// The impact preview of the proposal on the same records: the stray
	// flow, and only it, would be denied.
	propDir := filepath.Join(work, "proposal")
	must(t, os.MkdirAll(propDir, 0o755))
	must(t, os.WriteFile(filepath.Join(propDir, "10-recommended.toml"), proposal, 0o644))
	out, err = exec.CommandContext(ctx, cli, append(append([]string{"check", "--inventory", invPath, "--impact"}, eveArgs...), propDir)...).Output()
	if err != nil {
		t.Fatalf("septa check --impact: %v", err)
	}
	t.Logf("septa check --impact:\n%s", out)
	if !strings.Contains(string(out), "6 flows: 5 allowed, 1 denied, 0 undecided") ||
		!strings.Contains(string(out), dev.V4.String()) {
		t.Errorf("the impact preview must deny the stray flow alone")
	}

	// Apply the proposal in enforce mode on the three servers.
	for _, sd := range sds {
		must(t, os.WriteFile(filepath.Join(sd.dir, "policy.d", "10-test.toml"), proposal, 0o644))
		if out, err := sd.run("reload"); err != nil {
			t.Fatalf("reload %s with the proposal: %v: %s", sd.host.Name, err, out)
		}
		if st := sd.status(); st.Mode != "enforce" || st.Generation != 2 {
			t.Fatalf("%s: mode %s, generation %d after the reload; want enforce, 2", sd.host.Name, st.Mode, st.Generation)
		}
	}
	for _, f := range legit {
		if err := f.run(); err != nil {
			t.Errorf("enforce mode: %s: %v", f.name, err)
		}
	}
	if out, err := dev.Connect(ap(db.V4, 6379), 2*time.Second); out != lab.TimedOut {
		t.Errorf("enforce mode: the stray connection from dev: %v, %v; want it dropped", out, err)
	}
	// And the database server's septad says who denied it.
	dbEVE := eves[2]
	if !pollFor(10*time.Second, func() bool {
		denied := false
		flowmap.ReadEVEFile(dbEVE, func(e *events.Event) {
			if e.Src.Addr() == dev.V4 && e.Dst == ap(db.V4, 6379) && flowmap.VerdictOf(e) == flowmap.VerdictDeny {
				denied = true
			}
		})
		return denied
	}) {
		t.Errorf("prod-db's EVE file has no deny of the stray flow")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// httpGet makes one GET from h and wants a 200.
func httpGet(h *lab.Host, dst netip.AddrPort) error {
	resp, err := httpClient(h, 3*time.Second).Get("http://" + dst.String() + "/")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %s", resp.Status)
	}
	return nil
}

// redisPing runs Debian's redis-cli PING from h.
func redisPing(h *lab.Host, dst netip.AddrPort) error {
	out, err := h.Run(5*time.Second, "timeout", "3", "redis-cli", "-h", dst.Addr().String(), "-p", fmt.Sprint(dst.Port()), "PING")
	if err != nil {
		return err
	}
	if strings.TrimSpace(out) != "PONG" {
		return fmt.Errorf("redis-cli PING: %q", out)
	}
	return nil
}

// sshHandshake logs in over SSH from h (lab.ServeSSH takes any
// password).
func sshHandshake(h *lab.Host, dst netip.AddrPort) error {
	c, err := h.DialTCP(dst, 3*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	cfg := &ssh.ClientConfig{User: "admin", Auth: []ssh.AuthMethod{ssh.Password("x")},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 3 * time.Second}
	conn, _, _, err := ssh.NewClientConn(c, dst.String(), cfg)
	if err != nil {
		return err
	}
	// The handshake and login are what count; the server may close
	// first.
	conn.Close()
	return nil
}
