//go:build linux

package integration

import (
	"net/netip"
	"testing"
	"time"

	"github.com/septa-fw/septa/integration/benchkit"
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

func BenchmarkConnRate(b *testing.B) {
	for _, config := range []string{"nofw", "kernel", "appid"} {
		b.Run("config="+config, func(b *testing.B) {
			requireKernel(b)
			l := lab.New(b, lab.DefaultHosts()[0], lab.DefaultHosts()[2])
			client, web := l.Host("dev-1"), l.Host("prod-web")
			ln, err := benchkit.ServeShort(web, 8080)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { ln.Close() })
			var sd *septadProc
			if config != "nofw" {
				sd = startSeptad(b, web, connPolicy(config == "appid"), "")
			}
			dst := netip.AddrPortFrom(web.V4, 8080)
			if err := benchkit.ShortConn(client, dst); err != nil {
				b.Fatal(err)
			}
			var cpu0 time.Duration
			var q0 uint64
			if sd != nil {
				cpu0, _ = benchkit.ProcCPU(septadPID(b, sd))
				q0 = sd.queued()
			}
			b.ResetTimer()
			for b.Loop() {
				if err := benchkit.ShortConn(client, dst); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if sd != nil {
				cpu1, _ := benchkit.ProcCPU(septadPID(b, sd))
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
