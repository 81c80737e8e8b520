//go:build linux

package integration

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/septa-fw/septa/daemon"
	"github.com/septa-fw/septa/daemon/events"
	"github.com/septa-fw/septa/integration/lab"
	"github.com/septa-fw/septa/nft"
	"github.com/septa-fw/septa/rules/ir"
)

// nflogTimeout is how long a connection attempt to a dropped port waits:
// below TCP's first retransmission (1 s), so each attempt is one SYN.
const nflogTimeout = 300 * time.Millisecond

// startNFLOG runs septad's NFLOG listener inside h, as septad runs it in
// its own namespace, and returns what it publishes.
func startNFLOG(t *testing.T, h *lab.Host, cfg daemon.NFLOGConfig) (*daemon.NFLOGListener, <-chan *events.Event, error) {
	t.Helper()
	ns, err := h.OpenNS()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	got := make(chan *events.Event, 256)
	cfg.NetNS = int(ns.Fd())
	cfg.Publish = func(e *events.Event) {
		select {
		case got <- e:
		default:
			t.Errorf("event channel full; dropped %+v", e)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	l, err := daemon.ListenNFLOG(ctx, cfg)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-l.Done():
		case <-time.After(5 * time.Second):
			t.Error("NFLOG listener did not stop within 5 s of its context")
		}
	})
	return l, got, nil
}

// collect reads events until want have arrived or timeout passes, then
// goes on for settle to catch duplicates that should not be there.
func collect(got <-chan *events.Event, want int, timeout, settle time.Duration) []*events.Event {
	var out []*events.Event
	deadline := time.After(timeout)
	for len(out) < want {
		select {
		case e := <-got:
			out = append(out, e)
		case <-deadline:
			return out
		}
	}
	quiet := time.After(settle)
	for {
		select {
		case e := <-got:
			out = append(out, e)
		case <-quiet:
			return out
		}
	}
}

