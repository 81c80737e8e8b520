package sig

import (
	"bytes"
	"strings"
)

// The legacy certificate keywords: a value to find in the server
// certificate's subject or issuer (case-sensitive substring, ! to
// negate), or its SHA-1 fingerprint to equal. As in Suricata they match
// only when the flow has a certificate (TLS 1.2 and older), on packets
// to the client. The sticky buffers tls.cert_subject, tls.cert_issuer
// and tls.cert_fingerprint (buffer.go) replace them.
func init() {
	register(&keyword{name: "tls.subject", doc: "the server certificate's subject contains the value (legacy; ! to negate)", setup: func(p *parser, v string) error {
		return setupTLSCertField(p, v, certSubject)
	}})
	register(&keyword{name: "tls.issuerdn", doc: "the server certificate's issuer contains the value (legacy; ! to negate)", setup: func(p *parser, v string) error {
		return setupTLSCertField(p, v, certIssuer)
	}})
	register(&keyword{name: "tls.fingerprint", doc: "the server certificate's SHA-1 fingerprint is the value, \"4a:a3:...\" (legacy; ! to negate)", setup: func(p *parser, v string) error {
		return setupTLSCertField(p, v, certFingerprint)
	}})
}

type certField uint8

const (
	certSubject certField = iota
	certIssuer
	certFingerprint
)

type tlsCertField struct {
	field certField
	value []byte
	neg   bool
}

func setupTLSCertField(p *parser, v string, f certField) error {
	s, neg, err := unquote(v)
	if err != nil {
		return err
	}
	if s == "" {
		return errf("empty value")
	}
	if f == certFingerprint {
		s = strings.ToLower(s)
	}
	p.sig.checks = append(p.sig.checks, &tlsCertField{field: f, value: []byte(s), neg: neg})
	return nil
}

func (t *tlsCertField) check(st *state) bool {
	c := st.tlsCerts()
	if c == nil {
		return false
	}
	var found bool
	switch t.field {
	case certSubject:
		found = bytes.Contains(c.Subject, t.value)
	case certIssuer:
		found = bytes.Contains(c.Issuer, t.value)
	default:
		found = bytes.Equal(c.Fingerprint, t.value)
	}
	return found != t.neg
}
