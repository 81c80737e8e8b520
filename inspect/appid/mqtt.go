package appid

import "encoding/binary"

// detectMQTT recognises an MQTT CONNECT packet (MQTT 3.1.1 section 3.1,
// MQTT 5.0 section 3.1): fixed header 0x10, a remaining length of one to
// four bytes, then the protocol name "MQTT" with level 4 or 5, or
// "MQIsdp" with level 3 (MQTT 3.1), connect flags with the reserved bit
// clear, the keep-alive, (for 5.0 the properties) and the client
// identifier, which is extracted.
func detectMQTT(in *Input, info *Info) Result {
	b := in.ToServer
	if len(b) == 0 {
		return More
	}
	if b[0] != 0x10 {
		return No
	}
	// Remaining length (section 2.2.3).
	rem, i := 0, 1
	for shift := 0; ; shift += 7 {
		if i >= len(b) {
			return More
		}
		if i > 4 {
			return No
		}
		rem |= int(b[i]&0x7f) << shift
		i++
		if b[i-1]&0x80 == 0 {
			break
		}
	}
	p := b[i:]
	if rem < 12 {
		return No
	}
	if len(p) < 2 {
		return More
	}
	nameLen := int(binary.BigEndian.Uint16(p))
	var level byte
	switch nameLen {
	case 4:
		if len(p) < 7 {
			return mqttPrefix(p, "\x00\x04MQTT")
		}
		if string(p[2:6]) != "MQTT" || p[6] != 4 && p[6] != 5 {
			return No
		}
		level = p[6]
	case 6:
		if len(p) < 9 {
			return mqttPrefix(p, "\x00\x06MQIsdp")
		}
		if string(p[2:8]) != "MQIsdp" || p[8] != 3 {
			return No
		}
		level = 3
	default:
		return No
	}
	p = p[2+nameLen+1:]
	if len(p) < 3 {
		return More
	}
	if p[0]&1 != 0 { // reserved flag
		return No
	}
	p = p[3:]
	if level == 5 {
		// Properties: a variable byte integer length, then the bytes.
		pl, j := 0, 0
		for shift := 0; ; shift += 7 {
			if j >= len(p) {
				return More
			}
			if j >= 4 {
				return No
			}
			pl |= int(p[j]&0x7f) << shift
			j++
			if p[j-1]&0x80 == 0 {
				break
			}
		}
		if len(p) < j+pl {
			return mqttMore(b, rem, i)
		}
		p = p[j+pl:]
	}
	if len(p) < 2 {
		return mqttMore(b, rem, i)
	}
	idLen := int(binary.BigEndian.Uint16(p))
	if len(p) < 2+idLen {
		return mqttMore(b, rem, i)
	}
	info.ClientID = p[2 : 2+idLen]
	return Yes
}

// mqttPrefix returns More if p is a prefix of the protocol name field.
func mqttPrefix(p []byte, want string) Result {
	if string(p) == want[:len(p)] {
		return More
	}
	return No
}

// mqttMore returns More if the packet's remaining length says its
// bytes are still to come, and No if they were all there and still did
// not hold a client identifier.
func mqttMore(b []byte, rem, hdr int) Result {
	if len(b) < hdr+rem {
		return More
	}
	return No
}
