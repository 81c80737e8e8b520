package userid

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The sock_diag protocol, from include/uapi/linux/sock_diag.h,
// inet_diag.h and netlink.h. The package imports the standard library
// only, so the few constants the syscall package lacks are spelt out.
const (
	sockDiagByFamily = 20 // SOCK_DIAG_BY_FAMILY
	// inetDiagReqV2Len is sizeof(struct inet_diag_req_v2): family,
	// protocol, ext, pad (4 bytes), states (u32), then the 48-byte
	// struct inet_diag_sockid.
	inetDiagReqV2Len = 56
	// inetDiagMsgLen is sizeof(struct inet_diag_msg): family, state,
	// timer, retrans, sockid (48), then expires, rqueue, wqueue, uid and
	// inode (u32 each). The inode is at offset 68.
	inetDiagMsgLen = 72
	// tcpListen is TCP_LISTEN in include/net/tcp_states.h.
	tcpListen = 10

	ipprotoTCP = 6
	ipprotoUDP = 17

	// diagTimeout bounds one sock_diag exchange. The kernel answers an
	// exact lookup inside sendmsg (about 0.7 ms measured, KERNEL.md), so
	// hitting this means something is wrong; the socket is then dropped.
	diagTimeout = 50 * time.Millisecond
	// scanBudget bounds the /proc/*/fd scan for one inode: past it the
	// owner is reported as not found.
	scanBudget = 100 * time.Millisecond
	// maxIdleDiagSockets is how many sock_diag sockets are kept open
	// between lookups (one per concurrently looking-up worker).
	maxIdleDiagSockets = 4
)

var errDiagNotFound = errors.New("sock_diag: no such socket")

// processSys holds idle sock_diag sockets, opened in the network
// namespace of the thread that first needs one: septad runs inside its
// namespace, so that is the namespace whose sockets it filters.
type processSys struct {
	idle   chan *diagSocket
	seq    atomic.Uint32
	closed atomic.Bool
}

type diagSocket struct {
	fd  int
	buf []byte // receive buffer
	req [syscall.NLMSG_HDRLEN + inetDiagReqV2Len]byte
}

func newProcessSys() processSys {
	return processSys{idle: make(chan *diagSocket, maxIdleDiagSockets)}
}

// socketInode returns the inode of the local socket of a TCP or UDP flow,
// or 0 when there is none (or it has no file yet).
//
// The lookup is exact: SOCK_DIAG_BY_FAMILY without NLM_F_DUMP, so the
// kernel hashes the 4-tuple once (inet_diag_find_one_icsk, udp_dump_one)
// instead of walking the whole table.
//
// TCP first asks for the 4-tuple. For an outbound flow that is the
// sender's socket. For an inbound flow the kernel's lookup is the one a
// packet gets (inet_lookup: established, then listening), so it answers
// with the accepted socket once there is one, and with the listener while
// the SYN is still queued (no child exists yet). Between the two, the
// answer is an embryonic request socket (SYN_RECV) or a child waiting in
// the accept queue, and neither has an inode yet: the lookup then asks
// again with the remote address and port zeroed, which only a listener
// matches, and the flow is the listener's. A TIME_WAIT socket (inode 0)
// falls back the same way.
//
// UDP lookups already match unconnected sockets bound to the local port
// (the remote is a wildcard there), so one query is enough.
func (s *processSys) socketInode(proto uint8, local, remote netip.AddrPort) uint64 {
	if proto != ipprotoTCP && proto != ipprotoUDP {
		return 0
	}
	la, ra := local.Addr().Unmap(), remote.Addr().Unmap()
	if !la.IsValid() || !ra.IsValid() || la.Is4() != ra.Is4() || local.Port() == 0 {
		return 0
	}
	l, r := netip.AddrPortFrom(la, local.Port()), netip.AddrPortFrom(ra, remote.Port())
	ino, _, err := s.query(proto, l, r, ^uint32(0))
	if ino != 0 || (err != nil && !errors.Is(err, errDiagNotFound)) || proto != ipprotoTCP {
		return uint64(ino)
	}
	var zero netip.Addr
	if la.Is4() {
		zero = netip.IPv4Unspecified()
	} else {
		zero = netip.IPv6Unspecified()
	}
	ino, state, err := s.query(proto, l, netip.AddrPortFrom(zero, 0), 1<<tcpListen)
	if err != nil || state != tcpListen {
		return 0
	}
	return uint64(ino)
}

