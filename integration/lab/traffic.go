//go:build linux

package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Outcome is what a connection attempt observed.
type Outcome int

const (
	OutcomeUnknown Outcome = iota
	Connected              // the handshake completed
	Refused                // a TCP reset or an ICMP unreachable came back
	TimedOut               // nothing came back in time (dropped)
	OutcomeError           // anything else
)

func (o Outcome) String() string {
	switch o {
	case Connected:
		return "connected"
	case Refused:
		return "refused"
	case TimedOut:
		return "timed out"
	case OutcomeError:
		return "error"
	}
	return "unknown"
}

// Connect tries a TCP connection from h to dst and reports what happened
// within timeout. The connection, if any, is closed at once.
func (h *Host) Connect(dst netip.AddrPort, timeout time.Duration) (Outcome, error) {
	var out Outcome
	var cerr error
	err := h.Do(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", dst.String())
		out, cerr = classify(err)
		if c != nil {
			c.Close()
		}
		return nil
	})
	if err != nil {
		return OutcomeError, err
	}
	return out, cerr
}

func classify(err error) (Outcome, error) {
	switch {
	case err == nil:
		return Connected, nil
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return Refused, nil
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, syscall.ETIMEDOUT), errors.Is(err, syscall.EAGAIN):
		return TimedOut, nil
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return TimedOut, nil
	}
	return OutcomeError, err
}

// DialTCP opens a TCP connection from inside h (the socket stays in h's
// namespace).
func (h *Host) DialTCP(dst netip.AddrPort, timeout time.Duration) (net.Conn, error) {
	var c net.Conn
	err := h.Do(func() error {
		var err error
		c, err = net.DialTimeout("tcp", dst.String(), timeout)
		return err
	})
	return c, err
}

// ListenTCP listens inside h on port (all addresses).
func (h *Host) ListenTCP(port uint16) (net.Listener, error) {
	var l net.Listener
	err := h.Do(func() error {
		var err error
		l, err = net.Listen("tcp", fmt.Sprintf(":%d", port))
		return err
	})
	return l, err
}

// ListenUDP opens a UDP socket inside h on port (all addresses).
func (h *Host) ListenUDP(port uint16) (*net.UDPConn, error) {
	var c *net.UDPConn
	err := h.Do(func() error {
		var err error
		c, err = net.ListenUDP("udp", &net.UDPAddr{Port: int(port)})
		return err
	})
	return c, err
}

// Server is a TCP or UDP server running in a host; Close stops it and
// waits for its goroutines.
type Server struct {
	close func()
	wg    sync.WaitGroup
	once  sync.Once
	// Conns counts accepted connections (TCP) or datagrams (UDP).
	Conns atomic.Int64
}

// Close stops the server.
func (s *Server) Close() {
	s.once.Do(func() {
		s.close()
		s.wg.Wait()
	})
}

// ioTimeout bounds every read and write of the lab's servers.
const ioTimeout = 30 * time.Second

