//go:build linux

package benchkit

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/septa-fw/septa/daemon"
	"github.com/septa-fw/septa/integration/lab"
)

// Septad is one septad running inside a lab host.
type Septad struct {
	Client *daemon.Client
	cmd    *exec.Cmd
	dir    string
	waited chan struct{}

	mu  sync.Mutex // guards log
	log bytes.Buffer
}

// Write collects septad's output.
func (s *Septad) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.Write(p)
}

// Log is what septad printed so far.
func (s *Septad) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// StartSeptad starts the septad binary bin in h with a policy (one TOML
// file) and extra configuration lines, in a new directory under dir, and
// waits up to timeout until its control API answers.
func StartSeptad(h *lab.Host, bin, dir, policy, config string, timeout time.Duration) (*Septad, error) {
	dir, err := os.MkdirTemp(dir, "septad-")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "policy.d"), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "policy.d", "10-bench.toml"), []byte(policy), 0o644); err != nil {
		return nil, err
	}
	sock := filepath.Join(dir, "septad.sock")
	cfg := fmt.Sprintf("policy_dir = %q\ninventory = %q\nstate_dir = %q\nwatch_policy = false\n%s\n[control]\nsocket = %q\n[events]\njournald = false\n",
		filepath.Join(dir, "policy.d"), filepath.Join(dir, "inventory.toml"), filepath.Join(dir, "state"), config, sock)
	if err := os.WriteFile(filepath.Join(dir, "septad.toml"), []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	s := &Septad{Client: daemon.NewClient(sock), dir: dir, waited: make(chan struct{})}
	// ip netns exec execs septad: the child's pid is septad's.
	args := []string{"netns", "exec", h.NS, bin, "-config", filepath.Join(dir, "septad.toml")}
	if pd := os.Getenv("SEPTA_BENCH_PROFILE_DIR"); pd != "" {
		// Performance work: a CPU profile of each septad run.
		args = append(args, "-cpuprofile", filepath.Join(pd, filepath.Base(dir)+".prof"))
	}
	s.cmd = exec.Command("ip", args...)
	s.cmd.Stdout, s.cmd.Stderr = s, s
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		s.cmd.Wait()
		close(s.waited)
	}()
	deadline := time.Now().Add(timeout)
	for {
		if _, err := s.Client.Status(); err == nil {
			return s, nil
		}
		select {
		case <-s.waited:
			return nil, fmt.Errorf("septad exited at start: %s", s.Log())
		default:
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("septad did not answer within %s: %s", timeout, s.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// PID is septad's process id.
func (s *Septad) PID() int { return s.cmd.Process.Pid }

// Queued sums the packets and flows septad's queues delivered so far.
func (s *Septad) Queued() (packets, flows uint64, err error) {
	st, err := s.Client.Status()
	if err != nil {
		return 0, 0, err
	}
	for _, q := range st.Queues {
		packets += q.Packets
		flows += q.Flows
	}
	return packets, flows, nil
}

// Stop stops septad with SIGTERM (10 s at most, then SIGKILL) and removes
// its directory. It is safe to call twice.
func (s *Septad) Stop() error {
	var err error
	select {
	case <-s.waited:
	default:
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.waited:
		case <-time.After(10 * time.Second):
			s.cmd.Process.Kill()
			<-s.waited
			err = errors.New("septad did not stop on SIGTERM within 10 s")
		}
	}
	return errors.Join(err, os.RemoveAll(s.dir))
}
