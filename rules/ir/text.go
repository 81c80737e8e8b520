package ir

import "fmt"

// The enums marshal as their names, so that the JSON form of a Policy
// (septa show --json) reads like the policy it came from.

func (k SetKind) MarshalText() ([]byte, error)   { return []byte(k.String()), nil }
func (p Proto) MarshalText() ([]byte, error)     { return []byte(p.String()), nil }
func (s Section) MarshalText() ([]byte, error)   { return []byte(s.String()), nil }
func (d Direction) MarshalText() ([]byte, error) { return []byte(d.String()), nil }
func (a Action) MarshalText() ([]byte, error)    { return []byte(a.String()), nil }
func (m Mode) MarshalText() ([]byte, error)      { return []byte(m.String()), nil }
func (f FailMode) MarshalText() ([]byte, error)  { return []byte(f.String()), nil }
func (l LogLevel) MarshalText() ([]byte, error)  { return []byte(l.String()), nil }
func (m IDSMode) MarshalText() ([]byte, error)   { return []byte(m.String()), nil }
func (n Need) MarshalText() ([]byte, error)      { return []byte(n.String()), nil }
func (p Port) MarshalText() ([]byte, error)      { return []byte(p.String()), nil }

// ParseProto returns the protocol with the given name as the policy
// language writes it.
func ParseProto(s string) (Proto, error) {
	switch s {
	case "any":
		return ProtoAny, nil
	case "icmp":
		return ProtoICMP, nil
	case "tcp":
		return ProtoTCP, nil
	case "udp":
		return ProtoUDP, nil
	case "icmpv6":
		return ProtoICMPv6, nil
	case "sctp":
		return ProtoSCTP, nil
	}
	return ProtoAny, fmt.Errorf("unknown protocol %q (want tcp, udp, sctp, icmp, icmpv6 or any)", s)
}