// query makes one exact sock_diag lookup and returns the socket's inode
// and state.
func (s *processSys) query(proto uint8, local, remote netip.AddrPort, states uint32) (ino uint32, state uint8, err error) {
	d, err := s.get()
	if err != nil {
		return 0, 0, err
	}
	seq := s.seq.Add(1)
	// The kernel's two lookups read the sockid differently.
	// inet_diag_find_one_icsk (net/ipv4/inet_diag.c) passes idiag_dst as
	// the packet's source to inet_lookup, so for TCP idiag_src is the
	// local end, as in a dump. udp_dump_one (net/ipv4/udp_diag.c) passes
	// idiag_src as the packet's source to __udp4_lib_lookup, so for UDP
	// idiag_src is the remote end. TestSocketInode checks both against
	// the sockets' own inodes; parseDiagReply rejects a socket whose local
	// port is not ours, should a kernel ever swap them back.
	src, dst := local, remote
	if proto == ipprotoUDP {
		src, dst = remote, local
	}
	encodeDiagReq(&d.req, seq, proto, src, dst, states)
	if _, err := syscall.Write(d.fd, d.req[:]); err != nil {
		s.drop(d)
		return 0, 0, err
	}
	deadline := time.Now().Add(diagTimeout)
	for {
		if time.Now().After(deadline) {
			s.drop(d)
			return 0, 0, syscall.ETIMEDOUT
		}
		n, err := syscall.Read(d.fd, d.buf)
		if err == syscall.EINTR {
			continue
		}
		if err != nil { // EAGAIN: diagTimeout passed
			s.drop(d)
			return 0, 0, err
		}
		ino, state, done, err := parseDiagReply(d.buf[:n], seq, local.Port())
		if done {
			s.put(d)
			return ino, state, err
		}
	}
}

// encodeDiagReq writes a netlink request for one socket into b: struct
// nlmsghdr then struct inet_diag_req_v2. Ports and addresses are in
// network order, the rest in host order.
func encodeDiagReq(b *[syscall.NLMSG_HDRLEN + inetDiagReqV2Len]byte, seq uint32, proto uint8, src, dst netip.AddrPort, states uint32) {
	*b = [len(b)]byte{}
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], uint32(len(b)))
	ne.PutUint16(b[4:], sockDiagByFamily)
	ne.PutUint16(b[6:], syscall.NLM_F_REQUEST) // no NLM_F_DUMP: exact lookup
	ne.PutUint32(b[8:], seq)
	// nlmsg_pid 0: the kernel fills in our port id.
	r := b[syscall.NLMSG_HDRLEN:]
	if src.Addr().Is4() {
		r[0] = syscall.AF_INET
	} else {
		r[0] = syscall.AF_INET6
	}
	r[1] = proto
	// r[2] idiag_ext 0: no extensions; r[3] pad.
	ne.PutUint32(r[4:], states)
	id := r[8:]
	binary.BigEndian.PutUint16(id[0:], src.Port())
	binary.BigEndian.PutUint16(id[2:], dst.Port())
	putDiagAddr(id[4:20], src.Addr())
	putDiagAddr(id[20:36], dst.Addr())
	// id[36:40] idiag_if 0: any interface.
	// idiag_cookie INET_DIAG_NOCOOKIE (~0U, ~0U): match any socket.
	ne.PutUint32(id[40:], ^uint32(0))
	ne.PutUint32(id[44:], ^uint32(0))
}

// putDiagAddr writes an address into a __be32[4] idiag_src/idiag_dst; an
// IPv4 address takes the first word.
func putDiagAddr(b []byte, a netip.Addr) {
	if a.Is4() {
		a4 := a.As4()
		copy(b, a4[:])
		return
	}
	a16 := a.As16()
	copy(b, a16[:])
}