// TestNFLOGReportsKernelDecisions: flows the kernel decides on its own
// (no inspection) and logs become events: a rule's deny, the default
// deny over IPv4 and IPv6, a logged allow, and after a reload to observe
// mode a would-be deny. A scanner's retries to one port are one event.
func TestNFLOGReportsKernelDecisions(t *testing.T) {
	hosts := lab.DefaultHosts()
	l := newLab(t, hosts[4], hosts[8]) // prod-db, attacker
	db, attacker := l.Host("prod-db"), l.Host("attacker")

	deny := ruleOf("deny-attacker-db", ir.ActionDeny, ir.DirIn, setsEP("zone:attacker"), selfEP(), tcp(5432, 5432))
	deny.Log = true
	allow := ruleOf("ssh-in", ir.ActionAllow, ir.DirIn, anyEP, selfEP(), tcp(22, 22))
	allow.Log = true
	p := newPolicy(ir.ActionDeny, zoneSets(), deny, allow)
	p.Settings.Log = ir.LogDeny
	fw := applyPolicy(t, db, p, 1)

	lst, got, err := startNFLOG(t, db, daemon.NFLOGConfig{
		DenyGroup:    nft.DefaultLogGroupDeny,
		ObserveGroup: nft.DefaultLogGroupObserve,
		AllowGroup:   nft.DefaultLogGroupAllow,
		Enrich: func(e *events.Event) {
			if lab.ZoneAttacker.Contains(e.Src.Addr()) {
				e.ZoneSrc = "attacker"
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}

	// Another listener cannot take the groups while this one holds them.
	if _, _, err := startNFLOG(t, db, daemon.NFLOGConfig{DenyGroup: nft.DefaultLogGroupDeny}); err == nil || !strings.Contains(err.Error(), "holds the group") {
		t.Errorf("second listener on group %d: err %v, want the group held", nft.DefaultLogGroupDeny, err)
	}

	for range 3 {
		expectConnectIn(t, attacker, ap(db.V4, 5432), nflogTimeout, lab.TimedOut)
	}
	expectConnectIn(t, attacker, ap(db.V4, 6000), nflogTimeout, lab.TimedOut)
	expectConnectIn(t, attacker, ap(db.V6, 6001), nflogTimeout, lab.TimedOut)
	expectConnectIn(t, attacker, ap(db.V4, 22), nflogTimeout, lab.Refused) // allowed; nobody listens

	evs := collect(got, 4, 5*time.Second, 500*time.Millisecond)
	byPort := map[uint16][]*events.Event{}
	for _, e := range evs {
		t.Logf("event: %s %s -> %s proto %d rule %q action %s", e.Kind, e.Src, e.Dst, e.Proto, e.Rule, e.Action)
		byPort[e.Dst.Port()] = append(byPort[e.Dst.Port()], e)
	}
	type want struct {
		kind                 events.Kind
		src                  netip.Addr
		dst                  netip.AddrPort
		rule, action, reason string
		zone                 string
	}
	check := func(port uint16, w want) {
		t.Helper()
		es := byPort[port]
		if len(es) != 1 {
			t.Errorf("port %d: %d events, want 1: %+v", port, len(es), es)
			return
		}
		e := es[0]
		if e.Kind != w.kind || e.Src.Addr() != w.src || e.Dst != w.dst || e.Proto != 6 || e.Rule != w.rule ||
			e.Action != w.action || e.Reason != w.reason || e.ZoneSrc != w.zone || e.Observe || e.FlowID == 0 {
			t.Errorf("port %d: event %+v\nwant %+v", port, e, w)
		}
	}
	check(5432, want{events.KindDrop, attacker.V4, ap(db.V4, 5432), "deny-attacker-db", "deny", "policy", "attacker"})
	check(6000, want{events.KindDrop, attacker.V4, ap(db.V4, 6000), "", "deny", "default", "attacker"})
	check(6001, want{events.KindDrop, attacker.V6, ap(db.V6, 6001), "", "deny", "default", ""})
	check(22, want{events.KindFlow, attacker.V4, ap(db.V4, 22), "ssh-in", "allow", "policy", "attacker"})

	st := lst.Stats()
	t.Logf("listener: %+v", st)
	if st.Published != uint64(len(evs)) || st.Suppressed < 2 || st.Received != st.Published+st.Suppressed || st.Errors != 0 {
		t.Errorf("stats %+v with %d events: want every event published, the two retries to 5432 suppressed, no errors", st, len(evs))
	}
	ctr, err := fw.Counters()
	if err != nil {
		t.Fatal(err)
	}
	if ctr["deny-attacker-db"].Packets < 3 {
		t.Errorf("kernel counter of deny-attacker-db: %+v, want at least the 3 SYNs", ctr["deny-attacker-db"])
	}

	// Observe mode: the same rule now logs to the observe group and lets
	// the flow through; that is a new event, not a repeat.
	p.Settings.Mode = ir.ModeObserve
	mustApply(t, fw, p, 2)
	expectConnectIn(t, attacker, ap(db.V4, 5432), nflogTimeout, lab.Refused)
	evs = collect(got, 1, 5*time.Second, 300*time.Millisecond)
	if len(evs) != 1 {
		t.Fatalf("observe mode: %d events, want 1: %+v", len(evs), evs)
	}
	if e := evs[0]; e.Kind != events.KindFlow || !e.Observe || e.Rule != "deny-attacker-db" || e.Action != "deny" || e.Dst != ap(db.V4, 5432) {
		t.Errorf("observe mode: event %+v, want a flow with observe set, rule deny-attacker-db, action deny", e)
	}
}

// TestNFLOGReleasesGroupsOnStop: once the listener's context ends, its
// socket closes and the kernel frees the groups for the next septad.
func TestNFLOGReleasesGroupsOnStop(t *testing.T) {
	l := newLab(t, lab.DefaultHosts()[4])
	db := l.Host("prod-db")
	ns, err := db.OpenNS()
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	cfg := daemon.NFLOGConfig{NetNS: int(ns.Fd()), DenyGroup: nft.DefaultLogGroupDeny, Publish: func(*events.Event) {}}
	for i := range 3 {
		ctx, cancel := context.WithCancel(context.Background())
		lst, err := daemon.ListenNFLOG(ctx, cfg)
		if err != nil {
			cancel()
			t.Fatalf("listener %d: %v", i, err)
		}
		cancel()
		select {
		case <-lst.Done():
		case <-time.After(5 * time.Second):
			t.Fatalf("listener %d did not stop within 5 s", i)
		}
	}
}

// expectConnectIn is expectConnect with its own timeout.
func expectConnectIn(tb testing.TB, from *lab.Host, to netip.AddrPort, timeout time.Duration, want lab.Outcome) {
	tb.Helper()
	got, err := from.Connect(to, timeout)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		tb.Errorf("%s -> %s: %v", from.Name, to, err)
		return
	}
	if got != want {
		tb.Errorf("%s -> %s: %s, want %s", from.Name, to, got, want)
	}
}
