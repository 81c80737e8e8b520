// Package userid says who is behind a flow: the owner of a local socket,
// through the system's user database, and for remote sources an identity
// map from address to user, fed by files, a login feed and the control API.
//
// It imports the standard library only.
package userid

import (
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Identity is a user and every group they belong to. It is immutable once
// published: the inspector keeps pointers to it.
type Identity struct {
	Name   string
	Groups []string // sorted
}

// InGroup reports whether the identity belongs to the group.
func (id *Identity) InGroup(g string) bool {
	_, ok := slices.BinarySearch(id.Groups, g)
	return ok
}

// Mapping says that a user is logged in at an address until it expires.
type Mapping struct {
	Addr    netip.Addr
	User    string
	Groups  []string
	Source  string    // "file", "feed", "api", "fleet"
	Expires time.Time // zero: never
}

// Map is the identity map of remote sources: which user is logged in at
// which address. Lookups read an immutable snapshot and allocate nothing;
// changes build a new snapshot.
type Map struct {
	mu   sync.Mutex // serialises writers
	snap atomic.Pointer[mapSnapshot]
	now  func() time.Time
}

type mapSnapshot struct {
	// byAddr holds every mapping of an address, one per user.
	byAddr map[netip.Addr][]entry
}

type entry struct {
	id      *Identity
	source  string
	expires time.Time
}

// NewMap returns an empty identity map. now is the clock (time.Now if nil).
func NewMap(now func() time.Time) *Map {
	if now == nil {
		now = time.Now
	}
	m := &Map{now: now}
	m.snap.Store(&mapSnapshot{byAddr: map[netip.Addr][]entry{}})
	return m
}

// Lookup returns who is logged in at addr, or nil when nobody is, or when
// several users are (a shared host: the address says nothing about which
// of them sent a flow, so rules about users do not match it).
func (m *Map) Lookup(addr netip.Addr) *Identity {
	es := m.snap.Load().byAddr[addr.Unmap()]
	now := m.now()
	var found *Identity
	for i := range es {
		if !es[i].expires.IsZero() && !now.Before(es[i].expires) {
			continue
		}
		if found != nil && found.Name != es[i].id.Name {
			return nil
		}
		found = es[i].id
	}
	return found
}

// Add records a login, replacing an earlier mapping of the same user at
// the same address.
func (m *Map) Add(mp Mapping) {
	m.update(func(s map[netip.Addr][]entry) {
		a := mp.Addr.Unmap()
		groups := slices.Clone(mp.Groups)
		slices.Sort(groups)
		groups = slices.Compact(groups)
		es := slices.DeleteFunc(slices.Clone(s[a]), func(e entry) bool { return e.id.Name == mp.User })
		s[a] = append(es, entry{id: &Identity{Name: mp.User, Groups: groups}, source: mp.Source, expires: mp.Expires})
	})
}

// Remove records a logout: the user is no longer at the address. An empty
// user removes every mapping of the address.
func (m *Map) Remove(addr netip.Addr, user string) {
	m.update(func(s map[netip.Addr][]entry) {
		a := addr.Unmap()
		if user == "" {
			delete(s, a)
			return
		}
		es := slices.DeleteFunc(slices.Clone(s[a]), func(e entry) bool { return e.id.Name == user })
		if len(es) == 0 {
			delete(s, a)
		} else {
			s[a] = es
		}
	})
}

// ReplaceSource replaces every mapping from one source (a reloaded file)
// with the given ones.
func (m *Map) ReplaceSource(source string, ms []Mapping) {
	m.update(func(s map[netip.Addr][]entry) {
		for a, es := range s {
			es = slices.DeleteFunc(slices.Clone(es), func(e entry) bool { return e.source == source })
			if len(es) == 0 {
				delete(s, a)
			} else {
				s[a] = es
			}
		}
		for _, mp := range ms {
			groups := slices.Clone(mp.Groups)
			slices.Sort(groups)
			a := mp.Addr.Unmap()
			s[a] = append(s[a], entry{id: &Identity{Name: mp.User, Groups: slices.Compact(groups)}, source: source, expires: mp.Expires})
		}
	})
}

func (m *Map) update(f func(map[netip.Addr][]entry)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.snap.Load().byAddr
	next := make(map[netip.Addr][]entry, len(old))
	now := m.now()
	for a, es := range old {
		es = slices.DeleteFunc(slices.Clone(es), func(e entry) bool { return !e.expires.IsZero() && !now.Before(e.expires) })
		if len(es) > 0 {
			next[a] = es
		}
	}
	f(next)
	m.snap.Store(&mapSnapshot{byAddr: next})
}

// List returns every live mapping, sorted by address and user.
func (m *Map) List() []Mapping {
	now := m.now()
	var out []Mapping
	for a, es := range m.snap.Load().byAddr {
		for _, e := range es {
			if !e.expires.IsZero() && !now.Before(e.expires) {
				continue
			}
			out = append(out, Mapping{Addr: a, User: e.id.Name, Groups: e.id.Groups, Source: e.source, Expires: e.expires})
		}
	}
	slices.SortFunc(out, func(x, y Mapping) int {
		if c := x.Addr.Compare(y.Addr); c != 0 {
			return c
		}
		if x.User < y.User {
			return -1
		}
		if x.User > y.User {
			return 1
		}
		return 0
	})
	return out
}

// SingleUserAddrs returns, for each user and group, the addresses where
// only that user is logged in: those the kernel can decide alone through
// identity sets ("user:alice" and "group:finance" as keys).
func (m *Map) SingleUserAddrs() map[string][]netip.Addr {
	out := map[string][]netip.Addr{}
	for a := range m.snap.Load().byAddr {
		id := m.Lookup(a)
		if id == nil {
			continue
		}
		out["user:"+id.Name] = append(out["user:"+id.Name], a)
		for _, g := range id.Groups {
			out["group:"+g] = append(out["group:"+g], a)
		}
	}
	for k := range out {
		slices.SortFunc(out[k], netip.Addr.Compare)
	}
	return out
}
