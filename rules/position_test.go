package rules

import (
	"fmt"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/google/go-cmp/cmp"
)

// TestScanPositions checks the position index on TOML that is easy to get
// wrong. Each case lists the paths it cares about, as "LINE:COL", for keys
// (or table headers) and for values; other paths are not compared.
func TestScanPositions(t *testing.T) {
	tests := []struct {
		name string
		src  string
		keys map[string]string
		vals map[string]string
	}{
		{
			name: "plain",
			src:  "a = 1\nbb  =   \"x\"\n",
			keys: map[string]string{"a": "1:1", "bb": "2:1"},
			vals: map[string]string{"a": "1:5", "bb": "2:9"},
		},
		{
			name: "dotted keys",
			src:  "a.b = 1\na . \"c d\" = 'x'\n[t]\nu.v.w = true\n",
			keys: map[string]string{
				"a": "1:1", "a/b": "1:1", "a/c d": "2:1",
				"t": "3:1", "t/u": "4:1", "t/u/v": "4:1", "t/u/v/w": "4:1",
			},
			vals: map[string]string{"a/b": "1:7", "a/c d": "2:13", "t/u/v/w": "4:9"},
		},
		{
			name: "quoted keys and headers",
			src:  "[zones.\"prod zone\"]\ncidrs = [\"10.0.0.0/8\"]\n['lit.key']\n\"k\\\"q\" = 2\n",
			keys: map[string]string{
				"zones": "1:1", "zones/prod zone": "1:1", "zones/prod zone/cidrs": "2:1",
				"lit.key": "3:1", `lit.key/k\"q`: "4:1",
			},
			vals: map[string]string{"zones/prod zone/cidrs": "2:9", "zones/prod zone/cidrs/0": "2:10", `lit.key/k\"q`: "4:10"},
		},
		{
			name: "header with spaces",
			src:  "[ zones . prod ]\n[[ rules ]]\nname = 'x'\n",
			keys: map[string]string{"zones/prod": "1:1", "rules": "2:1", "rules/0": "2:1", "rules/0/name": "3:1"},
		},
		{
			name: "inline tables",
			src:  "tags = { app = \"shop\", \"tier\" = 'db', n = { m = 1 } }\nnext = 2\n",
			keys: map[string]string{"tags": "1:1", "tags/app": "1:10", "tags/tier": "1:24", "tags/n/m": "1:45", "next": "2:1"},
			vals: map[string]string{"tags": "1:8", "tags/app": "1:16", "tags/tier": "1:33", "tags/n": "1:43", "tags/n/m": "1:49", "next": "2:8"},
		},
		{
			name: "multi-line array with comments",
			src: "ports = [ # web\n" +
				"  \"tcp/80\", # http, with ] and , in the comment\n" +
				"  # nothing here\n" +
				"\n" +
				"  \"tcp/443\"\n" +
				"  ,\"udp/53\",\n" +
				"]\n" +
				"after = 1\n",
			keys: map[string]string{"ports": "1:1", "after": "8:1"},
			vals: map[string]string{"ports": "1:9", "ports/0": "2:3", "ports/1": "5:3", "ports/2": "6:4", "after": "8:9"},
		},
		{
			name: "nested arrays",
			src:  "x = [[1, 2], [\"a\", [\"b\"]]]\n",
			vals: map[string]string{"x/0": "1:6", "x/0/1": "1:10", "x/1": "1:14", "x/1/0": "1:15", "x/1/1/0": "1:21"},
		},
		{
			name: "multi-line strings",
			src: "d = \"\"\"\nline one\n  \"quoted\" ] = [x]\n\"\"\"\n" +
				"e = '''\n[not.a.table]\nz = 1'''\n" +
				"f = \"\"\"a \\\"\"\" b\"\"\"\"\"\n" +
				"g = \"esc \\\" quote\" # c\n" +
				"after = 1\n",
			keys: map[string]string{"d": "1:1", "e": "5:1", "f": "8:1", "g": "9:1", "after": "10:1"},
			vals: map[string]string{"d": "1:5", "e": "5:5", "f": "8:5", "g": "9:5", "after": "10:9"},
		},
		{
			name: "arrays of tables with sub-tables",
			src: "[[rules]]\nname = \"a\"\n\n" +
				"[[rules]]\nname = \"b\"\n[rules.extra]\nx = 1\n\n" +
				"[[rules]]\nname = \"c\"\n",
			keys: map[string]string{
				"rules": "1:1", "rules/0": "1:1", "rules/0/name": "2:1",
				"rules/1": "4:1", "rules/1/name": "5:1", "rules/1/extra": "6:1", "rules/1/extra/x": "7:1",
				"rules/2": "9:1", "rules/2/name": "10:1",
			},
			vals: map[string]string{"rules/2/name": "10:8"},
		},
		{
			name: "nested arrays of tables",
			src:  "[[a]]\n[[a.b]]\nx = 1\n[[a.b]]\ny = 2\n[[a]]\n[[a.b]]\nz = 3\n",
			keys: map[string]string{
				"a/0": "1:1", "a/0/b/0": "2:1", "a/0/b/0/x": "3:1", "a/0/b/1/y": "5:1",
				"a/1": "6:1", "a/1/b/0": "7:1", "a/1/b/0/z": "8:1",
			},
		},
		{
			name: "unicode before a value counts characters",
			src:  "s = { d = \"café ☕\", v = \"x\" }\n\"é\" = 1\n# ünïcode comment\nw = 'ok'\n",
			keys: map[string]string{"s/v": "1:21", "é": "2:1", "w": "4:1"},
			vals: map[string]string{"s/d": "1:11", "s/v": "1:25", "é": "2:7", "w": "4:5"},
		},
		{
			name: "tabs, CRLF, dates and numbers",
			src:  "\ta\t=\t1_000\r\nb = 2026-12-31T18:00:00Z # when\r\nc = -3.5e2\r\nd = [ 1979-05-27 , 07:32:00 ]\r\n",
			keys: map[string]string{"a": "1:2", "b": "2:1", "c": "3:1", "d": "4:1"},
			vals: map[string]string{"a": "1:6", "b": "2:5", "c": "3:5", "d/0": "4:7", "d/1": "4:20"},
		},
		{
			// The explicit header is where x is written.
			name: "super-table after its sub-table",
			src:  "[x.y]\na = 1\n[x]\nb = 2\n",
			keys: map[string]string{"x": "3:1", "x/y": "1:1", "x/y/a": "2:1", "x/b": "4:1"},
		},
		{
			name: "empty",
			src:  "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Each case must be TOML, since the scanner runs only on
			// what toml accepted.
			var m map[string]any
			if _, err := toml.Decode(tt.src, &m); err != nil {
				t.Fatalf("case is not TOML: %v", err)
			}
			ps := scanPositions("f.toml", []byte(tt.src))
			if diff := cmp.Diff(tt.keys, pick(ps.keys, tt.keys)); diff != "" {
				t.Errorf("keys (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.vals, pick(ps.vals, tt.vals)); diff != "" {
				t.Errorf("values (-want +got):\n%s", diff)
			}
		})
	}
}