// parseDiagReply reads the kernel's answer to request seq: the socket's
// inode and state, or errDiagNotFound. done is false when b holds no
// answer to seq. The answer must describe a socket bound to localPort.
func parseDiagReply(b []byte, seq uint32, localPort uint16) (ino uint32, state uint8, done bool, err error) {
	ne := binary.NativeEndian
	for len(b) >= syscall.NLMSG_HDRLEN {
		l := int(ne.Uint32(b[0:]))
		if l < syscall.NLMSG_HDRLEN || l > len(b) {
			return 0, 0, false, nil
		}
		typ, mseq := ne.Uint16(b[4:]), ne.Uint32(b[8:])
		payload := b[syscall.NLMSG_HDRLEN:l]
		if al := (l + syscall.NLMSG_ALIGNTO - 1) &^ (syscall.NLMSG_ALIGNTO - 1); al < len(b) {
			b = b[al:]
		} else {
			b = nil
		}
		if mseq != seq {
			continue
		}
		switch typ {
		case syscall.NLMSG_ERROR:
			if len(payload) < 4 {
				return 0, 0, true, errDiagNotFound
			}
			errno := -int32(ne.Uint32(payload))
			if errno == 0 {
				continue // an acknowledgement
			}
			if syscall.Errno(errno) == syscall.ENOENT {
				return 0, 0, true, errDiagNotFound
			}
			return 0, 0, true, syscall.Errno(errno)
		case syscall.NLMSG_DONE:
			return 0, 0, true, errDiagNotFound
		case sockDiagByFamily:
			if len(payload) < inetDiagMsgLen {
				return 0, 0, true, errDiagNotFound
			}
			// The reply's sockid is the socket's own: idiag_sport is
			// its local port whatever the request's order was.
			if binary.BigEndian.Uint16(payload[4:]) != localPort {
				return 0, 0, true, errDiagNotFound
			}
			return ne.Uint32(payload[68:]), payload[1], true, nil
		}
	}
	return 0, 0, false, nil
}

// get returns an idle sock_diag socket or opens one.
func (s *processSys) get() (*diagSocket, error) {
	select {
	case d := <-s.idle:
		return d, nil
	default:
	}
	fd, err := syscall.Socket(syscall.AF_NETLINK, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, syscall.NETLINK_INET_DIAG)
	if err != nil {
		return nil, err
	}
	tv := syscall.NsecToTimeval(int64(diagTimeout))
	for _, opt := range []int{syscall.SO_RCVTIMEO, syscall.SO_SNDTIMEO} {
		if err := syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, opt, &tv); err != nil {
			syscall.Close(fd)
			return nil, err
		}
	}
	// Connected to the kernel (port id 0), the socket takes no message
	// from any other sender (netlink_getsockbyportid refuses them), and
	// read and write need no address.
	kernel := &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}
	if err := syscall.Bind(fd, kernel); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	if err := syscall.Connect(fd, kernel); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	// An exact lookup's reply is one inet_diag_msg with a few attributes
	// (no INET_DIAG_* extensions are asked for).
	return &diagSocket{fd: fd, buf: make([]byte, 8192)}, nil
}

// put keeps d for the next lookup, or closes it.
func (s *processSys) put(d *diagSocket) {
	if !s.closed.Load() {
		select {
		case s.idle <- d:
			if s.closed.Load() { // close ran meanwhile and missed d
				s.close()
			}
			return
		default:
		}
	}
	syscall.Close(d.fd)
}

// drop closes d after a failed exchange: a late reply must not reach the
// next lookup.
func (s *processSys) drop(d *diagSocket) {
	syscall.Close(d.fd)
}

func (s *processSys) close() error {
	s.closed.Store(true)
	for {
		select {
		case d := <-s.idle:
			syscall.Close(d.fd)
		default:
			return nil
		}
	}
}

// scanScratch is the memory of one /proc scan.
type scanScratch struct {
	procDirents [8192]byte
	pids        []int
	dirents     [8192]byte
	link        [64]byte // "socket:[" plus a u64 inode fits in 30 bytes
	path        []byte
}

var scanScratches = sync.Pool{New: func() any { return &scanScratch{path: make([]byte, 0, 64)} }}

