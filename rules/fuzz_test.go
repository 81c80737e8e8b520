package rules

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"
)

// goldenArchives returns the raw txtar golden cases, to seed fuzz targets.
func goldenArchives(f *testing.F) [][]byte {
	f.Helper()
	paths, err := filepath.Glob("testdata/*/*.txtar")
	if err != nil || len(paths) == 0 {
		f.Fatalf("no golden cases to seed from: %v", err)
	}
	var out [][]byte
	for _, p := range paths {
		ar, err := txtar.ParseFile(p)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, txtar.Format(ar))
	}
	return out
}

// goldenFiles returns the files of the golden cases whose name satisfies
// keep.
func goldenFiles(f *testing.F, keep func(name string) bool) [][]byte {
	f.Helper()
	var out [][]byte
	for _, data := range goldenArchives(f) {
		for _, file := range txtar.Parse(data).Files {
			if keep(file.Name) {
				out = append(out, file.Data)
			}
		}
	}
	return out
}

// FuzzPolicy compiles a txtar archive of policy files (and an optional
// inventory) twice: compiling never panics and is deterministic, so two
// compiles of a policy that loads dump the same IR, and two compiles of
// one that does not give the same errors. Every error is positioned in a
// file of the policy (or the inventory), within its lines.
func FuzzPolicy(f *testing.F) {
	for _, ar := range goldenArchives(f) {
		f.Add(ar)
	}
	f.Fuzz(func(t *testing.T, archive []byte) {
		ar := txtar.Parse(archive)
		var files []File
		lines := map[string]int{}
		var inv *Inventory
		for _, file := range ar.Files {
			if _, dup := lines[file.Name]; dup {
				return // a directory has unique names; Compile does not check
			}
			switch {
			case strings.HasPrefix(file.Name, "policy.d/"):
				files = append(files, File{Name: file.Name, Data: file.Data})
			case file.Name == "inventory.toml":
				var err error
				if inv, err = ParseInventory(file.Name, file.Data); err != nil {
					checkPositions(t, err, map[string]int{file.Name: bytes.Count(file.Data, []byte("\n")) + 1})
					inv = nil
				}
			default:
				continue
			}
			lines[file.Name] = bytes.Count(file.Data, []byte("\n")) + 1
		}
		opts := Options{Inventory: inv, Now: goldenNow}
		res1, err1 := Compile(files, opts)
		res2, err2 := Compile(files, opts)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("two compiles disagree: %v / %v", err1, err2)
		}
		if err1 != nil {
			if !errors.Is(err1, ErrInvalid) || len(Errors(err1)) == 0 {
				t.Fatalf("error %v is not an invalid-policy error list", err1)
			}
			if res1.Policy != nil {
				t.Fatalf("an invalid policy produced IR")
			}
			if err1.Error() != err2.Error() {
				t.Fatalf("two compiles give different errors:\n%v\n---\n%v", err1, err2)
			}
			checkPositions(t, err1, lines)
			return
		}
		if d1, d2 := res1.Policy.Dump(), res2.Policy.Dump(); d1 != d2 {
			t.Fatalf("two compiles dump differently:\n%s\n---\n%s", d1, d2)
		}
		if w1, w2 := ErrorList(res1.Warnings).Error(), ErrorList(res2.Warnings).Error(); w1 != w2 {
			t.Fatalf("two compiles warn differently:\n%s\n---\n%s", w1, w2)
		}
	})
}

// checkPositions fails the test if an error points outside the files.
func checkPositions(t *testing.T, err error, lines map[string]int) {
	t.Helper()
	for _, e := range Errors(err) {
		n, ok := lines[e.Pos.File]
		if !ok {
			t.Fatalf("error in unknown file: %v", e)
		}
		if e.Pos.Line < 0 || e.Pos.Line > n || e.Pos.Col < 0 {
			t.Fatalf("error outside its file (%d lines): %v", n, e)
		}
	}
}

// FuzzSelector parses a selector; when it parses, its canonical form
// parses to the same canonical form. Errors point inside the text.
func FuzzSelector(f *testing.F) {
	for _, s := range []string{
		"app=shop", "tier in (web, api), env!=dev", "!legacy, owner", "a==b,c notin(d,e)",
		"tier in (web api)", "app=", "", "x,,y", "tier=wéb",
	} {
		f.Add(s)
	}
	for _, data := range goldenFiles(f, func(name string) bool { return strings.HasPrefix(name, "policy.d/") }) {
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "select"); ok {
				v = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), "="))
				f.Add(strings.Trim(v, `"'`))
			}
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		sel, err := ParseSelector(s)
		if err != nil {
			var se *SelectorError
			if !errors.As(err, &se) {
				t.Fatalf("error %T %v, want a *SelectorError", err, err)
			}
			if se.Offset < 0 || se.Offset > len(s) {
				t.Fatalf("error offset %d outside %q", se.Offset, s)
			}
			return
		}
		canon := sel.String()
		again, err := ParseSelector(canon)
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", canon, s, err)
		}
		if again.String() != canon {
			t.Fatalf("canonical form not stable: %q -> %q -> %q", s, canon, again.String())
		}
	})
}

// FuzzInventory parses an inventory: it never panics, and returns either
// hosts or positioned errors.
func FuzzInventory(f *testing.F) {
	for _, data := range goldenFiles(f, func(name string) bool { return name == "inventory.toml" }) {
		f.Add(data)
	}
	f.Add([]byte("[[hosts]]\nname = \"a\"\naddresses = [\"::1\"]\ntags = { a = \"b\" }\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := ParseInventory("inventory.toml", data)
		if err != nil {
			if inv != nil {
				t.Fatalf("inventory with errors returned hosts")
			}
			checkPositions(t, err, map[string]int{"inventory.toml": bytes.Count(data, []byte("\n")) + 1})
			return
		}
		for _, h := range inv.Hosts {
			if len(h.Addresses) == 0 {
				t.Fatalf("host %q without addresses accepted", h.Name)
			}
		}
	})
}

// FuzzScanPositions runs the position scanner on any input, TOML or not:
// it never panics or loops, and every position it records is inside the
// input.
func FuzzScanPositions(f *testing.F) {
	for _, data := range goldenFiles(f, func(name string) bool { return strings.HasSuffix(name, ".toml") }) {
		f.Add(data)
	}
	f.Add([]byte("a = \"\"\"\nx\"\"\"\"\"\nb = '''\n'''"))
	f.Add([]byte("[[a.b]]\n[a.b.c]\nx = [[1], {y = 2}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ps := scanPositions("f.toml", data)
		nlines := bytes.Count(data, []byte("\n")) + 1
		for _, m := range []map[string]Pos{ps.keys, ps.vals} {
			for path, p := range m {
				if p.Line < 1 || p.Line > nlines || p.Col < 1 || p.Col > len(data)+1 {
					t.Fatalf("%s at %v, outside the input", path, p)
				}
				q := ps.inString(p, len(data))
				if q.Line != p.Line || q.Col < p.Col {
					t.Fatalf("inString(%v) = %v, want a later column on the same line", p, q)
				}
			}
		}
	})
}
