package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/septa-fw/septa/daemon/fleet/etcdtest"
)

const fleetPolicy = `[settings]
default = "deny"

[[rules]]
name = "ssh"
from = "10.9.0.0/24"
to = "self"
ports = ["tcp/22"]
action = "allow"
`

func policyDir(t *testing.T, content string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "policy.d")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "10-base.toml"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestFleetCommands drives push, diff, rollback and status against a
// real etcd.
func TestFleetCommands(t *testing.T) {
	srv := etcdtest.Start(t, etcdtest.Options{})
	septa := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(append([]string{"fleet"}, append(args, "--endpoints", srv.ClientURL)...), &out, &errb)
		return code, out.String(), errb.String()
	}
	good := policyDir(t, fleetPolicy)
	if code, out, errs := septa("push", good); code != 0 || !strings.HasPrefix(out, "revision 1 published (1 files, digest ") {
		t.Fatalf("push: %d %q %q", code, out, errs)
	}

	bad := policyDir(t, strings.Replace(fleetPolicy, "tcp/22", "tcp/99999", 1))
	code, out, errs := septa("push", bad)
	wantErr := filepath.Join(bad, "10-base.toml") + ":8:10: rule \"ssh\": ports: "
	if code != 1 || out != "" || !strings.Contains(errs, wantErr) || !strings.Contains(errs, "nothing pushed") {
		t.Errorf("push of an invalid policy: %d %q %q; want exit 1 and %q", code, out, errs, wantErr)
	}

	changed := policyDir(t, strings.Replace(fleetPolicy, "tcp/22", "tcp/2222", 1))
	if code, out, _ := septa("diff", changed); code != 1 || !strings.Contains(out, "- ") || !strings.Contains(out, "+ ") || !strings.Contains(out, "2222") {
		t.Errorf("diff against a changed dir: %d %q", code, out)
	}
	if code, out, _ := septa("diff", good); code != 0 || out != "no difference\n" {
		t.Errorf("diff against the same dir: %d %q", code, out)
	}
	if code, _, errs := septa("push", changed); code != 0 {
		t.Fatalf("second push: %s", errs)
	}
	if code, out, _ := septa("diff", "1", "2"); code != 1 || !strings.Contains(out, "2222") {
		t.Errorf("diff 1 2: %d %q", code, out)
	}
	if code, out, errs := septa("rollback", "1"); code != 0 || out == "" || !strings.HasPrefix(out, "revision 3 published: the files of revision 1") {
		t.Errorf("rollback: %d %q %q", code, out, errs)
	}
	if code, out, _ := septa("diff", "1"); code != 0 || out != "no difference\n" {
		t.Errorf("current (3) against 1 after the rollback: %d %q", code, out)
	}
	if code, _, errs := septa("rollback", "9"); code != 1 || !strings.Contains(errs, "revision 9: no such revision") {
		t.Errorf("rollback to an unknown revision: %d %q", code, errs)
	}
	if code, out, _ := septa("status"); code != 0 || !strings.HasPrefix(out, "current revision: 3\n") {
		t.Errorf("status of a fleet without hosts: %d %q", code, out)
	}
}

func TestFleetNoEndpoints(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "septad.toml")
	if err := os.WriteFile(cfg, []byte(""), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SEPTA_ETCD_ENDPOINTS", "")
	var out, errb bytes.Buffer
	code := run([]string{"fleet", "status", "--config", cfg}, &out, &errb)
	if code != 2 || !strings.Contains(errb.String(), "no etcd endpoints: give --endpoints or set [fleet] endpoints in "+cfg) {
		t.Errorf("%d %q", code, errb.String())
	}
}
