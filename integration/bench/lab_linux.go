//go:build linux

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/septa-fw/septa/integration/benchkit"
	"github.com/septa-fw/septa/integration/lab"
)

// fw is one configuration of the server, set up for one round.
type fw interface {
	// septad is the daemon when the configuration runs one.
	septad() *benchkit.Septad
	close() error
}

type noFW struct{}

func (noFW) septad() *benchkit.Septad { return nil }
func (noFW) close() error             { return nil }

// septaPolicy is the policy of a septa configuration: iperf3's port by a
// kernel-only rule (iperf3 speaks no protocol app-ID knows), the two
// HTTP ports by the rule under test.
func septaPolicy(config, sigs string) string {
	p := fmt.Sprintf(`
[settings]
default = "deny"
[[rules]]
name = "iperf"
direction = "in"
from = "any"
to = "self"
ports = ["tcp/%d"]
action = "allow"
[[rules]]
name = "web"
direction = "in"
from = "any"
to = "self"
ports = ["tcp/%d", "tcp/%d"]
action = "allow"
`, portIperf, portShort, portBulk)
	switch config {
	case cfgSeptaAppID:
		p += "app = \"http\"\n"
	case cfgSeptaIDS:
		p += fmt.Sprintf("ids = \"prevent\"\n[ids]\nsignatures = [%q]\n", sigs)
	}
	return p
}

type septaFW struct {
	sd    *benchkit.Septad
	host  *lab.Host
	septa string
}

func (s septaFW) septad() *benchkit.Septad { return s.sd }

// close stops septad and removes its table with septa flush: a stopped
// septad leaves its table in the kernel on purpose (decided flows keep
// their verdicts, DESIGN.md).
func (s septaFW) close() error {
	err := s.sd.Stop()
	_, ferr := s.host.Run(30*time.Second, s.septa, "flush")
	return errors.Join(err, ferr)
}

