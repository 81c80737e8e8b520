package userid

import (
	"os/user"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Local resolves the owners of local sockets (uid and gid, as the queue
// reports them) to users and all their groups through the system's user
// database. os/user goes through NSS when built with cgo, so LDAP and SSSD
// users resolve too. Results, failures included, are cached for a TTL.
type Local struct {
	ttl    time.Duration
	now    func() time.Time
	lookup func(uid uint32) (*Identity, error)

	mu    sync.RWMutex // guards cache
	cache map[uint32]localEntry
}

type localEntry struct {
	id      *Identity // nil: no such user
	expires time.Time
}

// NewLocal returns a resolver caching for ttl; now is the clock (time.Now
// if nil).
func NewLocal(ttl time.Duration, now func() time.Time) *Local {
	if now == nil {
		now = time.Now
	}
	return &Local{ttl: ttl, now: now, lookup: lookupNSS, cache: map[uint32]localEntry{}}
}

// ByUID returns the user with the uid, or nil if the database has none.
func (l *Local) ByUID(uid uint32) *Identity {
	now := l.now()
	l.mu.RLock()
	e, ok := l.cache[uid]
	l.mu.RUnlock()
	if ok && now.Before(e.expires) {
		return e.id
	}
	id, err := l.lookup(uid)
	if err != nil {
		id = nil
	}
	l.mu.Lock()
	l.cache[uid] = localEntry{id: id, expires: now.Add(l.ttl)}
	l.mu.Unlock()
	return id
}

func lookupNSS(uid uint32) (*Identity, error) {
	u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10))
	if err != nil {
		return nil, err
	}
	gids, err := u.GroupIds()
	if err != nil {
		gids = []string{u.Gid}
	}
	id := &Identity{Name: u.Username}
	for _, gid := range gids {
		if g, err := user.LookupGroupId(gid); err == nil {
			id.Groups = append(id.Groups, g.Name)
		}
	}
	slices.Sort(id.Groups)
	id.Groups = slices.Compact(id.Groups)
	return id, nil
}
