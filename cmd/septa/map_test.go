package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fixture is daemon/flowmap's fixture: the shop's flows as an EVE file,
// with its inventory, observe-mode policy and a candidate policy.
const fixture = "../../daemon/flowmap/testdata"

func fixturePath(name string) string { return filepath.Join(fixture, name) }

// TestVisibilityCommands runs septa map, recommend and check --impact on
// the fixture as a user would, and compares what they print with the
// golden files of daemon/flowmap, which the package's own tests produce
// from the same records: the commands add the reading, the flags and
// nothing else.
func TestVisibilityCommands(t *testing.T) {
	// An EVE file with the fixture and lines that are not flow records.
	eve, err := os.ReadFile(fixturePath("flows.eve"))
	if err != nil {
		t.Fatal(err)
	}
	mixed := filepath.Join(t.TempDir(), "eve.json")
	extra := `{"timestamp":"2026-06-01T12:00:00.000000+0000","event_type":"stats","stats":{}}` + "\nnot json\n"
	if err := os.WriteFile(mixed, append([]byte(extra), eve...), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := []string{"--inventory", fixturePath("inventory.toml"), "--policy", fixturePath("policy")}
	tests := []struct {
		name    string
		args    []string
		code    int
		golden  string // stdout equals this file of the fixture
		out     string // or contains this
		errText string
	}{
		{name: "map dot", args: append([]string{"map", "--eve", fixturePath("flows.eve")}, ctx...), golden: "map_all.dot"},
		{name: "map json, zone filter", args: append([]string{"map", "--eve", fixturePath("flows.eve"), "--format", "json", "--zone", "dev"}, ctx...),
			golden: "map_zone_dev.json"},
		// The same flows in two files, as two hosts record a flow
		// between them: counted once.
		{name: "map of two files", args: append([]string{"map", "--eve", fixturePath("flows.eve"), "--eve", fixturePath("flows.eve")}, ctx...), golden: "map_all.dot"},
		{name: "map with bad lines", args: append([]string{"map", "--eve", mixed}, ctx...), golden: "map_all.dot",
			errText: "eve.json: 1 of 18 lines are not EVE records and were skipped:\n  " + mixed + ":line 2: eve: invalid JSON"},
		{name: "map filters", args: append([]string{"map", "--eve", fixturePath("flows.eve"), "--format", "json", "--group", "shop", "--verdict", "would-deny"}, ctx...),
			golden: "map_group_shop_would_deny.json"},
		{name: "map bad verdict", args: []string{"map", "--eve", fixturePath("flows.eve"), "--verdict", "maybe"}, code: 2,
			errText: `--verdict: verdict "maybe" is not one of`},
		{name: "map bad format", args: []string{"map", "--eve", fixturePath("flows.eve"), "--format", "png"}, code: 2,
			errText: `--format: "png" is not dot, json or svg`},
		{name: "map bad since", args: []string{"map", "--eve", fixturePath("flows.eve"), "--since", "last week"}, code: 2,
			errText: `--since: "last week" is neither an RFC 3339 time nor a duration`},
		{name: "map missing file", args: []string{"map", "--eve", fixturePath("nothing.eve")}, code: 1, errText: "no such file"},
		{name: "map live and eve", args: []string{"map", "--live", "--eve", fixturePath("flows.eve")}, code: 2, errText: "--live and --eve are two sources"},
		{name: "recommend shop", args: append([]string{"recommend", "--eve", fixturePath("flows.eve"), "--scope", "group:shop"}, ctx...),
			golden: "recommend_shop.toml", errText: "septa: 9 rules allowing 12 of 16 flow records"},
		{name: "recommend bad scope", args: []string{"recommend", "--eve", fixturePath("flows.eve"), "--scope", "shop"}, code: 2,
			errText: `--scope: scope "shop" is not group:NAME or zone:NAME`},
		{name: "recommend unknown zone", args: append([]string{"recommend", "--eve", fixturePath("flows.eve"), "--scope", "zone:moon"}, ctx...), code: 2,
			errText: `scope: the policy has no zone "moon"`},
		{name: "impact", args: []string{"check", "--inventory", fixturePath("inventory.toml"), "--impact", "--eve", fixturePath("flows.eve"), fixturePath("candidate")},
			out: "candidate: impact: 16 flows: 6 allowed, 7 denied, 3 undecided"},
		{name: "impact json", args: []string{"check", "--inventory", fixturePath("inventory.toml"), "--impact", "--impact-json", "--eve", fixturePath("flows.eve"), fixturePath("candidate")},
			out: `"rule": "web-to-app",` + "\n" + `      "origin": "../../daemon/flowmap/testdata/candidate/10-shop.toml:42",` + "\n" + `      "needs": [` + "\n" + `        "user"`},
		{name: "impact bad self", args: []string{"check", "--impact", "--self", "host", "--eve", fixturePath("flows.eve"), fixturePath("candidate")}, code: 2,
			errText: `--self: ParseAddr("host")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(tt.args, &out, &errb)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, tt.code, errb.String())
			}
			if tt.golden != "" {
				want, err := os.ReadFile(fixturePath(tt.golden))
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(string(want), out.String()); diff != "" {
					t.Errorf("stdout (-%s +got):\n%s", tt.golden, diff)
				}
			}
			if !strings.Contains(out.String(), tt.out) {
				t.Errorf("stdout %q has no %q", out.String(), tt.out)
			}
			if !strings.Contains(errb.String(), tt.errText) {
				t.Errorf("stderr %q has no %q", errb.String(), tt.errText)
			}
		})
	}
}