// EchoTCP serves TCP echo on port in h until Close. Each connection is
// bounded by ioTimeout of inactivity.
func (h *Host) EchoTCP(port uint16) (*Server, error) {
	ln, err := h.ListenTCP(port)
	if err != nil {
		return nil, err
	}
	s := &Server{}
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	done := false
	s.close = func() {
		ln.Close()
		mu.Lock()
		done = true
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.Conns.Add(1)
			mu.Lock()
			if done {
				mu.Unlock()
				c.Close()
				return
			}
			conns[c] = true
			mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer func() {
					mu.Lock()
					delete(conns, c)
					mu.Unlock()
					c.Close()
				}()
				buf := make([]byte, 32<<10)
				for {
					c.SetDeadline(time.Now().Add(ioTimeout))
					n, err := c.Read(buf)
					if n > 0 {
						if _, werr := c.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return s, nil
}

// EchoUDP serves UDP echo on port in h until Close.
func (h *Host) EchoUDP(port uint16) (*Server, error) {
	c, err := h.ListenUDP(port)
	if err != nil {
		return nil, err
	}
	s := &Server{close: func() { c.Close() }}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		buf := make([]byte, 64<<10)
		for {
			n, addr, err := c.ReadFromUDP(buf)
			if err != nil {
				return
			}
			s.Conns.Add(1)
			c.WriteToUDP(buf[:n], addr)
		}
	}()
	return s, nil
}

// UDPExchange sends payload from h to dst and waits up to timeout for the
// echo; it reports whether the echo came back intact.
func (h *Host) UDPExchange(dst netip.AddrPort, payload []byte, timeout time.Duration) (bool, error) {
	var c *net.UDPConn
	err := h.Do(func() error {
		var err error
		c, err = net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(dst))
		return err
	})
	if err != nil {
		return false, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write(payload); err != nil {
		return false, nil
	}
	buf := make([]byte, len(payload)+1)
	n, err := c.Read(buf)
	if err != nil {
		return false, nil
	}
	return string(buf[:n]) == string(payload), nil
}

// Stream is a long-lived TCP stream from a client host to a sink on a
// server host. The client writes a known byte sequence as fast as the
// network takes it; the sink checks every byte.
type Stream struct {
	Sent     atomic.Int64 // bytes written by the client
	Received atomic.Int64 // bytes the sink verified
	// Corrupt is set if the sink saw a byte out of sequence.
	Corrupt atomic.Bool

	mu      sync.Mutex // guards err
	err     error
	stop    chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
	conn    net.Conn
	sconn   net.Conn
	ln      net.Listener
	started time.Time
}

// streamByte is the byte at offset i of the stream.
func streamByte(i int64) byte { return byte(i*7 + i>>8) }

// StartStream opens a stream from client to server:port.
func StartStream(client, server *Host, dst netip.AddrPort, timeout time.Duration) (*Stream, error) {
	ln, err := server.ListenTCP(dst.Port())
	if err != nil {
		return nil, err
	}
	s := &Stream{stop: make(chan struct{}), ln: ln, started: time.Now()}
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	conn, err := client.DialTCP(dst, timeout)
	if err != nil {
		ln.Close()
		return nil, err
	}
	var sc net.Conn
	select {
	case sc = <-accepted:
	case <-time.After(timeout):
	}
	if sc == nil {
		conn.Close()
		ln.Close()
		return nil, errors.New("stream: server accepted nothing")
	}
	s.conn, s.sconn = conn, sc
	s.wg.Add(2)
	go func() { // writer
		defer s.wg.Done()
		buf := make([]byte, 16<<10)
		var off int64
		for {
			select {
			case <-s.stop:
				return
			default:
			}
			for i := range buf {
				buf[i] = streamByte(off + int64(i))
			}
			conn.SetWriteDeadline(time.Now().Add(ioTimeout))
			n, err := conn.Write(buf)
			off += int64(n)
			s.Sent.Add(int64(n))
			if err != nil {
				select {
				case <-s.stop:
				default:
					s.fail(fmt.Errorf("stream write: %w", err))
				}
				return
			}
		}
	}()
	go func() { // sink
		defer s.wg.Done()
		defer sc.Close()
		buf := make([]byte, 64<<10)
		var off int64
		for {
			sc.SetReadDeadline(time.Now().Add(ioTimeout))
			n, err := sc.Read(buf)
			for i := 0; i < n; i++ {
				if buf[i] != streamByte(off+int64(i)) {
					s.Corrupt.Store(true)
					s.fail(fmt.Errorf("stream: byte %d out of sequence", off+int64(i)))
					return
				}
			}
			off += int64(n)
			s.Received.Add(int64(n))
			if err != nil {
				if !errors.Is(err, io.EOF) {
					select {
					case <-s.stop:
					default:
						s.fail(fmt.Errorf("stream read: %w", err))
					}
				}
				return
			}
		}
	}()
	return s, nil
}

func (s *Stream) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
}

// Err is the first error the stream met, nil while it flows.
func (s *Stream) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// WaitProgress waits until the sink has received more than from bytes, or
// timeout; it reports whether it did.
func (s *Stream) WaitProgress(from int64, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if s.Received.Load() > from {
			return true
		}
		if s.Err() != nil {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return s.Received.Load() > from
}

// Stop ends the stream and waits for its goroutines. It returns the
// stream's error, if any.
func (s *Stream) Stop() error {
	s.once.Do(func() {
		close(s.stop)
		s.conn.Close()
		s.sconn.Close() // a stream cut by the firewall never sees the FIN
		s.ln.Close()
		s.wg.Wait()
	})
	return s.Err()
}
