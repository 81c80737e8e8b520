//go:build linux

package integration

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/septa-fw/septa/daemon"
	"github.com/septa-fw/septa/integration/lab"
)

// TestEVEDiskFull (issue 11): the disk under the EVE file fills up. septad
// keeps enforcing, `septa status` shows the EVE sink failing and why, and
// once space returns the sink writes again.
func TestEVEDiskFull(t *testing.T) {
	l := newLab(t, lab.DefaultHosts()[0], lab.DefaultHosts()[2])
	client, web := l.Host("dev-1"), l.Host("prod-web")
	serveHTTP(t, web, 8080, &hostCounter{seen: map[string]int{}})
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256k", "septa-test-eve", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	eve := filepath.Join(dir, "eve.json")
	sd := startSeptad(t, web, lifecycle("closed", 7000), fmt.Sprintf("[events]\njournald = false\neve = %q\n", eve))

	lines := func() int {
		b, _ := os.ReadFile(eve)
		return bytes.Count(b, []byte("\n"))
	}
	sink := func() daemon.SinkStatus {
		for _, k := range sd.status().Sinks {
			if k.Name == "eve" {
				return k
			}
		}
		t.Fatalf("no eve sink in septa status")
		return daemon.SinkStatus{}
	}
	requests := func(n int) {
		t.Helper()
		for i := range n {
			if err := shopGet(client, web); err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
		}
	}
	requests(3)
	if !pollFor(5*time.Second, func() bool { return lines() >= 3 }) {
		t.Fatalf("%d EVE lines before the disk filled, want 3", lines())
	}

	// Fill the file system.
	fill := filepath.Join(dir, "fill")
	f, err := os.Create(fill)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 4096)
	for range 1024 {
		if _, err = f.Write(chunk); err != nil {
			break
		}
	}
	f.Close()
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("filling the disk: %v, want ENOSPC", err)
	}
	before := lines()
	// Enforcing goes on; the events fill what is left of the file's last
	// page, then fail.
	if !pollFor(10*time.Second, func() bool { requests(1); return sink().Failing }) {
		t.Fatalf("septa status does not show the EVE sink failing: %+v", sink())
	}
	k := sink()
	if k.Errors == 0 || !strings.Contains(k.LastError, "no space") {
		t.Errorf("eve sink %+v: want errors counted and the reason", k)
	}
	out, err := sd.run("status")
	if err != nil || !strings.Contains(out, "events eve") || !strings.Contains(out, "FAILING") {
		t.Errorf("septa status: %v\n%s", err, out)
	}

	// Space returns: the sink writes again.
	if err := os.Remove(fill); err != nil {
		t.Fatal(err)
	}
	if !pollFor(10*time.Second, func() bool {
		requests(1)
		return lines() > before && !sink().Failing
	}) {
		t.Errorf("the EVE sink did not recover: %d lines (had %d), %+v", lines(), before, sink())
	}
}
