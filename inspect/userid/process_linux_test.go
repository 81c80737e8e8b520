package userid

import (
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// These tests make real sockets on loopback in the test process and look
// them up with sock_diag and /proc/self/fd, so they need no root.

// selfExe is what /proc/self/exe names: the test binary, symlinks
// resolved.
func selfExe(t testing.TB) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		t.Fatal(err)
	}
	return exe
}

// inodeOf returns the socket inode behind a net.Conn or net.Listener.
func inodeOf(t testing.TB, c syscall.Conn) uint64 {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = syscall.Fstat(int(fd), &st) }); err != nil {
		t.Fatal(err)
	}
	if serr != nil {
		t.Fatal(serr)
	}
	return st.Ino
}

func addrPort(t testing.TB, a net.Addr) netip.AddrPort {
	t.Helper()
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.AddrPort()
	case *net.UDPAddr:
		return a.AddrPort()
	}
	t.Fatalf("address %v: not TCP or UDP", a)
	return netip.AddrPort{}
}

func listenTCP(t testing.TB, network, addr string) *net.TCPListener {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("listen %s %s: %v", network, addr, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.(*net.TCPListener)
}

func dialTCP(t testing.TB, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

func accept(t testing.TB, ln *net.TCPListener) *net.TCPConn {
	t.Helper()
	if err := ln.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	c, err := ln.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestSocketInode checks that the sock_diag lookup finds the very socket
// of each end (by inode), not merely one of the test process's.
func TestSocketInode(t *testing.T) {
	s := newProcessSys()
	t.Cleanup(func() { s.close() })

	for _, fam := range []struct{ name, network, listen string }{
		{"ipv4", "tcp4", "127.0.0.1:0"},
		{"ipv6", "tcp6", "[::1]:0"},
		{"dual-stack listener, ipv4 client", "tcp", "[::]:0"},
	} {
		t.Run(fam.name+"/tcp", func(t *testing.T) {
			ln := listenTCP(t, fam.network, fam.listen)
			lnAddr := addrPort(t, ln.Addr())
			target := lnAddr.String()
			if fam.listen == "[::]:0" {
				target = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), lnAddr.Port()).String()
			}
			client := dialTCP(t, target)
			cl, cr := addrPort(t, client.LocalAddr()), addrPort(t, client.RemoteAddr())

			if got, want := s.socketInode(ipprotoTCP, cl, cr), inodeOf(t, client); got != want {
				t.Errorf("outbound %v -> %v: inode %d, want the client's %d", cl, cr, got, want)
			}
			// Not accepted yet: the child waits in the accept queue
			// without a file, so the flow is the listener's.
			if got, want := s.socketInode(ipprotoTCP, cr, cl), inodeOf(t, ln); got != want {
				t.Errorf("inbound %v <- %v before accept: inode %d, want the listener's %d", cr, cl, got, want)
			}
			server := accept(t, ln)
			sl, sr := addrPort(t, server.LocalAddr()), addrPort(t, server.RemoteAddr())
			if got, want := s.socketInode(ipprotoTCP, sl, sr), inodeOf(t, server); got != want {
				t.Errorf("inbound %v <- %v after accept: inode %d, want the accepted socket's %d", sl, sr, got, want)
			}
		})
	}

	for _, fam := range []struct{ name, network, listen string }{
		{"ipv4", "udp4", "127.0.0.1:0"},
		{"ipv6", "udp6", "[::1]:0"},
		{"dual-stack server, ipv4 client", "udp", "[::]:0"},
	} {
		t.Run(fam.name+"/udp", func(t *testing.T) {
			srv, err := net.ListenPacket(fam.network, fam.listen)
			if err != nil {
				t.Skipf("listen %s: %v", fam.network, err)
			}
			t.Cleanup(func() { srv.Close() })
			target := srv.LocalAddr().String()
			if fam.listen == "[::]:0" {
				target = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), addrPort(t, srv.LocalAddr()).Port()).String()
			}
			client, err := net.Dial(fam.network, target)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { client.Close() })
			cl, cr := addrPort(t, client.LocalAddr()), addrPort(t, client.RemoteAddr())

			if got, want := s.socketInode(ipprotoUDP, cl, cr), inodeOf(t, client.(*net.UDPConn)); got != want {
				t.Errorf("outbound %v -> %v: inode %d, want the connected client's %d", cl, cr, got, want)
			}
			if got, want := s.socketInode(ipprotoUDP, cr, cl), inodeOf(t, srv.(*net.UDPConn)); got != want {
				t.Errorf("inbound %v <- %v: inode %d, want the unconnected server's %d", cr, cl, got, want)
			}
		})
	}
}

