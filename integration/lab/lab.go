//go:build linux

// Package lab builds a small network of hosts out of network namespaces
// for septa's integration tests, benchmarks and `make demo`.
//
// Every host is a network namespace with one interface, eth0, joined by a
// veth pair to a bridge that lives in a namespace of its own: nothing is
// created in, or sends traffic through, the root namespace. Hosts get
// addresses of the data-center plan that septa's example policies use
// (packaging/examples), so that the demo and the tests apply the examples
// unchanged:
//
//	IPv4  10.<zone>.<tier>.<host>/8 on eth0 (all hosts on-link)
//	IPv6  fd00:<zone>::<tier>:<host>/16 (added with nodad)
//
// with the zones of DefaultHosts: dev 10.1, test 10.2, prod 10.3 (web,
// app and db tiers 1, 2, 3), vdi 10.4, admin 10.9, attacker 10.66.
//
// Namespaces are named "septalab<pid>x<n>-<host>", so parallel test
// processes do not collide, and New removes the leftovers of processes
// that are gone. Everything is torn down on Close, which New registers
// with the test's Cleanup so it runs even when a test fails.
//
// This package is not a test file, so that benchmarks and demos can use
// it; it must not import testing (it takes a small TB interface instead).
package lab

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// TB is the part of testing.TB the lab uses.
type TB interface {
	Helper()
	Cleanup(func())
	Logf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// HostSpec describes one host.
type HostSpec struct {
	Name string
	Zone string
	V4   netip.Addr
	V6   netip.Addr // optional
}

// Zone ranges of the default lab (those of the example policies).
var (
	ZoneDev      = netip.MustParsePrefix("10.1.0.0/16")
	ZoneTest     = netip.MustParsePrefix("10.2.0.0/16")
	ZoneProd     = netip.MustParsePrefix("10.3.0.0/16")
	ZoneVDI      = netip.MustParsePrefix("10.4.0.0/16")
	ZoneAdmin    = netip.MustParsePrefix("10.9.0.0/24")
	ZoneAttacker = netip.MustParsePrefix("10.66.0.0/16")
)

// Spec returns the host spec of name in zone z (the second byte of its
// IPv4 address), tier t and host number h.
func Spec(name, zone string, z, t, h int) HostSpec {
	return HostSpec{
		Name: name, Zone: zone,
		V4: netip.AddrFrom4([4]byte{10, byte(z), byte(t), byte(h)}),
		V6: netip.MustParseAddr(fmt.Sprintf("fd00:%x::%x:%x", z, t, h)),
	}
}

// DefaultHosts is the lab of issue 3: two zones of development and test,
// three production tiers (the addresses of packaging/examples/5-shop's
// inventory), two VDI desktops, an admin jump host and an attacker.
func DefaultHosts() []HostSpec {
	return []HostSpec{
		Spec("dev-1", "dev", 1, 0, 11),
		Spec("test-1", "test", 2, 0, 11),
		Spec("prod-web", "prod", 3, 1, 10),
		Spec("prod-app", "prod", 3, 2, 10),
		Spec("prod-db", "prod", 3, 3, 10),
		Spec("vdi-finance", "vdi", 4, 0, 11),
		Spec("vdi-hr", "vdi", 4, 0, 12),
		Spec("admin", "admin", 9, 0, 11),
		Spec("attacker", "attacker", 66, 0, 11),
	}
}

// Lab is a set of hosts on one bridge.
type Lab struct {
	Prefix string
	hosts  map[string]*Host
	order  []string
	brNS   string

	mu     sync.Mutex // guards closed and procs
	closed bool
	procs  []*exec.Cmd
}

// Host is one network namespace of the lab.
type Host struct {
	Name string
	Zone string
	V4   netip.Addr
	V6   netip.Addr
	NS   string // the namespace's name (ip netns)
	lab  *Lab
}

const (
	namePrefix = "septalab"
	cmdTimeout = 10 * time.Second
)

var labSeq atomic.Int64

// New builds a lab with the given hosts (DefaultHosts if none) and
// registers its teardown with tb.Cleanup.
func New(tb TB, hosts ...HostSpec) *Lab {
	tb.Helper()
	l, err := Build(hosts...)
	if err != nil {
		tb.Fatalf("lab: %v", err)
	}
	tb.Cleanup(func() {
		if err := l.Close(); err != nil {
			tb.Logf("lab: teardown: %v", err)
		}
	})
	return l
}

// Build builds a lab without a test; the caller must Close it.
func Build(hosts ...HostSpec) (*Lab, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("lab needs root")
	}
	if len(hosts) == 0 {
		hosts = DefaultHosts()
	}
	RemoveLeftovers()
	l := &Lab{
		Prefix: fmt.Sprintf("%s%dx%d", namePrefix, os.Getpid(), labSeq.Add(1)),
		hosts:  map[string]*Host{},
	}
	l.brNS = l.Prefix + "-br"
	if err := l.build(hosts); err != nil {
		_ = l.Close()
		return nil, err
	}
	return l, nil
}

