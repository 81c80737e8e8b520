// Command capture records the first bytes real clients and servers send,
// on loopback only, and writes them as an appid fixture
// (testdata/<proto>/*.hex). It lives under testdata, in a module of its
// own, so that its dependencies stay out of septa's go.mod.
//
// It listens on a loopback address, optionally forwards to a real server
// (also on loopback), runs the client command given after "--", and
// records the first bytes (TCP) or the first datagram (UDP) of each
// direction until both are in or the time is up:
//
//	go run . -app redis -listen 127.0.0.1:16379 -- redis-cli -p 16379 PING
//	go run . -app imap -listen 127.0.0.1:10143 -forward 127.0.0.1:143 -- curl imap://...
//
// Clients written in Go are run in-process with -gen (see gen.go).
package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

func main() {
	app := flag.String("app", "", "expected app name")
	transport := flag.String("transport", "tcp", "tcp or udp")
	listen := flag.String("listen", "127.0.0.1:0", "loopback address to listen on")
	forward := flag.String("forward", "", "loopback address of a real server to forward to")
	greet := flag.String("greet", "", "hex bytes to send the client when it connects (no -forward)")
	max := flag.Int("max", 4096, "bytes to record per direction")
	wait := flag.Duration("wait", 3*time.Second, "how long to record")
	gen := flag.String("gen", "", "run a built-in Go client/server pair instead (see gen.go)")
	var notes multiFlag
	flag.Var(&notes, "note", "header comment line (repeatable)")
	flag.Parse()
	for _, a := range []string{*listen, *forward} {
		if a != "" && !strings.HasPrefix(a, "127.") && !strings.HasPrefix(a, "[::1]") {
			fmt.Fprintln(os.Stderr, "capture: loopback addresses only")
			os.Exit(2)
		}
	}
	var toServer, toClient []byte
	var port string
	if *gen != "" {
		var err error
		toServer, toClient, port, err = runGen(*gen)
		if err != nil {
			fmt.Fprintln(os.Stderr, "capture:", err)
			os.Exit(1)
		}
		toServer, toClient = toServer[:min(len(toServer), *max)], toClient[:min(len(toClient), *max)]
	} else {
		rec := &recorder{max: *max}
		addr, stop, err := rec.start(*transport, *listen, *forward, *greet)
		if err != nil {
			fmt.Fprintln(os.Stderr, "capture:", err)
			os.Exit(1)
		}
		_, port, _ = net.SplitHostPort(addr)
		if args := flag.Args(); len(args) > 0 {
			ctx, cancel := context.WithTimeout(context.Background(), *wait)
			cmd := exec.CommandContext(ctx, args[0], args[1:]...)
			cmd.Stdin = nil
			out, _ := cmd.CombinedOutput()
			cancel()
			fmt.Fprintf(os.Stderr, "client output:\n%s\n", out)
		}
		time.Sleep(200 * time.Millisecond)
		stop()
		toServer, toClient = rec.bytes()
		if *forward != "" {
			_, port, _ = net.SplitHostPort(*forward)
		}
	}
	if *transport == "tcp" && *gen == "" && len(flag.Args()) > 0 {
		notes = append(notes, "command: "+strings.Join(flag.Args(), " "))
	}
	var b bytes.Buffer
	for _, n := range notes {
		fmt.Fprintf(&b, "# %s\n", n)
	}
	fmt.Fprintf(&b, "app: %s\ntransport: %s\nport: %s\n", *app, *transport, port)
	writeHex(&b, '>', toServer)
	writeHex(&b, '<', toClient)
	os.Stdout.Write(b.Bytes())
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, "; ") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

func writeHex(w io.Writer, dir byte, b []byte) {
	for len(b) > 0 {
		n := min(len(b), 32)
		fmt.Fprintf(w, "%c %s\n", dir, hex.EncodeToString(b[:n]))
		b = b[n:]
	}
}

// recorder keeps the first bytes of each direction.
type recorder struct {
	max int

	mu       sync.Mutex // guards the fields below
	toServer []byte
	toClient []byte
	first    bool
}

func (r *recorder) add(dst *[]byte, b []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := r.max - len(*dst); n > 0 {
		*dst = append(*dst, b[:min(n, len(b))]...)
	}
}

func (r *recorder) bytes() ([]byte, []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.toServer, r.toClient
}

func (r *recorder) start(transport, listen, forward, greet string) (string, func(), error) {
	greeting, err := hex.DecodeString(greet)
	if err != nil {
		return "", nil, err
	}
	if transport == "udp" {
		pc, err := net.ListenPacket("udp", listen)
		if err != nil {
			return "", nil, err
		}
		go r.serveUDP(pc, forward, greeting)
		return pc.LocalAddr().String(), func() { pc.Close() }, nil
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return "", nil, err
	}
	go func() {
		c, err := ln.Accept() // the first connection only
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if forward == "" {
			c.Write(greeting)
			r.pump(c, nil, &r.toServer)
			return
		}
		s, err := net.DialTimeout("tcp", forward, 2*time.Second)
		if err != nil {
			return
		}
		defer s.Close()
		s.SetDeadline(time.Now().Add(10 * time.Second))
		go r.pump(s, c, &r.toClient)
		r.pump(c, s, &r.toServer)
	}()
	return ln.Addr().String(), func() { ln.Close() }, nil
}

// pump copies src to dst (if any), recording.
func (r *recorder) pump(src, dst net.Conn, rec *[]byte) {
	buf := make([]byte, 64<<10)
	for range 1000 {
		n, err := src.Read(buf)
		if n > 0 {
			r.add(rec, buf[:n])
			if dst != nil {
				dst.Write(buf[:n])
			}
		}
		if err != nil {
			if dst != nil {
				if tc, ok := dst.(*net.TCPConn); ok {
					tc.CloseWrite()
				}
			}
			return
		}
	}
}

func (r *recorder) serveUDP(pc net.PacketConn, forward string, greeting []byte) {
	buf := make([]byte, 65536)
	n, from, err := pc.ReadFrom(buf)
	if err != nil {
		return
	}
	r.add(&r.toServer, buf[:n])
	if forward == "" {
		if len(greeting) > 0 {
			pc.WriteTo(greeting, from)
		}
		return
	}
	s, err := net.Dial("udp", forward)
	if err != nil {
		return
	}
	defer s.Close()
	s.Write(buf[:n])
	s.SetReadDeadline(time.Now().Add(2 * time.Second))
	m, err := s.Read(buf)
	if err != nil {
		return
	}
	r.add(&r.toClient, buf[:m])
	pc.WriteTo(buf[:m], from)
}
