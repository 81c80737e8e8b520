package fleet

import (
	"maps"
	"slices"
	"time"
)

// Status is what a host writes under status/NAME after every attempt to
// apply a revision or a change of inventory or identity.
type Status struct {
	Host string `json:"host"`
	// Revision is the policy revision in force, Digest its files' hash.
	Revision uint64    `json:"revision"`
	Digest   string    `json:"digest,omitempty"`
	Applied  time.Time `json:"applied"`
	// Error is the error of the last revision this host refused or could
	// not apply, ErrorRevision that revision; empty once a later one
	// applies.
	Error         string    `json:"error,omitempty"`
	ErrorRevision uint64    `json:"error_revision,omitempty"`
	Updated       time.Time `json:"updated"`
	Counters      Counters  `json:"counters"`
}

// Counters count what a host's agent did since septad started.
type Counters struct {
	Applied    uint64 `json:"applied"`     // revisions applied
	Refused    uint64 `json:"refused"`     // revisions refused (invalid, or the kernel said no)
	SetUpdates uint64 `json:"set_updates"` // inventory or identity changes applied as set updates
	Resyncs    uint64 `json:"resyncs"`     // full re-reads after a lost watch
	Hosts      int    `json:"hosts"`       // registered hosts in its inventory
	Sessions   int    `json:"sessions"`    // remote login sessions in its identity map
}

// State is a host's standing in the fleet.
type State uint8

const (
	StateUnknown State = iota
	StateOK            // runs the current revision
	StateBehind        // runs an older revision
	StateFailing       // refused the current revision
	StateOffline       // its lease expired: it is gone or cut off
)

func (s State) String() string {
	switch s {
	case StateOK:
		return "ok"
	case StateBehind:
		return "behind"
	case StateFailing:
		return "failing"
	case StateOffline:
		return "offline"
	}
	return "unknown"
}

// MarshalText writes the state's name.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// HostState is one row of `septa fleet status`.
type HostState struct {
	Host     string    `json:"host"`
	State    State     `json:"state"`
	Revision uint64    `json:"revision"`
	Error    string    `json:"error,omitempty"`
	Updated  time.Time `json:"updated,omitzero"`
	Counters Counters  `json:"counters"`
}

// Summarize joins the hosts' statuses with the registered hosts against
// the current revision: every host that has a status or a registration
// gets one row, in name order.
func Summarize(current uint64, statuses map[string]Status, registered map[string]bool) []HostState {
	names := map[string]bool{}
	for n := range statuses {
		names[n] = true
	}
	for n := range registered {
		names[n] = true
	}
	var out []HostState
	for _, n := range slices.Sorted(maps.Keys(names)) {
		st, has := statuses[n]
		row := HostState{Host: n, Revision: st.Revision, Updated: st.Updated, Counters: st.Counters}
		switch {
		case !registered[n]:
			row.State = StateOffline
		case !has:
			row.State = StateUnknown
		case st.Error != "" && st.ErrorRevision >= current:
			row.State = StateFailing
		case st.Revision < current:
			row.State = StateBehind
		default:
			row.State = StateOK
		}
		if st.Error != "" {
			row.Error = st.Error
		}
		out = append(out, row)
	}
	return out
}
