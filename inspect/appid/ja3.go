package appid

import "encoding/binary"

// AppendJA3String appends the JA3 string (see appendJA3) of the
// ClientHello that starts the client's stream b, reassembling one split
// over records in scratch. It reports false when b does not start with a
// complete ClientHello.
func AppendJA3String(dst, b []byte, scratch *[4096]byte) ([]byte, bool) {
	body, r := clientHelloBody(b, scratch)
	if r != Yes || body == nil {
		return dst, false
	}
	var h helloFields
	if !parseClientHello(body, &h) {
		return dst, false
	}
	return h.appendJA3(dst), true
}

// AppendJA3S appends the JA3S string of the ServerHello that starts the
// server's stream b (Salesforce's JA3 README): "SSLVersion,Cipher,
// SSLExtension", decimal, the extension types in their order joined by
// '-', GREASE values left out as Suricata leaves them out. The version is
// the hello's legacy_version (771 for TLS 1.2 and 1.3 alike). It reports
// false when b does not start with a complete ServerHello.
func AppendJA3S(dst, b []byte) ([]byte, bool) {
	body, r := serverHelloBody(b)
	if r != Yes {
		return dst, false
	}
	dst = appendUint(dst, uint64(binary.BigEndian.Uint16(body)))
	q := body[34:]
	q = q[1+int(q[0]):] // the session id; serverHelloBody checked the rest fits
	dst = append(dst, ',')
	dst = appendUint(dst, uint64(binary.BigEndian.Uint16(q)))
	dst = append(dst, ',')
	q = q[3:] // cipher suite, compression method
	if len(q) < 2 || int(binary.BigEndian.Uint16(q)) != len(q)-2 {
		return dst, true // no extensions (or a malformed list: none read)
	}
	q = q[2:]
	first := true
	for len(q) >= 4 {
		typ := binary.BigEndian.Uint16(q)
		l := int(binary.BigEndian.Uint16(q[2:]))
		if len(q) < 4+l {
			break
		}
		if !isGREASE(typ) {
			if !first {
				dst = append(dst, '-')
			}
			first = false
			dst = appendUint(dst, uint64(typ))
		}
		q = q[4+l:]
	}
	return dst, true
}
