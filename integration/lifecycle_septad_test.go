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

	"github.com/septa-fw/septa/integration/lab"
)

// lifecyclePolicy allows a kernel-only stream port and an inspected HTTP
// port. FAILMODE and PORT are replaced per test.
const lifecyclePolicy = `
[settings]
default = "deny"
fail_mode = "FAILMODE"

[[rules]]
name = "stream"
direction = "in"
from = "any"
to = "self"
ports = ["tcp/9000"]
action = "allow"

[[rules]]
name = "other"
direction = "in"
from = "any"
to = "self"
ports = ["tcp/PORT"]
action = "allow"

[[rules]]
name = "shop-http"
direction = "in"
from = "any"
to = "self"
ports = ["tcp/8080"]
http_host = ["shop.example"]
action = "allow"
`

func lifecycle(failMode string, port int) string {
	return strings.NewReplacer("FAILMODE", failMode, "PORT", fmt.Sprint(port)).Replace(lifecyclePolicy)
}

func shopGet(h *lab.Host, web *lab.Host) error {
	req, _ := http.NewRequest("GET", fmt.Sprintf("http://%s:8080/", web.V4), nil)
	req.Host = "shop.example"
	resp, err := httpClient(h, 3*time.Second).Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %s", resp.Status)
	}
	return nil
}

