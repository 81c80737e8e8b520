//go:build linux

package integration

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/septa-fw/septa/daemon/fleet"
	"github.com/septa-fw/septa/daemon/fleet/etcdtest"
	"github.com/septa-fw/septa/integration/lab"
)

// Fleet mode in the lab. etcd runs in a lab host of its own ("etcd",
// 10.9.0.20), listening on its lab address, so that the septads of the
// other lab hosts reach it over the lab's bridge; every policy here, the
// bootstrap one included, allows tcp/2379 out to it (septad refuses a
// fleet revision that does not). The septa CLI runs inside the etcd host.

const fleetEtcdAddr = "10.9.0.20"

// fleetPolicyText is the fleet's policy; PROBE is the port the admin host
// may reach on every host, different in each revision, so that a
// connection tells which revision a host enforces.
const fleetPolicyText = `[settings]
default = "deny"
fail_mode = "closed"

[zones.vdi]
cidrs = ["10.4.0.0/16"]

[groups.app]
select = "tier=app"

[groups.db]
select = "tier=db"

[groups.finance-app]
select = "app=finance"

[identities.finance]
groups = ["septa-fleetfin-g"]

[[rules]]
name = "fleet-control-plane"
direction = "out"
from = "self"
to = "10.9.0.20"
ports = ["tcp/2379"]
action = "allow"

[[rules]]
name = "probe"
direction = "in"
from = "10.9.0.11"
to = "self"
ports = ["tcp/PROBE"]
action = "allow"

[[rules]]
name = "app-to-db"
from = "group:app"
to = "group:db"
ports = ["tcp/5432"]
action = "allow"

[[rules]]
name = "vdi-out"
direction = "out"
from = "zone:vdi"
to = "group:finance-app"
ports = ["tcp/8443"]
action = "allow"

[[rules]]
name = "finance-users"
direction = "in"
from = "zone:vdi"
to = "group:finance-app"
ports = ["tcp/8443"]
users = ["finance"]
action = "allow"
`

// bootstrapPolicy is each host's local policy until the first revision:
// it lets the host reach etcd and nothing else.
const bootstrapPolicy = `[settings]
default = "deny"

[[rules]]
name = "fleet-control-plane"
direction = "out"
from = "self"
to = "10.9.0.20"
ports = ["tcp/2379"]
action = "allow"
`

func fleetPolicyFor(probe int) string {
	return strings.Replace(fleetPolicyText, "PROBE", fmt.Sprint(probe), 1)
}

// fleetLab is the lab of the fleet tests.
type fleetLab struct {
	t       testing.TB
	lab     *lab.Lab
	etcd    *etcdtest.Server
	etcdH   *lab.Host
	septa   string
	septads map[string]*septadProc
}

func fleetHosts() []lab.HostSpec {
	return []lab.HostSpec{
		lab.Spec("etcd", "admin", 9, 0, 20),
		lab.Spec("admin", "admin", 9, 0, 11),
		lab.Spec("app-1", "prod", 3, 2, 10),
		lab.Spec("web-1", "prod", 3, 1, 10),
		lab.Spec("vdi-1", "vdi", 4, 0, 11),
		lab.Spec("db-1", "prod", 3, 3, 10),
	}
}

func newFleetLab(tb testing.TB) *fleetLab {
	tb.Helper()
	requireKernel(tb)
	if _, err := exec.LookPath("etcd"); err != nil {
		tb.Fatalf("etcd is not installed (.ci/run installs etcd-server): %v", err)
	}
	l := newLab(tb, fleetHosts()...)
	eh := l.Host("etcd")
	srv := etcdtest.Start(tb, etcdtest.Options{
		Addr: fleetEtcdAddr, ClientPort: 2379, PeerPort: 2380,
		Command: func(args []string) *exec.Cmd {
			return exec.Command("ip", append([]string{"netns", "exec", eh.NS}, args...)...)
		},
		Health: func(url string) bool {
			resp, err := httpClient(eh, time.Second).Get(url + "/health")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		},
	})
	_, cli := binaries(tb)
	return &fleetLab{t: tb, lab: l, etcd: srv, etcdH: eh, septa: cli, septads: map[string]*septadProc{}}
}

