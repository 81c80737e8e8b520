// Package etcdtest starts a real etcd server (Debian's etcd-server
// package) for septa's fleet tests: one member, a temporary data
// directory, given or free loopback ports. It imports testing and is
// used by tests only.
package etcdtest

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Server is one running etcd.
type Server struct {
	// ClientURL is where clients connect ("http://127.0.0.1:PORT").
	ClientURL string
	tb        testing.TB
	args      []string
	wrap      func(args []string) *exec.Cmd
	health    func(string) bool
	dir       string

	mu     sync.Mutex // guards cmd, log and waited
	cmd    *exec.Cmd
	log    *bytes.Buffer
	waited chan struct{}
}

// Options place the server; the zero value listens on free loopback
// ports of the test's own namespace.
type Options struct {
	// Addr is the address to listen on (default 127.0.0.1).
	Addr string
	// Listen lists extra client URLs besides ClientURL.
	Listen []string
	// Command wraps the etcd command line, e.g. in `ip netns exec`; nil
	// runs it directly.
	Command func(args []string) *exec.Cmd
	// Health reports whether etcd answers at a client URL (default: an
	// HTTP GET of /health from the test's namespace).
	Health func(clientURL string) bool
	// TLS, when set, serves clients over https and requires a client
	// certificate signed by TLS.CA.
	TLS *TLSFiles
	// ClientPort and PeerPort are fixed ports (default: free ones).
	ClientPort, PeerPort int
}

// TLSFiles are PEM files of the server's certificate, its key, and the CA
// that client certificates must chain to.
type TLSFiles struct {
	CA, Cert, Key string
}

// Start starts etcd and waits until it answers; it is stopped at the
// test's end. It skips the test when etcd is not installed, and fails it
// under SEPTA_INTEGRATION=1, where CI has installed it.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	bin, err := exec.LookPath("etcd")
	if err != nil {
		if os.Getenv("SEPTA_INTEGRATION") == "1" {
			// CI installs it (.ci/run): missing there is a failure.
			tb.Fatalf("etcd is not installed (apt-get install etcd-server): %v", err)
		}
		tb.Skip("etcd is not installed (apt-get install etcd-server)")
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1"
	}
	if opts.ClientPort == 0 {
		opts.ClientPort = freePort(tb)
	}
	if opts.PeerPort == 0 {
		opts.PeerPort = freePort(tb)
	}
	dir := tb.TempDir()
	scheme := "http"
	if opts.TLS != nil {
		scheme = "https"
	}
	client := fmt.Sprintf("%s://%s:%d", scheme, opts.Addr, opts.ClientPort)
	peer := fmt.Sprintf("http://%s:%d", opts.Addr, opts.PeerPort)
	listen := client
	for _, l := range opts.Listen {
		listen += "," + l
	}
	args := []string{bin,
		"--name", "septa-test", "--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", listen, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "septa-test=" + peer, "--initial-cluster-state", "new",
		"--log-level", "warn", "--logger", "zap",
	}
	if opts.TLS != nil {
		args = append(args, "--cert-file", opts.TLS.Cert, "--key-file", opts.TLS.Key,
			"--client-cert-auth", "--trusted-ca-file", opts.TLS.CA)
	}
	if opts.Command == nil {
		opts.Command = func(args []string) *exec.Cmd { return exec.Command(args[0], args[1:]...) }
	}
	s := &Server{ClientURL: client, tb: tb, args: args, wrap: opts.Command, health: opts.Health, dir: dir}
	s.Restart()
	tb.Cleanup(func() {
		s.Stop()
		if tb.Failed() {
			s.mu.Lock()
			tb.Logf("etcd log:\n%s", s.log.String())
			s.mu.Unlock()
		}
	})
	return s
}

// Restart starts the server again (after Stop) on the same data.
func (s *Server) Restart() {
	s.tb.Helper()
	cmd := s.wrap(s.args)
	log := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		s.tb.Fatalf("etcd: %v", err)
	}
	waited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(waited)
	}()
	s.mu.Lock()
	s.cmd, s.log, s.waited = cmd, log, waited
	s.mu.Unlock()
	s.wait()
}

// wait polls the health endpoint for at most 20 s.
func (s *Server) wait() {
	s.tb.Helper()
	c := &http.Client{Timeout: time.Second}
	for range 200 {
		if s.healthy(c) {
			return
		}
		select {
		case <-s.waited:
			s.tb.Fatalf("etcd exited at start:\n%s", s.log.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	s.tb.Fatalf("etcd did not become healthy within 20 s:\n%s", s.log.String())
}

func (s *Server) healthy(c *http.Client) bool {
	if s.health != nil {
		return s.health(s.ClientURL)
	}
	resp, err := c.Get(s.ClientURL + "/health")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Stop stops the server (SIGTERM, then SIGKILL after 10 s).
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, waited := s.cmd, s.waited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-waited:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-waited
	}
}

func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
