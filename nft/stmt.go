package nft

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/septa-fw/septa/rules/ir"
)

// Stmt is one statement of a planned rule: a match, an action or a
// verdict. Each prints as the nft syntax it stands for; encode_linux.go
// turns each into google/nftables expressions.
type Stmt interface {
	String() string
	stmt()
}

// Conntrack state bits, as nft and the kernel number them
// (include/uapi/linux/netfilter/nf_conntrack_common.h, NF_CT_STATE_BIT).
const (
	CtInvalid     uint32 = 1
	CtEstablished uint32 = 2
	CtRelated     uint32 = 4
	CtNew         uint32 = 8
)

// CtState matches if the flow's state has any of Bits.
type CtState struct{ Bits uint32 }

// CtDirection matches packets of the flow's original (Reply false) or
// reply direction.
type CtDirection struct{ Reply bool }

// CtMark matches ct mark & Mask == Value.
type CtMark struct{ Mask, Value uint32 }

// MetaMark matches meta mark & Mask == Value.
type MetaMark struct{ Mask, Value uint32 }

// Iface matches the input (or output) interface by index.
type Iface struct {
	Out   bool
	Index uint32
}

// NFProto matches the packet's family (the guard every address match
// needs in an inet table).
type NFProto struct{ Family Family }

// AddrField is which address an Addr match reads.
type AddrField int

const (
	AddrSrc AddrField = iota // ip saddr / ip6 saddr
	AddrDst                  // ip daddr / ip6 daddr
)

func (f AddrField) String(fam Family) string {
	if f == AddrSrc {
		return fam.ip() + " saddr"
	}
	return fam.ip() + " daddr"
}

// Addr matches an address against a named set (Set) or literal prefixes.
type Addr struct {
	Field    AddrField
	Family   Family
	Set      string
	Prefixes []netip.Prefix
}

// L4Proto matches the packet's transport protocol (meta l4proto).
type L4Proto struct{ Proto ir.Proto }

// PortRange is an inclusive range of port numbers.
type PortRange struct{ First, Last uint16 }

func (r PortRange) String() string {
	if r.First == r.Last {
		return strconv.Itoa(int(r.First))
	}
	return strconv.Itoa(int(r.First)) + "-" + strconv.Itoa(int(r.Last))
}

// Port matches the packet's destination port (th dport), or its source
// port (th sport, for reply-direction packets), against ranges. It needs
// an L4Proto guard before it.
type Port struct {
	Src    bool
	Ranges []PortRange
}

// ICMPv6Type matches the ICMPv6 type of the packet in [First, Last].
type ICMPv6Type struct{ First, Last uint8 }

// TimeBefore matches while the wall clock is before T (meta time < T).
type TimeBefore struct{ T time.Time }

// TCP header bits (RFC 9293 section 3.1) and the Fast Open option kind
// (RFC 7413).
const (
	tcpFlagFin     = 0x01
	tcpFlagSyn     = 0x02
	tcpFlagRst     = 0x04
	tcpFlagAck     = 0x10
	tcpOptFastOpen = 34
)

// TCPFlags matches a TCP packet whose flags, masked, equal Value.
type TCPFlags struct{ Mask, Value uint8 }

// TCPHandshake matches a TCP handshake packet without data: a SYN (in a
// flow's original direction) or a SYN-ACK (Reply), with no other flag of
// FIN, RST, ACK and no TCP Fast Open option, so that it cannot carry data
// to an application (RFC 7413).
type TCPHandshake struct{ Reply bool }

// Counter counts packets and bytes.
type Counter struct{}

// Log sends the packet to an NFLOG group with a prefix.
type Log struct {
	Group  uint16
	Prefix string
}

// SetCtMark sets ct mark to ct mark & ^Mask | Value.
type SetCtMark struct{ Mask, Value uint32 }

// ClearMetaMark sets meta mark to meta mark & ^Mask.
type ClearMetaMark struct{ Mask uint32 }

// VerdictKind is a terminal statement.
type VerdictKind int

const (
	VerdictAccept VerdictKind = iota + 1
	VerdictDrop
	VerdictJump
)

// Verdict is accept, drop or a jump to Chain.
type Verdict struct {
	Kind  VerdictKind
	Chain string
}

// Reject answers with a TCP reset (TCP) or an ICMP(v6) port unreachable.
type Reject struct{ TCP bool }

// Queue sends the packet to NFQUEUE Num..Num+Total-1.
type Queue struct {
	Kind   QueueKind
	Num    uint16
	Total  uint16
	Bypass bool
	Fanout bool
}

