// Package journaltest gives tests a running systemd-journald: where none
// listens (the machines here do not run systemd as PID 1), it starts one
// as KERNEL.md describes and stops it when the test ends.
//
// It is test infrastructure; it does not import testing.
package journaltest

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// The journal's socket and daemon on Debian.
const (
	Socket        = "/run/systemd/journal/socket"
	journalSocket = Socket
	journaldPath  = "/lib/systemd/systemd-journald"
)

// TB is the part of testing.TB the helper uses.
type TB interface {
	Helper()
	Cleanup(func())
	Skipf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// poll calls cond every interval until it returns true or timeout
// passes, and reports whether it did.
func poll(timeout, interval time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return cond()
		}
		<-tick.C
	}
}

// journaldUp reports whether a journald listens on its socket: the file
// alone may be left over from one that exited.
func Up() bool {
	c, err := net.Dial("unixgram", journalSocket)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// ensureJournald starts systemd-journald when none listens (KERNEL.md,
// "journald"), and when the test ends stops it by its PID and removes the
// sockets it left in its runtime directory, so that the next test finds
// the socket missing again rather than dead.
func Ensure(t TB) {
	t.Helper()
	if Up() {
		return
	}
	if _, err := os.Stat(journaldPath); err != nil {
		t.Skipf("no journald listening on %s and no %s: %v", journalSocket, journaldPath, err)
	}
	runDir := filepath.Dir(journalSocket)
	before := map[string]bool{}
	entries, err := os.ReadDir(runDir)
	dirExisted := err == nil
	for _, e := range entries {
		before[e.Name()] = true
	}

	cmd := exec.Command(journaldPath)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start journald: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		entries, _ := os.ReadDir(runDir)
		for _, e := range entries {
			if !before[e.Name()] {
				os.Remove(filepath.Join(runDir, e.Name()))
			}
		}
		if !dirExisted {
			os.Remove(runDir) // only if empty
		}
	})
	if !poll(5*time.Second, 20*time.Millisecond, Up) {
		t.Fatalf("journald (pid %d) did not listen on %s within 5s; its output:\n%s", cmd.Process.Pid, journalSocket, stderr.String())
	}
}
