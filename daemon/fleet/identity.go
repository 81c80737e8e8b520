package fleet

import (
	"fmt"
	"net/netip"
	"os"
	"os/user"
	"slices"
)

// Session is a user logged in interactively on a host, with every group
// the host's user database gives them.
type Session struct {
	User   string   `json:"user"`
	Groups []string `json:"groups,omitempty"`
}

// IdentityRecord is what a host publishes under identity/NAME: its
// addresses and who is logged in on it. Every other host maps each of
// the addresses to each of the users.
type IdentityRecord struct {
	Host      string       `json:"host"`
	Addresses []netip.Addr `json:"addresses"`
	Sessions  []Session    `json:"sessions"`
}

// RemoteSession is one address-to-user mapping from another host.
type RemoteSession struct {
	Host   string
	Addr   netip.Addr
	User   string
	Groups []string
}

// Flatten turns identity records into mappings, in record order.
func Flatten(recs []IdentityRecord) []RemoteSession {
	var out []RemoteSession
	for _, r := range recs {
		for _, a := range r.Addresses {
			for _, s := range r.Sessions {
				out = append(out, RemoteSession{Host: r.Host, Addr: a, User: s.User, Groups: s.Groups})
			}
		}
	}
	return out
}

// DecodeIdentity parses and checks a stored identity record.
func DecodeIdentity(key, name string, data []byte) (IdentityRecord, error) {
	var rec IdentityRecord
	if err := strictJSON(data, &rec); err != nil {
		return rec, fmt.Errorf("identity %s: %w", key, err)
	}
	if rec.Host != name {
		return rec, fmt.Errorf("identity %s: host %q does not match its key", key, rec.Host)
	}
	if len(rec.Sessions) > 4096 || len(rec.Addresses) > 256 {
		return rec, fmt.Errorf("identity %s: too many sessions or addresses", key)
	}
	for _, s := range rec.Sessions {
		if s.User == "" || len(s.User) > 256 {
			return rec, fmt.Errorf("identity %s: a user name of %d bytes", key, len(s.User))
		}
	}
	return rec, nil
}

// UtmpSessions reads the interactive sessions of a utmp file, with each
// user's groups from the user database; a user the database does not
// know keeps no groups.
func UtmpSessions(path string) ([]Session, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("utmp: %w", err)
	}
	var out []Session
	for _, name := range Logins(ParseUtmp(data)) {
		out = append(out, Session{User: name, Groups: userGroups(name)})
	}
	slices.SortFunc(out, func(a, b Session) int {
		if a.User < b.User {
			return -1
		}
		if a.User > b.User {
			return 1
		}
		return 0
	})
	return out, nil
}

func userGroups(name string) []string {
	u, err := user.Lookup(name)
	if err != nil {
		return nil
	}
	ids, err := u.GroupIds()
	if err != nil {
		return nil
	}
	var out []string
	for _, id := range ids {
		if g, err := user.LookupGroupId(id); err == nil {
			out = append(out, g.Name)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
