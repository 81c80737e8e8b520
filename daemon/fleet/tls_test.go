package fleet

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/septa-fw/septa/daemon/fleet/etcdtest"
)

// testPKI writes a CA, a server certificate for 127.0.0.1 and a client
// certificate signed by it, and a second CA's client certificate.
type testPKI struct {
	dir                       string
	ca, serverCert, serverKey string
	clientCert, clientKey     string
	strangerCert, strangerKey string
}

func newPKI(t *testing.T) *testPKI {
	t.Helper()
	p := &testPKI{dir: t.TempDir()}
	caCert, caKey := p.issue(t, "ca", nil, nil, true, nil)
	p.ca = p.path("ca.pem")
	p.serverCert, p.serverKey = p.files("server")
	p.issue(t, "server", caCert, caKey, false, []net.IP{net.ParseIP("127.0.0.1")})
	p.clientCert, p.clientKey = p.files("client")
	p.issue(t, "client", caCert, caKey, false, nil)
	otherCert, otherKey := p.issue(t, "other-ca", nil, nil, true, nil)
	p.strangerCert, p.strangerKey = p.files("stranger")
	p.issue(t, "stranger", otherCert, otherKey, false, nil)
	return p
}

func (p *testPKI) path(name string) string { return filepath.Join(p.dir, name) }

func (p *testPKI) files(name string) (string, string) {
	return p.path(name + ".pem"), p.path(name + ".key")
}

// issue makes a certificate named name, signed by parent (self-signed
// when nil), and writes name.pem and name.key.
func (p *testPKI) issue(t *testing.T, name string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, isCA bool, ips []net.IP) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: ips, IsCA: isCA, BasicConstraintsValid: true,
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(p.path(name+".pem"), certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p.path(name+".key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// TestTLS: with client certificates required, the configured certificate
// and CA reach etcd; a certificate of another CA does not.
func TestTLS(t *testing.T) {
	pki := newPKI(t)
	good := Config{Cert: pki.clientCert, Key: pki.clientKey, CA: pki.ca}
	tc, err := good.TLS()
	if err != nil {
		t.Fatal(err)
	}
	srv := etcdtest.Start(t, etcdtest.Options{
		TLS: &etcdtest.TLSFiles{CA: pki.ca, Cert: pki.serverCert, Key: pki.serverKey},
		Health: func(url string) bool {
			c := &http.Client{Timeout: time.Second, Transport: &http.Transport{TLSClientConfig: tc}}
			resp, err := c.Get(url + "/health")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		},
	})
	if !strings.HasPrefix(srv.ClientURL, "https://") {
		t.Fatalf("client URL %s", srv.ClientURL)
	}
	try := func(c Config) error {
		c.Endpoints, c.DialTimeout = []string{srv.ClientURL}, 2*time.Second
		cli, err := Dial(c)
		if err != nil {
			return err
		}
		defer cli.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_, err = NewStore(cli, DefaultPrefix).Registered(ctx)
		return err
	}
	if err := try(good); err != nil {
		t.Errorf("with the right client certificate: %v", err)
	}
	if err := try(Config{Cert: pki.strangerCert, Key: pki.strangerKey, CA: pki.ca}); err == nil {
		t.Error("a client certificate of another CA was let in")
	}
	if err := try(Config{CA: pki.ca}); err == nil {
		t.Error("a client without a certificate was let in")
	}
	if _, err := (Config{CA: filepath.Join(pki.dir, "missing.pem")}).TLS(); err == nil {
		t.Error("a missing CA file gave no error")
	}
}
