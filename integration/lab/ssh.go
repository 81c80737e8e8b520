//go:build linux

package lab

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net"
	"time"

	"golang.org/x/crypto/ssh"
)

// ServeSSH runs a real SSH server (golang.org/x/crypto/ssh, any
// password, a fresh host key) inside h on port, for traffic that must be
// SSH whatever its port. Each connection is bounded to five seconds. The
// returned func stops it.
func (h *Host) ServeSSH(port uint16) (stop func(), err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	signer, err := ssh.NewSignerFromKey(key)
	if err != nil {
		return nil, err
	}
	cfg := &ssh.ServerConfig{PasswordCallback: func(ssh.ConnMetadata, []byte) (*ssh.Permissions, error) { return nil, nil }}
	cfg.AddHostKey(signer)
	ln, err := h.ListenTCP(port)
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				ssh.NewServerConn(c, cfg)
			}(c)
		}
	}()
	return func() { ln.Close() }, nil
}
