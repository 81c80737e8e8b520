//go:build linux

package integration

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/septa-fw/septa/integration/lab"
	"github.com/septa-fw/septa/nft"
	"github.com/septa-fw/septa/rules/ir"
)

func echoOn(t *testing.T, h *lab.Host, ports ...uint16) {
	t.Helper()
	for _, port := range ports {
		s, err := h.EchoTCP(port)
		if err != nil {
			t.Fatalf("echo on %s:%d: %v", h.Name, port, err)
		}
		t.Cleanup(s.Close)
	}
}

func TestDefaultDenyAllowsListedPortsOnly(t *testing.T) {
	l := newLab(t)
	app, db, attacker := l.Host("prod-app"), l.Host("prod-db"), l.Host("attacker")
	echoOn(t, db, 5432, 22)
	p := newPolicy(ir.ActionDeny, zoneSets(),
		ruleOf("db-from-app", ir.ActionAllow, ir.DirIn, hostEP(app), selfEP(), tcp(5432, 5432)),
	)
	applyPolicy(t, db, p, 1)

	expectConnect(t, app, ap(db.V4, 5432), lab.Connected)
	expectConnect(t, app, ap(db.V4, 22), lab.TimedOut)
	expectConnect(t, attacker, ap(db.V4, 5432), lab.TimedOut)
	// IPv6 has no rule: default deny.
	expectConnect(t, app, ap(db.V6, 5432), lab.TimedOut)
}

func TestRejectAnswersWithResetDenyTimesOut(t *testing.T) {
	l := newLab(t)
	dev, db := l.Host("dev-1"), l.Host("prod-db")
	echoOn(t, db, 5432, 22)
	p := newPolicy(ir.ActionDeny, zoneSets(),
		ruleOf("reject-dev-ssh", ir.ActionReject, ir.DirIn, setsEP("zone:dev"), selfEP(), tcp(22, 22)),
		ruleOf("deny-dev-db", ir.ActionDeny, ir.DirIn, setsEP("zone:dev"), selfEP(), tcp(5432, 5432)),
	)
	applyPolicy(t, db, p, 1)

	start := time.Now()
	expectConnect(t, dev, ap(db.V4, 22), lab.Refused)
	if d := time.Since(start); d > connectTimeout/2 {
		t.Errorf("reject took %v: want a reset at once", d)
	}
	expectConnect(t, dev, ap(db.V4, 5432), lab.TimedOut)

	// UDP is rejected with ICMP port unreachable.
	p2 := newPolicy(ir.ActionDeny, zoneSets(),
		ruleOf("reject-dev", ir.ActionReject, ir.DirIn, setsEP("zone:dev"), selfEP()),
	)
	fw := openFirewall(t, db, nft.Config{})
	mustApply(t, fw, p2, 2)
	u, err := db.EchoUDP(5353)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(u.Close)
	if ok, _ := dev.UDPExchange(ap(db.V4, 5353), []byte("ping"), connectTimeout); ok {
		t.Errorf("udp through a reject rule got an answer")
	}
	if u.Conns.Load() != 0 {
		t.Errorf("udp server saw %d datagrams through a reject rule", u.Conns.Load())
	}
	expectConnect(t, dev, ap(db.V4, 5432), lab.Refused)
}