func TestSocketInodeNotFound(t *testing.T) {
	s := newProcessSys()
	t.Cleanup(func() { s.close() })

	// A port nobody listens on: bound, then closed.
	ln := listenTCP(t, "tcp4", "127.0.0.1:0")
	free := addrPort(t, ln.Addr())
	ln.Close()
	remote := netip.MustParseAddrPort("127.0.0.1:9")

	tests := []struct {
		name          string
		proto         uint8
		local, remote netip.AddrPort
	}{
		{"tcp closed port", ipprotoTCP, free, remote},
		{"udp closed port", ipprotoUDP, free, remote},
		{"other protocol", 47, free, remote},
		{"mixed families", ipprotoTCP, free, netip.MustParseAddrPort("[::1]:9")},
		{"zero local", ipprotoTCP, netip.AddrPort{}, remote},
		{"local port 0", ipprotoTCP, netip.MustParseAddrPort("127.0.0.1:0"), remote},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.socketInode(tt.proto, tt.local, tt.remote); got != 0 {
				t.Errorf("socketInode(%d, %v, %v) = %d, want 0", tt.proto, tt.local, tt.remote, got)
			}
		})
	}
}

func TestProcessLoopback(t *testing.T) {
	want := selfExe(t)
	p := NewProcesses(time.Minute)
	t.Cleanup(func() { p.Close() })

	ln := listenTCP(t, "tcp4", "127.0.0.1:0")
	client := dialTCP(t, ln.Addr().String())
	cl, cr := addrPort(t, client.LocalAddr()), addrPort(t, client.RemoteAddr())
	udpSrv, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { udpSrv.Close() })
	udpCli, err := net.Dial("udp4", udpSrv.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { udpCli.Close() })
	ul, ur := addrPort(t, udpCli.LocalAddr()), addrPort(t, udpCli.RemoteAddr())

	check := func(name string, proto uint8, local, remote netip.AddrPort, want string) {
		t.Helper()
		if got, _ := p.Process(proto, local, remote); got != want {
			t.Errorf("%s: Process(%d, %v, %v) = %q, want %q", name, proto, local, remote, got, want)
		}
	}
	check("tcp outbound", ipprotoTCP, cl, cr, want)
	if _, cmd := p.Process(ipprotoTCP, cl, cr); !strings.HasPrefix(cmd, os.Args[0]) || !strings.Contains(cmd, " -test.") {
		t.Errorf("command line %q, want this test's: %s ...", cmd, os.Args[0])
	}
	check("tcp inbound before accept", ipprotoTCP, cr, cl, want)
	check("tcp outbound again (cached)", ipprotoTCP, cl, cr, want)
	accept(t, ln)
	check("tcp inbound after accept", ipprotoTCP, cr, cl, want)
	check("udp outbound", ipprotoUDP, ul, ur, want)
	check("udp inbound", ipprotoUDP, ur, ul, want)
	// IPv4-mapped addresses are the same flow.
	mapped := func(a netip.AddrPort) netip.AddrPort {
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr().As16()), a.Port())
	}
	check("tcp outbound 4in6", ipprotoTCP, mapped(cl), mapped(cr), want)

	ln2 := listenTCP(t, "tcp4", "127.0.0.1:0")
	free := addrPort(t, ln2.Addr())
	ln2.Close()
	check("unknown tuple", ipprotoTCP, free, netip.MustParseAddrPort("127.0.0.1:9"), "")
}

// TestProcessOtherProcess finds a socket held by another process: a child
// that inherited a listener, after the test closed its own copy. The
// remote end has no connection, as for a SYN still in the queue: the
// exact lookup answers with the listener.
func TestProcessOtherProcess(t *testing.T) {
	want := selfExe(t)
	ln := listenTCP(t, "tcp4", "127.0.0.1:0")
	f, err := ln.File()
	if err != nil {
		t.Fatal(err)
	}
	cmd := startHolder(t, f)
	f.Close()
	ln.Close()

	p := NewProcesses(time.Minute)
	t.Cleanup(func() { p.Close() })
	local := addrPort(t, ln.Addr())
	remote := netip.AddrPortFrom(local.Addr(), 40000)
	if got, _ := p.Process(ipprotoTCP, local, remote); got != want {
		t.Errorf("Process of a listener held by pid %d = %q, want %q", cmd.Process.Pid, got, want)
	}
}

// startHolder runs the test binary again as a process that holds f (as fd
// 3) until the test ends and closes its stdin.
func startHolder(t *testing.T, f *os.File) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHolderProcess$")
	cmd.Env = append(os.Environ(), "SEPTA_TEST_HOLDER=1")
	cmd.ExtraFiles = []*os.File{f}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	return cmd
}

