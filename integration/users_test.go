//go:build linux

package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/septa-fw/septa/integration/lab"
)

// testAccounts creates system groups and users for a test and removes
// them afterwards. Each user gets one group.
func testAccounts(t *testing.T, userGroup map[string]string) {
	t.Helper()
	for user, group := range userGroup {
		exec.Command("userdel", user).Run()
		exec.Command("groupdel", group).Run()
		if out, err := exec.Command("groupadd", "--system", group).CombinedOutput(); err != nil {
			t.Fatalf("groupadd %s: %v: %s", group, err, out)
		}
		if out, err := exec.Command("useradd", "--system", "--no-create-home", "--gid", group, user).CombinedOutput(); err != nil {
			t.Fatalf("useradd %s: %v: %s", user, err, out)
		}
		t.Cleanup(func() {
			exec.Command("userdel", user).Run()
			exec.Command("groupdel", group).Run()
		})
	}
}

// curlAs fetches a URL with curl (a real client) from inside h, running
// as user; it reports whether the body came back.
func curlAs(t *testing.T, h *lab.Host, user, url string) (string, bool) {
	t.Helper()
	out, err := h.Run(10*time.Second, "setpriv", "--reuid", user, "--regid", user+"-g", "--init-groups",
		"curl", "-s", "-m", "3", url)
	return out, err == nil
}

