// Package ids is the inspector's seam to intrusion-detection engines: a
// small registry of compiled-in plugins and the types they exchange with
// the inspector (what an engine sees of a flow and packet, and the alerts
// and verdict it returns).
//
// Plugins register a unique name from init; cmd/septad blank-imports
// them. The built-in Suricata-compatible signature engine lives in
// inspect/ids/sig. An engine value is immutable once built: reload builds
// a new one and the caller swaps it with an atomic.Pointer. Everything
// mutable per worker lives in the Scratch the engine hands out, and
// everything mutable per flow in the Flow the caller keeps in its flow
// table, so Inspect takes no locks.
//
// It imports the standard library, inspect/packet and inspect/appid.
package ids

import (
	"fmt"
	"log/slog"
	"net/netip"
	"sort"
	"sync"

	"github.com/septa-fw/septa/inspect/appid"
	"github.com/septa-fw/septa/inspect/packet"
)

// Engine inspects packets and streams of flows and reports alerts. Its
// methods are safe for concurrent use by several workers, each with its
// own Scratch.
type Engine interface {
	// Name is the name the engine's plugin registered.
	Name() string
	// NewScratch returns per-worker state for Inspect. A worker calls it
	// once per engine (again after a reload) and never shares it.
	NewScratch() Scratch
	// Inspect looks at one packet of a flow and fills res (which it
	// resets first). It must not allocate in the common case, must not
	// retain in or its slices, and returns no error: what it cannot
	// inspect it does not match.
	Inspect(in *Input, s Scratch, res *Result)
}

// Scratch is an engine's per-worker state. Only the engine that made it
// knows its type.
type Scratch interface {
	// Engine returns the engine that made the scratch, so that a worker
	// can tell a stale scratch after a reload.
	Engine() Engine
}

// Validator is implemented by engines that can check their configuration
// without being put into service (septa check).
type Validator interface {
	Validate() error
}

// Reporter is implemented by engines that load signatures from files:
// how many loaded, failed to parse (and were skipped), or loaded but can
// never match, and the first errors of the failed ones.
type Reporter interface {
	SignatureStats() (loaded, failed, inert int)
	LoadErrors() []error
}

// MatchLimiter is implemented by engines that bound matches whose time
// the input could otherwise make unbounded (a backtracking regular
// expression): PCRETimeouts counts the matches given up on, each taken
// as no match, since the engine was built.
type MatchLimiter interface {
	PCRETimeouts() uint64
}

// Closer is implemented by engines that hold resources to release when a
// reload replaces them.
type Closer interface {
	Close() error
}

// Config is what a plugin's constructor gets: the policy's IDS section,
// already resolved by the rules package.
type Config struct {
	// Files are signature files, in order; relative paths are taken
	// relative to Dir.
	Files []string
	Dir   string
	// AddressVars resolve $NAME in signature addresses; Negated means
	// every address but Prefixes.
	AddressVars []AddressVar
	// PortVars resolve $NAME in signature ports, in Suricata syntax
	// ("[80,8080]").
	PortVars map[string]string
	// Disabled sids are not loaded.
	Disabled []uint32
	// Actions override signatures' actions by sid (a detect-only sid in
	// a prevent rule: ActionAlert; a blocking one: ActionDrop).
	Actions map[uint32]Action
	// Strict makes a single bad signature fail the whole load.
	Strict bool
	// Logger, with a component attribute, for load-time messages only.
	Logger *slog.Logger
}

// AddressVar is a named address list.
type AddressVar struct {
	Name     string
	Prefixes []netip.Prefix
	Negated  bool
}

// Constructor builds an engine from its configuration.
type Constructor func(cfg Config) (Engine, error)

var registry struct {
	mu sync.Mutex // guards m
	m  map[string]Constructor
}

// Register makes an engine constructor available by name. It is meant to
// be called from init; an empty name, a nil constructor or a duplicate
// name is a programming error and panics.
func Register(name string, c Constructor) {
	if name == "" {
		panic("ids: Register with an empty name")
	}
	if c == nil {
		panic(fmt.Sprintf("ids: Register %q with a nil constructor", name))
	}
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if registry.m == nil {
		registry.m = make(map[string]Constructor)
	}
	if _, dup := registry.m[name]; dup {
		panic(fmt.Sprintf("ids: Register called twice for %q", name))
	}
	registry.m[name] = c
}

// Lookup returns the constructor registered under name.
func Lookup(name string) (Constructor, bool) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	c, ok := registry.m[name]
	return c, ok
}