// listTables lists the nftables tables of h ("family name"), read as
// JSON (KERNEL.md).
func listTables(h *lab.Host) ([]string, error) {
	out, err := h.Command(context.Background(), "nft", "-j", "list", "tables").Output()
	if err != nil {
		return nil, fmt.Errorf("nft -j list tables in %s: %w", h.Name, err)
	}
	var doc struct {
		Nftables []struct {
			Table *struct{ Family, Name string } `json:"table"`
		} `json:"nftables"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return nil, fmt.Errorf("nft -j list tables: %w", err)
	}
	var tables []string
	for _, o := range doc.Nftables {
		if o.Table != nil {
			tables = append(tables, o.Table.Family+" "+o.Table.Name)
		}
	}
	return tables, nil
}

// nftFW is the plain ruleset loaded with nft -f.
type nftFW struct{ host *lab.Host }

func (nftFW) septad() *benchkit.Septad { return nil }
func (f nftFW) close() error {
	_, err := f.host.Run(10*time.Second, "nft", "delete", "table", "inet", plainTable)
	return err
}

const plainTable = "benchnft"

func loadPlain(h *lab.Host, dir string) (nftFW, error) {
	path := filepath.Join(dir, "plain.nft")
	if err := os.WriteFile(path, []byte(benchkit.PlainRuleset(plainTable, portIperf, portShort, portBulk)), 0o644); err != nil {
		return nftFW{}, err
	}
	_, err := h.Run(30*time.Second, "nft", "-f", path)
	return nftFW{host: h}, err
}

// setup brings up one configuration on the server.
func (h *harness) setup(config string, web *lab.Host) (fw, error) {
	switch config {
	case cfgNoFW:
		return noFW{}, nil
	case cfgNft:
		return loadPlain(web, h.dir)
	case cfgSeptaKernel, cfgSeptaAppID, cfgSeptaIDS:
		// Loading all of ET Open takes seconds on a busy machine.
		sd, err := benchkit.StartSeptad(web, h.septad, h.dir, septaPolicy(config, h.sigs), "", 3*time.Minute)
		if err != nil {
			return nil, err
		}
		return septaFW{sd: sd, host: web, septa: h.septa}, nil
	case cfgSuricata:
		return h.startSuricataInline(web)
	case cfgFloor:
		return h.startFloor(web)
	}
	return nil, fmt.Errorf("unknown configuration %q", config)
}

// labSections runs sections 1 to 3: bulk throughput, short connections
// and the inspector's cost, for each configuration in each round.
func (h *harness) labSections() error {
	hosts := lab.DefaultHosts()
	l, err := lab.Build(hosts[0], hosts[2]) // dev-1, prod-web
	if err != nil {
		return err
	}
	defer l.Close()
	client, web := l.Host("dev-1"), l.Host("prod-web")
	if err := benchkit.StartIperfServer(web, portIperf); err != nil {
		return err
	}
	short, err := benchkit.ServeShort(web, portShort)
	if err != nil {
		return err
	}
	defer short.Close()
	bulk, err := benchkit.ServeBulk(web, portBulk)
	if err != nil {
		return err
	}
	defer bulk.Close()
	var configs []string
	for _, c := range configNames {
		if h.o.configs[c.short] {
			configs = append(configs, c.name)
		}
	}
	for round := range h.o.rounds {
		for i := range configs {
			if h.stop() {
				return errors.New("interrupted")
			}
			config := configs[(i+round)%len(configs)]
			fmt.Printf("bench: round %d/%d: %s\n", round+1, h.o.rounds, config)
			if err := h.measureLab(round, config, client, web); err != nil {
				h.fail("round %d, %s: %v", round+1, config, err)
			}
		}
	}
	return nil
}

func (h *harness) measureLab(round int, config string, client, web *lab.Host) (err error) {
	// Every configuration starts from a namespace without any table: a
	// table left behind would filter the next configuration's traffic.
	if tables, err := listTables(web); err != nil {
		return err
	} else if len(tables) > 0 {
		return fmt.Errorf("the server still has tables %v before setup", tables)
	}
	f, err := h.setup(config, web)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	defer func() {
		if cerr := f.close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("teardown: %w", cerr))
		}
	}()
	var errs []error
	if h.o.sections["bulk"] {
		if g, err := benchkit.Iperf(client, web, portIperf, h.o.bulkTime); err != nil {
			errs = append(errs, fmt.Errorf("iperf3: %w", err))
		} else {
			h.rep.Add("bulk", "iperf3 throughput", config, "Gbit/s", round, g)
		}
		if g, err := benchkit.BulkGet(client, netip.AddrPortFrom(web.V4, portBulk), h.o.bulkTime); err != nil {
			errs = append(errs, fmt.Errorf("HTTP download: %w", err))
		} else {
			h.rep.Add("bulk", "HTTP download throughput (port of the rule under test)", config, "Gbit/s", round, g)
		}
	}
	if h.o.sections["conn"] {
		errs = append(errs, h.measureConns(round, config, client, web, f))
	}
	if s, ok := f.(*suricataFW); ok {
		// Whether the documented bypass works: packets of bypassed flows
		// never reach the queue.
		if share, err := s.kernelShare(); err != nil {
			errs = append(errs, err)
		} else {
			h.rep.Add("inspector", "packets accepted in the kernel after Suricata's flow bypass", config, "%", round, share*100)
		}
	}
	return errors.Join(errs...)
}

func (h *harness) measureConns(round int, config string, client, web *lab.Host, f fw) error {
	sd := f.septad()
	dst := netip.AddrPortFrom(web.V4, portShort)
	if err := benchkit.ShortConn(client, dst); err != nil {
		return fmt.Errorf("first short connection: %w", err)
	}
	floor, _ := f.(*floorFW)
	var floor0 uint64
	var floorCPU0 time.Duration
	if floor != nil {
		var err error
		if floor0, err = floor.queued(); err != nil {
			return err
		}
		if floorCPU0, err = benchkit.ProcCPU(floor.cmd.Process.Pid); err != nil {
			return err
		}
	}
	var cpu0 time.Duration
	var q0, f0 uint64
	if sd != nil {
		var err error
		if cpu0, err = benchkit.ProcCPU(sd.PID()); err != nil {
			return err
		}
		if q0, f0, err = sd.Queued(); err != nil {
			return err
		}
	}
	// One client making connections one after the other (the latency of
	// each, as the client), then several at once (the rate the
	// configuration sustains).
	conns := 0
	for _, clients := range h.o.clients {
		res := benchkit.ConnLoad(client, dst, clients, h.o.connCount, h.o.connTime)
		conns += res.Conns + res.Errors
		if res.Errors > 0 {
			h.fail("round %d, %s, %s: %d of %d short connections failed, the first: %v", round+1, config, plural(clients, "client"), res.Errors, res.Errors+res.Conns, res.FirstErr)
		}
		if res.Conns == 0 {
			return fmt.Errorf("%s: no short connection completed", plural(clients, "client"))
		}
		h.rep.Add("conn", connMetric(clients), config, "conn/s", round, res.PerSecond())
		h.rep.Add("conn", "connection latency p50, "+plural(clients, "client"), config, "ms", round, benchkit.Percentile(res.Latencies, 50)*1000)
		h.rep.Add("conn", "connection latency p99, "+plural(clients, "client"), config, "ms", round, benchkit.Percentile(res.Latencies, 99)*1000)
	}
	if floor != nil {
		// The listener queues what septa's app-ID rule does.
		floor1, err := floor.queued()
		if err != nil {
			return err
		}
		cpu, err := benchkit.ProcCPU(floor.cmd.Process.Pid)
		if err != nil {
			return err
		}
		if floor1 > floor0 {
			h.rep.Add("inspector", "listener CPU per queued packet", config, "µs", round, float64((cpu-floorCPU0).Microseconds())/float64(floor1-floor0))
		}
		h.rep.Add("inspector", "queued packets per connection", config, "packets", round, float64(floor1-floor0)/float64(conns))
	}
	if sd == nil {
		return nil
	}
	if rss, _, err := benchkit.ProcRSS(sd.PID()); err == nil {
		h.rep.Add("inspector", "septad resident memory", config, "MiB", round, float64(rss)/(1<<20))
	}
	cpu1, err := benchkit.ProcCPU(sd.PID())
	if err != nil {
		return err
	}
	q1, f1, err := sd.Queued()
	if err != nil {
		return err
	}
	q, flows := q1-q0, f1-f0
	if q == 0 {
		if config != cfgSeptaKernel {
			return errors.New("septad queued no packet during the short connections")
		}
		return nil
	}
	h.rep.Add("inspector", "septad CPU per queued packet", config, "µs", round, float64((cpu1-cpu0).Microseconds())/float64(q))
	if flows > 0 {
		h.rep.Add("inspector", "queued packets per flow", config, "packets", round, float64(q)/float64(flows))
	}
	h.rep.Add("inspector", "queued packets per connection", config, "packets", round, float64(q)/float64(conns))
	return nil
}

// connMetric names the connection rate with clients concurrent clients.
func connMetric(clients int) string {
	if clients == 1 {
		return "connections per second, 1 client (one after the other)"
	}
	return fmt.Sprintf("connections per second, %d concurrent clients", clients)
}

// runIn runs a command in h bounded by timeout, returning its error with
// its output.
func runIn(h *lab.Host, timeout time.Duration, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := h.Command(ctx, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %.2000s", name, strings.Join(args, " "), err, out)
	}
	return nil
}
