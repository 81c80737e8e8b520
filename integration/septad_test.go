//go:build linux

package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/septa-fw/septa/daemon"
	"github.com/septa-fw/septa/integration/lab"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binaries builds septad and septa once per test process.
func binaries(tb testing.TB) (septad, septa string) {
	tb.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "septa-bin-")
		if buildErr != nil {
			return
		}
		for _, c := range []string{"septad", "septa"} {
			out, err := exec.Command("go", "build", "-o", filepath.Join(binDir, c), "../cmd/"+c).CombinedOutput()
			if err != nil {
				buildErr = fmt.Errorf("build %s: %v: %s", c, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return filepath.Join(binDir, "septad"), filepath.Join(binDir, "septa")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// septad is one daemon running inside a lab host.
type septadProc struct {
	tb     testing.TB
	host   *lab.Host
	dir    string
	sock   string
	cmd    *exec.Cmd
	log    *bytes.Buffer
	septa  string
	client *daemon.Client
	waited chan struct{}
}

// controlGroup is the control socket's group in tests: it exists only in
// the test that creates it, so elsewhere the socket is root's alone.
const controlGroup = "septa-test-ctl"

// startSeptad starts septad in h with a policy (one TOML file) and extra
// configuration lines, and waits until its control API answers.
func startSeptad(tb testing.TB, h *lab.Host, policy string, config string) *septadProc {
	tb.Helper()
	bin, cli := binaries(tb)
	dir := tb.TempDir()
	must := func(err error) {
		if err != nil {
			tb.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "policy.d"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "policy.d", "10-test.toml"), []byte(policy), 0o644))
	sock := filepath.Join(dir, "septad.sock")
	cfg := fmt.Sprintf("policy_dir = %q\ninventory = %q\nstate_dir = %q\n%s\n[control]\nsocket = %q\ngroup = %q\n",
		filepath.Join(dir, "policy.d"), filepath.Join(dir, "inventory.toml"), filepath.Join(dir, "state"), config, sock, controlGroup)
	if !strings.Contains(config, "[events]") {
		cfg += "[events]\njournald = false\n"
	}
	must(os.WriteFile(filepath.Join(dir, "septad.toml"), []byte(cfg), 0o644))
	s := &septadProc{tb: tb, host: h, dir: dir, sock: sock, log: &bytes.Buffer{}, septa: cli,
		client: daemon.NewClient(sock), waited: make(chan struct{})}
	s.start(bin)
	tb.Cleanup(func() {
		s.stop()
		if tb.Failed() {
			tb.Logf("septad log of %s:\n%s", h.Name, s.log.String())
		}
	})
	return s
}

func (s *septadProc) start(bin string) {
	s.tb.Helper()
	args := []string{"netns", "exec", s.host.NS, bin, "-config", filepath.Join(s.dir, "septad.toml")}
	if p := os.Getenv("SEPTA_CPUPROFILE"); p != "" {
		args = append(args, "-cpuprofile", p)
	}
	s.cmd = exec.Command("ip", args...)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		s.tb.Fatal(err)
	}
	s.waited = make(chan struct{})
	go func() {
		s.cmd.Wait()
		close(s.waited)
	}()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := s.client.Status(); err == nil {
			return
		}
		select {
		case <-s.waited:
			s.tb.Fatalf("septad exited at start:\n%s", s.log.String())
		default:
		}
		if time.Now().After(deadline) {
			s.tb.Fatalf("septad did not answer within 15 s:\n%s", s.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop stops septad with SIGTERM (bounded), then SIGKILL.
func (s *septadProc) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.waited:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.waited
	}
}

// kill kills septad with SIGKILL, as a crash would.
func (s *septadProc) kill() {
	s.cmd.Process.Kill()
	<-s.waited
}

// run runs the septa CLI against this daemon.
func (s *septadProc) run(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, s.septa, append(args, "--socket", s.sock)...).CombinedOutput()
	return string(out), err
}

func (s *septadProc) status() daemon.Status {
	s.tb.Helper()
	st, err := s.client.Status()
	if err != nil {
		s.tb.Fatalf("status: %v", err)
	}
	return st
}

// queued is how many packets septad's queues delivered so far.
func (s *septadProc) queued() uint64 {
	var n uint64
	for _, q := range s.status().Queues {
		n += q.Packets
	}
	return n
}

func (s *septadProc) verdicts(reason string) uint64 {
	var n uint64
	for _, q := range s.status().Queues {
		n += q.Verdicts[reason]
	}
	return n
}

// httpClient makes requests from inside a lab host.
func httpClient(h *lab.Host, timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DisableKeepAlives: true,
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				ap, err := netip.ParseAddrPort(addr)
				if err != nil {
					return nil, err
				}
				return h.DialTCP(ap, timeout)
			},
		},
	}
}

// hostCounter is an HTTP handler counting requests by Host header.
type hostCounter struct {
	mu   sync.Mutex
	seen map[string]int
}

func (c *hostCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	c.seen[r.Host]++
	c.mu.Unlock()
	fmt.Fprintf(w, "hello %s\n", r.Host)
}

func (c *hostCounter) count(host string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seen[host]
}

// serveHTTP runs a net/http server inside h on port.
func serveHTTP(tb testing.TB, h *lab.Host, port uint16, handler http.Handler) {
	tb.Helper()
	ln, err := h.ListenTCP(port)
	if err != nil {
		tb.Fatal(err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	tb.Cleanup(func() { srv.Close() })
}

func jsonOut(tb testing.TB, out string, v any) {
	tb.Helper()
	if err := json.Unmarshal([]byte(out), v); err != nil {
		tb.Fatalf("decode %q: %v", out, err)
	}
}
