package packet

import "encoding/binary"

// AppendReset appends to dst a TCP reset that stands in for the TCP
// packet b (decoded as p): same addresses, ports and direction, the
// sequence number of b's first byte, flags RST and ACK, no data, and
// valid checksums. Delivered in b's place, it resets the receiver's
// connection, whose next expected sequence number is b's (RFC 9293
// section 3.10.7.4: a reset is accepted when its sequence number is the
// next expected one). It returns dst unchanged when b is not a TCP packet
// it can rewrite (IP options are kept; IPv6 extension headers are not
// supported).
func AppendReset(dst, b []byte, p *Packet) []byte {
	if p.Proto != ProtoTCP || p.Fragment {
		return dst
	}
	switch p.IPVersion {
	case 4:
		ihl := int(b[0]&0x0f) * 4
		if len(b) < ihl+20 {
			return dst
		}
		start := len(dst)
		dst = append(dst, b[:ihl+20]...)
		pkt := dst[start:]
		binary.BigEndian.PutUint16(pkt[2:4], uint16(ihl+20))
		pkt[10], pkt[11] = 0, 0
		binary.BigEndian.PutUint16(pkt[10:12], ^sum16(pkt[:ihl], 0))
		resetTCP(pkt[ihl:], p)
		var pseudo [12]byte
		copy(pseudo[0:8], pkt[12:20])
		pseudo[9] = ProtoTCP
		binary.BigEndian.PutUint16(pseudo[10:12], 20)
		binary.BigEndian.PutUint16(pkt[ihl+16:ihl+18], ^sum16(pkt[ihl:], sum16(pseudo[:], 0)))
		return dst
	case 6:
		if len(b) < 60 || b[6] != ProtoTCP {
			return dst
		}
		start := len(dst)
		dst = append(dst, b[:60]...)
		pkt := dst[start:]
		binary.BigEndian.PutUint16(pkt[4:6], 20)
		resetTCP(pkt[40:], p)
		var pseudo [40]byte
		copy(pseudo[0:32], pkt[8:40])
		binary.BigEndian.PutUint32(pseudo[32:36], 20)
		pseudo[39] = ProtoTCP
		binary.BigEndian.PutUint16(pkt[56:58], ^sum16(pkt[40:], sum16(pseudo[:], 0)))
		return dst
	}
	return dst
}

// resetTCP rewrites a 20-byte TCP header into a reset without options.
func resetTCP(h []byte, p *Packet) {
	binary.BigEndian.PutUint32(h[4:8], p.Seq)
	binary.BigEndian.PutUint32(h[8:12], p.Ack)
	h[12] = 5 << 4 // data offset: 20 bytes, no options
	h[13] = TCPRst | TCPAck
	h[14], h[15] = 0, 0 // window
	h[16], h[17] = 0, 0 // checksum, computed by the caller
	h[18], h[19] = 0, 0 // urgent pointer
}

// sum16 adds b as big-endian 16-bit words to the one's complement sum s
// (RFC 1071) and folds the carries.
func sum16(b []byte, s uint16) uint16 {
	acc := uint32(s)
	for len(b) >= 2 {
		acc += uint32(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint32(b[0]) << 8
	}
	for acc>>16 != 0 {
		acc = acc&0xffff + acc>>16
	}
	return uint16(acc)
}
