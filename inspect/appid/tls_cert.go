package appid

import (
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"
)

// The server's certificate chain. In TLS 1.2 and older the server sends
// its Certificate handshake message in clear text after the ServerHello
// (RFC 5246 section 7.4.2); TLS 1.3 encrypts it (RFC 8446 section 4.4.2),
// so for TLS 1.3 there is none to read, as in Suricata.

const (
	tlsHandshakeCert = 0x0b // certificate
	tlsHandshakeDone = 0x0e // server_hello_done
	// maxTLSCerts bounds the certificates kept of a chain; real chains
	// have two to four.
	maxTLSCerts = 16
)

// TLSCertChain finds the Certificate handshake message in the server's
// stream b (from its first byte, as app-ID sees it) and returns the DER
// certificates it carries, leaf first. Handshake records are joined in
// buf (so a message split over records, or records holding several
// messages, read the same); the certificates alias buf, which the result
// returns grown as needed (pass it back to reuse it). More: the message
// is not complete in b yet. No: b holds no Certificate message and never
// will (not TLS, TLS 1.3, a resumed session, or the message is malformed).
func TLSCertChain(b, buf []byte, certs [][]byte) ([][]byte, []byte, Result) {
	certs = certs[:0]
	hs := buf[:0]
	for {
		if len(b) < 5 {
			return certs, hs, More
		}
		typ := b[0]
		if b[1] != 3 || b[2] > 4 {
			return certs, hs, No
		}
		l := int(binary.BigEndian.Uint16(b[3:5]))
		if l == 0 || l > tlsMaxRecord {
			return certs, hs, No
		}
		if typ != tlsRecordHandshake {
			// A ChangeCipherSpec before any Certificate: TLS 1.3
			// (whose compatibility CCS follows the ServerHello) or
			// a resumed session. Anything else is not a handshake.
			return certs, hs, No
		}
		if len(b) < 5+l {
			return certs, hs, More
		}
		hs = append(hs, b[5:5+l]...)
		b = b[5+l:]
		// Walk the complete messages gathered so far.
		m := hs
		for len(m) >= 4 {
			ml := int(m[1])<<16 | int(m[2])<<8 | int(m[3])
			if len(m) < 4+ml {
				break
			}
			switch m[0] {
			case tlsHandshakeCert:
				var ok bool
				certs, ok = parseCertificateMsg(m[4:4+ml], certs)
				if !ok {
					return certs[:0], hs, No
				}
				return certs, hs, Yes
			case tlsHandshakeDone:
				return certs, hs, No // anonymous key exchange: no certificate
			case tlsHandshakeServer:
				if tlsServerHelloIs13(m[4 : 4+ml]) {
					return certs, hs, No
				}
			}
			m = m[4+ml:]
		}
	}
}

// parseCertificateMsg splits a TLS 1.2 Certificate message body: a
// 24-bit length, then certificates each with a 24-bit length.
func parseCertificateMsg(p []byte, certs [][]byte) ([][]byte, bool) {
	if len(p) < 3 {
		return certs, false
	}
	total := int(p[0])<<16 | int(p[1])<<8 | int(p[2])
	if total != len(p)-3 {
		return certs, false
	}
	p = p[3:]
	for len(p) > 0 {
		if len(p) < 3 {
			return certs, false
		}
		l := int(p[0])<<16 | int(p[1])<<8 | int(p[2])
		if l == 0 || len(p) < 3+l {
			return certs, false
		}
		if len(certs) < maxTLSCerts {
			certs = append(certs, p[3:3+l])
		}
		p = p[3+l:]
	}
	return certs, len(certs) > 0
}

// tlsServerHelloIs13 reports whether a ServerHello body selects TLS 1.3
// (a supported_versions extension of 0x0304, RFC 8446 section 4.2.1).
func tlsServerHelloIs13(body []byte) bool {
	if len(body) < 35 {
		return false
	}
	q := body[34:]
	sid := int(q[0])
	if len(q) < 1+sid+3 {
		return false
	}
	q = q[1+sid+3:]
	if len(q) < 2 || int(binary.BigEndian.Uint16(q)) != len(q)-2 {
		return false
	}
	q = q[2:]
	for len(q) >= 4 {
		typ := binary.BigEndian.Uint16(q)
		l := int(binary.BigEndian.Uint16(q[2:]))
		if len(q) < 4+l {
			return false
		}
		if typ == extSupportedVersions && l == 2 && binary.BigEndian.Uint16(q[4:]) == 0x0304 {
			return true
		}
		q = q[4+l:]
	}
	return false
}

