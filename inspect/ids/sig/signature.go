package sig

import (
	"github.com/septa-fw/septa/inspect/appid"
	"github.com/septa-fw/septa/inspect/ids"
)

// Proto is the protocol of a signature's header.
type Proto uint8

const (
	ProtoUnknown   Proto = iota
	ProtoIP              // any IP packet
	ProtoTCP             // TCP packets and streams
	ProtoUDP             // UDP
	ProtoICMP            // ICMP and ICMPv6
	ProtoTCPPkt          // TCP packets only
	ProtoTCPStream       // TCP streams only
	ProtoApp             // an application protocol (AppName)
)

func (p Proto) String() string {
	switch p {
	case ProtoIP:
		return "ip"
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	case ProtoICMP:
		return "icmp"
	case ProtoTCPPkt:
		return "tcp-pkt"
	case ProtoTCPStream:
		return "tcp-stream"
	case ProtoApp:
		return "app"
	}
	return "unknown"
}

// appProtos are the application protocols a header may name, with the
// app-ID apps they cover. A protocol app-ID does not identify (yet) maps
// to no app: the signature loads but never matches, and is listed in
// Signature.Inert.
var appProtos = map[string][]appid.App{
	"http": {appid.HTTP}, "http1": {appid.HTTP}, "http2": {appid.HTTP2},
	"tls": {appid.TLS}, "ssl": {appid.TLS}, "dns": {appid.DNS}, "ssh": {appid.SSH},
	"smtp": {appid.SMTP}, "imap": {appid.IMAP}, "pop3": {appid.POP3}, "ftp": {appid.FTP},
	"ftp-data": nil, "smb": {appid.SMB}, "dcerpc": nil, "nfs": nil, "ntp": {appid.NTP},
	"snmp": {appid.SNMP}, "sip": {appid.SIP}, "mqtt": {appid.MQTT}, "rdp": {appid.RDP},
	"krb5": {appid.Kerberos}, "ldap": {appid.LDAP}, "quic": {appid.QUIC}, "tftp": nil,
	"dhcp": nil, "ike": nil, "modbus": nil, "dnp3": nil, "enip": nil, "rfb": nil,
	"pgsql": {appid.PostgreSQL}, "mysql": {appid.MySQL}, "redis": {appid.Redis},
	"telnet": nil, "irc": nil, "bittorrent-dht": nil,
}

// Option is one option of a signature as written: its keyword and its
// value text (without the surrounding spaces; empty for a keyword
// without value).
type Option struct {
	Name  string
	Value string
	// HasValue distinguishes "nocase" from "nocase:".
	HasValue bool
}

// Signature is a parsed rule. Its exported fields describe the rule; the
// unexported ones are the compiled match chain the engine runs.
type Signature struct {
	Action ids.Action
	Proto  Proto
	// AppName is the header's application protocol (ProtoApp), as written;
	// Apps are the app-ID apps it covers.
	AppName string
	Apps    []appid.App
	// Header fields as written.
	Src, SrcPort, Dst, DstPort string
	// Bidir: the header said <>.
	Bidir bool
	// Options in order, as written.
	Options []Option

	Msg      string
	SID, GID uint32
	Rev      uint32
	Class    string
	Priority int
	// Inert lists keywords this signature uses that the engine parses but
	// cannot evaluate (and headers naming protocols app-ID does not
	// identify): the signature loads but never matches.
	Inert []string

	// File and Line say where the signature came from.
	File string
	Line int

	src, dst, sport, dport addrExpr
	// The header compiled for matching.
	srcSet, dstSet     ipSet
	sportSet, dportSet portSet

	flow       flowOpt
	lists      []*list
	checks     []check
	postMatch  []postAction
	noalert    bool
	threshold  *thresholdOpt
	detFilter  *thresholdOpt
	target     uint8
	varNames   []string
	hasFlowSet bool // sets, unsets or toggles flowbits
	pktOnly    bool // has packet-only conditions (dsize, flags, itype, icode, flow:no_stream)
	hasFlowGet bool // tests flowbits
	flowbitRef []string
}

// list is the ordered matches of one buffer.
type list struct {
	buf       Buffer
	dotprefix bool
	steps     []step
}

// step is one match in a buffer's chain. eval matches at cursor cur (the
// end of the previous match, for relative modifiers) and, on success,
// continues with rest; so a content can retry the rest at its next
// occurrence (Suricata's backtracking).
type step interface {
	eval(st *state, buf []byte, cur int, rest []step) bool
}

// check is a condition outside the buffers (flow, dsize, flags, ...).
type check interface {
	check(st *state) bool
}

// postAction runs after a signature matched (flowbits set).
type postAction interface {
	apply(st *state)
}
