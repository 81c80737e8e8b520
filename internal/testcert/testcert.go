// Package testcert makes the small certificate chain septa's TLS tests
// use: a CA "C=US, O=Septa Test CA, CN=Septa Test Root" and a leaf it
// signed, "C=US, ST=Oregon, O=Septa Test, OU=Edge, CN=shop.example",
// serial 0xA1B2C3D4 (whose DER has a leading 0x00), ECDSA P-256.
//
// It is test infrastructure; it does not import testing.
package testcert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"time"
)

// New returns the chain (leaf first) with the leaf's key, valid from
// notBefore for validity.
func New(notBefore time.Time, validity time.Duration) (tls.Certificate, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7),
		Subject:      pkix.Name{Country: []string{"US"}, Organization: []string{"Septa Test CA"}, CommonName: "Septa Test Root"},
		NotBefore:    notBefore, NotAfter: notBefore.Add(validity),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	ca, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	caCert, err := x509.ParseCertificate(ca)
	if err != nil {
		return tls.Certificate{}, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(0xA1B2C3D4),
		Subject: pkix.Name{Country: []string{"US"}, Province: []string{"Oregon"}, Organization: []string{"Septa Test"},
			OrganizationalUnit: []string{"Edge"}, CommonName: "shop.example"},
		DNSNames:  []string{"shop.example"},
		NotBefore: notBefore, NotAfter: notBefore.Add(validity),
	}
	leaf, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{leaf, ca}, PrivateKey: key}, nil
}