func (CtState) stmt()       {}
func (CtDirection) stmt()   {}
func (CtMark) stmt()        {}
func (MetaMark) stmt()      {}
func (Iface) stmt()         {}
func (NFProto) stmt()       {}
func (Addr) stmt()          {}
func (L4Proto) stmt()       {}
func (Port) stmt()          {}
func (ICMPv6Type) stmt()    {}
func (TCPHandshake) stmt()  {}
func (TCPFlags) stmt()      {}
func (TimeBefore) stmt()    {}
func (Counter) stmt()       {}
func (Log) stmt()           {}
func (SetCtMark) stmt()     {}
func (ClearMetaMark) stmt() {}
func (Verdict) stmt()       {}
func (Reject) stmt()        {}
func (Queue) stmt()         {}

func (s CtState) String() string {
	var names []string
	for _, b := range []struct {
		bit  uint32
		name string
	}{{CtInvalid, "invalid"}, {CtEstablished, "established"}, {CtRelated, "related"}, {CtNew, "new"}} {
		if s.Bits&b.bit != 0 {
			names = append(names, b.name)
		}
	}
	return "ct state " + strings.Join(names, ",")
}

func (s CtDirection) String() string {
	if s.Reply {
		return "ct direction reply"
	}
	return "ct direction original"
}

func (s CtMark) String() string   { return fmt.Sprintf("ct mark & %#08x == %#08x", s.Mask, s.Value) }
func (s MetaMark) String() string { return fmt.Sprintf("meta mark & %#08x == %#08x", s.Mask, s.Value) }

func (s Iface) String() string {
	if s.Out {
		return "meta oif " + strconv.FormatUint(uint64(s.Index), 10)
	}
	return "meta iif " + strconv.FormatUint(uint64(s.Index), 10)
}

func (s NFProto) String() string { return "meta nfproto " + s.Family.String() }

func (s Addr) String() string {
	if s.Set != "" {
		return s.Field.String(s.Family) + " @" + s.Set
	}
	ps := make([]string, len(s.Prefixes))
	for i, p := range s.Prefixes {
		ps[i] = p.String()
	}
	if len(ps) == 1 {
		return s.Field.String(s.Family) + " " + ps[0]
	}
	return s.Field.String(s.Family) + " { " + strings.Join(ps, ", ") + " }"
}

func (s L4Proto) String() string { return "meta l4proto " + s.Proto.String() }

func (s Port) String() string {
	rs := make([]string, len(s.Ranges))
	for i, r := range s.Ranges {
		rs[i] = r.String()
	}
	field := "th dport "
	if s.Src {
		field = "th sport "
	}
	if len(rs) == 1 {
		return field + rs[0]
	}
	return field + "{ " + strings.Join(rs, ", ") + " }"
}

func (s ICMPv6Type) String() string {
	return "icmpv6 type " + PortRange{uint16(s.First), uint16(s.Last)}.String()
}

func (s TCPHandshake) String() string {
	want := "syn"
	if s.Reply {
		want = "syn | ack"
	}
	return "tcp flags & (fin | syn | rst | ack) == " + want + " tcp option fastopen missing"
}

func (s TCPFlags) String() string {
	return fmt.Sprintf("tcp flags & %#02x == %#02x", s.Mask, s.Value)
}

func (s TimeBefore) String() string {
	return "meta time < \"" + s.T.UTC().Format(time.RFC3339) + "\""
}

func (Counter) String() string { return "counter" }

func (s Log) String() string {
	return "log prefix " + strconv.Quote(s.Prefix) + " group " + strconv.Itoa(int(s.Group))
}

func (s SetCtMark) String() string {
	return fmt.Sprintf("ct mark set ct mark & %#08x | %#08x", ^s.Mask, s.Value)
}

func (s ClearMetaMark) String() string {
	return fmt.Sprintf("meta mark set meta mark & %#08x", ^s.Mask)
}

func (s Verdict) String() string {
	switch s.Kind {
	case VerdictAccept:
		return "accept"
	case VerdictDrop:
		return "drop"
	case VerdictJump:
		return "jump " + s.Chain
	}
	return "verdict-" + strconv.Itoa(int(s.Kind))
}

func (s Reject) String() string {
	if s.TCP {
		return "reject with tcp reset"
	}
	return "reject with icmpx port-unreachable"
}

func (s Queue) String() string {
	var b strings.Builder
	b.WriteString("queue")
	var flags []string
	if s.Bypass {
		flags = append(flags, "bypass")
	}
	if s.Fanout {
		flags = append(flags, "fanout")
	}
	if len(flags) > 0 {
		b.WriteString(" flags " + strings.Join(flags, ","))
	}
	b.WriteString(" to " + strconv.Itoa(int(s.Num)))
	if s.Total > 1 {
		b.WriteString("-" + strconv.Itoa(int(s.Num)+int(s.Total)-1))
	}
	if s.Kind == QueueCompat {
		b.WriteString(" (xt NFQUEUE v3)")
	}
	return b.String()
}
