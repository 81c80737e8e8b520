package userid

import (
	"net/netip"
	"sync"
	"time"
)

// Processes finds the executable behind the local end of a flow: the
// sender of an outbound flow, the listener (or the accepted socket) of an
// inbound one. On Linux it finds the socket's inode with one exact
// sock_diag lookup keyed by the 4-tuple (never a dump of the socket
// table: KERNEL.md), then the process holding that inode by scanning
// /proc/*/fd, and reads /proc/PID/exe. Elsewhere it knows nothing.
//
// The inode's executable and each pid's executable are cached for a TTL,
// failures included, in maps of at most maxProcessCache entries. A
// Processes is safe for concurrent use.
type Processes struct {
	ttl time.Duration
	now func() time.Time
	sys processSys // the OS part: sock_diag sockets and the /proc scan

	mu     sync.Mutex // guards inodes, exes and hints
	inodes map[uint64]procEntry
	exes   map[int]procEntry
	// hints are the pids that owned the latest sockets found, newest
	// first: a server or client making many flows is found by reading
	// its own fd table instead of every process's.
	hints []int
}

type procEntry struct {
	path    string // "": not found
	cmdline string // the command line, arguments separated by spaces
	pid     int    // inodes: the owner, 0 if none was found
	expires time.Time
}

const (
	// maxProcessCache bounds each cache map; a full map first drops its
	// expired entries, then arbitrary ones.
	maxProcessCache = 4096
	// maxProcessHints is how many recent owner pids are tried first.
	maxProcessHints = 8
)

// NewProcesses returns a resolver caching for cacheTTL (a few seconds: a
// pid's executable changes on exec, and pids are reused).
func NewProcesses(cacheTTL time.Duration) *Processes {
	return &Processes{
		ttl:    cacheTTL,
		now:    time.Now,
		sys:    newProcessSys(),
		inodes: map[uint64]procEntry{},
		exes:   map[int]procEntry{},
	}
}

// Process returns the executable path and the command line of the
// process holding the local socket of the flow (proto is the IP protocol
// number: 6 TCP, 17 UDP), or "" when it cannot be found.
func (p *Processes) Process(proto uint8, local, remote netip.AddrPort) (path, cmdline string) {
	ino := p.sys.socketInode(proto, local, remote)
	if ino == 0 {
		return "", ""
	}
	now := p.now()
	var hintBuf [maxProcessHints]int
	p.mu.Lock()
	e, ok := p.inodes[ino]
	hints := append(hintBuf[:0], p.hints...)
	p.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.path, e.cmdline
	}
	pid := p.sys.socketOwner(ino, hints)
	var pe procEntry
	if pid > 0 {
		pe = p.exe(pid, now)
	}
	p.mu.Lock()
	putBoundedLocked(p.inodes, ino, procEntry{path: pe.path, cmdline: pe.cmdline, pid: pid, expires: now.Add(p.ttl)}, now)
	if pid > 0 {
		p.hintLocked(pid)
	}
	p.mu.Unlock()
	return pe.path, pe.cmdline
}

// exe returns pid's executable and command line, through the cache.
func (p *Processes) exe(pid int, now time.Time) procEntry {
	p.mu.Lock()
	e, ok := p.exes[pid]
	p.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e
	}
	e = procEntry{path: p.sys.executable(pid), cmdline: p.sys.cmdline(pid), pid: pid, expires: now.Add(p.ttl)}
	p.mu.Lock()
	putBoundedLocked(p.exes, pid, e, now)
	p.mu.Unlock()
	return e
}

// hintLocked moves pid to the front of the hints.
func (p *Processes) hintLocked(pid int) {
	for i, h := range p.hints {
		if h == pid {
			copy(p.hints[1:i+1], p.hints[:i])
			p.hints[0] = pid
			return
		}
	}
	if len(p.hints) < maxProcessHints {
		p.hints = append(p.hints, 0)
	}
	copy(p.hints[1:], p.hints)
	p.hints[0] = pid
}

// Close releases the sock_diag sockets. Process still works afterwards,
// opening a socket per lookup.
func (p *Processes) Close() error {
	return p.sys.close()
}

// putBoundedLocked stores e under k, first making room in a full map:
// expired entries go, then arbitrary ones (map order is random) down to
// three quarters of the bound, so that a full map is not swept per insert.
func putBoundedLocked[K comparable](m map[K]procEntry, k K, e procEntry, now time.Time) {
	if _, ok := m[k]; !ok && len(m) >= maxProcessCache {
		for k, old := range m {
			if !now.Before(old.expires) {
				delete(m, k)
			}
		}
		for k := range m {
			if len(m) < maxProcessCache*3/4 {
				break
			}
			delete(m, k)
		}
	}
	m[k] = e
}
