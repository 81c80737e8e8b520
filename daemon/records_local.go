package daemon

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// localAddrs reports whether an address is one of this host's, from the
// interface addresses read at most every refresh.
type localAddrs struct {
	refresh time.Duration
	// mu guards addrs and read.
	mu    sync.Mutex
	addrs map[netip.Addr]bool
	read  time.Time
}

func (l *localAddrs) has(a netip.Addr) bool {
	a = a.Unmap()
	if a.IsLoopback() {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if now := time.Now(); l.addrs == nil || now.Sub(l.read) >= l.refresh {
		l.read = now
		l.addrs = map[netip.Addr]bool{}
		if as, err := net.InterfaceAddrs(); err == nil {
			for _, x := range as {
				if p, err := netip.ParsePrefix(x.String()); err == nil {
					l.addrs[p.Addr().Unmap()] = true
				}
			}
		}
	}
	return l.addrs[a]
}
