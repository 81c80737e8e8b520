package events

import "strconv"

// IP protocol numbers (IANA "Assigned Internet Protocol Numbers").
const (
	protoICMP   = 1
	protoTCP    = 6
	protoUDP    = 17
	protoGRE    = 47
	protoESP    = 50
	protoICMPv6 = 58
	protoSCTP   = 132
)

// protoNames are Suricata's EVE names for IP protocols (its proto field
// uses the names of /etc/protocols, upper-cased where Suricata does).
var protoNames = map[uint8]string{
	protoICMP: "ICMP", protoTCP: "TCP", protoUDP: "UDP", protoGRE: "GRE",
	protoESP: "ESP", protoICMPv6: "IPv6-ICMP", protoSCTP: "SCTP",
}

// ProtoName returns Suricata's name for an IP protocol number ("TCP",
// "IPv6-ICMP"), or the number in decimal when it has none.
func ProtoName(p uint8) string {
	if n, ok := protoNames[p]; ok {
		return n
	}
	return strconv.Itoa(int(p))
}

// protoLower is ProtoName in lower case, for messages and journald
// ("tcp", "icmpv6").
func protoLower(p uint8) string {
	switch p {
	case protoTCP:
		return "tcp"
	case protoUDP:
		return "udp"
	case protoICMP:
		return "icmp"
	case protoICMPv6:
		return "icmpv6"
	case protoGRE:
		return "gre"
	case protoESP:
		return "esp"
	case protoSCTP:
		return "sctp"
	}
	return strconv.Itoa(int(p))
}

// hasPorts reports whether the protocol has ports (ICMP has a type and a
// code instead).
func hasPorts(p uint8) bool {
	return p == protoTCP || p == protoUDP || p == protoSCTP
}