// TestLocalUserRule: on a desktop host, a process of a user in group
// finance reaches the finance application; a process of a user in group
// hr does not. The user is the local socket's owner, which the queue
// reports; the groups come from the user database.
func TestLocalUserRule(t *testing.T) {
	l := newLab(t, lab.DefaultHosts()[2], lab.DefaultHosts()[5]) // prod-web, vdi-finance
	web, desk := l.Host("prod-web"), l.Host("vdi-finance")
	testAccounts(t, map[string]string{"septa-alice": "septa-alice-g", "septa-bob": "septa-bob-g"})
	// Alice is in the finance group too.
	exec.Command("groupdel", "septa-fin").Run()
	if out, err := exec.Command("groupadd", "--system", "septa-fin").CombinedOutput(); err != nil {
		t.Fatalf("groupadd: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("groupdel", "septa-fin").Run() })
	if out, err := exec.Command("usermod", "-a", "-G", "septa-fin", "septa-alice").CombinedOutput(); err != nil {
		t.Fatalf("usermod: %v: %s", err, out)
	}
	counter := &hostCounter{seen: map[string]int{}}
	serveHTTP(t, web, 8080, counter)
	policy := fmt.Sprintf(`
[settings]
default = "deny"
[identities.finance]
groups = ["septa-fin"]
[[rules]]
name = "finance-app"
direction = "out"
from = "self"
to = "%s"
ports = ["tcp/8080"]
users = ["finance"]
action = "allow"
`, web.V4)
	sd := startSeptad(t, desk, policy, "")
	url := fmt.Sprintf("http://%s:8080/ledger", web.V4)
	if out, ok := curlAs(t, desk, "septa-alice", url); !ok || !strings.Contains(out, "hello") {
		t.Errorf("alice (finance): %q, ok %v; want the page", out, ok)
	}
	if out, ok := curlAs(t, desk, "septa-bob", url); ok {
		t.Errorf("bob (hr) reached the finance application: %q", out)
	}
	if n := sd.verdicts("user"); n == 0 {
		t.Errorf("no verdict counted for reason user")
	}
}

// TestRemoteUserRule: the finance application's host knows who sits at
// each desktop from the identity feed (a JSON-lines file that an
// authentication system appends to) and the control API. Alice's desktop
// reaches it, decided in the kernel through the identity set; Bob's does
// not.
func TestRemoteUserRule(t *testing.T) {
	l := newLab(t, lab.DefaultHosts()[2], lab.DefaultHosts()[5], lab.DefaultHosts()[6]) // prod-web, vdi-finance, vdi-hr
	web, fin, hr := l.Host("prod-web"), l.Host("vdi-finance"), l.Host("vdi-hr")
	counter := &hostCounter{seen: map[string]int{}}
	serveHTTP(t, web, 8080, counter)
	feed := filepath.Join(t.TempDir(), "logins.jsonl")
	if err := os.WriteFile(feed, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	policy := `
[settings]
default = "deny"
[identities.finance]
groups = ["finance"]
[[rules]]
name = "finance-app"
direction = "in"
from = "any"
to = "self"
ports = ["tcp/8080"]
users = ["finance"]
action = "allow"
`
	sd := startSeptad(t, web, policy, fmt.Sprintf("[identity]\nfeed = %q\n", feed))
	line := fmt.Sprintf(`{"event":"login","addr":"%s","user":"alice","groups":["finance","staff"]}`+"\n", fin.V4)
	f, err := os.OpenFile(feed, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(line)
	f.Close()
	if out, err := sd.run("identity", "add", hr.V4.String(), "bob", "--groups", "hr"); err != nil {
		t.Fatalf("septa identity add: %v: %s", err, out)
	}
	// Wait (bounded) until both mappings are in force.
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, _ := sd.run("identity", "--json")
		if strings.Contains(out, "alice") && strings.Contains(out, "bob") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("mappings not in force: %s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	waitSet(t, web, "identity_group_finance_v4", fin.V4.String(), true)
	get := func(h *lab.Host) error {
		resp, err := httpClient(h, 3*time.Second).Get(fmt.Sprintf("http://%s:8080/ledger", web.V4))
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	before := sd.queued()
	if err := get(fin); err != nil {
		t.Errorf("alice's desktop (finance): %v", err)
	}
	if q := sd.queued(); q != before {
		t.Errorf("alice's flow was queued (%d packets): a single-user address must be decided in the kernel", q-before)
	}
	if err := get(hr); err == nil {
		t.Errorf("bob's desktop (hr) reached the finance application")
	}
	if n := sd.verdicts("user"); n == 0 {
		t.Errorf("bob's flow was not denied for its user")
	}
	// Logout: alice loses access.
	f, _ = os.OpenFile(feed, os.O_APPEND|os.O_WRONLY, 0)
	fmt.Fprintf(f, `{"event":"logout","addr":"%s","user":"alice"}`+"\n", fin.V4)
	f.Close()
	deadline = time.Now().Add(5 * time.Second)
	for {
		out, _ := sd.run("identity", "--json")
		if !strings.Contains(out, "alice") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("logout not applied: %s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	waitSet(t, web, "identity_group_finance_v4", fin.V4.String(), false)
	if err := get(fin); err == nil {
		t.Errorf("alice's desktop still reaches the application after her logout")
	}
}

// waitSet waits (bounded) until the kernel set of septa's table in h holds
// addr, or no longer holds it.
func waitSet(t *testing.T, h *lab.Host, set, addr string, present bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, err := h.Run(5*time.Second, "nft", "-j", "list", "set", "inet", "septa", set)
		if err == nil && strings.Contains(out, `"`+addr+`"`) == present {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("set %s: %s present=%v not reached: %s %v", set, addr, present, out, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestProcessRule: an outbound rule for one program: curl reaches the
// server, another program (this test's own Go client) does not. The
// process is found through an exact sock_diag lookup and /proc.
func TestProcessRule(t *testing.T) {
	l := newLab(t, lab.DefaultHosts()[2], lab.DefaultHosts()[0]) // prod-web, dev-1
	web, dev := l.Host("prod-web"), l.Host("dev-1")
	serveHTTP(t, web, 8080, &hostCounter{seen: map[string]int{}})
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Fatalf("curl is not installed (.ci/run installs it): %v", err)
	}
	curl, _ = filepath.EvalSymlinks(curl)
	policy := fmt.Sprintf(`
[settings]
default = "deny"
[[rules]]
name = "curl-only"
direction = "out"
from = "self"
to = "%s"
ports = ["tcp/8080"]
process = [%q]
action = "allow"
`, web.V4, curl)
	sd := startSeptad(t, dev, policy, "")
	url := fmt.Sprintf("http://%s:8080/", web.V4)
	if out, err := dev.Run(10*time.Second, "curl", "-s", "-m", "3", url); err != nil || !strings.Contains(out, "hello") {
		t.Errorf("curl: %q, %v; want the page", out, err)
	}
	if _, err := httpClient(dev, 3*time.Second).Get(url); err == nil {
		t.Errorf("another program reached the server")
	}
	if n := sd.verdicts("process"); n == 0 {
		t.Errorf("no verdict counted for reason process")
	}
	out, err := sd.run("flows", "--json")
	if err != nil {
		t.Fatalf("septa flows: %v: %s", err, out)
	}
	var flows []struct{ Process, Cmdline, Rule string }
	jsonOut(t, out, &flows)
	found := false
	for _, f := range flows {
		if f.Rule == "curl-only" && f.Process == curl && strings.Contains(f.Cmdline, "curl -s -m 3 "+url) {
			found = true
		}
	}
	if !found {
		t.Errorf("septa flows lacks curl's flow with its path and command line: %s", out)
	}
}