// TestSeptadReloadUnderTraffic: an established stream keeps flowing,
// without a lost byte, across 50 reloads (SIGHUP, file watch and API
// alike end in the same apply; the API is driven here).
func TestSeptadReloadUnderTraffic(t *testing.T) {
	l := newLab(t, lab.DefaultHosts()[0], lab.DefaultHosts()[2])
	client, web := l.Host("dev-1"), l.Host("prod-web")
	sd := startSeptad(t, web, lifecycle("closed", 7000), "watch_policy = false")
	s, err := lab.StartStream(client, web, ap(web.V4, 9000), 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	policyFile := filepath.Join(sd.dir, "policy.d", "10-test.toml")
	for i := range 50 {
		if err := os.WriteFile(policyFile, []byte(lifecycle("closed", 7001+i)), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := sd.run("reload"); err != nil {
			t.Fatalf("reload %d: %v: %s", i, err, out)
		}
		if !s.WaitProgress(s.Received.Load(), 5*time.Second) {
			t.Fatalf("the stream stalled after reload %d", i)
		}
	}
	if st := sd.status(); st.Generation != 51 {
		t.Errorf("generation %d after 50 reloads, want 51", st.Generation)
	}
	if err := s.Stop(); err != nil || s.Corrupt.Load() {
		t.Errorf("stream: %v, corrupt %v", err, s.Corrupt.Load())
	}
	t.Logf("%d bytes verified across 50 reloads", s.Received.Load())
}

// TestSeptadInvalidReload: a policy with a typo is refused; septa reload
// exits 1 with the error's file:line:col, septa status shows it, and the
// running policy stays in force.
func TestSeptadInvalidReload(t *testing.T) {
	l := newLab(t, lab.DefaultHosts()[0], lab.DefaultHosts()[2])
	client, web := l.Host("dev-1"), l.Host("prod-web")
	serveHTTP(t, web, 8080, &hostCounter{seen: map[string]int{}})
	sd := startSeptad(t, web, lifecycle("closed", 7000), "watch_policy = false")
	bad := strings.Replace(lifecycle("closed", 7000), `action = "allow"`, `action = "alow"`, 1)
	policyFile := filepath.Join(sd.dir, "policy.d", "10-test.toml")
	if err := os.WriteFile(policyFile, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := sd.run("reload")
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("septa reload of an invalid policy: %v (want exit 1): %s", err, out)
	}
	want := policyFile + `:12:10: rule "stream": action: "alow" is not one of "allow", "deny" or "reject"`
	if !strings.Contains(out, want) {
		t.Errorf("reload output lacks %q:\n%s", want, out)
	}
	st := sd.status()
	if st.LastReload.OK || !strings.Contains(st.LastReload.Error, want) || st.Generation != 1 {
		t.Errorf("status: generation %d, last reload %+v", st.Generation, st.LastReload)
	}
	if err := shopGet(client, web); err != nil {
		t.Errorf("the running policy must stay in force: %v", err)
	}
}

// TestSeptadKill: septad killed with SIGKILL. Decided flows keep flowing;
// new flows that need inspection follow fail_mode; a restarted septad
// reconciles the table and carries on.
func TestSeptadKill(t *testing.T) {
	for _, mode := range []string{"closed", "open"} {
		t.Run(mode, func(t *testing.T) {
			l := newLab(t, lab.DefaultHosts()[0], lab.DefaultHosts()[2])
			client, web := l.Host("dev-1"), l.Host("prod-web")
			serveHTTP(t, web, 8080, &hostCounter{seen: map[string]int{}})
			sd := startSeptad(t, web, lifecycle(mode, 7000), "")
			if err := shopGet(client, web); err != nil {
				t.Fatalf("before the kill: %v", err)
			}
			s, err := lab.StartStream(client, web, ap(web.V4, 9000), 3*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Stop()
			sd.kill()
			if !s.WaitProgress(s.Received.Load(), 5*time.Second) {
				t.Errorf("a decided flow stopped when septad died")
			}
			err = shopGet(client, web)
			switch {
			case mode == "closed" && err == nil:
				t.Errorf("fail_mode closed: a new inspected flow passed while septad was dead")
			case mode == "open" && err != nil:
				t.Errorf("fail_mode open: a new inspected flow failed while septad was dead: %v", err)
			}
			bin, _ := binaries(t)
			sd.start(bin)
			if st := sd.status(); st.Generation != 2 || !st.LastReload.OK {
				t.Errorf("after restart: generation %d, last reload %+v; want 2, ok", st.Generation, st.LastReload)
			}
			if err := shopGet(client, web); err != nil {
				t.Errorf("after restart: %v", err)
			}
			if !s.WaitProgress(s.Received.Load(), 5*time.Second) {
				t.Errorf("the stream stopped across the restart")
			}
			if err := s.Stop(); err != nil || s.Corrupt.Load() {
				t.Errorf("stream: %v, corrupt %v", err, s.Corrupt.Load())
			}
		})
	}
}

// TestSeptadSocketPermissions: the control socket admits root and the
// configured group's members, and refuses anyone else.
func TestSeptadSocketPermissions(t *testing.T) {
	l := newLab(t, lab.DefaultHosts()[2])
	web := l.Host("prod-web")
	testAccounts(t, map[string]string{"septa-op": "septa-op-g", "septa-other": "septa-other-g"})
	exec.Command("groupdel", controlGroup).Run()
	if out, err := exec.Command("groupadd", "--system", controlGroup).CombinedOutput(); err != nil {
		t.Fatalf("groupadd: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("groupdel", controlGroup).Run() })
	if out, err := exec.Command("usermod", "-a", "-G", controlGroup, "septa-op").CombinedOutput(); err != nil {
		t.Fatalf("usermod: %v: %s", err, out)
	}
	sd := startSeptad(t, web, lifecycle("closed", 7000), "")
	// Let other users reach the socket's directory, so that only the
	// socket's own mode decides.
	for d := sd.dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	fi, err := os.Stat(sd.sock)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o660 {
		t.Errorf("socket mode %o, want 660", mode)
	}
	_, cli := binaries(t)
	as := func(user string) (string, error) {
		out, err := exec.Command("setpriv", "--reuid", user, "--regid", user+"-g", "--init-groups",
			cli, "status", "--socket", sd.sock).CombinedOutput()
		return string(out), err
	}
	if out, err := as("septa-op"); err != nil || !strings.Contains(out, "generation 1") {
		t.Errorf("a member of the control group: %v: %s", err, out)
	}
	if out, err := as("septa-other"); err == nil || !strings.Contains(out, "permission denied") {
		t.Errorf("a user outside the group must be refused: %v: %s", err, out)
	}
}
