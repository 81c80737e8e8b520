// Package ir holds the compiled policy: the contract between the policy
// compiler (package rules) and its consumers, the kernel side (package nft)
// and the userspace inspector (package inspect).
//
// Everything here is plain data from the standard library, in a
// deterministic order, so that two compiles of the same policy produce the
// same Policy and the same Dump. Changing a type here is an API change:
// update the golden files in the same commit.
//
// This package imports only the standard library.
package ir

import (
	"net/netip"
	"sort"
	"strconv"
	"time"
)

// Policy is one compiled, validated policy generation.
type Policy struct {
	Settings Settings
	// Sets are the named address sets (zones, groups, identities), sorted
	// by name. Rules refer to them by name.
	Sets []Set
	// Services are the services the rules use, sorted by name.
	Services []Service
	// Rules are in evaluation order: section order, then file order, then
	// order within the file. The first rule that matches decides.
	Rules []Rule
	// IDS is the signature configuration, nil when the policy has none.
	IDS *IDS
}

// Settings are the policy-wide defaults.
type Settings struct {
	// Default is what happens to traffic no rule matched: ActionDeny or
	// ActionAllow.
	Default Action
	// Mode is ModeEnforce, or ModeObserve to log what would be denied and
	// deny nothing.
	Mode Mode
	// FailMode applies to traffic that needs inspection when the inspector
	// is not there or overloaded.
	FailMode FailMode
	// Log is the default logging of rules that do not say.
	Log LogLevel
}

// SetKind says where the members of a set come from.
type SetKind int

const (
	SetUnknown  SetKind = iota
	SetZone             // a zone: address ranges from the policy
	SetGroup            // a group: tags, hosts, CIDRs and other groups
	SetIdentity         // addresses where members of an identity are logged in, filled at run time
)

func (k SetKind) String() string {
	switch k {
	case SetZone:
		return "zone"
	case SetGroup:
		return "group"
	case SetIdentity:
		return "identity"
	}
	return "unknown"
}

// Set is a named address set. Its Name is "KIND:NAME" ("zone:prod",
// "group:shop-db", "identity:finance"), unique within a Policy.
type Set struct {
	Name string
	Kind SetKind
	// Prefixes are the members: merged, de-duplicated, IPv4 before IPv6,
	// each sorted by address. A host address is a /32 or /128.
	Prefixes []netip.Prefix
	// Selector is a group's tag selector in canonical form, empty if none.
	// It lets the daemon recompute the members when the inventory changes.
	Selector string
	// Hosts are the inventory host names that the selector and the host
	// list matched, sorted. Informational: Prefixes is what is enforced.
	Hosts  []string
	Origin Origin
}

// Proto is an IP protocol number (IPPROTO_*).
type Proto uint8

const (
	ProtoAny    Proto = 0
	ProtoICMP   Proto = 1
	ProtoTCP    Proto = 6
	ProtoUDP    Proto = 17
	ProtoICMPv6 Proto = 58
	ProtoSCTP   Proto = 132
)

func (p Proto) String() string {
	switch p {
	case ProtoAny:
		return "any"
	case ProtoICMP:
		return "icmp"
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	case ProtoICMPv6:
		return "icmpv6"
	case ProtoSCTP:
		return "sctp"
	}
	return "proto-" + strconv.Itoa(int(p))
}

// HasPorts reports whether the protocol has port numbers.
func (p Proto) HasPorts() bool {
	return p == ProtoTCP || p == ProtoUDP || p == ProtoSCTP
}

// Port is a protocol with a destination port range. First == Last == 0
// means every port (or a protocol without ports).
type Port struct {
	Proto Proto
	First uint16
	Last  uint16
}

// AllPorts reports whether p matches every port of its protocol.
func (p Port) AllPorts() bool { return p.First == 0 && p.Last == 0 }

func (p Port) String() string {
	if p.AllPorts() {
		return p.Proto.String()
	}
	if p.First == p.Last {
		return p.Proto.String() + "/" + strconv.Itoa(int(p.First))
	}
	return p.Proto.String() + "/" + strconv.Itoa(int(p.First)) + "-" + strconv.Itoa(int(p.Last))
}

// Service is a named set of ports, optionally with the application that is
// expected on them.
type Service struct {
	Name  string
	Ports []Port // sorted
	// App is the application expected on the ports ("postgresql"); empty
	// for any. A rule using a service with an App needs inspection.
	App    string
	Origin Origin
}