// fleetCLI runs `septa fleet ARGS` inside the etcd host.
func (f *fleetLab) fleetCLI(args ...string) (string, error) {
	args = append([]string{"fleet"}, append(args, "--endpoints", f.etcd.ClientURL)...)
	return f.etcdH.Run(30*time.Second, f.septa, args...)
}

// push publishes a policy directory holding one file with content.
func (f *fleetLab) push(content string) (string, error) {
	dir := filepath.Join(f.t.TempDir(), "policy.d")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "10-fleet.toml"), []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
	return f.fleetCLI("push", dir)
}

func (f *fleetLab) mustPush(content string) {
	f.t.Helper()
	if out, err := f.push(content); err != nil {
		f.t.Fatalf("push: %v", err)
	} else {
		f.t.Logf("%s", strings.TrimSpace(out))
	}
}

// start starts septad in fleet mode on host name with tags.
func (f *fleetLab) start(name, tags, extra string) *septadProc {
	f.t.Helper()
	cfg := fmt.Sprintf("[fleet]\nenabled = true\nendpoints = [%q]\nhost = %q\ntags = { %s }\nlease_ttl = \"3s\"\n%s",
		f.etcd.ClientURL, name, tags, extra)
	if !strings.Contains(extra, "utmp") {
		cfg += "utmp = \"none\"\n"
	}
	sd := startSeptad(f.t, f.lab.Host(name), bootstrapPolicy, cfg)
	f.septads[name] = sd
	return sd
}

// waitRevision waits, at most 30 s, until every named septad enforces rev.
func (f *fleetLab) waitRevision(rev uint64, names ...string) {
	f.t.Helper()
	for _, n := range names {
		sd := f.septads[n]
		ok := pollFor(30*time.Second, func() bool {
			st, err := sd.client.Status()
			return err == nil && st.Fleet != nil && st.Fleet.Revision == rev
		})
		if !ok {
			st, _ := sd.client.Status()
			f.t.Fatalf("%s does not enforce revision %d within 30 s: %+v", n, rev, st.Fleet)
		}
	}
}

// eventually waits, at most 30 s, for a connection outcome.
func eventuallyConnect(t testing.TB, from *lab.Host, to *lab.Host, port uint16, want lab.Outcome) {
	t.Helper()
	var got lab.Outcome
	ok := pollFor(30*time.Second, func() bool {
		got, _ = from.Connect(ap(to.V4, port), time.Second)
		return got == want
	})
	if !ok {
		t.Fatalf("%s -> %s:%d: %s, want %s within 30 s", from.Name, to.Name, port, got, want)
	}
}