// TLSCerts is a server's certificate chain with the leaf's fields in
// the text forms Suricata's tls.* keywords match.
type TLSCerts struct {
	// DER holds the certificates as sent, leaf first.
	DER [][]byte
	// Subject and Issuer are the leaf's names as Suricata prints them:
	// the attributes in certificate order, "C=US, O=Example, CN=a.example".
	Subject, Issuer []byte
	// Serial is the leaf's serial number as its DER bytes in upper-case
	// hex joined by colons ("00:AB:12"); Fingerprint the SHA-1 of the
	// leaf's DER in lower-case hex joined by colons.
	Serial, Fingerprint []byte
}

// ParseTLSCerts copies a chain (from TLSCertChain) and parses its leaf
// with crypto/x509. It allocates: call it once per flow.
func ParseTLSCerts(chain [][]byte) (*TLSCerts, error) {
	if len(chain) == 0 {
		return nil, errors.New("tls: empty certificate chain")
	}
	n := 0
	for _, c := range chain {
		n += len(c)
	}
	store := make([]byte, 0, n)
	out := &TLSCerts{DER: make([][]byte, len(chain))}
	for i, c := range chain {
		store = append(store, c...)
		out.DER[i] = store[len(store)-len(c):]
	}
	leaf, err := x509.ParseCertificate(out.DER[0])
	if err != nil {
		return nil, fmt.Errorf("tls: leaf certificate: %w", err)
	}
	if out.Subject, err = suricataName(leaf.RawSubject); err != nil {
		return nil, fmt.Errorf("tls: subject: %w", err)
	}
	if out.Issuer, err = suricataName(leaf.RawIssuer); err != nil {
		return nil, fmt.Errorf("tls: issuer: %w", err)
	}
	serial, err := rawSerial(leaf.RawTBSCertificate)
	if err != nil {
		return nil, fmt.Errorf("tls: serial: %w", err)
	}
	out.Serial = appendColonHex(nil, serial, upperHex)
	sum := sha1.Sum(out.DER[0])
	out.Fingerprint = appendColonHex(nil, sum[:], hexDigits)
	return out, nil
}

const upperHex = "0123456789ABCDEF"

func appendColonHex(b, v []byte, digits string) []byte {
	for i, c := range v {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, digits[c>>4], digits[c&15])
	}
	return b
}

// attrNames are the short names Suricata (its Rust x509-parser, through
// oid-registry) prints for the usual name attributes; others print as
// their dotted OID.
var attrNames = map[string]string{
	"2.5.4.3": "CN", "2.5.4.4": "SN", "2.5.4.5": "serialNumber", "2.5.4.6": "C",
	"2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.9": "street", "2.5.4.10": "O",
	"2.5.4.11": "OU", "2.5.4.12": "title", "2.5.4.17": "postalCode", "2.5.4.42": "GN",
	"2.5.4.43": "initials", "2.5.4.46": "dnQualifier",
	"1.2.840.113549.1.9.1":       "emailAddress",
	"0.9.2342.19200300.100.1.1":  "UID",
	"0.9.2342.19200300.100.1.25": "DC",
}

// suricataName formats a DER Name as Suricata does: relative
// distinguished names in certificate order joined by ", ", the
// attributes of a multi-valued one joined by " + ", each "NAME=value".
// (Go's pkix.Name.String is RFC 2253: reversed, with escapes.)
func suricataName(raw []byte) ([]byte, error) {
	var rdns pkix.RDNSequence
	rest, err := asn1.Unmarshal(raw, &rdns)
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, errors.New("trailing data after the name")
	}
	var b []byte
	for i, rdn := range rdns {
		if i > 0 {
			b = append(b, ", "...)
		}
		for j, a := range rdn {
			if j > 0 {
				b = append(b, " + "...)
			}
			oid := a.Type.String()
			if n, ok := attrNames[oid]; ok {
				oid = n
			}
			b = append(b, oid...)
			b = append(b, '=')
			b = fmt.Append(b, a.Value)
		}
	}
	return b, nil
}

// rawSerial returns the content bytes of the serialNumber INTEGER of a
// DER TBSCertificate (RFC 5280 section 4.1), as encoded: Suricata prints
// these, a leading 0x00 included.
func rawSerial(tbs []byte) ([]byte, error) {
	var seq asn1.RawValue
	if _, err := asn1.Unmarshal(tbs, &seq); err != nil {
		return nil, err
	}
	p := seq.Bytes
	var v asn1.RawValue
	rest, err := asn1.Unmarshal(p, &v)
	if err != nil {
		return nil, err
	}
	if v.Class == asn1.ClassContextSpecific && v.Tag == 0 { // [0] version
		if _, err = asn1.Unmarshal(rest, &v); err != nil {
			return nil, err
		}
	}
	if v.Class != asn1.ClassUniversal || v.Tag != asn1.TagInteger || len(v.Bytes) == 0 {
		return nil, errors.New("no serialNumber INTEGER")
	}
	return v.Bytes, nil
}