// pick returns the positions of the paths in want, as "LINE:COL", or
// "missing".
func pick(got map[string]Pos, want map[string]string) map[string]string {
	if want == nil {
		return nil
	}
	out := map[string]string{}
	for path := range want {
		p, ok := got[path]
		if !ok {
			out[path] = "missing"
			continue
		}
		out[path] = fmt.Sprintf("%d:%d", p.Line, p.Col)
	}
	return out
}

// TestPositionFallback checks that lookups of paths the scanner did not
// record fall back to the nearest enclosing key, then to the file.
func TestPositionFallback(t *testing.T) {
	src := "[zones.prod]\ncidrs = [\"10.0.0.0/8\"]\n"
	ps := scanPositions("f.toml", []byte(src))
	tests := []struct {
		name string
		got  Pos
		want Pos
	}{
		{"key", ps.key("zones", "prod", "cidrs"), Pos{"f.toml", 2, 1}},
		{"value", ps.val("zones", "prod", "cidrs", "0"), Pos{"f.toml", 2, 10}},
		{"missing value falls back to its key", ps.val("zones", "prod", "cidrs"), Pos{"f.toml", 2, 9}},
		{"missing key falls back to its table", ps.key("zones", "prod", "nope"), Pos{"f.toml", 1, 1}},
		{"missing element falls back to the key", ps.val("zones", "prod", "cidrs", "7"), Pos{"f.toml", 2, 1}},
		{"nothing known is the file", ps.key("other"), Pos{File: "f.toml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestInString checks the column of an offset into a string value, which
// selector errors use: escapes count as written, characters as one each.
func TestInString(t *testing.T) {
	tests := []struct {
		name string
		line string // the value starts at the first quote
		off  int
		want int // column
	}{
		{"offset 0 is past the quote", `s = "abc"`, 0, 6},
		{"plain", `s = "abc"`, 2, 8},
		{"end of the string is the closing quote", `s = "abc"`, 3, 9},
		{"literal string", `s = 'a\tb'`, 3, 9},
		{"two-character escape", `s = "a\tb"`, 2, 9},
		{"unicode escape", `s = "\u0041x"`, 1, 12},
		{"long unicode escape of a 2-byte rune", `s = "\U000000e9x"`, 2, 16},
		{"non-ASCII character", `s = "éx"`, 2, 7},
		{"non-ASCII before the value", `é = "ab"`, 1, 7},
		{"offset past the end stops at the end", `s = "ab"`, 10, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := &positions{file: "f", src: []byte("# first line\n" + tt.line + "\n")}
			col := 1
			for _, r := range tt.line {
				if r == '"' || r == '\'' {
					break
				}
				col++
			}
			got := ps.inString(Pos{File: "f", Line: 2, Col: col}, tt.off)
			if diff := cmp.Diff(Pos{File: "f", Line: 2, Col: tt.want}, got); diff != "" {
				t.Errorf("inString(%q, %d) (-want +got):\n%s", tt.line, tt.off, diff)
			}
		})
	}
}
