//go:build linux

package integration

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/septa-fw/septa/integration/lab"
)

// killPolicy is a policy large enough that applying it takes a while
// (fillers rules, each a kernel rule and its reply copy), with one marker
// rule that differs between versions: version v allows tcp/7000+v.
func killPolicy(v, fillers int) string {
	var b strings.Builder
	b.WriteString(lifecycle("closed", 6999))
	fmt.Fprintf(&b, "\n[[rules]]\nname = \"marker-%d\"\ndirection = \"in\"\nfrom = \"any\"\nto = \"self\"\nports = [\"tcp/%d\"]\naction = \"allow\"\n", v, 7000+v)
	for i := range fillers {
		fmt.Fprintf(&b, "\n[[rules]]\nname = \"filler-%d\"\ndirection = \"in\"\nfrom = \"10.1.%d.0/24\"\nto = \"self\"\nports = [\"tcp/%d\"]\naction = \"allow\"\n",
			i, i%250, 20000+i)
	}
	return b.String()
}

// kernelRules lists septa's table as (chain, rule ID) pairs, sorted, and
// the names of its generation chains. Chain names that carry the
// generation are normalised, so that two applies of one policy compare
// equal whatever their generation numbers.
func kernelRules(t *testing.T, h *lab.Host) (rules []string, generations []string) {
	t.Helper()
	objs := listRuleset(t, h)
	for _, o := range objs {
		raw, ok := o["chain"]
		if !ok {
			continue
		}
		var c struct{ Table, Name string }
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatal(err)
		}
		if c.Table == "septa" && strings.HasPrefix(c.Name, "generation-") {
			generations = append(generations, c.Name)
		}
	}
	for _, r := range rulesOf(t, objs, "septa") {
		chain := r.Chain
		if strings.HasPrefix(chain, "generation-") {
			chain = "generation-N"
		}
		rules = append(rules, chain+" "+r.Comment)
	}
	slices.Sort(rules)
	return rules, generations
}

// TestSeptadKilledDuringApply (issue 11): septad is killed with SIGKILL at
// a random moment of a reload, 20 times, while a decided stream runs.
// After every kill the kernel holds one complete generation, the old
// policy or the new one and nothing in between; the decided stream never
// stops; a restarted septad always recovers and enforces the newest
// policy.
func TestSeptadKilledDuringApply(t *testing.T) {
	const kills, fillers = 20, 600
	l := newLab(t, lab.DefaultHosts()[0], lab.DefaultHosts()[2])
	client, web := l.Host("dev-1"), l.Host("prod-web")
	serveHTTP(t, web, 8080, &hostCounter{seen: map[string]int{}})
	ports := make([]uint16, 0, kills+1)
	for v := range kills + 1 {
		ports = append(ports, uint16(7000+v))
	}
	echoOn(t, web, ports...)

	sd := startSeptad(t, web, killPolicy(0, fillers), "watch_policy = false")
	policyFile := filepath.Join(sd.dir, "policy.d", "10-test.toml")
	bin, _ := binaries(t)
	s, err := lab.StartStream(client, web, ap(web.V4, 9000), 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()

	// How long a reload of this policy takes, to spread the kills over it.
	if err := os.WriteFile(policyFile, []byte(killPolicy(0, fillers)), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if out, err := sd.run("reload"); err != nil {
		t.Fatalf("reload: %v: %s", err, out)
	}
	reload := time.Since(start)
	old, gens := kernelRules(t, web)
	if len(gens) != 1 {
		t.Fatalf("generation chains after start: %v", gens)
	}

	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("reload takes %s; seed %d", reload, seed)
	var before, after int
	for v := 1; v <= kills; v++ {
		if err := os.WriteFile(policyFile, []byte(killPolicy(v, fillers)), 0o644); err != nil {
			t.Fatal(err)
		}
		delay := time.Duration(rng.Int64N(int64(reload) * 3 / 2))
		sd.cmd.Process.Signal(syscall.SIGHUP)
		time.Sleep(delay)
		sd.kill()

		got, gens := kernelRules(t, web)
		if len(gens) != 1 {
			t.Fatalf("kill %d (%s into the reload): generation chains %v", v, delay, gens)
		}
		sd.start(bin)
		st := sd.status()
		if !st.LastReload.OK {
			t.Fatalf("kill %d: restart: %+v", v, st.LastReload)
		}
		cur, _ := kernelRules(t, web)
		switch {
		case slices.Equal(got, old):
			before++
		case slices.Equal(got, cur):
			after++
		default:
			t.Fatalf("kill %d (%s into the reload): the kernel holds neither the old nor the new policy: %d rules, old %d, new %d",
				v, delay, len(got), len(old), len(cur))
		}
		if slices.Equal(old, cur) {
			t.Fatalf("kill %d: the restarted septad did not apply the new policy", v)
		}
		expectConnect(t, client, ap(web.V4, uint16(7000+v)), lab.Connected)
		expectConnect(t, client, ap(web.V4, uint16(7000+v-1)), lab.TimedOut)
		if err := shopGet(client, web); err != nil {
			t.Fatalf("kill %d: an inspected request after the restart: %v", v, err)
		}
		if !s.WaitProgress(s.Received.Load(), 5*time.Second) {
			t.Fatalf("kill %d: the decided stream stopped", v)
		}
		old = cur
	}
	t.Logf("%d kills: %d left the old generation, %d the new one; the stream carried %d bytes", kills, before, after, s.Received.Load())
	if err := s.Stop(); err != nil || s.Corrupt.Load() {
		t.Errorf("stream: %v, corrupt %v", err, s.Corrupt.Load())
	}
}
