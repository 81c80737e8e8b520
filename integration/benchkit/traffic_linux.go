//go:build linux

package benchkit

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/septa-fw/septa/integration/lab"
)

// ShortRequest and ShortResponse are the one request and one response of
// each short connection.
const (
	ShortRequest  = "GET /item HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: septa-bench\r\n\r\n"
	ShortResponse = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
)

// ioTimeout bounds every read and write of the workloads here.
const ioTimeout = 5 * time.Second

// ServeShort answers each connection to port in h with ShortResponse
// once it has read a request's header, and closes it. Close the returned
// listener to stop it.
func ServeShort(h *lab.Host, port uint16) (net.Listener, error) {
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
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(ioTimeout))
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadSlice('\n')
					if err != nil {
						return
					}
					if len(line) == 2 {
						break
					}
				}
				io.WriteString(c, ShortResponse)
			}()
		}
	}()
	return ln, nil
}

// ShortConn makes one connection from h to dst, sends ShortRequest and
// reads the response to its end.
func ShortConn(h *lab.Host, dst netip.AddrPort) error {
	c, err := h.DialTCP(dst, 3*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.WriteString(c, ShortRequest); err != nil {
		return err
	}
	b, err := io.ReadAll(c)
	if err != nil {
		return err
	}
	if !bytes.HasSuffix(b, []byte("ok")) {
		return fmt.Errorf("response %q", b)
	}
	return nil
}

// ConnResult is what a run of short connections measured.
type ConnResult struct {
	Conns     int           // completed connections
	Errors    int           // failed ones
	FirstErr  error         // the first failure
	Elapsed   time.Duration // wall time of the run
	Latencies []float64     // of each completed connection, in seconds
}

// PerSecond is the rate of completed connections.
func (r ConnResult) PerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Conns) / r.Elapsed.Seconds()
}

// ConnLoad makes short connections from h to dst with workers concurrent
// clients until count connections were made or d has passed, whichever
// comes first.
func ConnLoad(h *lab.Host, dst netip.AddrPort, workers, count int, d time.Duration) ConnResult {
	var (
		mu    sync.Mutex
		res   ConnResult
		next  atomic.Int64
		wg    sync.WaitGroup
		start = time.Now()
	)
	deadline := start.Add(d)
	for range max(workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []float64
			var errs int
			var first error
			for next.Add(1) <= int64(count) && time.Now().Before(deadline) {
				t0 := time.Now()
				if err := ShortConn(h, dst); err != nil {
					errs++
					if first == nil {
						first = err
					}
					continue
				}
				lat = append(lat, time.Since(t0).Seconds())
			}
			mu.Lock()
			res.Latencies = append(res.Latencies, lat...)
			res.Errors += errs
			if res.FirstErr == nil {
				res.FirstErr = first
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.Conns = len(res.Latencies)
	return res
}

// ServeBulk serves HTTP on port in h: GET /bulk?seconds=N streams a body
// of 64 KiB chunks for N seconds (at most 60). Close the returned server
// to stop it.
func ServeBulk(h *lab.Host, port uint16) (*http.Server, error) {
	ln, err := h.ListenTCP(port)
	if err != nil {
		return nil, err
	}
	chunk := bytes.Repeat([]byte("septa-bench-bulk"), 4096) // 64 KiB
	mux := http.NewServeMux()
	mux.HandleFunc("GET /bulk", func(w http.ResponseWriter, r *http.Request) {
		secs, err := strconv.ParseFloat(r.URL.Query().Get("seconds"), 64)
		if err != nil || secs <= 0 || secs > 60 {
			http.Error(w, "seconds: want 0 < N <= 60", http.StatusBadRequest)
			return
		}
		end := time.Now().Add(time.Duration(secs * float64(time.Second)))
		for time.Now().Before(end) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("GET /item", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: ioTimeout}
	go srv.Serve(ln)
	return srv, nil
}

// BulkGet downloads /bulk from server:port for d over one HTTP
// connection from h and returns the throughput in Gbit/s.
func BulkGet(h *lab.Host, dst netip.AddrPort, d time.Duration) (float64, error) {
	c, err := h.DialTCP(dst, 3*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(d + 10*time.Second))
	fmt.Fprintf(c, "GET /bulk?seconds=%g HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: septa-bench\r\nConnection: close\r\n\r\n", d.Seconds())
	br := bufio.NewReaderSize(c, 64<<10)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("bulk: %s", resp.Status)
	}
	start := time.Now()
	n, err := io.Copy(io.Discard, resp.Body)
	el := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("bulk: after %d bytes: %w", n, err)
	}
	if n == 0 || el <= 0 {
		return 0, errors.New("bulk: no data")
	}
	return float64(n) * 8 / el.Seconds() / 1e9, nil
}

// StartIperfServer starts iperf3's server on port in h (the lab kills it
// on Close) and waits until it listens.
func StartIperfServer(h *lab.Host, port uint16) error {
	if _, err := h.Start("iperf3", "-s", "-B", h.V4.String(), "-p", strconv.Itoa(int(port))); err != nil {
		return err
	}
	return WaitListening(h, port, 5*time.Second)
}

// Iperf runs an iperf3 test of d from client to server:port and returns
// the received throughput in Gbit/s.
func Iperf(client, server *lab.Host, port uint16, d time.Duration) (float64, error) {
	secs := strconv.Itoa(max(int(d/time.Second), 1))
	args := []string{"-c", server.V4.String(), "-p", strconv.Itoa(int(port)), "-t", secs, "-J"}
	if runtime.NumCPU() >= 2 {
		// The client on the first CPU, the server on the second: left to
		// the scheduler, their placement spread the rounds by 10 %.
		args = append(args, "-A", "0,1")
	}
	out, err := client.Run(d+20*time.Second, "iperf3", args...)
	if err != nil {
		// iperf3 reports its own errors in the JSON as well.
		if _, perr := ParseIperf([]byte(out)); perr != nil {
			return 0, fmt.Errorf("%w (%v)", err, perr)
		}
		return 0, err
	}
	return ParseIperf([]byte(out))
}

// WaitListening waits, at most timeout, until something in h accepts TCP
// connections on port.
func WaitListening(h *lab.Host, port uint16, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := h.DialTCP(netip.AddrPortFrom(h.V4, port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listens on %s:%d: %w", h.Name, port, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