// Section is one of the fixed rule sections, evaluated in this order.
type Section int

const (
	SectionUnknown Section = iota
	// SectionFailsafe holds the compiler's failsafe rules (SSH to this
	// host, unless the policy removes them): they run before every written
	// rule, so that no policy locks the operator out by accident.
	SectionFailsafe
	SectionEmergency
	SectionInfrastructure
	SectionEnvironment
	SectionApplication
	// SectionImplicit holds the zone isolation rules the compiler adds:
	// they run after every written rule and before the default.
	SectionImplicit
)

func (s Section) String() string {
	switch s {
	case SectionFailsafe:
		return "failsafe"
	case SectionEmergency:
		return "emergency"
	case SectionInfrastructure:
		return "infrastructure"
	case SectionEnvironment:
		return "environment"
	case SectionApplication:
		return "application"
	case SectionImplicit:
		return "implicit"
	}
	return "unknown"
}

// Apps are the application names that app-ID reports and rules may ask
// for, sorted. The names follow Suricata's app-layer names where it has one.
var Apps = []string{
	"amqp", "dns", "ftp", "grpc", "http", "http2", "imap", "kafka", "kerberos",
	"ldap", "memcached", "mongodb", "mqtt", "mysql", "ntp", "pop3", "postgresql",
	"quic", "rdp", "redis", "sip", "smb", "smtp", "snmp", "ssh", "tls",
}

// Direction says which traffic of this host a rule applies to.
type Direction int

const (
	DirUnknown Direction = iota
	DirIn                // traffic to this host (and forwarded traffic)
	DirOut               // traffic from this host (and forwarded traffic)
	DirBoth
)

func (d Direction) String() string {
	switch d {
	case DirIn:
		return "in"
	case DirOut:
		return "out"
	case DirBoth:
		return "both"
	}
	return "unknown"
}

// Action is a rule's verdict.
type Action int

const (
	ActionUnknown Action = iota
	ActionAllow
	ActionDeny   // drop silently
	ActionReject // TCP reset, ICMP unreachable otherwise
)

func (a Action) String() string {
	switch a {
	case ActionAllow:
		return "allow"
	case ActionDeny:
		return "deny"
	case ActionReject:
		return "reject"
	}
	return "unknown"
}

// Mode is enforce or observe.
type Mode int

const (
	ModeUnknown Mode = iota
	ModeEnforce
	ModeObserve
)

func (m Mode) String() string {
	switch m {
	case ModeEnforce:
		return "enforce"
	case ModeObserve:
		return "observe"
	}
	return "unknown"
}

// FailMode is what happens to traffic that needs inspection when the
// inspector cannot inspect it.
type FailMode int

const (
	FailUnknown FailMode = iota
	FailOpen             // accept
	FailClosed           // drop
)

func (f FailMode) String() string {
	switch f {
	case FailOpen:
		return "open"
	case FailClosed:
		return "closed"
	}
	return "unknown"
}

// LogLevel is which verdicts are logged.
type LogLevel int

const (
	LogUnknown LogLevel = iota
	LogNone
	LogDeny // denied and would-be-denied traffic
	LogAll
)

func (l LogLevel) String() string {
	switch l {
	case LogNone:
		return "none"
	case LogDeny:
		return "deny"
	case LogAll:
		return "all"
	}
	return "unknown"
}

// IDSMode is what the signature engine does inside a rule's traffic.
type IDSMode int

const (
	IDSUnknown IDSMode = iota
	IDSOff
	IDSDetect  // alert only
	IDSPrevent // drop, reset, optionally quarantine
)

func (m IDSMode) String() string {
	switch m {
	case IDSOff:
		return "off"
	case IDSDetect:
		return "detect"
	case IDSPrevent:
		return "prevent"
	}
	return "unknown"
}

// Need is a bit set of what a rule needs beyond addresses, ports and
// protocol. A rule with no needs is decided in the kernel.
type Need uint8

const (
	NeedApp     Need = 1 << iota // application identity (app-ID)
	NeedUser                     // user or group of the source
	NeedProcess                  // the local process
	NeedIDS                      // signature inspection
)

// KernelOnly reports whether the kernel decides the rule alone.
func (n Need) KernelOnly() bool { return n == 0 }