// Names returns the registered plugin names, sorted.
func Names() []string {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	out := make([]string, 0, len(registry.m))
	for n := range registry.m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// New builds the engine registered under name.
func New(name string, cfg Config) (Engine, error) {
	c, ok := Lookup(name)
	if !ok {
		return nil, fmt.Errorf("ids: no engine %q (have %v)", name, Names())
	}
	e, err := c(cfg)
	if err != nil {
		return nil, fmt.Errorf("ids: %s: %w", name, err)
	}
	return e, nil
}

// Direction is the direction of a packet within its flow.
type Direction uint8

const (
	DirUnknown Direction = iota
	ToServer             // from the side that opened the flow
	ToClient
)

func (d Direction) String() string {
	switch d {
	case ToServer:
		return "to_server"
	case ToClient:
		return "to_client"
	}
	return "unknown"
}

// Input is what an engine sees of one packet. The slices alias the
// inspector's buffers and are valid only during Inspect.
type Input struct {
	// Packet is the decoded packet (addresses, ports, flags, payload).
	Packet *packet.Packet
	// Key is the flow's key; Dir the packet's direction in the flow.
	Key packet.FlowKey
	Dir Direction
	// Established: the TCP handshake completed (for UDP: both sides
	// have sent).
	Established bool
	// App and Info are app-ID's result; Info is nil until identified.
	App  appid.App
	Info *appid.Info
	// Stream holds each direction's reassembled bytes from the start of
	// the flow up to the inspection depth: Stream[0] what the client
	// sent, Stream[1] what the server sent. For UDP, the first datagram
	// of each direction.
	Stream [2][]byte
	// Now is the worker clock in nanoseconds, for thresholds.
	Now int64
	// Flow is the engine's state for this flow, kept by the caller in
	// its flow table entry (zero value for a new flow).
	Flow *Flow
}

// Flow is per-flow engine state. The inspector keeps one in each flow
// entry and never reads it; engines use its fields as documented by
// them. Its size is fixed so the flow table stays flat.
type Flow struct {
	// Bits are flag bits by engine-assigned index (flowbits).
	Bits [FlowBitWords]uint64
	// Alerted are engine ids that already alerted on this flow, so that
	// a match in the growing stream is reported once.
	Alerted  [MaxFlowAlerts]uint32
	NAlerted uint8
	// Gen is the engine generation that wrote the state; an engine
	// clears state written by another generation (bit indexes differ).
	Gen uint32
	// Stream is the engine's progress through each direction's stream
	// (0: to server), so that it inspects new bytes only.
	Stream [2]StreamProgress
	// TLS is the server's certificate chain (TLS 1.2 and older), parsed
	// once per flow when an engine needs it; TLSDone says the engine
	// stopped looking (TLS holds the chain, or nil when the flow has
	// none it can read).
	TLS     *appid.TLSCerts
	TLSDone bool
}

// StreamProgress is an engine's incremental inspection state for one
// direction of a flow's stream.
type StreamProgress struct {
	// Scanned is the length of the stream the engine has seen.
	Scanned uint32
	// App is the app-ID result the stream was scanned with; when it
	// changes, the engine starts again from the beginning.
	App appid.App
	// Overflow: Pending could not hold every id that needed it; the
	// engine then inspects the whole stream on every packet.
	Overflow bool
	// Pending are engine ids to check again on the next packet though
	// the new bytes do not mention them.
	NPending uint8
	Pending  [MaxFlowPending]uint32
}

const (
	// FlowBitWords bounds flowbits per engine at 64 times this.
	FlowBitWords = 32
	// MaxFlowAlerts bounds the alerts remembered per flow; later
	// matches of other signatures are still reported, but repeats of
	// those beyond the bound may be reported again.
	MaxFlowAlerts = 16
	// MaxFlowPending bounds StreamProgress.Pending.
	MaxFlowPending = 12
)

// Action is what a signature asks for.
type Action uint8

const (
	ActionUnknown Action = iota
	ActionAlert
	ActionDrop
	ActionReject
	ActionPass
)

func (a Action) String() string {
	switch a {
	case ActionAlert:
		return "alert"
	case ActionDrop:
		return "drop"
	case ActionReject:
		return "reject"
	case ActionPass:
		return "pass"
	}
	return "unknown"
}

// Alert is one signature match. Msg and Class alias the engine's
// immutable data: keep the engine alive (or copy) to use them later.
type Alert struct {
	Action   Action
	GID, SID uint32
	Rev      uint32
	Priority uint8
	Msg      string
	Class    string
	// Noalert: the signature matched only to set state (flowbits
	// noalert); it is not reported as an event.
	Noalert bool
}

// MaxAlerts bounds the alerts of one Result.
const MaxAlerts = 16

// Result is what Inspect returns. It is a fixed-size value the worker
// reuses, so returning it costs no allocation.
type Result struct {
	Alerts  [MaxAlerts]Alert
	NAlerts int
	// Dropped counts alerts beyond MaxAlerts.
	Dropped int
	// Verdict is Deny when a drop or reject signature matched, Allow
	// when a pass signature matched first, else Inspect (keep going).
	Verdict packet.Verdict
	// Reason is ReasonSignature with Deny.
	Reason packet.Reason
}

// Reset empties r.
func (r *Result) Reset() {
	r.NAlerts, r.Dropped = 0, 0
	r.Verdict, r.Reason = packet.Inspect, packet.ReasonUnknown
}

// Add appends an alert, counting it as dropped when r is full.
func (r *Result) Add(a Alert) {
	if r.NAlerts == MaxAlerts {
		r.Dropped++
		return
	}
	r.Alerts[r.NAlerts] = a
	r.NAlerts++
}
