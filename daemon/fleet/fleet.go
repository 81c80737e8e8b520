// Package fleet is septa's fleet mode: many hosts share one policy, one
// inventory and one identity map through etcd. It owns the key layout
// under the configured prefix, the encoding of a policy revision, a
// host's registration (name, addresses, tags) and its published login
// sessions under a lease, the per-host status, the client side of
// `septa fleet push|diff|rollback|status`, and the Agent that septad runs:
// it watches etcd, validates every revision with rules.Compile exactly
// like local files, and hands compiled policies to a Target (septad's
// kernel side) without ever loosening enforcement when etcd is gone.
//
// It imports rules and rules/ir of septa, and the etcd client; septad
// (package daemon) wires it in.
package fleet

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	grpcbackoff "google.golang.org/grpc/backoff"
)

// Defaults of Config.
const (
	DefaultPrefix   = "/septa/"
	DefaultLeaseTTL = 15 * time.Second
	DefaultUtmp     = "/var/run/utmp"
)

// Config is the [fleet] section of septad.toml. Fleet mode is opt-in:
// with Enabled false, septad reads its policy and inventory from files.
type Config struct {
	Enabled bool `toml:"enabled"`
	// Endpoints are etcd's client URLs ("https://10.9.0.20:2379").
	Endpoints []string `toml:"endpoints"`
	// Cert and Key are the client certificate and its key, CA the
	// certificate authority that signed etcd's server certificate; all
	// empty for plain http endpoints.
	Cert string `toml:"cert"`
	Key  string `toml:"key"`
	CA   string `toml:"ca"`
	// Prefix is where septa's keys live in etcd (default "/septa/").
	Prefix string `toml:"prefix"`
	// Host is this host's name in the fleet (default: the hostname).
	Host string `toml:"host"`
	// Tags are this host's tags; discovered facts (os, distro) are added
	// unless a tag of the same name is set here.
	Tags map[string]string `toml:"tags"`
	// LeaseTTL is how long a host's registration and sessions outlive
	// the host (default 15s).
	LeaseTTL time.Duration `toml:"lease_ttl"`
	// Utmp is the utmp file whose interactive sessions this host
	// publishes (default /var/run/utmp); "none" publishes none.
	Utmp string `toml:"utmp"`
	// DialTimeout bounds each connection attempt (default 5s).
	DialTimeout time.Duration `toml:"dial_timeout"`
}

// WithDefaults fills every unset field.
func (c Config) WithDefaults() Config {
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if !strings.HasSuffix(c.Prefix, "/") {
		c.Prefix += "/"
	}
	if c.Host == "" {
		c.Host, _ = os.Hostname()
	}
	if c.LeaseTTL == 0 {
		c.LeaseTTL = DefaultLeaseTTL
	}
	if c.Utmp == "" {
		c.Utmp = DefaultUtmp
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = 5 * time.Second
	}
	return c
}

// Validate checks a configuration after WithDefaults. A disabled section
// is checked too, so that a typo shows before the day it is enabled; only
// the host name, which defaults to the hostname, waits for enabled.
func (c Config) Validate() error {
	var errs []error
	if c.Enabled && len(c.Endpoints) == 0 {
		errs = append(errs, errors.New("fleet.endpoints: fleet mode needs at least one etcd endpoint"))
	}
	for _, e := range c.Endpoints {
		u, err := url.Parse(e)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("fleet.endpoints: %q is not an http:// or https:// URL", e))
		}
	}
	if (c.Cert == "") != (c.Key == "") {
		errs = append(errs, errors.New("fleet.cert and fleet.key go together"))
	}
	if !strings.HasPrefix(c.Prefix, "/") {
		errs = append(errs, fmt.Errorf("fleet.prefix: %q does not start with /", c.Prefix))
	}
	// The host name defaults to the hostname, which a disabled section
	// must not make an error of (an FQDN may be longer than a name).
	if c.Enabled {
		if err := CheckHostName(c.Host); err != nil {
			errs = append(errs, fmt.Errorf("fleet.host: %w (set fleet.host)", err))
		}
	}
	for k, v := range c.Tags {
		if err := checkTag(k, v); err != nil {
			errs = append(errs, fmt.Errorf("fleet.tags: %w", err))
		}
	}
	if c.LeaseTTL < 2*time.Second || c.LeaseTTL > time.Hour {
		errs = append(errs, fmt.Errorf("fleet.lease_ttl: %s is not between 2s and 1h", c.LeaseTTL))
	}
	return errors.Join(errs...)
}

// TLS returns the client TLS configuration, or nil when none is set.
func (c Config) TLS() (*tls.Config, error) {
	if c.Cert == "" && c.CA == "" {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.Cert != "" {
		cert, err := tls.LoadX509KeyPair(c.Cert, c.Key)
		if err != nil {
			return nil, fmt.Errorf("fleet: client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	if c.CA != "" {
		pem, err := os.ReadFile(c.CA)
		if err != nil {
			return nil, fmt.Errorf("fleet: CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("fleet: CA %s: no PEM certificate", c.CA)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// Dial returns an etcd client for the configuration. It does not wait
// for a connection: calls fail or block until etcd answers.
func Dial(c Config) (*clientv3.Client, error) {
	tc, err := c.TLS()
	if err != nil {
		return nil, err
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:            c.Endpoints,
		TLS:                  tc,
		DialTimeout:          c.DialTimeout,
		DialKeepAliveTime:    5 * time.Second,
		DialKeepAliveTimeout: 3 * time.Second,
		// The client's own zap logging is noise in septad's journal;
		// septa logs what it does with the answers.
		Logger: zap.NewNop(),
		// gRPC's default reconnect backoff grows to 2 minutes: a host
		// would catch up that long after etcd is back. 5 s at most.
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           grpcbackoff.Config{BaseDelay: 500 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 5 * time.Second},
			MinConnectTimeout: c.DialTimeout,
		})},
	})
	if err != nil {
		return nil, fmt.Errorf("fleet: etcd client: %w", err)
	}
	return cli, nil
}
