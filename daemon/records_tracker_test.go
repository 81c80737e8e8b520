package daemon

import (
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/septa-fw/septa/daemon/events"
	"github.com/septa-fw/septa/inspect"
	"github.com/septa-fw/septa/nft"
	"github.com/septa-fw/septa/rules"
)

const recordTestPolicy = `
[zones.lan]
cidrs = ["10.0.0.0/16"]
[services.pg]
ports = ["tcp/5432"]
app = "postgresql"

[[rules]]
name = "api-in"
from = "zone:lan"
to = "self"
ports = ["tcp/8080"]
action = "allow"

[[rules]]
name = "pg-app"
from = "zone:lan"
to = "any"
services = ["pg"]
action = "allow"

[[rules]]
name = "web-observe"
from = "any"
to = "any"
ports = ["tcp/80"]
action = "deny"
observe = true
`

// recordRig is a tracker on a fake clock, with the records it published.
type recordRig struct {
	t       *RecordTracker
	now     time.Time
	layout  nft.MarkLayout
	policy  atomic.Pointer[inspect.Policy]
	records []*events.Event
}

var (
	recT0    = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	recHost  = netip.MustParseAddr("10.0.9.9")
	recPeer  = netip.MustParseAddr("10.0.1.5")
	recOther = netip.MustParseAddr("10.0.2.7")
)

func newRecordRig(t testing.TB, cfg RecordTrackerConfig) *recordRig {
	t.Helper()
	res, err := rules.Compile([]rules.File{{Name: "policy.toml", Data: []byte(recordTestPolicy)}}, rules.Options{Now: recT0})
	if err != nil {
		t.Fatal(err)
	}
	layout, err := nft.NewMarkLayout(nft.DefaultMarkMask)
	if err != nil {
		t.Fatal(err)
	}
	r := &recordRig{now: recT0, layout: layout}
	r.policy.Store(inspect.NewPolicy(res.Policy, 1))
	cfg.Publish = func(e *events.Event) { r.records = append(r.records, e) }
	cfg.Enrich = func(e *events.Event) { e.ZoneSrc = "enriched" }
	cfg.Policy = &r.policy
	cfg.Layout = layout
	cfg.Local = func(a netip.Addr) bool { return a == recHost || a.IsLoopback() }
	cfg.Now = func() time.Time { return r.now }
	r.t = NewRecordTracker(cfg)
	return r
}

func (r *recordRig) mark(v nft.MarkVerdict, gen uint64) uint32 { return r.layout.Value(v, gen) }

func ap(a netip.Addr, port uint16) netip.AddrPort { return netip.AddrPortFrom(a, port) }

// end is a flow end 30 s long that stopped 40 s before now (conntrack
// reports late).
func (r *recordRig) end(src, dst netip.AddrPort, mark uint32) *FlowEnd {
	return &FlowEnd{
		Src: src, Dst: dst, Proto: 6,
		Start: r.now.Add(-70 * time.Second), Stop: r.now.Add(-40 * time.Second),
		PacketsOrig: 10, BytesOrig: 1000, PacketsReply: 8, BytesReply: 64000,
		Mark: mark, State: stateClosed,
	}
}

func decision(kind events.Kind, src, dst netip.AddrPort, rule, action string, observe bool, decider string, at time.Time) *events.Event {
	return &events.Event{
		Kind: kind, Time: at, Start: at, FlowID: events.FlowID(src, dst, 6, at), Src: src, Dst: dst, Proto: 6,
		Rule: rule, Action: action, Observe: observe, Reason: "policy", Decider: decider, ZoneSrc: "lan",
		PacketsToServer: 3, PacketsToClient: 2,
	}
}

// eventOpts compares events with their netip values.
var eventOpts = cmpopts.EquateComparable(netip.AddrPort{})

