//go:build linux

package integration

import (
	"context"
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/septa-fw/septa/integration/lab"
	"github.com/septa-fw/septa/nft"
	"github.com/septa-fw/septa/rules/ir"
)

// streamPolicy allows prod-app to reach prod-db on 5432, plus extra
// rules that have nothing to do with that flow.
func streamPolicy(app *lab.Host, extra ...ir.Rule) *ir.Policy {
	rules := []ir.Rule{ruleOf("db-from-app", ir.ActionAllow, ir.DirBoth, hostEP(app), setsEP("zone:prod"), tcp(5432, 5432))}
	return newPolicy(ir.ActionDeny, zoneSets(), append(rules, extra...)...)
}

func TestStreamSurvivesFiftyApplies(t *testing.T) {
	l := newLab(t)
	app, db := l.Host("prod-app"), l.Host("prod-db")
	fwDB := applyPolicy(t, db, streamPolicy(app), 1)
	fwApp := applyPolicy(t, app, streamPolicy(app), 1)
	s, err := lab.StartStream(app, db, ap(db.V4, 5432), connectTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if !s.WaitProgress(0, 5*time.Second) {
		t.Fatalf("stream does not flow: %v", s.Err())
	}
	for gen := uint64(2); gen <= 51; gen++ {
		// Every generation has different other rules (a port that moves,
		// a deny for the attacker, sometimes a reject).
		extra := []ir.Rule{
			ruleOf("moving-port", ir.ActionAllow, ir.DirIn, setsEP("zone:vdi"), selfEP(), tcp(uint16(1000+gen), uint16(1000+gen))),
		}
		if gen%2 == 0 {
			extra = append(extra, ruleOf("deny-attacker", ir.ActionDeny, ir.DirBoth, setsEP("zone:attacker"), anyEP))
		}
		if gen%3 == 0 {
			extra = append(extra, ruleOf("reject-dev", ir.ActionReject, ir.DirIn, setsEP("zone:dev"), selfEP(), tcp(22, 22)))
		}
		fw := fwDB
		if gen%2 == 1 {
			fw = fwApp
		}
		mustApply(t, fw, streamPolicy(app, extra...), gen)
		before := s.Received.Load()
		if !s.WaitProgress(before, 5*time.Second) {
			t.Fatalf("generation %d: stream stalled at %d bytes: %v", gen, before, s.Err())
		}
	}
	got := s.Received.Load()
	if err := s.Stop(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	if s.Corrupt.Load() {
		t.Fatal("stream: bytes out of sequence")
	}
	t.Logf("stream carried %d bytes across 50 applies", got)
	// Both firewalls still decide this flow in the kernel.
	ctr, err := fwDB.Counters()
	if err != nil {
		t.Fatal(err)
	}
	if ctr[nft.IDDecided].Packets == 0 || ctr["db-from-app"].Packets == 0 {
		t.Errorf("counters: decided %+v, db-from-app %+v", ctr[nft.IDDecided], ctr["db-from-app"])
	}
}

func TestReloadRevokesFlowItNoLongerAllows(t *testing.T) {
	l := newLab(t)
	app, db := l.Host("prod-app"), l.Host("prod-db")
	fw := applyPolicy(t, db, streamPolicy(app), 1)
	s, err := lab.StartStream(app, db, ap(db.V4, 5432), connectTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if !s.WaitProgress(0, 5*time.Second) {
		t.Fatalf("stream does not flow: %v", s.Err())
	}
	// Generation 2 still allows it: the flow is re-marked, not cut.
	mustApply(t, fw, streamPolicy(app), 2)
	if before := s.Received.Load(); !s.WaitProgress(before, 5*time.Second) {
		t.Fatalf("stream stalled under a policy that allows it")
	}
	// Generation 3 no longer allows it.
	mustApply(t, fw, newPolicy(ir.ActionDeny, zoneSets()), 3)
	time.Sleep(300 * time.Millisecond) // what was in flight
	stalled := s.Received.Load()
	time.Sleep(1500 * time.Millisecond)
	if got := s.Received.Load(); got != stalled {
		t.Errorf("stream still flows after the reload that denies it: %d -> %d bytes", stalled, got)
	}
	ctr, err := fw.Counters()
	if err != nil {
		t.Fatal(err)
	}
	if ctr[nft.IDDefault].Packets == 0 {
		t.Errorf("no packet met the default deny")
	}
	// New connections are denied too.
	expectConnect(t, app, ap(db.V4, 5432), lab.TimedOut)
}

// ruleHandles lists the handles of septa's rules, by chain.
func ruleHandles(t *testing.T, h *lab.Host) map[string][]int {
	t.Helper()
	out := map[string][]int{}
	for _, r := range rulesOf(t, listRuleset(t, h), nft.DefaultTable) {
		out[r.Chain] = append(out[r.Chain], r.Handle)
	}
	return out
}

func TestGroupMembershipBySetUpdate(t *testing.T) {
	l := newLab(t)
	web, app, db := l.Host("prod-web"), l.Host("prod-app"), l.Host("prod-db")
	echoOn(t, db, 5432)
	sets := append(zoneSets(), ir.Set{Name: "group:db-clients", Kind: ir.SetGroup, Prefixes: []netip.Prefix{netip.PrefixFrom(web.V4, 32)}})
	p := newPolicy(ir.ActionDeny, sets,
		ruleOf("db-clients", ir.ActionAllow, ir.DirIn, setsEP("group:db-clients"), selfEP(), tcp(5432, 5432)))
	fw := applyPolicy(t, db, p, 1)
	expectConnect(t, web, ap(db.V4, 5432), lab.Connected)
	expectConnect(t, app, ap(db.V4, 5432), lab.TimedOut)
	before := ruleHandles(t, db)

	// prod-app gets the tag: it joins the group.
	if err := fw.UpdateSet("group:db-clients", []netip.Prefix{netip.PrefixFrom(app.V4, 32)}, nil); err != nil {
		t.Fatal(err)
	}
	expectConnect(t, app, ap(db.V4, 5432), lab.Connected)
	expectConnect(t, web, ap(db.V4, 5432), lab.Connected)
	// The two /32 are adjacent (.11, .12): one range in the kernel; taking
	// .11 out again must leave .12.
	if err := fw.UpdateSet("group:db-clients", nil, []netip.Prefix{netip.PrefixFrom(web.V4, 32)}); err != nil {
		t.Fatal(err)
	}
	expectConnect(t, web, ap(db.V4, 5432), lab.TimedOut)
	expectConnect(t, app, ap(db.V4, 5432), lab.Connected)
	// IPv6 members go to the group's IPv6 set.
	if err := fw.UpdateSet("group:db-clients", []netip.Prefix{netip.PrefixFrom(web.V6, 128)}, nil); err != nil {
		t.Fatal(err)
	}
	expectConnect(t, web, ap(db.V6, 5432), lab.Connected)
	if got := ruleHandles(t, db); !mapsEqual(before, got) {
		t.Errorf("set updates changed rules: before %v, after %v", before, got)
	}
	// A zone has no IPv6 part here: adding one is an error, not a new set.
	if err := fw.UpdateSet("zone:prod", []netip.Prefix{netip.MustParsePrefix("fd00::/64")}, nil); err == nil {
		t.Errorf("adding IPv6 to an IPv4-only zone: no error")
	}
	// 10,000 separate ranges (every other address, so nothing merges) in
	// one update, and out again.
	var many []netip.Prefix
	for i := range 10000 {
		many = append(many, netip.PrefixFrom(netip.AddrFrom4([4]byte{172, 16, byte(i >> 7), byte(i << 1)}), 32))
	}
	if err := fw.UpdateSet("group:db-clients", many, nil); err != nil {
		t.Fatalf("large update: %v", err)
	}
	expectConnect(t, app, ap(db.V4, 5432), lab.Connected)
	if err := fw.UpdateSet("group:db-clients", nil, many); err != nil {
		t.Fatalf("large removal: %v", err)
	}
	expectConnect(t, app, ap(db.V4, 5432), lab.Connected)
}

func mapsEqual(a, b map[string][]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

func TestFailedApplyKeepsPreviousGeneration(t *testing.T) {
	l := newLab(t)
	app, db := l.Host("prod-app"), l.Host("prod-db")
	echoOn(t, db, 5432, 22)
	fw := applyPolicy(t, db, streamPolicy(app), 1)

	p2 := streamPolicy(app, ruleOf("ssh-from-app", ir.ActionAllow, ir.DirIn, hostEP(app), selfEP(), tcp(22, 22)))
	plan, err := fw.Plan(p2, 2)
	if err != nil {
		t.Fatal(err)
	}
	// Force an object the kernel rejects: an IPv6 element in an IPv4 set.
	for i := range plan.Sets {
		if plan.Sets[i].Name == "zone_prod_v4" {
			plan.Sets[i].Elements = append(plan.Sets[i].Elements, netip.MustParsePrefix("fd00::/64"))
		}
	}
	_, err = fw.ApplyPlan(plan)
	if err == nil {
		t.Fatal("apply of an invalid plan succeeded")
	}
	msg := err.Error()
	for _, want := range []string{"apply generation 2", `"db-from-app"`, `"ssh-from-app"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not name %s", msg, want)
		}
	}
	t.Logf("kernel rejection: %v", err)

	// Generation 1 runs as before.
	if g, ok, err := fw.Generation(); err != nil || !ok || g != 1 {
		t.Errorf("generation = %d, %v, %v; want 1", g, ok, err)
	}
	expectConnect(t, app, ap(db.V4, 5432), lab.Connected)
	expectConnect(t, app, ap(db.V4, 22), lab.TimedOut)
	// And the firewall is still usable.
	mustApply(t, fw, p2, 3)
	expectConnect(t, app, ap(db.V4, 22), lab.Connected)
}

func TestFlushLeavesForeignTables(t *testing.T) {
	l := newLab(t)
	db := l.Host("prod-db")
	foreign := `table inet foreign {
	set allowed { type ipv4_addr; elements = { 192.0.2.1, 192.0.2.7 } }
	chain input { type filter hook input priority 5; policy accept; ip saddr @allowed counter accept; }
}
table ip legacy {
	chain output { type filter hook output priority -5; policy accept; counter; }
}
`
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := db.Command(ctx, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(foreign)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft -f: %v: %s", err, out)
	}
	foreignOnly := func() string {
		var keep []map[string]json.RawMessage
		for _, o := range listRuleset(t, db) {
			if _, meta := o["metainfo"]; meta {
				continue
			}
			b, _ := json.Marshal(o)
			if strings.Contains(string(b), `"table":"`+nft.DefaultTable+`"`) || strings.Contains(string(b), `"name":"`+nft.DefaultTable+`"`) {
				continue
			}
			keep = append(keep, o)
		}
		b, _ := json.Marshal(keep)
		return string(b)
	}
	before := foreignOnly()
	fw := applyPolicy(t, db, newPolicy(ir.ActionDeny, zoneSets()), 1)
	if err := fw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := fw.Flush(); err != nil { // no table: no error
		t.Fatalf("second flush: %v", err)
	}
	tables := tablesOf(t, listRuleset(t, db))
	if slices.Contains(tables, "inet "+nft.DefaultTable) {
		t.Errorf("septa's table is still there: %v", tables)
	}
	if !slices.Contains(tables, "inet foreign") || !slices.Contains(tables, "ip legacy") {
		t.Errorf("foreign tables gone: %v", tables)
	}
	if after := foreignOnly(); after != before {
		t.Errorf("foreign tables changed:\nbefore %s\nafter  %s", before, after)
	}
}

func TestReconcileTableLeftByEarlierRun(t *testing.T) {
	l := newLab(t)
	app, db, attacker := l.Host("prod-app"), l.Host("prod-db"), l.Host("attacker")
	first := openFirewall(t, db, nft.Config{})
	mustApply(t, first, streamPolicy(app), 7)
	if err := first.Quarantine(attacker.V4, time.Hour); err != nil {
		t.Fatal(err)
	}
	s, err := lab.StartStream(app, db, ap(db.V4, 5432), connectTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if !s.WaitProgress(0, 5*time.Second) {
		t.Fatalf("stream does not flow")
	}
	first.Close()

	// A new daemon starts: it finds generation 7 and goes on from it.
	second := openFirewall(t, db, nft.Config{})
	g, ok, err := second.Generation()
	if err != nil || !ok || g != 7 {
		t.Fatalf("generation = %d, %v, %v; want 7", g, ok, err)
	}
	res := mustApply(t, second, streamPolicy(app), g+1)
	if !res.Reconciled {
		t.Errorf("apply did not see the table of the earlier run")
	}
	if before := s.Received.Load(); !s.WaitProgress(before, 5*time.Second) {
		t.Fatalf("stream stalled across the restart: %v", s.Err())
	}
	objs := listRuleset(t, db)
	n := 0
	for _, tb := range tablesOf(t, objs) {
		if tb == "inet "+nft.DefaultTable {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d septa tables, want 1", n)
	}
	q, err := second.Quarantined()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := q[attacker.V4]; !ok {
		t.Errorf("quarantine lost across the restart: %v", q)
	}
	// Exactly one rule list: nothing duplicated.
	seen := map[string]int{}
	for _, r := range rulesOf(t, objs, nft.DefaultTable) {
		if r.Comment == "db-from-app" {
			seen[r.Chain]++
		}
	}
	for chain, c := range seen {
		if c != 1 {
			t.Errorf("chain %s has %d copies of db-from-app", chain, c)
		}
	}
}

func TestQuarantineCutsOpenSessions(t *testing.T) {
	l := newLab(t)
	app, db := l.Host("prod-app"), l.Host("prod-db")
	fw := applyPolicy(t, db, streamPolicy(app), 1)
	s, err := lab.StartStream(app, db, ap(db.V4, 5432), connectTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if !s.WaitProgress(0, 5*time.Second) {
		t.Fatalf("stream does not flow")
	}
	if err := fw.Quarantine(app.V4, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	stalled := s.Received.Load()
	time.Sleep(time.Second)
	if got := s.Received.Load(); got != stalled {
		t.Errorf("quarantined host still streams: %d -> %d", stalled, got)
	}
	// The quarantine times out by itself; the flow resumes (TCP
	// retransmits), since the policy still allows it.
	if !s.WaitProgress(stalled, 10*time.Second) {
		t.Errorf("stream did not resume after the quarantine expired")
	}
	if err := fw.Release(app.V4); err != nil {
		t.Errorf("release of an expired quarantine: %v", err)
	}
}
