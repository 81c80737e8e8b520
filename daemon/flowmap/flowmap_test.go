package flowmap

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/septa-fw/septa/daemon/events"
)

// TestMapGolden aggregates the fixture with and without filters, with and
// without the inventory and policy, and compares DOT and JSON with the
// golden files.
func TestMapGolden(t *testing.T) {
	inv, pol := fixturePolicy(t)
	tests := []struct {
		name     string
		withInv  bool
		filter   Filter
		wantFlow uint64
	}{
		{name: "all", withInv: true, wantFlow: 16},
		{name: "no_inventory", wantFlow: 16},
		{name: "zone_dev", withInv: true, filter: Filter{Zones: []string{"dev"}}, wantFlow: 3},
		{name: "group_shop_would_deny", withInv: true,
			filter: Filter{Groups: []string{"shop"}, Verdicts: []Verdict{VerdictWouldDeny}}, wantFlow: 9},
		{name: "app_http_window", withInv: true,
			filter: Filter{Apps: []string{"http"}, Since: t0.Add(time.Minute), Until: t0.Add(5 * time.Minute)}, wantFlow: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r *Resolver
			cat, err := NewCatalogue(nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.withInv {
				r = NewResolver(inv, pol)
			} else {
				r = NewResolver(nil, nil)
			}
			a := NewAggregator(r, cat, tt.filter)
			for _, e := range fixtureEvents() {
				a.Add(e)
			}
			m := a.Map()
			if m.Flows != tt.wantFlow || m.Flows+m.Filtered != uint64(len(fixtureFlows)) {
				t.Errorf("%d flows, %d filtered; want %d of %d", m.Flows, m.Filtered, tt.wantFlow, len(fixtureFlows))
			}
			var dot, js bytes.Buffer
			if err := m.WriteDOT(&dot); err != nil {
				t.Fatal(err)
			}
			if err := m.WriteJSON(&js); err != nil {
				t.Fatal(err)
			}
			golden(t, "map_"+tt.name+".dot", dot.Bytes())
			golden(t, "map_"+tt.name+".json", js.Bytes())
		})
	}
}

// TestMapDeterministic: the same records in another order give the same
// bytes.
func TestMapDeterministic(t *testing.T) {
	inv, pol := fixturePolicy(t)
	render := func(es []*events.Event) string {
		a := NewAggregator(NewResolver(inv, pol), nil, Filter{})
		for _, e := range es {
			a.Add(e)
		}
		var b bytes.Buffer
		a.Map().WriteDOT(&b)
		return b.String()
	}
	es := fixtureEvents()
	want := render(es)
	for i, j := 0, len(es)-1; i < j; i, j = i+1, j-1 {
		es[i], es[j] = es[j], es[i]
	}
	if diff := cmp.Diff(want, render(es)); diff != "" {
		t.Errorf("reversed input (-want +got):\n%s", diff)
	}
}

func TestVerdictOf(t *testing.T) {
	tests := []struct {
		name string
		e    events.Event
		want Verdict
	}{
		{"allowed", events.Event{Kind: events.KindFlow, Action: "allow"}, VerdictAllow},
		{"denied record", events.Event{Kind: events.KindFlow, Action: "deny"}, VerdictDeny},
		{"rejected", events.Event{Kind: events.KindFlow, Action: "reject"}, VerdictDeny},
		{"drop event", events.Event{Kind: events.KindDrop}, VerdictDeny},
		{"observed", events.Event{Kind: events.KindFlow, Action: "deny", Observe: true}, VerdictWouldDeny},
		{"suricata", events.Event{Kind: events.KindFlow}, VerdictSeen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := VerdictOf(&tt.e); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if v, err := ParseVerdict(tt.want.String()); err != nil || v != tt.want {
				t.Errorf("ParseVerdict(%q) = %v, %v", tt.want, v, err)
			}
		})
	}
	if _, err := ParseVerdict("maybe"); err == nil || !strings.Contains(err.Error(), `"maybe" is not one of seen, allow, deny, would-deny`) {
		t.Errorf("ParseVerdict(maybe): %v", err)
	}
}

func TestCatalogue(t *testing.T) {
	cat, err := NewCatalogue(nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		proto uint8
		port  uint16
		want  string
	}{
		{6, 22, "ssh"}, {17, 53, "dns"}, {6, 53, "dns"}, {17, 68, "dhcp"}, {6, 5432, "postgresql"}, {6, 8080, ""}, {17, 22, ""},
	}
	for _, tt := range tests {
		if got := cat.Name(tt.proto, tt.port); got != tt.want {
			t.Errorf("Name(%d, %d) = %q, want %q", tt.proto, tt.port, got, tt.want)
		}
	}
	if got := PortString(1, 8); got != "icmp" {
		t.Errorf("PortString(icmp) = %q", got)
	}
}

// TestRenderSVG renders the fixture's map with Graphviz when it is
// installed (CI installs it), and checks the message when it is not.
func TestRenderSVG(t *testing.T) {
	inv, pol := fixturePolicy(t)
	a := NewAggregator(NewResolver(inv, pol), nil, Filter{})
	for _, e := range fixtureEvents() {
		a.Add(e)
	}
	var dot bytes.Buffer
	a.Map().WriteDOT(&dot)
	t.Run("graphviz", func(t *testing.T) {
		if _, err := exec.LookPath("dot"); err != nil {
			if os.Getenv("SEPTA_INTEGRATION") == "1" {
				t.Fatalf("Graphviz is not installed (.ci/run installs it): %v", err)
			}
			t.Skip("Graphviz is not installed (.ci/run installs it)")
		}
		svg, err := RenderSVG(context.Background(), dot.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"<svg", "app=shop", "zone prod", "would&#45;deny"} {
			if !bytes.Contains(svg, []byte(want)) {
				t.Errorf("SVG has no %q", want)
			}
		}
		if _, err := RenderSVG(context.Background(), []byte("digraph {")); err == nil {
			t.Error("bad DOT rendered")
		}
	})
	t.Run("no graphviz", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		if _, err := RenderSVG(context.Background(), dot.Bytes()); !errors.Is(err, ErrNoGraphviz) {
			t.Errorf("error %v, want ErrNoGraphviz", err)
		}
	})
}

func TestNodeUnmapped(t *testing.T) {
	inv, pol := fixturePolicy(t)
	r := NewResolver(inv, pol)
	n := r.Node(netip.MustParseAddr("::ffff:10.3.1.10"), "", nil)
	if n.ID != "workload:app=shop,env=prod,tier=web" || n.Zone != "prod" {
		t.Errorf("got %+v", n)
	}
}