func TestRecordTrackerEnd(t *testing.T) {
	client := ap(recPeer, 40000)
	tests := []struct {
		name string
		// before feeds the tracker before the flow ends.
		before func(r *recordRig)
		end    func(r *recordRig) *FlowEnd
		want   func(r *recordRig, f *FlowEnd) *events.Event
	}{
		{
			name: "kernel allow, no decision reported: the policy of the mark's generation names the rule",
			end:  func(r *recordRig) *FlowEnd { return r.end(client, ap(recHost, 8080), r.mark(nft.MarkAllow, 1)) },
			want: func(r *recordRig, f *FlowEnd) *events.Event {
				return &events.Event{Rule: "api-in", Action: "allow", Reason: "policy", Decider: events.DeciderKernel}
			},
		},
		{
			name: "inspector decision joined: its rule, app, user and flow ID, conntrack's counters and times",
			before: func(r *recordRig) {
				d := decision(events.KindFlow, client, ap(recOther, 5432), "pg-app", "allow", false, events.DeciderInspector, r.now.Add(-69*time.Second))
				d.App, d.AppProto, d.User, d.Groups, d.Process = "postgresql", "pgsql", "alice", []string{"dba"}, "psql"
				r.t.Write(d)
			},
			end: func(r *recordRig) *FlowEnd { return r.end(client, ap(recOther, 5432), r.mark(nft.MarkAllow, 1)) },
			want: func(r *recordRig, f *FlowEnd) *events.Event {
				return &events.Event{
					FlowID: events.FlowID(client, ap(recOther, 5432), 6, r.now.Add(-69*time.Second)),
					Rule:   "pg-app", Action: "allow", Reason: "policy", Decider: events.DeciderInspector,
					App: "postgresql", AppProto: "pgsql", User: "alice", Groups: []string{"dba"}, Process: "psql", ZoneSrc: "lan",
				}
			},
		},
		{
			name: "observe mode's log joined: a would-deny",
			before: func(r *recordRig) {
				r.t.Write(decision(events.KindFlow, client, ap(recOther, 80), "web-observe", "deny", true, events.DeciderKernel, r.now.Add(-70*time.Second)))
			},
			end: func(r *recordRig) *FlowEnd { return r.end(client, ap(recOther, 80), r.mark(nft.MarkAllow, 1)) },
			want: func(r *recordRig, f *FlowEnd) *events.Event {
				return &events.Event{
					FlowID: events.FlowID(client, ap(recOther, 80), 6, r.now.Add(-70*time.Second)),
					Rule:   "web-observe", Action: "deny", Observe: true, Reason: "policy", Decider: events.DeciderKernel, ZoneSrc: "lan",
				}
			},
		},
		{
			name: "observe rule without a log event: evaluated as a would-deny",
			end:  func(r *recordRig) *FlowEnd { return r.end(client, ap(recOther, 80), r.mark(nft.MarkAllow, 1)) },
			want: func(r *recordRig, f *FlowEnd) *events.Event {
				return &events.Event{Rule: "web-observe", Action: "deny", Observe: true, Reason: "policy", Decider: events.DeciderKernel}
			},
		},
		{
			name: "inspected flow whose decision is gone: the inspector decided, rule unknown",
			end:  func(r *recordRig) *FlowEnd { return r.end(client, ap(recOther, 5432), r.mark(nft.MarkAllow, 1)) },
			want: func(r *recordRig, f *FlowEnd) *events.Event {
				return &events.Event{Action: "allow", Reason: ReasonUnattributed, Decider: events.DeciderInspector}
			},
		},
		{
			name: "mark of a generation no policy is known for",
			end:  func(r *recordRig) *FlowEnd { return r.end(client, ap(recHost, 8080), r.mark(nft.MarkAllow, 5)) },
			want: func(r *recordRig, f *FlowEnd) *events.Event {
				return &events.Event{Action: "allow", Reason: ReasonUnattributed}
			},
		},
		{
			name: "deny mark without a decision",
			end:  func(r *recordRig) *FlowEnd { return r.end(client, ap(recOther, 5432), r.mark(nft.MarkDeny, 5)) },
			want: func(r *recordRig, f *FlowEnd) *events.Event {
				return &events.Event{Action: "deny", Reason: ReasonUnattributed}
			},
		},
		{
			name: "no septa mark: related or older than the table",
			end:  func(r *recordRig) *FlowEnd { return r.end(client, ap(recOther, 9), 0) },
			want: func(r *recordRig, f *FlowEnd) *events.Event {
				return &events.Event{Action: "allow", Reason: ReasonUndecided}
			},
		},
		{
			name: "an alert on the flow",
			before: func(r *recordRig) {
				r.t.Write(decision(events.KindFlow, client, ap(recOther, 5432), "pg-app", "allow", false, events.DeciderInspector, r.now.Add(-70*time.Second)))
				r.t.Write(&events.Event{Kind: events.KindAlert, Src: client, Dst: ap(recOther, 5432), Proto: 6})
			},
			end: func(r *recordRig) *FlowEnd { return r.end(client, ap(recOther, 5432), r.mark(nft.MarkAllow, 1)) },
			want: func(r *recordRig, f *FlowEnd) *events.Event {
				return &events.Event{
					FlowID: events.FlowID(client, ap(recOther, 5432), 6, r.now.Add(-70*time.Second)),
					Rule:   "pg-app", Action: "allow", Reason: "policy", Decider: events.DeciderInspector, ZoneSrc: "lan", Alerted: true,
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRecordRig(t, RecordTrackerConfig{})
			if tt.before != nil {
				tt.before(r)
			}
			f := tt.end(r)
			r.t.End(f, r.now)
			want := tt.want(r, f)
			want.Kind, want.Time, want.Src, want.Dst, want.Proto = events.KindFlow, f.Stop, f.Src, f.Dst, 6
			want.Start, want.End, want.State, want.EndReason = f.Start, f.Stop, stateClosed, reasonTimeout
			want.PacketsToServer, want.BytesToServer, want.PacketsToClient, want.BytesToClient = 10, 1000, 8, 64000
			if want.FlowID == 0 {
				want.FlowID = events.FlowID(f.Src, f.Dst, 6, f.Start)
			}
			if want.ZoneSrc == "" {
				want.ZoneSrc = "enriched"
			}
			if diff := cmp.Diff([]*events.Event{want}, r.records, eventOpts); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
			if st := r.t.Stats(); st.Pending != 0 || st.Records != 1 || st.Ends != 1 {
				t.Errorf("stats %+v: want 1 end, 1 record, nothing pending", st)
			}
		})
	}
}

func TestRecordTrackerDenies(t *testing.T) {
	client := ap(recPeer, 40000)
	server := ap(recOther, 5432)
	t.Run("a kernel deny is recorded at once, from its log event", func(t *testing.T) {
		r := newRecordRig(t, RecordTrackerConfig{})
		d := decision(events.KindDrop, client, server, "", "deny", false, events.DeciderKernel, r.now)
		d.PacketsToServer, d.PacketsToClient = 0, 0
		r.t.Write(d)
		want := *d
		want.Kind, want.End, want.State, want.EndReason, want.PacketsToServer = events.KindFlow, r.now, stateNew, reasonTimeout, 1
		if diff := cmp.Diff([]*events.Event{&want}, r.records, eventOpts); diff != "" {
			t.Errorf("records (-want +got):\n%s", diff)
		}
	})
	t.Run("an inspector deny waits for conntrack, then is recorded alone", func(t *testing.T) {
		r := newRecordRig(t, RecordTrackerConfig{DenyGrace: time.Minute})
		d := decision(events.KindDrop, client, server, "pg-app", "deny", false, events.DeciderInspector, r.now)
		r.t.Write(d)
		r.now = r.now.Add(59 * time.Second)
		r.t.Tick()
		if len(r.records) != 0 {
			t.Fatalf("recorded before the grace ended: %+v", r.records)
		}
		r.now = r.now.Add(time.Second)
		r.t.Tick()
		want := *d
		want.Kind, want.End, want.State, want.EndReason = events.KindFlow, d.Time, stateNew, reasonTimeout
		if diff := cmp.Diff([]*events.Event{&want}, r.records, eventOpts); diff != "" {
			t.Errorf("records (-want +got):\n%s", diff)
		}
		// conntrack reports the flow after all: no second record.
		late := r.end(client, server, r.mark(nft.MarkDeny, 1))
		late.Start = d.Time
		r.t.End(late, r.now)
		// A new flow on the same tuple, later, is recorded.
		r.now = r.now.Add(time.Hour)
		r.t.End(r.end(client, server, r.mark(nft.MarkDeny, 1)), r.now)
		if st := r.t.Stats(); len(r.records) != 2 || st.LateEnds != 1 || r.records[1].Start != r.now.Add(-70*time.Second) {
			t.Errorf("%d records, stats %+v: want the late end dropped and the new flow recorded", len(r.records), st)
		}
		r.now = r.now.Add(DefaultRecordJoinTTL)
		r.t.Tick()
		if st := r.t.Stats(); st.Pending != 0 || st.Expired != 0 {
			t.Errorf("after the join TTL: stats %+v; want nothing pending, nothing counted as expired", st)
		}
	})
	t.Run("a new decision on the tuple of a deny recorded alone is recorded when its flow ends", func(t *testing.T) {
		r := newRecordRig(t, RecordTrackerConfig{DenyGrace: time.Minute})
		r.t.Write(decision(events.KindDrop, client, server, "pg-app", "deny", false, events.DeciderInspector, r.now))
		r.now = r.now.Add(time.Minute)
		r.t.Tick()
		r.t.Write(decision(events.KindFlow, client, server, "pg-app", "allow", false, events.DeciderInspector, r.now))
		again := r.end(client, server, r.mark(nft.MarkAllow, 1))
		again.Start = r.now
		r.t.End(again, r.now.Add(time.Minute))
		if len(r.records) != 2 || r.records[1].Action != "allow" || r.records[1].Rule != "pg-app" || r.t.Stats().LateEnds != 0 {
			t.Errorf("records %+v: want the deny, then the next flow on the tuple, joined", r.records)
		}
	})
	t.Run("an inspector deny whose flow conntrack does not hold is recorded at the next tick", func(t *testing.T) {
		r := newRecordRig(t, RecordTrackerConfig{DenyGrace: time.Minute, Exists: func(netip.AddrPort, netip.AddrPort, uint8) bool { return false }})
		r.t.Write(decision(events.KindDrop, client, server, "pg-app", "deny", false, events.DeciderInspector, r.now))
		r.now = r.now.Add(time.Minute)
		r.t.Tick()
		if len(r.records) != 0 {
			t.Fatalf("recorded at the first lookup: %+v", r.records)
		}
		r.now = r.now.Add(5 * time.Second)
		r.t.Tick()
		if len(r.records) != 1 || r.records[0].State != stateNew {
			t.Errorf("records %+v: want the decision recorded alone", r.records)
		}
	})
	t.Run("an inspector deny whose flow conntrack still holds waits for its end", func(t *testing.T) {
		held := true
		r := newRecordRig(t, RecordTrackerConfig{DenyGrace: time.Minute, Exists: func(src, dst netip.AddrPort, proto uint8) bool {
			return held && src == client && dst == server && proto == 6
		}})
		r.t.Write(decision(events.KindDrop, client, server, "pg-app", "deny", false, events.DeciderInspector, r.now))
		for range 3 {
			r.now = r.now.Add(time.Minute)
			r.t.Tick()
		}
		if len(r.records) != 0 {
			t.Fatalf("recorded while conntrack holds the flow: %+v", r.records)
		}
		r.t.End(r.end(client, server, r.mark(nft.MarkDeny, 1)), r.now)
		held = false
		r.now = r.now.Add(time.Minute)
		r.t.Tick()
		if len(r.records) != 1 || r.records[0].Rule != "pg-app" || r.records[0].BytesToClient != 64000 {
			t.Errorf("records %+v: want one, joined, with conntrack's counters", r.records)
		}
	})
	t.Run("an inspector deny that conntrack reports is recorded once, with its counters", func(t *testing.T) {
		r := newRecordRig(t, RecordTrackerConfig{DenyGrace: time.Minute})
		r.t.Write(decision(events.KindDrop, client, server, "pg-app", "deny", false, events.DeciderInspector, r.now))
		r.now = r.now.Add(50 * time.Second)
		r.t.End(r.end(client, server, r.mark(nft.MarkDeny, 1)), r.now)
		r.now = r.now.Add(time.Hour)
		r.t.Tick()
		if len(r.records) != 1 {
			t.Fatalf("%d records, want 1: %+v", len(r.records), r.records)
		}
		if got := r.records[0]; got.Action != "deny" || got.Rule != "pg-app" || got.BytesToClient != 64000 {
			t.Errorf("record %+v: want deny by pg-app with conntrack's counters", got)
		}
	})
}

func TestRecordTrackerBounds(t *testing.T) {
	client := func(port uint16) netip.AddrPort { return ap(recPeer, port) }
	server := ap(recOther, 5432)
	t.Run("rate limit", func(t *testing.T) {
		r := newRecordRig(t, RecordTrackerConfig{RatePerSecond: 2})
		for i := range 5 {
			r.t.End(r.end(client(uint16(40000+i)), server, 0), r.now)
		}
		r.now = r.now.Add(time.Second)
		for i := range 5 {
			r.t.End(r.end(client(uint16(41000+i)), server, 0), r.now)
		}
		st := r.t.Stats()
		if len(r.records) != 4 || st.Records != 4 || st.RateDropped != 6 {
			t.Errorf("%d records, stats %+v: want 4 written, 6 dropped", len(r.records), st)
		}
	})
	t.Run("join table bounded: the oldest decision is evicted", func(t *testing.T) {
		r := newRecordRig(t, RecordTrackerConfig{MaxJoin: 2})
		for i := range 3 {
			r.t.Write(decision(events.KindFlow, client(uint16(40000+i)), server, "pg-app", "allow", false, events.DeciderInspector, r.now))
		}
		if st := r.t.Stats(); st.Pending != 2 || st.Evicted != 1 {
			t.Fatalf("stats %+v: want 2 pending, 1 evicted", st)
		}
		r.t.End(r.end(client(40000), server, r.mark(nft.MarkAllow, 1)), r.now)
		r.t.End(r.end(client(40002), server, r.mark(nft.MarkAllow, 1)), r.now)
		if got := []string{r.records[0].Reason, r.records[1].Reason}; !cmp.Equal(got, []string{ReasonUnattributed, "policy"}) {
			t.Errorf("reasons %q: want the evicted flow unattributed, the kept one joined", got)
		}
	})
	t.Run("waiting denies bounded with the table", func(t *testing.T) {
		r := newRecordRig(t, RecordTrackerConfig{MaxJoin: 2, DenyGrace: time.Second})
		for i := range 10 {
			r.t.Write(decision(events.KindDrop, client(uint16(40000+i)), server, "pg-app", "deny", false, events.DeciderInspector, r.now))
		}
		if n := len(r.t.denies); n > 4 {
			t.Errorf("%d denies queued with a table of 2", n)
		}
		r.now = r.now.Add(time.Second)
		r.t.Tick()
		if len(r.records) != 2 || r.records[0].Src != client(40008) || r.records[1].Src != client(40009) {
			t.Errorf("records %+v: want the two denies still in the table", r.records)
		}
	})
	t.Run("join entries expire", func(t *testing.T) {
		r := newRecordRig(t, RecordTrackerConfig{JoinTTL: time.Hour})
		r.t.Write(decision(events.KindFlow, client(40000), server, "pg-app", "allow", false, events.DeciderInspector, r.now))
		r.now = r.now.Add(time.Hour)
		r.t.Tick()
		if st := r.t.Stats(); st.Pending != 0 || st.Expired != 1 {
			t.Errorf("stats %+v: want the decision expired", st)
		}
	})
	t.Run("loopback flows get no record", func(t *testing.T) {
		r := newRecordRig(t, RecordTrackerConfig{})
		r.t.End(r.end(ap(recHost, 40000), ap(netip.MustParseAddr("127.0.0.1"), 8080), 0), r.now)
		if st := r.t.Stats(); len(r.records) != 0 || st.Local != 1 {
			t.Errorf("%d records, stats %+v: want none, 1 local", len(r.records), st)
		}
	})
	t.Run("its own records are ignored", func(t *testing.T) {
		r := newRecordRig(t, RecordTrackerConfig{})
		rec := decision(events.KindFlow, client(40000), server, "pg-app", "allow", false, events.DeciderInspector, r.now)
		rec.End = r.now
		r.t.Write(rec)
		if st := r.t.Stats(); st.Pending != 0 {
			t.Errorf("a record went into the join table: %+v", st)
		}
	})
}
