// Package packet is the leaf of the inspector: a decoded packet, the flow
// key, and the verdict and reason enums that the rest of package inspect
// and its detectors share.
//
// Decoding is written by hand rather than with gopacket: it fills a Packet
// the caller owns, allocates nothing on any input, valid or not (gopacket
// allocates an error for every malformed packet, and attackers choose how
// many of those arrive), and touches only the headers the inspector needs.
//
// It imports the standard library only.
package packet

import (
	"encoding/binary"
	"net/netip"
)

// IP protocol numbers (IANA).
const (
	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
	ProtoSCTP   = 132
)

// TCP flags (RFC 9293 section 3.1).
const (
	TCPFin = 0x01
	TCPSyn = 0x02
	TCPRst = 0x04
	TCPPsh = 0x08
	TCPAck = 0x10
	TCPUrg = 0x20
)

// Packet is one decoded IP packet. Payload aliases the buffer given to
// Decode: it is valid until that buffer is reused (for a queued packet,
// until its verdict), so copy what must outlive it.
type Packet struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	Proto            uint8
	// IPVersion is 4 or 6.
	IPVersion uint8
	TTL       uint8
	// Fragment is set for every fragment but a first one that carries the
	// whole transport header; such packets have no ports.
	Fragment bool
	// TCP only.
	Flags  uint8
	Seq    uint32
	Ack    uint32
	Window uint16
	// ICMP type and code.
	ICMPType, ICMPCode uint8
	// Payload is the transport payload.
	Payload []byte
	// Len is the length of the IP packet as its header says.
	Len int
}

// Status is the outcome of decoding.
type Status uint8

const (
	StatusUnknown Status = iota
	OK
	// Truncated: a header is shorter than it says or than its minimum.
	Truncated
	// Malformed: a header field is impossible (bad version, bad header
	// length, TCP data offset below 5).
	Malformed
	// Unsupported: not IPv4 or IPv6, or an IPv6 extension chain longer
	// than the decoder follows.
	Unsupported
)

func (s Status) String() string {
	switch s {
	case OK:
		return "ok"
	case Truncated:
		return "truncated"
	case Malformed:
		return "malformed"
	case Unsupported:
		return "unsupported"
	}
	return "unknown"
}

// maxExtHeaders bounds how many IPv6 extension headers Decode follows, so
// that a packet made of nothing but extension headers costs a bounded time.
const maxExtHeaders = 8

// Decode decodes an IPv4 or IPv6 packet (as NFQUEUE delivers it: starting
// at the IP header) into p. It never allocates and never panics; on any
// status but OK the fields it could not read are zero.
func Decode(b []byte, p *Packet) Status {
	*p = Packet{}
	if len(b) < 1 {
		return Truncated
	}
	switch b[0] >> 4 {
	case 4:
		return decode4(b, p)
	case 6:
		return decode6(b, p)
	}
	return Unsupported
}

