package events

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/septa-fw/septa/inspect"
	"github.com/septa-fw/septa/inspect/appid"
	"github.com/septa-fw/septa/inspect/packet"
	"github.com/septa-fw/septa/rules/ir"
)

func TestFromInspect(t *testing.T) {
	src, dst := netip.MustParseAddrPort("10.4.0.5:40000"), netip.MustParseAddrPort("10.3.10.10:5432")
	base := inspect.Event{
		Time: t0, Src: src, Dst: dst, Proto: 6, Hook: inspect.HookInput,
		Rule: "finance-db", Action: ir.ActionAllow, Reason: packet.ReasonPolicy,
		App: "postgresql", User: "alice", Groups: []string{"finance"}, Process: "postgres",
		Packets: [2]uint32{3, 2},
	}
	id := FlowID(src, dst, 6, t0)
	wantBase := Event{
		Kind: KindFlow, Time: t0, FlowID: id, Src: src, Dst: dst, Proto: 6,
		App: "postgresql", AppProto: "pgsql", Rule: "finance-db", Action: "allow", Reason: "policy",
		User: "alice", Groups: []string{"finance"}, Process: "postgres",
		PacketsToServer: 3, PacketsToClient: 2, Start: t0, Decider: DeciderInspector,
	}
	tests := []struct {
		name   string
		modify func(*inspect.Event)
		want   func(*Event)
	}{
		{name: "allowed", modify: func(*inspect.Event) {}, want: func(*Event) {}},
		{
			name:   "denied by app",
			modify: func(e *inspect.Event) { e.Action, e.Reason, e.App = ir.ActionDeny, packet.ReasonApp, "unknown" },
			want: func(e *Event) {
				e.Kind, e.Action, e.Reason, e.App, e.AppProto = KindDrop, "deny", "app", "unknown", AppProtoFailed
			},
		},
		{
			name:   "rejected by default",
			modify: func(e *inspect.Event) { e.Action, e.Reason, e.Rule = ir.ActionReject, packet.ReasonDefault, "" },
			want:   func(e *Event) { e.Kind, e.Action, e.Reason, e.Rule = KindDrop, "reject", "default", "" },
		},
		{
			name:   "observe mode lets a denial pass",
			modify: func(e *inspect.Event) { e.Action, e.Observe, e.Reason = ir.ActionDeny, true, packet.ReasonUser },
			want:   func(e *Event) { e.Action, e.Observe, e.Reason = "deny", true, "user" },
		},
		{
			name:   "decided without app-ID",
			modify: func(e *inspect.Event) { e.App = "" },
			want:   func(e *Event) { e.App, e.AppProto = "", "" },
		},
		{
			name:   "TLS with SNI",
			modify: func(e *inspect.Event) { e.App, e.SNI = "tls", "db.example.com" },
			want:   func(e *Event) { e.App, e.AppProto, e.SNI = "tls", "tls", "db.example.com" },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base
			tt.modify(&in)
			want := wantBase
			tt.want(&want)
			if diff := cmp.Diff(&want, FromInspect(&in), eventOpts); diff != "" {
				t.Errorf("FromInspect (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAppProto(t *testing.T) {
	tests := []struct {
		name, app, want string
	}{
		{name: "same name", app: "http", want: "http"},
		{name: "postgresql", app: "postgresql", want: "pgsql"},
		{name: "kerberos", app: "kerberos", want: "krb5"},
		{name: "grpc is http2", app: "grpc", want: "http2"},
		{name: "unknown failed", app: "unknown", want: "failed"},
		{name: "not inspected", app: "", want: ""},
		{name: "no suricata parser", app: "mongodb", want: "mongodb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AppProto(tt.app); got != tt.want {
				t.Errorf("AppProto(%q) = %q, want %q", tt.app, got, tt.want)
			}
		})
	}
	// Every app septa identifies maps to a non-empty lower-case name, as
	// Suricata's are.
	for a := appid.App(1); a.String() != "unknown"; a++ {
		got := AppProto(a.String())
		if got == "" || strings.Trim(got, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			t.Errorf("AppProto(%q) = %q: not a Suricata-style name", a, got)
		}
	}
}

func TestFlowID(t *testing.T) {
	a, b := netip.MustParseAddrPort("10.0.0.1:1234"), netip.MustParseAddrPort("10.0.0.2:80")
	start := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	id := FlowID(a, b, 6, start)
	tests := []struct {
		name string
		got  uint64
		same bool
	}{
		{name: "either direction", got: FlowID(b, a, 6, start), same: true},
		{name: "other proto", got: FlowID(a, b, 17, start)},
		{name: "other start", got: FlowID(a, b, 6, start.Add(time.Nanosecond))},
		{name: "other port", got: FlowID(netip.MustParseAddrPort("10.0.0.1:1235"), b, 6, start)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if (tt.got == id) != tt.same {
				t.Errorf("FlowID = %d, base %d, want same=%v", tt.got, id, tt.same)
			}
			if tt.got == 0 || tt.got > flowIDMask {
				t.Errorf("FlowID = %d out of range", tt.got)
			}
		})
	}
	// Stable across runs and builds: the goldens depend on it.
	if id != 2217162595095346 {
		t.Errorf("FlowID = %d, changed from 2217162595095346", id)
	}
}

func TestInspectorSink(t *testing.T) {
	b := NewBus(BusConfig{})
	sub := b.Subscribe(1, 0)
	var sink inspect.Sink = InspectorSink{Bus: b, Enrich: func(e *Event) { e.ZoneSrc, e.ZoneDst = "vdi", "finance" }}
	sink.Emit(&inspect.Event{Time: t0, Proto: 6, Action: ir.ActionDeny, Reason: packet.ReasonUser})
	got := <-sub.C()
	if got.Kind != KindDrop || got.ZoneSrc != "vdi" || got.ZoneDst != "finance" || got.Reason != "user" {
		t.Errorf("published %+v", got)
	}
	sub.Unsubscribe()
}