func (l *Lab) build(hosts []HostSpec) error {
	if err := ip("netns", "add", l.brNS); err != nil {
		return err
	}
	for _, args := range [][]string{
		{"-n", l.brNS, "link", "set", "lo", "up"},
		{"-n", l.brNS, "link", "add", "br0", "type", "bridge"},
		{"-n", l.brNS, "link", "set", "br0", "up"},
	} {
		if err := ip(args...); err != nil {
			return err
		}
	}
	for i, hs := range hosts {
		if _, dup := l.hosts[hs.Name]; dup || hs.Name == "" || hs.Name == "br" {
			return fmt.Errorf("host name %q empty, reserved or used twice", hs.Name)
		}
		h := &Host{Name: hs.Name, Zone: hs.Zone, V4: hs.V4, V6: hs.V6, NS: l.Prefix + "-" + hs.Name, lab: l}
		l.hosts[h.Name] = h
		l.order = append(l.order, h.Name)
		if err := ip("netns", "add", h.NS); err != nil {
			return err
		}
		veth := "v" + strconv.Itoa(i)
		cmds := [][]string{
			{"-n", h.NS, "link", "set", "lo", "up"},
			// Created in the bridge's namespace, its peer directly in the
			// host's: no interface ever exists in the root namespace.
			{"-n", l.brNS, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", h.NS},
			{"-n", l.brNS, "link", "set", veth, "master", "br0"},
			{"-n", l.brNS, "link", "set", veth, "up"},
			{"-n", h.NS, "addr", "add", hs.V4.String() + "/8", "dev", "eth0"},
		}
		if hs.V6.IsValid() {
			cmds = append(cmds, []string{"-n", h.NS, "addr", "add", hs.V6.String() + "/16", "dev", "eth0", "nodad"})
		}
		cmds = append(cmds, []string{"-n", h.NS, "link", "set", "eth0", "up"})
		for _, args := range cmds {
			if err := ip(args...); err != nil {
				return err
			}
		}
	}
	return nil
}

// Host returns the named host; it panics on a name the lab does not have
// (a bug in the test).
func (l *Lab) Host(name string) *Host {
	h, ok := l.hosts[name]
	if !ok {
		panic("lab: no host " + name)
	}
	return h
}

// Hosts returns the hosts in the order they were built.
func (l *Lab) Hosts() []*Host {
	out := make([]*Host, 0, len(l.order))
	for _, n := range l.order {
		out = append(out, l.hosts[n])
	}
	return out
}

// Close kills the processes started in the lab and deletes its
// namespaces (which deletes their interfaces). It is safe to call twice.
func (l *Lab) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	procs := l.procs
	l.mu.Unlock()
	for _, p := range procs {
		if p.Process != nil {
			_ = p.Process.Kill()
		}
	}
	var errs []error
	for _, n := range l.order {
		if err := ip("netns", "del", l.hosts[n].NS); err != nil {
			errs = append(errs, err)
		}
	}
	if l.brNS != "" {
		if err := ip("netns", "del", l.brNS); err != nil && !strings.Contains(err.Error(), "No such file") {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// RemoveLeftovers deletes lab namespaces of processes that no longer run
// (a test binary that was killed before its cleanup).
func RemoveLeftovers() {
	entries, err := os.ReadDir("/run/netns")
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), namePrefix)
		if !ok {
			continue
		}
		pidStr, _, ok := strings.Cut(rest, "x")
		if !ok {
			continue
		}
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		_ = ip("netns", "del", e.Name())
	}
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func ip(args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Path is the host's namespace file.
func (h *Host) Path() string { return filepath.Join("/run/netns", h.NS) }

// OpenNS opens the host's namespace file (for nftables.WithNetNSFd and
// the like); the caller closes it.
func (h *Host) OpenNS() (*os.File, error) { return os.Open(h.Path()) }

// Do runs fn on an OS thread inside the host's namespace. Sockets that fn
// opens stay in that namespace after it returns. Like cilium's NetNS.Do:
// if the thread cannot be switched back, it is left locked, and so dies
// with its goroutine instead of running other code in the wrong
// namespace.
func (h *Host) Do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer orig.Close()
		target, err := os.Open(h.Path())
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("setns %s: %w", h.NS, err)
			return
		}
		ferr := fn()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			// Stay locked: the thread exits with this goroutine.
			errc <- errors.Join(ferr, fmt.Errorf("restore namespace: %w", err))
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// Command returns a command that runs inside the host's namespace (ip
// netns exec), bounded by ctx.
func (h *Host) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", h.NS, name}, args...)...)
}

// Run runs a command in the host's namespace with a timeout and returns
// its combined output.
func (h *Host) Run(timeout time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := h.Command(ctx, name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s in %s: %w: %s", name, strings.Join(args, " "), h.Name, err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// Start starts a long-running command in the host's namespace; the lab
// kills it on Close.
func (h *Host) Start(name string, args ...string) (*exec.Cmd, error) {
	cmd := exec.Command("ip", append([]string{"netns", "exec", h.NS, name}, args...)...)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	h.lab.mu.Lock()
	h.lab.procs = append(h.lab.procs, cmd)
	h.lab.mu.Unlock()
	return cmd, nil
}