// socketOwner returns the pid of a process with a file descriptor on the
// socket inode ino, or 0. It reads the fd tables of hints first, then of
// every process in /proc order, stops at the first match and gives up
// after scanBudget. Processes whose fd tables are unreadable (other users'
// when not root; gone meanwhile) are skipped. /proc here is the pid
// namespace's, which holds every process on this host whatever its
// network namespace.
//
// Each fd costs a readlink of about 3 µs (the kernel checks ptrace access
// and builds the link text); directories are read with raw getdents,
// because os.Open and Readdirnames cost about 20 µs more per process.
func (s *processSys) socketOwner(ino uint64, hints []int) int {
	want := "socket:[" + strconv.FormatUint(ino, 10) + "]"
	sc := scanScratches.Get().(*scanScratch)
	defer scanScratches.Put(sc)
	deadline := time.Now().Add(scanBudget)
	for _, pid := range hints {
		if sc.hasFD(pid, want, deadline) {
			return pid
		}
	}
	fd, err := syscall.Open("/proc", syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return 0
	}
	defer syscall.Close(fd)
	// /proc is read a batch at a time into a buffer of its own, because
	// hasFD reuses sc.dirents.
	for {
		sc.pids = sc.pids[:0]
		err := readDirents(fd, sc.procDirents[:], func(name []byte) bool {
			if pid := atoiPID(name); pid > 0 && !slices.Contains(hints, pid) {
				sc.pids = append(sc.pids, pid)
			}
			return true
		})
		for _, pid := range sc.pids {
			if sc.hasFD(pid, want, deadline) {
				return pid
			}
			if time.Now().After(deadline) {
				return 0
			}
		}
		if err != nil {
			return 0
		}
	}
}

// hasFD reports whether process pid has a file descriptor whose link
// reads want. It stops reading a huge fd table at the deadline.
func (sc *scanScratch) hasFD(pid int, want string, deadline time.Time) bool {
	sc.path = strconv.AppendInt(append(sc.path[:0], "/proc/"...), int64(pid), 10)
	sc.path = append(sc.path, "/fd/"...)
	fd, err := syscall.Open(string(sc.path), syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer syscall.Close(fd)
	dirLen := len(sc.path)
	found := false
	for !found {
		err := readDirents(fd, sc.dirents[:], func(name []byte) bool {
			sc.path = append(sc.path[:dirLen], name...)
			n, err := syscall.Readlink(string(sc.path), sc.link[:])
			found = err == nil && string(sc.link[:n]) == want
			return !found
		})
		if err != nil || time.Now().After(deadline) {
			break
		}
	}
	return found
}

// readDirents reads one batch of directory entries from fd (getdents64)
// and calls f with each name but "." and "..", until f returns false;
// the rest of the batch is then skipped, so a caller stops reading the
// directory. It returns io.EOF at the end of the directory.
func readDirents(fd int, buf []byte, f func(name []byte) bool) error {
	n, err := syscall.ReadDirent(fd, buf)
	if err != nil {
		return err
	}
	if n <= 0 {
		return io.EOF
	}
	b := buf[:n]
	// struct linux_dirent64: d_ino u64, d_off s64, d_reclen u16,
	// d_type u8, then the NUL-terminated name (include/linux/dirent.h).
	for len(b) >= 19 {
		reclen := int(binary.NativeEndian.Uint16(b[16:]))
		if reclen < 19 || reclen > len(b) {
			return io.ErrUnexpectedEOF
		}
		name := b[19:reclen]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		b = b[reclen:]
		if string(name) == "." || string(name) == ".." {
			continue
		}
		if !f(name) {
			return nil
		}
	}
	return nil
}

// atoiPID parses a /proc entry name as a pid, or returns 0.
func atoiPID(name []byte) int {
	if len(name) == 0 || len(name) > 10 {
		return 0
	}
	pid := 0
	for _, c := range name {
		if c < '0' || c > '9' {
			return 0
		}
		pid = pid*10 + int(c-'0')
	}
	return pid
}

// maxCmdline bounds the command line kept for a process.
const maxCmdline = 1024

// cmdline returns pid's command line with its arguments separated by
// spaces (they are NUL-separated in /proc), cut at maxCmdline bytes.
func (s *processSys) cmdline(pid int) string {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return ""
	}
	defer f.Close()
	var buf [maxCmdline]byte
	n, _ := io.ReadFull(f, buf[:])
	b := bytes.TrimRight(buf[:n], "\x00")
	for i := range b {
		if b[i] == 0 {
			b[i] = ' '
		}
	}
	return string(b)
}

// executable returns the path of pid's executable, or "". The kernel
// appends " (deleted)" to the link of a replaced binary (a package
// upgrade under a running daemon); the policy names the path.
func (s *processSys) executable(pid int) string {
	path, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(path, " (deleted)")
}