// TestHolderProcess is startHolder's child, not a test: it waits for its
// stdin to close.
func TestHolderProcess(t *testing.T) {
	if os.Getenv("SEPTA_TEST_HOLDER") != "1" {
		t.Skip("helper process for TestProcessOtherProcess")
	}
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

func TestProcessCacheTTL(t *testing.T) {
	want := selfExe(t)
	now := time.Unix(1000, 0)
	p := NewProcesses(5 * time.Second)
	p.now = func() time.Time { return now }
	t.Cleanup(func() { p.Close() })

	ln := listenTCP(t, "tcp4", "127.0.0.1:0")
	client := dialTCP(t, ln.Addr().String())
	cl, cr := addrPort(t, client.LocalAddr()), addrPort(t, client.RemoteAddr())
	if got, _ := p.Process(ipprotoTCP, cl, cr); got != want {
		t.Fatalf("Process = %q, want %q", got, want)
	}
	ino := inodeOf(t, client)
	p.mu.Lock()
	e := p.inodes[ino]
	e.path = "/cached"
	p.inodes[ino] = e
	p.mu.Unlock()
	if got, _ := p.Process(ipprotoTCP, cl, cr); got != "/cached" {
		t.Errorf("within the TTL: Process = %q, want the cached %q", got, "/cached")
	}
	now = now.Add(5 * time.Second)
	if got, _ := p.Process(ipprotoTCP, cl, cr); got != want {
		t.Errorf("after the TTL: Process = %q, want %q", got, want)
	}
}

// BenchmarkProcessLookup measures one Process call on a connected
// loopback TCP socket of the benchmark process. "first" is a new
// Processes per call: a new sock_diag socket and a scan of all of /proc
// (the benchmark's pid is usually the last). "uncached" keeps the
// sockets and the owner hints but caches nothing (one sock_diag lookup,
// the hinted fd table, the exe link). "cached" is the repeat flow of a
// known socket: one sock_diag lookup and a map hit.
func BenchmarkProcessLookup(b *testing.B) {
	want := selfExe(b)
	ln := listenTCP(b, "tcp4", "127.0.0.1:0")
	client := dialTCP(b, ln.Addr().String())
	cl, cr := addrPort(b, client.LocalAddr()), addrPort(b, client.RemoteAddr())

	run := func(b *testing.B, p func() *Processes) {
		b.ReportAllocs()
		for b.Loop() {
			if got, _ := p().Process(ipprotoTCP, cl, cr); got != want {
				b.Fatalf("Process = %q, want %q", got, want)
			}
		}
	}
	b.Run("first", func(b *testing.B) {
		run(b, func() *Processes {
			p := NewProcesses(time.Minute)
			p.Close() // its socket is closed after the lookup
			return p
		})
	})
	b.Run("uncached", func(b *testing.B) {
		p := NewProcesses(0)
		b.Cleanup(func() { p.Close() })
		run(b, func() *Processes { return p })
	})
	b.Run("cached", func(b *testing.B) {
		p := NewProcesses(time.Hour)
		b.Cleanup(func() { p.Close() })
		run(b, func() *Processes { return p })
	})
}

func TestEncodeDiagReq(t *testing.T) {
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("the literal is for a little-endian host")
	}
	var got [syscall.NLMSG_HDRLEN + inetDiagReqV2Len]byte
	encodeDiagReq(&got, 7, ipprotoTCP,
		netip.MustParseAddrPort("10.0.0.1:443"), netip.MustParseAddrPort("192.0.2.7:51000"), ^uint32(0))
	want := []byte{
		// struct nlmsghdr: len 72, SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST, seq 7, pid 0
		0x48, 0x00, 0x00, 0x00, 0x14, 0x00, 0x01, 0x00,
		0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		// inet_diag_req_v2: AF_INET, IPPROTO_TCP, ext 0, pad; states all
		0x02, 0x06, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,
		// inet_diag_sockid: sport 443, dport 51000 (network order)
		0x01, 0xbb, 0xc7, 0x38,
		// idiag_src 10.0.0.1
		0x0a, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		// idiag_dst 192.0.2.7
		0xc0, 0x00, 0x02, 0x07, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		// idiag_if 0, idiag_cookie INET_DIAG_NOCOOKIE
		0x00, 0x00, 0x00, 0x00,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	}
	if diff := cmp.Diff(want, got[:]); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}
}

// FuzzParseDiagReply: whatever the socket delivers, parsing never panics.
func FuzzParseDiagReply(f *testing.F) {
	var req [syscall.NLMSG_HDRLEN + inetDiagReqV2Len]byte
	encodeDiagReq(&req, 1, ipprotoTCP, netip.MustParseAddrPort("127.0.0.1:80"), netip.MustParseAddrPort("127.0.0.1:9"), 0)
	f.Add(req[:])
	// An NLMSG_ERROR carrying -ENOENT for seq 1.
	f.Add([]byte{0x24, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		parseDiagReply(b, 1, 80)
	})
}
