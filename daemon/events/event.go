package events

import (
	"net/netip"
	"time"
)

// Kind is the kind of an event. The numbers are stable: they reach
// metrics and the control API. Retire a value, never renumber it.
type Kind uint8

const (
	KindUnknown Kind = 0
	KindAlert   Kind = 1 // an IDS signature matched
	KindFlow    Kind = 2 // a flow was allowed (or let pass in observe mode), or a flow record
	KindDrop    Kind = 3 // a flow was denied or rejected
	KindPolicy  Kind = 4 // a policy was applied, or a reload failed
	KindAppID   Kind = 5 // app-ID identified (or failed to identify) a flow
	kindCount        = 6
)

// NumKinds is one more than the largest Kind, for counter arrays.
const NumKinds = kindCount

var kindNames = [kindCount]string{
	KindUnknown: "unknown",
	KindAlert:   "alert",
	KindFlow:    "flow",
	KindDrop:    "drop",
	KindPolicy:  "policy",
	KindAppID:   "appid",
}

// String returns the kind's name, as in SEPTA_EVENT and EVE's event_type.
func (k Kind) String() string {
	if k < kindCount {
		return kindNames[k]
	}
	return "unknown"
}

// ParseKind returns the Kind named name, or KindUnknown and false.
func ParseKind(name string) (Kind, bool) {
	for k := Kind(1); k < kindCount; k++ {
		if kindNames[k] == name {
			return k, true
		}
	}
	return KindUnknown, false
}

// Kinds is a set of kinds, a bit per Kind. The zero value means every kind
// wherever a filter is taken.
type Kinds uint64

// KindsOf returns the set holding ks.
func KindsOf(ks ...Kind) Kinds {
	var s Kinds
	for _, k := range ks {
		s |= 1 << k
	}
	return s
}

// Has reports whether k is in the set; the empty set holds every kind.
func (s Kinds) Has(k Kind) bool {
	return s == 0 || s&(1<<k) != 0
}

// Event is one event of any kind. Fields a kind does not use stay zero
// (and are left out of its JSON). Once published an Event is shared by
// every sink and must not be modified; slices included.
//
// KindFlow carries two things, told apart by End (IsRecord): a decision
// on a flow (End zero: the inspector or the kernel allowed it, or observe
// mode let it pass), and a flow record (End set: the flow ended, with its
// counters, written once per flow). EVE and journald call decisions
// "verdict" and records "flow" (EventType), as Suricata's event_type
// "flow" is its end-of-flow record.
type Event struct {
	Kind Kind `json:",omitzero"`
	// Time is when the event happened (the decision, the alert, the
	// reload), not when a sink wrote it.
	Time time.Time `json:",omitzero"`
	// FlowID identifies the flow in every event about it (see FlowID).
	FlowID uint64 `json:",omitzero"`

	// Src is the client (the side that opened the flow), Dst the server.
	Src, Dst netip.AddrPort `json:",omitzero"`
	// Proto is the IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6).
	Proto uint8 `json:",omitzero"`
	// App is septa's application name, as policies write it
	// ("postgresql"); "unknown" when app-ID ran and failed, "" when the
	// flow was decided without app-ID.
	App string `json:",omitzero"`
	// AppProto is the same in Suricata's app-layer names ("pgsql",
	// "failed"); see AppProto.
	AppProto string `json:",omitzero"`

	// Rule is the deciding policy rule's ID, "" for the policy default.
	Rule string `json:",omitzero"`
	// Action is the verdict: "allow", "deny" or "reject".
	Action string `json:",omitzero"`
	// Observe: the flow would have been denied; observe mode let it pass.
	Observe bool `json:",omitzero"`
	// Reason says why the verdict was given ("policy", "app", "user",
	// ...; packet.Reason's names).
	Reason string `json:",omitzero"`

	// User and Groups are the identity behind the flow.
	User    string   `json:",omitzero"`
	Groups  []string `json:",omitzero"`
	Process string   `json:",omitzero"`
	// Cmdline is the local process's command line.
	Cmdline string `json:",omitzero"`
	// ZoneSrc and ZoneDst are the zones of the two ends; GroupsSrc and
	// GroupsDst their inventory groups.
	ZoneSrc, ZoneDst     string   `json:",omitzero"`
	GroupsSrc, GroupsDst []string `json:",omitzero"`
	// SNI and HTTPHost are what app-ID read from the flow.
	SNI, HTTPHost string `json:",omitzero"`

	// Counters of the flow so far: client to server, server to client.
	PacketsToServer, PacketsToClient uint64 `json:",omitzero"`
	BytesToServer, BytesToClient     uint64 `json:",omitzero"`
	// Start and End of the flow; End is zero while it lasts.
	Start, End time.Time `json:",omitzero"`
	// State is the flow's state for flow records ("new", "established",
	// "closed"), EndReason why its record was written ("timeout",
	// "forced", "shutdown"), as in Suricata's flow event.
	State, EndReason string `json:",omitzero"`
	// Alerted: an alert was raised on the flow.
	Alerted bool `json:",omitzero"`
	// Decider is who decided the flow: "kernel" (a rule nft evaluates)
	// or "inspector" (septad's inspector); "" when not known.
	Decider string `json:",omitzero"`

	// Alert is set for KindAlert.
	Alert Alert `json:",omitzero"`
	// Policy is set for KindPolicy.
	Policy Policy `json:",omitzero"`
}

// Deciders of Event.Decider.
const (
	DeciderKernel    = "kernel"
	DeciderInspector = "inspector"
)

// IsRecord reports whether e is a flow record: KindFlow with End set.
func (e *Event) IsRecord() bool { return e.Kind == KindFlow && !e.End.IsZero() }

// EventType is e's type in EVE (event_type) and journald (SEPTA_EVENT):
// the Kind's name, except for KindFlow, which is "flow" for a flow record
// (Suricata's end-of-flow record) and "verdict" for a decision.
func EventType(e *Event) string {
	if e.Kind == KindFlow && e.End.IsZero() {
		return VerdictEventType
	}
	return e.Kind.String()
}

// VerdictEventType is the EVE event_type and SEPTA_EVENT of a decision
// that let a flow pass (KindFlow without End).
const VerdictEventType = "verdict"

// Alert is what an IDS signature match adds to an event, in Suricata's
// terms.
type Alert struct {
	// Action is "allowed" (detect) or "blocked" (prevent).
	Action    string
	GID, SID  uint32
	Rev       uint32
	Signature string // the rule's msg
	Category  string // the classtype's description
	Severity  int    // the classtype's priority: 1 is the most severe
}

// Policy is what a policy change adds to an event.
type Policy struct {
	// Generation counts applied policies since the table was created.
	Generation uint64
	// Revision identifies the policy's content (a hash of its files).
	Revision string
	// Error is set when a reload failed; the running policy stayed.
	Error string
}

// Alert actions, as in Suricata's EVE alert.action.
const (
	AlertAllowed = "allowed"
	AlertBlocked = "blocked"
)
