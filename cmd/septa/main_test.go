package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheck runs septa check as a user would: exit status, output and
// the signature report.
func TestCheck(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rules := write("sigs/web.rules", "alert http any any -> any any (msg:\"ok\"; content:\"abc\"; sid:1; rev:1;)\n"+
		"alert http any any -> any any (msg:\"bad\"; frobnicate; sid:2; rev:1;)\n")
	write("good/10.toml", `[[rules]]
name = "web"
from = "any"
to = "self"
ports = ["tcp/80"]
ids = "detect"
action = "allow"
[ids]
signatures = ["`+rules+`"]
`)
	write("bad/10.toml", "[[rules]]\nname = \"web\"\nfrom = \"any\"\nto = \"self\"\naction = \"alow\"\n")
	tests := []struct {
		name     string
		args     []string
		code     int
		out, err string
	}{
		{"valid, with a skipped signature", []string{"check", filepath.Join(dir, "good")}, 0,
			"signatures: 1 loaded, 1 skipped", `keyword "frobnicate": unknown keyword`},
		{"invalid", []string{"check", filepath.Join(dir, "bad")}, 1,
			"", `10.toml:5:10: rule "web": action: "alow" is not one of "allow", "deny" or "reject"`},
		{"usage", []string{"check", "--nope"}, 2, "", "unknown flag"},
		{"examples", []string{"check", "../../packaging/examples/1-zones/policy.d", "../../packaging/examples/4-ids/policy.d"}, 0,
			"4-ids/policy.d: signatures: 2 loaded, 0 skipped", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(tt.args, &out, &errb)
			if code != tt.code || !strings.Contains(out.String(), tt.out) || !strings.Contains(errb.String(), tt.err) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr with %q",
					code, out.String(), errb.String(), tt.code, tt.out, tt.err)
			}
		})
	}
}