// decode4 follows RFC 791 section 3.1:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Version|  IHL  |Type of Service|          Total Length         |
//	|         Identification        |Flags|      Fragment Offset    |
//	|  Time to Live |    Protocol   |         Header Checksum       |
//	|                       Source Address                          |
//	|                    Destination Address                        |
func decode4(b []byte, p *Packet) Status {
	if len(b) < 20 {
		return Truncated
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < 20 {
		return Malformed
	}
	total := int(binary.BigEndian.Uint16(b[2:4]))
	if total < ihl {
		return Malformed
	}
	if len(b) < ihl || len(b) < total {
		return Truncated
	}
	b = b[:total] // drop link padding
	p.IPVersion = 4
	p.Len = total
	p.TTL = b[8]
	p.Proto = b[9]
	p.Src = netip.AddrFrom4([4]byte(b[12:16]))
	p.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	frag := binary.BigEndian.Uint16(b[6:8])
	offset, more := frag&0x1fff, frag&0x2000 != 0
	if offset != 0 || more {
		p.Fragment = true
		// A later fragment has no transport header at all. A first
		// fragment too short to hold the whole transport header is the
		// tiny-fragment attack of RFC 1858: it must not be read as if
		// its ports were known, so it is reported without them.
		if offset != 0 {
			p.Payload = b[ihl:]
			return OK
		}
	}
	return decodeL4(b[ihl:], p)
}

// decode6 follows RFC 8200 section 3, and skips the extension headers of
// section 4 up to maxExtHeaders.
func decode6(b []byte, p *Packet) Status {
	if len(b) < 40 {
		return Truncated
	}
	plen := int(binary.BigEndian.Uint16(b[4:6]))
	if len(b) < 40+plen {
		return Truncated
	}
	b = b[:40+plen]
	p.IPVersion = 6
	p.Len = 40 + plen
	p.TTL = b[7]
	p.Src = netip.AddrFrom16([16]byte(b[8:24]))
	p.Dst = netip.AddrFrom16([16]byte(b[24:40]))
	next := b[6]
	rest := b[40:]
	for range maxExtHeaders {
		switch next {
		case 0, 43, 60: // hop-by-hop, routing, destination options
			if len(rest) < 8 {
				return Truncated
			}
			n := (int(rest[1]) + 1) * 8
			if len(rest) < n {
				return Truncated
			}
			next, rest = rest[0], rest[n:]
		case 44: // fragment
			if len(rest) < 8 {
				return Truncated
			}
			frag := binary.BigEndian.Uint16(rest[2:4])
			offset, more := frag>>3, frag&1 != 0
			next, rest = rest[0], rest[8:]
			if offset != 0 || more {
				p.Fragment = true
				if offset != 0 {
					p.Proto = next
					p.Payload = rest
					return OK
				}
			}
		default:
			p.Proto = next
			return decodeL4(rest, p)
		}
	}
	return Unsupported
}

func decodeL4(b []byte, p *Packet) Status {
	switch p.Proto {
	case ProtoTCP:
		// RFC 9293 section 3.1: data offset in 32-bit words.
		if len(b) < 20 {
			return fragmentOr(p, b, Truncated)
		}
		off := int(b[12]>>4) * 4
		if off < 20 {
			return Malformed
		}
		if len(b) < off {
			return fragmentOr(p, b, Truncated)
		}
		p.SrcPort = binary.BigEndian.Uint16(b[0:2])
		p.DstPort = binary.BigEndian.Uint16(b[2:4])
		p.Seq = binary.BigEndian.Uint32(b[4:8])
		p.Ack = binary.BigEndian.Uint32(b[8:12])
		p.Flags = b[13]
		p.Window = binary.BigEndian.Uint16(b[14:16])
		p.Payload = b[off:]
	case ProtoUDP:
		// RFC 768: the length field covers header and data.
		if len(b) < 8 {
			return fragmentOr(p, b, Truncated)
		}
		p.SrcPort = binary.BigEndian.Uint16(b[0:2])
		p.DstPort = binary.BigEndian.Uint16(b[2:4])
		ulen := int(binary.BigEndian.Uint16(b[4:6]))
		switch {
		case p.Fragment:
			p.Payload = b[8:]
		case ulen < 8:
			return Malformed
		case ulen > len(b):
			return Truncated
		default:
			p.Payload = b[8:ulen]
		}
	case ProtoICMP, ProtoICMPv6:
		// RFC 792 and RFC 4443: type, code, checksum and four bytes that
		// depend on the type (identifier and sequence of an echo, the
		// unused word of an error) make an 8-byte header before the data,
		// as Suricata counts it for dsize, depth and offset.
		if len(b) < 8 {
			return fragmentOr(p, b, Truncated)
		}
		p.ICMPType, p.ICMPCode = b[0], b[1]
		p.Payload = b[8:]
	default:
		p.Payload = b
	}
	return OK
}

// fragmentOr handles a transport header cut short: in a first fragment the
// rest may follow in the next one, so the packet is a valid fragment
// without ports; otherwise it is status s.
func fragmentOr(p *Packet, b []byte, s Status) Status {
	if p.Fragment {
		p.Payload = b
		return OK
	}
	return s
}
