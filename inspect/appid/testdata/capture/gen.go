package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/net/quic"
)

// runGen runs a built-in pair of real Go implementations on loopback and
// returns the first bytes each side sent.
//
//	ssh:  golang.org/x/crypto/ssh client dialling an x/crypto/ssh server
//	quic: golang.org/x/net/quic client (SNI "quic.example", ALPN "h3")
//	      sending its Initial to a UDP listener that records it
//	quic-x25519: the same with only X25519 offered, so the ClientHello
//	      fits the first datagram
//	mongo: go.mongodb.org/mongo-driver/v2 client pinging a listener
//	      (legacy handshake: OP_QUERY isMaster)
//	grpc: google.golang.org/grpc client calling a listener over h2c
//	pg-cancel: psql's CancelRequest (see pgcancel.go)
func runGen(name string) (toServer, toClient []byte, port string, err error) {
	switch name {
	case "ssh":
		return genSSH()
	case "quic":
		return genQUIC(nil)
	case "quic-x25519":
		return genQUIC([]tls.CurveID{tls.X25519})
	case "mongo":
		return genMongo()
	case "pg-cancel":
		return genPGCancel()
	case "grpc":
		return genGRPC()
	}
	return nil, nil, "", fmt.Errorf("unknown -gen %q", name)
}

func genSSH() ([]byte, []byte, string, error) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, nil, "", err
	}
	cfg := &ssh.ServerConfig{NoClientAuth: true}
	cfg.AddHostKey(signer)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, "", err
	}
	defer ln.Close()
	// A recording proxy in front of the server.
	rec := &recorder{max: 4096}
	srvLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, "", err
	}
	defer srvLn.Close()
	go func() {
		c, err := srvLn.Accept()
		if err != nil {
			return
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		ssh.NewServerConn(c, cfg)
	}()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		s, err := net.Dial("tcp", srvLn.Addr().String())
		if err != nil {
			return
		}
		defer s.Close()
		s.SetDeadline(time.Now().Add(5 * time.Second))
		go rec.pump(s, c, &rec.toClient)
		rec.pump(c, s, &rec.toServer)
	}()
	conn, err := ssh.Dial("tcp", ln.Addr().String(), &ssh.ClientConfig{
		User: "alice", HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 5 * time.Second,
	})
	if err == nil {
		conn.Close()
	}
	time.Sleep(200 * time.Millisecond)
	ts, tc := rec.bytes()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return ts, tc, port, nil
}

func genQUIC(curves []tls.CurveID) ([]byte, []byte, string, error) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, "", err
	}
	defer pc.Close()
	got := make(chan []byte, 1)
	go func() {
		buf := make([]byte, 65536)
		pc.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			got <- nil
			return
		}
		got <- buf[:n]
	}()
	ep, err := quic.Listen("udp", "127.0.0.1:0", nil)
	if err != nil {
		return nil, nil, "", err
	}
	defer ep.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	go ep.Dial(ctx, "udp", pc.LocalAddr().String(), &quic.Config{
		TLSConfig: &tls.Config{ServerName: "quic.example", NextProtos: []string{"h3"}, MinVersion: tls.VersionTLS13, CurvePreferences: curves},
	})
	b := <-got
	_, port, _ := net.SplitHostPort(pc.LocalAddr().String())
	return b, nil, port, nil
}