// echoes reports whether a line sent from one host to another's echo
// server comes back within 2 s.
func echoes(from, to *lab.Host, port uint16) bool {
	c, err := from.DialTCP(ap(to.V4, port), 2*time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	msg := []byte("fleet\n")
	if _, err := c.Write(msg); err != nil {
		return false
	}
	buf := make([]byte, len(msg))
	_, err = io.ReadFull(c, buf)
	return err == nil && bytes.Equal(buf, msg)
}

// eventuallyEcho waits, at most 30 s, until echoes gives want.
func eventuallyEcho(t testing.TB, from, to *lab.Host, port uint16, want bool) {
	t.Helper()
	if !pollFor(30*time.Second, func() bool { return echoes(from, to, port) == want }) {
		t.Fatalf("%s -> %s:%d echo: want %v within 30 s", from.Name, to.Name, port, want)
	}
}

// writeUtmp writes a utmp file with one record for user: a login
// (USER_PROCESS) or, after logout, the same slot as DEAD_PROCESS.
func writeUtmp(t *testing.T, path, user string, login bool) {
	t.Helper()
	r := fleet.UtmpRecord{Type: fleet.UtmpUserProcess, PID: 4242, Line: "pts/7", ID: "ts/7", User: user, Time: time.Now()}
	if !login {
		r.Type, r.User = fleet.UtmpDeadProcess, ""
	}
	b, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	tmp := path + ".new"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// putRaw writes a key straight into etcd, past septa fleet push, through
// etcd's JSON gateway (a real HTTP client inside the etcd host).
func (f *fleetLab) putRaw(key string, value []byte) {
	f.t.Helper()
	body, _ := json.Marshal(map[string]string{
		"key": base64.StdEncoding.EncodeToString([]byte(key)), "value": base64.StdEncoding.EncodeToString(value),
	})
	resp, err := httpClient(f.etcdH, 5*time.Second).Post(f.etcd.ClientURL+"/v3/kv/put", "application/json", bytes.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		f.t.Fatalf("etcd put %s: %s", key, resp.Status)
	}
}

// TestFleet runs the fleet end to end on real etcd and real kernels:
// revisions reach every host, joins and deaths move addresses in and
// out of group sets, logins on a VDI host open a finance app elsewhere,
// etcd's absence changes nothing, and an invalid revision is refused
// everywhere and shown by septa fleet status.
func TestFleet(t *testing.T) {
	f := newFleetLab(t)
	admin, app, web, vdi, db := f.lab.Host("admin"), f.lab.Host("app-1"), f.lab.Host("web-1"), f.lab.Host("vdi-1"), f.lab.Host("db-1")
	for _, h := range []*lab.Host{app, web, vdi} {
		echoOn(t, h, 7001, 7002, 7003)
	}
	echoOn(t, db, 5432)
	echoOn(t, web, 8443)
	echoOn(t, app, 8443) // not a finance app: the same user stays out
	testAccounts(t, map[string]string{"septa-fleetfin": "septa-fleetfin-g"})
	utmp := filepath.Join(t.TempDir(), "utmp")
	writeUtmp(t, utmp, "", false)

	f.mustPush(fleetPolicyFor(7001))
	f.start("app-1", `tier = "app"`, "")
	f.start("web-1", `tier = "web", app = "finance"`, "")
	f.start("vdi-1", `role = "vdi"`, fmt.Sprintf("utmp = %q\n", utmp))
	three := []string{"app-1", "web-1", "vdi-1"}
	f.waitRevision(1, three...)

	t.Run("push reaches all three", func(t *testing.T) {
		for _, h := range []*lab.Host{app, web, vdi} {
			expectConnect(t, admin, ap(h.V4, 7001), lab.Connected)
			expectConnect(t, admin, ap(h.V4, 7002), lab.TimedOut)
		}
		f.mustPush(fleetPolicyFor(7002))
		f.waitRevision(2, three...)
		for _, h := range []*lab.Host{app, web, vdi} {
			expectConnect(t, admin, ap(h.V4, 7002), lab.Connected)
			expectConnect(t, admin, ap(h.V4, 7001), lab.TimedOut)
		}
	})

	t.Run("a db host joins", func(t *testing.T) {
		expectConnect(t, app, ap(db.V4, 5432), lab.TimedOut)
		gen := f.septads["app-1"].status().Generation
		f.start("db-1", `tier = "db"`, "")
		f.waitRevision(2, "db-1")
		eventuallyConnect(t, app, db, 5432, lab.Connected)
		expectConnect(t, web, ap(db.V4, 5432), lab.TimedOut)
		expectConnect(t, vdi, ap(db.V4, 5432), lab.TimedOut)
		expectConnect(t, admin, ap(db.V4, 5432), lab.TimedOut)
		st := f.septads["app-1"].status()
		if st.Generation != gen || !st.LastReload.SetsOnly {
			t.Errorf("app-1 took the join as generation %d (was %d), last reload %+v; want a set update", st.Generation, gen, st.LastReload)
		}
	})

	t.Run("a user logs in on the VDI host", func(t *testing.T) {
		// A user rule lets the handshake through and decides on the
		// first data: an echo exchange tells the verdict.
		if echoes(vdi, web, 8443) {
			t.Fatal("vdi-1 reached the finance app with nobody logged in")
		}
		writeUtmp(t, utmp, "septa-fleetfin", true)
		eventuallyEcho(t, vdi, web, 8443, true)
		if echoes(vdi, app, 8443) {
			t.Error("app-1 is not a finance app, yet vdi-1 reached it")
		}
		writeUtmp(t, utmp, "", false)
		eventuallyEcho(t, vdi, web, 8443, false)
	})

	t.Run("a host dies", func(t *testing.T) {
		eventuallyConnect(t, app, db, 5432, lab.Connected)
		f.septads["db-1"].kill()
		// Its lease (3 s) expires: app-1's group:db loses it, so app-1's
		// own egress stops it (db-1's kernel still has its last policy).
		eventuallyConnect(t, app, db, 5432, lab.TimedOut)
		out, _ := f.fleetCLI("status")
		if !regexpLine(out, `db-1\s+offline\s+2`) {
			t.Errorf("fleet status does not show db-1 offline:\n%s", out)
		}
	})

	t.Run("etcd stopped and restarted", func(t *testing.T) {
		writeUtmp(t, utmp, "septa-fleetfin", true)
		eventuallyEcho(t, vdi, web, 8443, true)
		gens := map[string]uint64{}
		for _, n := range three {
			gens[n] = f.septads[n].status().Generation
		}
		f.etcd.Stop()
		if _, err := f.push(fleetPolicyFor(7003)); err == nil {
			t.Errorf("a push succeeded with etcd stopped")
		}
		// web-1's septad restarts meanwhile: it enforces its cached
		// revision, inventory and identities.
		web1 := f.septads["web-1"]
		web1.stop()
		bin, _ := binaries(t)
		web1.start(bin)
		time.Sleep(4 * time.Second) // longer than the lease TTL
		for _, h := range []*lab.Host{app, web, vdi} {
			expectConnect(t, admin, ap(h.V4, 7002), lab.Connected)
			expectConnect(t, admin, ap(h.V4, 7001), lab.TimedOut)
		}
		if !echoes(vdi, web, 8443) {
			t.Error("the finance user lost access while etcd was down")
		}
		for _, n := range []string{"app-1", "vdi-1"} {
			if g := f.septads[n].status().Generation; g != gens[n] {
				t.Errorf("%s: generation %d while etcd was down, was %d", n, g, gens[n])
			}
		}
		if st := web1.status(); st.Fleet == nil || st.Fleet.Revision != 2 {
			t.Errorf("web-1 restarted without etcd: fleet %+v, want revision 2 from its cache", st.Fleet)
		}

		f.etcd.Restart()
		f.mustPush(fleetPolicyFor(7003))
		f.waitRevision(3, three...)
		for _, h := range []*lab.Host{app, web, vdi} {
			expectConnect(t, admin, ap(h.V4, 7003), lab.Connected)
			expectConnect(t, admin, ap(h.V4, 7002), lab.TimedOut)
		}
		if !echoes(vdi, web, 8443) {
			t.Error("the finance user lost access after etcd came back")
		}
	})

	t.Run("an invalid revision is refused everywhere", func(t *testing.T) {
		bad := strings.Replace(fleetPolicyFor(7004), `action = "allow"`, `action = "alow"`, 1)
		out, err := f.push(bad)
		if err == nil || !strings.Contains(out, `10-fleet.toml:26:10: rule "fleet-control-plane": action: "alow"`) {
			t.Errorf("septa fleet push of an invalid policy: %v\n%s", err, out)
		}
		// Past septa fleet push: straight into etcd.
		rev := &fleet.Revision{Rev: 4, Time: time.Now().UTC(), Files: []fleet.File{{Name: "10-fleet.toml", Data: bad}}}
		val, err := rev.Encode()
		if err != nil {
			t.Fatal(err)
		}
		keys := fleet.NewKeys(fleet.DefaultPrefix)
		f.putRaw(keys.History(4), val)
		f.putRaw(keys.Current(), val)
		want := `10-fleet.toml:26:10: rule "fleet-control-plane": action: "alow" is not one of "allow", "deny" or "reject"`
		for _, n := range three {
			sd := f.septads[n]
			if !pollFor(30*time.Second, func() bool {
				st, err := sd.client.Status()
				return err == nil && st.Fleet != nil && st.Fleet.ErrorRevision == 4 && strings.Contains(st.Fleet.Error, want)
			}) {
				t.Errorf("%s did not refuse revision 4: %+v", n, sd.status().Fleet)
			}
		}
		for _, h := range []*lab.Host{app, web, vdi} {
			expectConnect(t, admin, ap(h.V4, 7003), lab.Connected)
			expectConnect(t, admin, ap(h.V4, 7004), lab.TimedOut)
		}
		var out2 string
		if !pollFor(10*time.Second, func() bool {
			out2, _ = f.fleetCLI("status")
			return strings.Count(out2, "failing") == 3
		}) {
			t.Errorf("fleet status:\n%s", out2)
		}
		for _, n := range three {
			if !regexpLine(out2, n+`\s+failing\s+3\s+.*`+regexpQuote(want)) {
				t.Errorf("fleet status lacks %s failing on revision 3 with the error:\n%s", n, out2)
			}
		}
	})
}

func regexpLine(text, pattern string) bool {
	return regexp.MustCompile(`(?m)^` + pattern).MatchString(text)
}

func regexpQuote(s string) string { return regexp.QuoteMeta(s) }

// BenchmarkFleet measures, on three septads in lab hosts and etcd in a
// fourth: "push", the time from starting `septa fleet push` until all
// three enforce the revision (each reports it applied, which is after its
// nftables transaction); and "join", the time from a host's registration
// appearing in etcd until its address is in the group set of all three
// (each reports the set update applied). The registration is written
// through etcd's JSON gateway, as a septad would write it, so that the
// time does not include starting a septad. Per iteration; the median,
// fastest and slowest iteration are reported.
//
//	SEPTA_INTEGRATION=1 go test ./integration -run '^$' -bench BenchmarkFleet -benchtime 20x
func BenchmarkFleet(b *testing.B) {
	f := newFleetLab(b)
	f.mustPush(fleetPolicyFor(7001))
	f.start("app-1", `tier = "app"`, "")
	f.start("web-1", `tier = "web", app = "finance"`, "")
	f.start("vdi-1", `role = "vdi"`, "")
	three := []string{"app-1", "web-1", "vdi-1"}
	f.waitRevision(1, three...)
	keys := fleet.NewKeys(fleet.DefaultPrefix)
	wait := func(cond func(st *fleet.Status) bool) {
		for _, n := range three {
			sd := f.septads[n]
			if !pollFine(30*time.Second, func() bool {
				st, err := sd.client.Status()
				return err == nil && st.Fleet != nil && cond(st.Fleet)
			}) {
				b.Fatalf("%s did not converge within 30 s", n)
			}
		}
	}
	hosts := func() int { return f.septads["app-1"].status().Fleet.Counters.Hosts }
	base := hosts()
	var pushes, joins []time.Duration
	rev := uint64(1)
	i := 0
	for b.Loop() {
		i++
		start := time.Now()
		f.mustPush(fleetPolicyFor(7001 + i%2))
		rev++
		wait(func(st *fleet.Status) bool { return st.Revision == rev })
		pushes = append(pushes, time.Since(start))

		updates := map[string]uint64{}
		for _, n := range three {
			updates[n] = f.septads[n].status().Fleet.Counters.SetUpdates
		}
		name := fmt.Sprintf("db-%d", i)
		rec, _ := json.Marshal(fleet.HostRecord{Name: name, Addresses: []netip.Addr{netip.AddrFrom4([4]byte{10, 3, 3, byte(100 + i%100)})}, Tags: map[string]string{"tier": "db"}})
		start = time.Now()
		f.putRaw(keys.Host(name), rec)
		for _, n := range three {
			sd, before := f.septads[n], updates[n]
			if !pollFine(30*time.Second, func() bool {
				st, err := sd.client.Status()
				return err == nil && st.Fleet.Counters.Hosts == base+1 && st.Fleet.Counters.SetUpdates > before
			}) {
				b.Fatalf("%s did not take the join within 30 s", n)
			}
		}
		joins = append(joins, time.Since(start))
		f.deleteRaw(keys.Host(name))
		wait(func(st *fleet.Status) bool { return st.Counters.Hosts == base })
	}
	reportDurations(b, "push", pushes)
	reportDurations(b, "join", joins)
}

// reportDurations adds the median, fastest and slowest as metrics.
func reportDurations(b *testing.B, what string, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, what+"-median-ms")
	b.ReportMetric(float64(ds[0].Microseconds())/1000, what+"-min-ms")
	b.ReportMetric(float64(ds[len(ds)-1].Microseconds())/1000, what+"-max-ms")
}

// deleteRaw deletes a key through etcd's JSON gateway.
func (f *fleetLab) deleteRaw(key string) {
	f.t.Helper()
	body, _ := json.Marshal(map[string]string{"key": base64.StdEncoding.EncodeToString([]byte(key))})
	resp, err := httpClient(f.etcdH, 5*time.Second).Post(f.etcd.ClientURL+"/v3/kv/deleterange", "application/json", bytes.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		f.t.Fatalf("etcd delete %s: %s", key, resp.Status)
	}
}

// pollFine is pollFor with a 2 ms interval, for benchmarks whose result
// must not be rounded up to pollFor's 50 ms.
func pollFine(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
	return true
}
