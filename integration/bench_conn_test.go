//go:build linux

package integration

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/septa-fw/septa/integration/lab"
)

// Connection-rate benchmarks: a client makes short TCP connections to a
// server, one request and one response each, through the same two lab
// hosts under different policies on the server:
//
//	nofw    no firewall at all
//	kernel  septad, the port allowed by a kernel-only rule
//	appid   septad, the port allowed by an app = "http" rule: app-ID
//	        decides every connection in the inspector
//
// One op is one connection. Compare the configurations with benchstat:
//
//	SEPTA_INTEGRATION=1 go test -run '^$' -bench ConnRate -count 6 ./integration | tee conn.txt
//	go tool benchstat -col /config conn.txt

const benchRequest = "GET /item HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: septa-bench\r\n\r\n"

const benchResponse = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"

// serveShort answers each connection's request with a short response and
// closes it.
func serveShort(tb testing.TB, h *lab.Host, port uint16) {
	tb.Helper()
	ln, err := h.ListenTCP(port)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
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
				io.WriteString(c, benchResponse)
			}()
		}
	}()
}

// shortConn makes one connection, sends the request, reads the response.
func shortConn(h *lab.Host, dst string) error {
	ap, err := netip.ParseAddrPort(dst)
	if err != nil {
		return err
	}
	c, err := h.DialTCP(ap, 3*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.WriteString(c, benchRequest); err != nil {
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

func connPolicy(app bool) string {
	p := `
[settings]
default = "deny"
[[rules]]
name = "web"
direction = "in"
from = "any"
to = "self"
ports = ["tcp/8080"]
action = "allow"
`
	if app {
		p += "app = \"http\"\n"
	}
	return p
}

// procCPU returns a process's user+system CPU time.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command (which may hold spaces) start after ')'.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100, nil // USER_HZ is 100 on Linux
}

func BenchmarkConnRate(b *testing.B) {
	for _, config := range []string{"nofw", "kernel", "appid"} {
		b.Run("config="+config, func(b *testing.B) {
			requireKernel(b)
			l := lab.New(b, lab.DefaultHosts()[0], lab.DefaultHosts()[2])
			client, web := l.Host("dev-1"), l.Host("prod-web")
			serveShort(b, web, 8080)
			var sd *septadProc
			if config != "nofw" {
				sd = startSeptad(b, web, connPolicy(config == "appid"), "")
			}
			dst := fmt.Sprintf("%s:8080", web.V4)
			if err := shortConn(client, dst); err != nil {
				b.Fatal(err)
			}
			var cpu0 time.Duration
			var q0 uint64
			if sd != nil {
				cpu0, _ = procCPU(septadPID(b, sd))
				q0 = sd.queued()
			}
			b.ResetTimer()
			for b.Loop() {
				if err := shortConn(client, dst); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if sd != nil {
				cpu1, _ := procCPU(septadPID(b, sd))
				q := sd.queued() - q0
				if q > 0 {
					b.ReportMetric(float64((cpu1-cpu0).Nanoseconds())/float64(q), "septad-ns/queued-pkt")
				}
				b.ReportMetric(float64(q)/float64(b.N), "queued-pkts/conn")
			}
		})
	}
}

// septadPID is the pid of septad itself (ip netns exec execs it, so the
// child of the command is septad).
func septadPID(tb testing.TB, s *septadProc) int {
	tb.Helper()
	return s.cmd.Process.Pid
}
