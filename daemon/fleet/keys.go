package fleet

import (
	"fmt"
	"strconv"
	"strings"
)

// Keys is the key layout under a prefix (default "/septa/"):
//
//	policy/current            the revision in force: every file of one push in one value
//	policy/history/REV        every revision ever pushed, REV zero-padded to 20 digits
//	inventory/hosts/NAME      a host's registration, under its lease
//	identity/NAME             the login sessions on a host, under its lease
//	status/NAME               what a host applied and its last error (no lease:
//	                          a dead host's last word stays visible)
//
// A revision is one value, so a host sees all of a push or none of it;
// the current and history keys are written in one transaction.
type Keys struct {
	Prefix string // ends in "/"
}

// NewKeys returns the layout under prefix, adding a final "/" if needed.
func NewKeys(prefix string) Keys {
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return Keys{Prefix: prefix}
}

// Current is the key of the revision in force.
func (k Keys) Current() string { return k.Prefix + "policy/current" }

// HistoryPrefix is the prefix of every revision's history key.
func (k Keys) HistoryPrefix() string { return k.Prefix + "policy/history/" }

// History is the key of revision rev.
func (k Keys) History(rev uint64) string { return fmt.Sprintf("%s%020d", k.HistoryPrefix(), rev) }

// HostsPrefix is the prefix of every host registration.
func (k Keys) HostsPrefix() string { return k.Prefix + "inventory/hosts/" }

// Host is the key of a host's registration.
func (k Keys) Host(name string) string { return k.HostsPrefix() + name }

// IdentityPrefix is the prefix of every host's sessions.
func (k Keys) IdentityPrefix() string { return k.Prefix + "identity/" }

// Identity is the key of a host's sessions.
func (k Keys) Identity(host string) string { return k.IdentityPrefix() + host }

// StatusPrefix is the prefix of every host's status.
func (k Keys) StatusPrefix() string { return k.Prefix + "status/" }

// Status is the key of a host's status.
func (k Keys) Status(host string) string { return k.StatusPrefix() + host }

// Name returns the last element of a key under prefix p (a host name),
// or false when key is not directly under p.
func Name(p, key string) (string, bool) {
	name, ok := strings.CutPrefix(key, p)
	if !ok || name == "" || strings.Contains(name, "/") {
		return "", false
	}
	return name, true
}

// HistoryRev parses the revision of a history key.
func (k Keys) HistoryRev(key string) (uint64, bool) {
	s, ok := Name(k.HistoryPrefix(), key)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}
