package main

import (
	"encoding/binary"
	"io"
	"net"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// genPGCancel captures the CancelRequest psql sends when interrupted:
// the listener plays a PostgreSQL server just far enough (AuthenticationOk,
// BackendKeyData, ReadyForQuery, then silence while the query "runs"),
// psql is sent SIGINT, and the first bytes of its second connection (the
// cancel connection) are returned.
func genPGCancel() ([]byte, []byte, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, "", err
	}
	defer ln.Close()
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		hdr := make([]byte, 4)
		io.ReadFull(c, hdr)
		io.ReadFull(c, make([]byte, binary.BigEndian.Uint32(hdr)-4)) // StartupMessage
		var out []byte
		out = append(out, 'R', 0, 0, 0, 8, 0, 0, 0, 0)                    // AuthenticationOk
		out = append(out, 'K', 0, 0, 0, 12, 0, 0, 0x30, 0x39, 1, 2, 3, 4) // BackendKeyData pid 12345
		out = append(out, 'S', 0, 0, 0, 24)
		out = append(out, "server_version\x0015.0\x00"...)
		out = append(out, 'Z', 0, 0, 0, 5, 'I') // ReadyForQuery
		c.Write(out)
		// The cancel arrives on a second connection.
		c2, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c2.Close()
		c2.SetDeadline(time.Now().Add(3 * time.Second))
		b, _ := io.ReadAll(io.LimitReader(c2, 64))
		got <- b
	}()
	cmd := exec.Command("psql", "host=127.0.0.1 port="+port+" user=alice dbname=shop sslmode=disable", "-c", "select pg_sleep(10)")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, nil, "", err
	}
	time.Sleep(time.Second)
	cmd.Process.Signal(syscall.SIGINT)
	b := <-got
	cmd.Process.Kill()
	cmd.Wait()
	return b, nil, port, nil
}