func TestObserveModeDeniesNothingAndLogs(t *testing.T) {
	l := newLab(t)
	dev, db := l.Host("dev-1"), l.Host("prod-db")
	echoOn(t, db, 5432)
	p := newPolicy(ir.ActionDeny, zoneSets(),
		ruleOf("deny-dev", ir.ActionDeny, ir.DirIn, setsEP("zone:dev"), selfEP()),
	)
	p.Settings.Mode = ir.ModeObserve
	fw := applyPolicy(t, db, p, 1)

	expectConnect(t, dev, ap(db.V4, 5432), lab.Connected)
	expectConnect(t, l.Host("attacker"), ap(db.V4, 5432), lab.Connected)

	// The would-deny rule and the default log to the observe group and
	// accept.
	rules := rulesOf(t, listRuleset(t, db), nft.DefaultTable)
	found := map[string]bool{}
	for _, r := range rules {
		if r.Chain != "rules_in" && !(r.Chain == "input" && r.Comment == nft.IDDefault) {
			continue
		}
		var hasLog, accepts bool
		for _, e := range r.Expr {
			var m map[string]json.RawMessage
			json.Unmarshal(e, &m)
			if raw, ok := m["log"]; ok {
				var lg struct {
					Group  int
					Prefix string
				}
				json.Unmarshal(raw, &lg)
				hasLog = lg.Group == nft.DefaultLogGroupObserve
			}
			if _, ok := m["accept"]; ok {
				accepts = true
			}
			if _, ok := m["drop"]; ok {
				t.Errorf("observe mode: rule %q in %s drops", r.Comment, r.Chain)
			}
		}
		if hasLog && accepts {
			found[r.Chain+" "+r.Comment] = true
		}
	}
	for _, want := range []string{"rules_in deny-dev", "input " + nft.IDDefault} {
		if !found[want] {
			t.Errorf("no observe log-and-accept rule %q; found %v", want, found)
		}
	}
	ctr, err := fw.Counters()
	if err != nil {
		t.Fatal(err)
	}
	if ctr["deny-dev"].Packets == 0 || ctr[nft.IDDefault].Packets == 0 {
		t.Errorf("counters: deny-dev %+v, default %+v: want both matched", ctr["deny-dev"], ctr[nft.IDDefault])
	}
}

// TestZoneIsolationMatrix runs every host's firewall with one policy and
// checks every pair of hosts on two ports against what the policy says.
func TestZoneIsolationMatrix(t *testing.T) {
	l := newLab(t)
	hosts := []*lab.Host{l.Host("dev-1"), l.Host("test-1"), l.Host("prod-web"), l.Host("prod-db"), l.Host("vdi-finance"), l.Host("attacker")}
	web := l.Host("prod-web")
	var rules []ir.Rule
	for _, z := range []string{"dev", "test", "prod", "vdi"} {
		rules = append(rules, ruleOf("intra-"+z, ir.ActionAllow, ir.DirBoth, setsEP("zone:"+z), setsEP("zone:"+z)))
	}
	rules = append(rules, ruleOf("vdi-to-web", ir.ActionAllow, ir.DirBoth, setsEP("zone:vdi"), hostEP(web), tcp(80, 80)))
	p := newPolicy(ir.ActionDeny, zoneSets(), rules...)
	for _, h := range hosts {
		echoOn(t, h, 80, 22)
		if h.Name != "attacker" { // the attacker runs no septa
			applyPolicy(t, h, p, 1)
		}
	}
	allowed := func(from, to *lab.Host, port uint16) bool {
		if from.Zone == to.Zone && from.Zone != "attacker" {
			return true
		}
		return from.Zone == "vdi" && to == web && port == 80
	}
	type result struct {
		from, to *lab.Host
		port     uint16
		got      lab.Outcome
		err      error
	}
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		res []result
	)
	for _, from := range hosts {
		for _, to := range hosts {
			if from == to {
				continue
			}
			for _, port := range []uint16{80, 22} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					got, err := from.Connect(ap(to.V4, port), connectTimeout)
					mu.Lock()
					res = append(res, result{from, to, port, got, err})
					mu.Unlock()
				}()
			}
		}
	}
	wg.Wait()
	var matrix strings.Builder
	for _, r := range res {
		want := lab.TimedOut
		if allowed(r.from, r.to, r.port) {
			want = lab.Connected
		}
		if r.err != nil || r.got != want {
			t.Errorf("%s -> %s:%d: %s (%v), want %s", r.from.Name, r.to.Name, r.port, r.got, r.err, want)
		}
		fmt.Fprintf(&matrix, "%s -> %s:%d %s\n", r.from.Name, r.to.Name, r.port, r.got)
	}
	if t.Failed() {
		t.Logf("matrix:\n%s", matrix.String())
	}
}
