package flowmap

import (
	"bytes"
	"encoding/json"
	"io"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/septa-fw/septa/daemon/events"
	"github.com/septa-fw/septa/inspect"
	"github.com/septa-fw/septa/rules"
	"github.com/septa-fw/septa/rules/ir"
)

// TestRecommendGolden proposes policies from the fixture and compares
// them with the golden files; each one also compiles on its own, as
// septa check would compile it.
func TestRecommendGolden(t *testing.T) {
	inv, pol := fixturePolicy(t)
	untagged, err := rules.LoadInventory(filepath.Join("testdata", "inventory_untagged.toml"))
	if err != nil {
		t.Fatal(err)
	}
	build := fixtureEvents()[0]
	build.Src = netip.MustParseAddrPort("172.16.0.5:40000") // an inventory host in no zone
	build.Observe, build.Action, build.Rule = true, "deny", ""
	tests := []struct {
		name  string
		opts  RecommendOptions
		extra []*events.Event
	}{
		{name: "shop", opts: RecommendOptions{Inventory: inv, Policy: pol, Scope: Scope{"group", "shop"}}},
		{name: "all", opts: RecommendOptions{Inventory: inv, Policy: pol}},
		{name: "zones_only", opts: RecommendOptions{Policy: pol, Scope: Scope{"zone", "prod"}}},
		{name: "allowed_only_since", opts: RecommendOptions{Inventory: inv, Policy: pol, AllowedOnly: true, Since: t0.Add(2 * time.Minute)}},
		{name: "no_policy", opts: RecommendOptions{Inventory: inv}},
		{name: "untagged_inventory", opts: RecommendOptions{Inventory: untagged, Policy: pol, Scope: Scope{"zone", "prod"}},
			extra: []*events.Event{build}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := NewRecommender(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range append(fixtureEvents(), tt.extra...) {
				rec.Add(e)
			}
			got, err := rec.Result()
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "recommend_"+tt.name+".toml", got.TOML)
			if _, err := rules.Compile([]rules.File{{Name: "x.toml", Data: got.TOML}}, rules.Options{Inventory: tt.opts.Inventory}); err != nil {
				t.Errorf("the proposal does not compile: %v", err)
			}
		})
	}
}

// TestRecommendRoundTrip: the proposal for the shop, evaluated by the
// inspector's evaluator on the records it came from, allows every flow it
// used and denies the stray ones from dev.
func TestRecommendRoundTrip(t *testing.T) {
	inv, pol := fixturePolicy(t)
	rec, err := NewRecommender(RecommendOptions{Inventory: inv, Policy: pol, Scope: Scope{"group", "shop"}})
	if err != nil {
		t.Fatal(err)
	}
	es := fixtureEvents()
	for _, e := range es {
		rec.Add(e)
	}
	got, err := rec.Result()
	if err != nil {
		t.Fatal(err)
	}
	res, err := rules.Compile([]rules.File{{Name: ProposalFile, Data: got.TOML}}, rules.Options{Inventory: inv, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	x := NewImpact(res.Policy, ImpactOptions{Now: t0})
	for _, e := range es {
		if !rec.inScope(e) {
			continue
		}
		x.Add(e)
	}
	r := x.Report()
	var deniedSrc []string
	for _, ri := range r.Denied {
		for _, f := range ri.Flows {
			deniedSrc = append(deniedSrc, f.Src.String()+" was "+f.Was)
		}
	}
	want := []string{
		"10.9.0.11:0 was would-deny by zone-isolation:admin",
		"10.1.0.11:45000 was deny by zone-isolation:dev",
		"10.1.0.11:45001 was would-deny by zone-isolation:dev",
		"10.1.3.10:46000 was would-deny by zone-isolation:dev",
	}
	if diff := cmp.Diff(want, deniedSrc); diff != "" {
		t.Errorf("denied (-want +got):\n%s", diff)
	}
	if r.Allowed != got.Used || len(r.Undecided) != 0 {
		t.Errorf("%d allowed, %d used by the proposal; undecided %v", r.Allowed, got.Used, r.Undecided)
	}
}

// TestValidateProposal: a proposal is checked by the policy compiler,
// and one that does not compile is an error naming file, line and
// column, never output.
func TestValidateProposal(t *testing.T) {
	bad := []byte("[[rules]]\nname = \"x\"\nfrom = [\"zone:nowhere\"]\nto = [\"any\"]\naction = \"allow\"\n")
	err := validateProposal(bad, nil)
	if err == nil || !strings.Contains(err.Error(), ProposalFile+`:3:`) || !strings.Contains(err.Error(), `unknown zone "nowhere"`) {
		t.Errorf("error %v", err)
	}
}

func TestParseScope(t *testing.T) {
	for _, s := range []string{"group:shop", "zone:prod"} {
		if sc, err := ParseScope(s); err != nil || sc.String() != s {
			t.Errorf("ParseScope(%q) = %v, %v", s, sc, err)
		}
	}
	for _, s := range []string{"shop", "app:shop", "group:"} {
		if _, err := ParseScope(s); err == nil || !strings.Contains(err.Error(), "is not group:NAME or zone:NAME") {
			t.Errorf("ParseScope(%q): %v", s, err)
		}
	}
	inv, pol := fixturePolicy(t)
	if _, err := NewRecommender(RecommendOptions{Inventory: inv, Policy: pol, Scope: Scope{"zone", "moon"}}); err == nil {
		t.Error("a scope of an unknown zone was accepted")
	}
}

// TestImpactGolden previews a candidate policy on the fixture: the flows
// it would deny by rule, and those its user rule cannot decide from
// records without a user.
func TestImpactGolden(t *testing.T) {
	inv, _ := fixturePolicy(t)
	res, err := rules.Load(filepath.Join("testdata", "candidate"), rules.Options{Inventory: inv, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	x := NewImpact(res.Policy, ImpactOptions{Now: t0})
	for _, e := range fixtureEvents() {
		x.Add(e)
	}
	r := x.Report()
	var text, js bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := printJSONForTest(&js, r); err != nil {
		t.Fatal(err)
	}
	golden(t, "impact.txt", text.Bytes())
	golden(t, "impact.json", js.Bytes())
}

// TestImpactFacts: what a record says becomes the evaluator's facts, and
// what it lacks stays unknown.
func TestImpactFacts(t *testing.T) {
	p := &ir.Policy{Settings: ir.Settings{Default: ir.ActionDeny}}
	x := NewImpact(p, ImpactOptions{Self: nil})
	es := fixtureEvents()
	f := x.facts(es[0])
	if !f.AppDone || f.Info == nil || f.Info.App.String() != "http" || !f.UserDone || f.User.Name != "alice" || f.ProcessDone || f.Hook != inspect.HookUnknown {
		t.Errorf("facts of %v: %+v", es[0], f)
	}
	f = x.facts(es[7]) // no app
	if f.AppDone || f.UserDone {
		t.Errorf("facts of a record without app and user: %+v", f)
	}
	x.opts.Self = []netip.Addr{es[0].Dst.Addr()}
	if f := x.facts(es[0]); f.Hook != inspect.HookInput {
		t.Errorf("hook %v, want input", f.Hook)
	}
}

func printJSONForTest(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