func (n Need) String() string {
	if n == 0 {
		return "kernel"
	}
	s := ""
	for _, b := range []struct {
		bit  Need
		name string
	}{{NeedApp, "app"}, {NeedUser, "user"}, {NeedProcess, "process"}, {NeedIDS, "ids"}} {
		if n&b.bit != 0 {
			if s != "" {
				s += ","
			}
			s += b.name
		}
	}
	return "inspect(" + s + ")"
}

// Origin is where something was written: a policy file as the user named
// it, and a 1-based line. Implicit rules have File "<implicit>".
type Origin struct {
	File string
	Line int
}

func (o Origin) String() string {
	if o.Line == 0 {
		return o.File
	}
	return o.File + ":" + strconv.Itoa(o.Line)
}

// Endpoint is one end of a rule. It matches an address if Any is set, or
// if the address is this host's own (Self), in one of the named Sets, or
// in one of the Prefixes.
type Endpoint struct {
	Any      bool
	Self     bool
	Sets     []string       // set names, sorted
	Prefixes []netip.Prefix // literal prefixes, merged and sorted
}

// IsAny reports whether the endpoint matches every address.
func (e Endpoint) IsAny() bool { return e.Any }

// AppMatch is what a rule asks of the application.
type AppMatch struct {
	Name string // app-ID name ("http", "tls", "postgresql"); empty for any
	// SNI are TLS server name patterns ("*.example.com"); empty for any.
	SNI []string
	// HTTPHost are HTTP Host patterns; empty for any.
	HTTPHost []string
}

// IsZero reports whether the rule asks nothing of the application.
func (a AppMatch) IsZero() bool {
	return a.Name == "" && len(a.SNI) == 0 && len(a.HTTPHost) == 0
}

// Rule is one compiled rule.
type Rule struct {
	// ID is the rule's name, unique in the policy. Implicit rules have IDs
	// that cannot be written in a policy ("zone-isolation:prod").
	ID string
	// Index is the position in Policy.Rules, 0-based.
	Index   int
	Origin  Origin
	Section Section
	Dir     Direction
	From    Endpoint
	To      Endpoint
	// Ports are the destination ports the rule covers, merged and sorted;
	// empty for every protocol and port.
	Ports []Port
	// App is the application the rule asks for (from the rule, or from
	// its services); zero for any.
	App AppMatch
	// Users are identities of the source ("user:alice", "group:finance"),
	// sorted; empty for anyone.
	Users []string
	// Processes are executable paths of the local process, for outbound
	// traffic; empty for any.
	Processes []string
	Action    Action
	IDS       IDSMode
	Log       bool
	// Observe: the rule logs what it would deny and accepts instead.
	Observe bool
	// Expires is when the rule stops matching; zero for never.
	Expires time.Time
	Needs   Need
	// PassFirstPackets: while the inspector decides a flow of this rule,
	// the client's first packets pass instead of being held until the
	// decision (holding is the default: a denied application then never
	// completes a request).
	PassFirstPackets bool
	// Quarantine: when a signature blocks a flow of this rule (ids
	// prevent), its source is quarantined this long; zero for never.
	Quarantine time.Duration
}

// IDS is the signature configuration.
type IDS struct {
	// Files are signature file paths, absolute or relative to the policy
	// directory as written, in order.
	Files []string
	// AddressVars are Suricata address variables (HOME_NET, ...) resolved
	// to prefixes, by name.
	AddressVars []AddressVar
	// PortVars are Suricata port variables (HTTP_PORTS, ...), by name.
	PortVars []PortVar
	// Disabled are signature ids turned off, sorted.
	Disabled []uint32
	// Actions override signature actions ("alert", "drop", "reject",
	// "pass"), sorted by sid.
	Actions []SigAction
}

// SigAction overrides one signature's action.
type SigAction struct {
	SID    uint32
	Action string
}

// AddressVar is a named address list for signatures.
type AddressVar struct {
	Name     string
	Prefixes []netip.Prefix
	// Negated: the variable is every address except Prefixes.
	Negated bool
}

// PortVar is a named port list for signatures, in Suricata syntax
// ("[80,8080]").
type PortVar struct {
	Name  string
	Value string
}

// Set returns the set with the given name, or nil.
func (p *Policy) Set(name string) *Set {
	i := sort.Search(len(p.Sets), func(i int) bool { return p.Sets[i].Name >= name })
	if i < len(p.Sets) && p.Sets[i].Name == name {
		return &p.Sets[i]
	}
	return nil
}
