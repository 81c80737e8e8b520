package rules

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"
)

var update = flag.Bool("update", false, "rewrite the want files of golden tests")

// goldenNow is the time golden tests compile at, for rule expiry.
var goldenNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// loadCase reads a txtar case: policy files are those under policy.d/, in
// name order; inventory.toml, if present, is the inventory.
func loadCase(t *testing.T, path string) (*txtar.Archive, []File, *Inventory, error) {
	t.Helper()
	ar, err := txtar.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var files []File
	var inv *Inventory
	var invErr error
	for _, f := range ar.Files {
		switch {
		case strings.HasPrefix(f.Name, "policy.d/"):
			files = append(files, File{Name: f.Name, Data: f.Data})
		case f.Name == "inventory.toml":
			inv, invErr = ParseInventory(f.Name, f.Data)
		}
	}
	// The loader reads a directory in lexical order (ReadDir); so do the
	// cases, whatever order the archive lists the files in.
	slices.SortStableFunc(files, func(a, b File) int { return strings.Compare(a.Name, b.Name) })
	return ar, files, inv, invErr
}

func section(ar *txtar.Archive, name string) (string, bool) {
	for _, f := range ar.Files {
		if f.Name == name {
			return string(f.Data), true
		}
	}
	return "", false
}

func writeSection(t *testing.T, path string, ar *txtar.Archive, name, content string) {
	t.Helper()
	found := false
	for i := range ar.Files {
		if ar.Files[i].Name == name {
			ar.Files[i].Data = []byte(content)
			found = true
		}
	}
	if !found {
		ar.Files = append(ar.Files, txtar.File{Name: name, Data: []byte(content)})
	}
	if err := os.WriteFile(path, txtar.Format(ar), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestInvalidPolicies compiles each testdata/invalid case and compares
// every error line with want.err. A case must fail: a policy that does not
// validate produces no IR.
func TestInvalidPolicies(t *testing.T) {
	cases, _ := filepath.Glob("testdata/invalid/*.txtar")
	if len(cases) < 40 {
		t.Errorf("want at least 40 invalid cases, have %d", len(cases))
	}
	for _, path := range cases {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			ar, files, inv, invErr := loadCase(t, path)
			var got string
			if invErr != nil {
				got = invErr.Error() + "\n"
			} else {
				res, err := Compile(files, Options{Inventory: inv, Now: goldenNow})
				if err == nil {
					t.Fatalf("policy compiled; want errors:\n%s", res.Policy.Dump())
				}
				if res.Policy != nil {
					t.Errorf("an invalid policy produced IR")
				}
				got = err.Error() + "\n"
			}
			if *update {
				writeSection(t, path, ar, "want.err", got)
				return
			}
			want, ok := section(ar, "want.err")
			if !ok {
				t.Fatalf("no want.err section; run with -update")
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

// TestValidPolicies compiles each testdata/valid case and compares the IR
// dump with want.ir, and the warnings with want.warn.
func TestValidPolicies(t *testing.T) {
	cases, _ := filepath.Glob("testdata/valid/*.txtar")
	for _, path := range cases {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			ar, files, inv, invErr := loadCase(t, path)
			if invErr != nil {
				t.Fatal(invErr)
			}
			res, err := Compile(files, Options{Inventory: inv, Now: goldenNow})
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			got := res.Policy.Dump()
			var warn strings.Builder
			for _, w := range res.Warnings {
				warn.WriteString(w.Error() + "\n")
			}
			if *update {
				writeSection(t, path, ar, "want.ir", got)
				if warn.Len() > 0 {
					writeSection(t, path, ar, "want.warn", warn.String())
				}
				return
			}
			want, ok := section(ar, "want.ir")
			if !ok {
				t.Fatalf("no want.ir section; run with -update")
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("IR dump (-want +got):\n%s", diff)
			}
			wantWarn, _ := section(ar, "want.warn")
			if diff := cmp.Diff(wantWarn, warn.String()); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}

// TestExamples checks that every shipped example policy validates, with
// its inventory, and without warnings.
func TestExamples(t *testing.T) {
	dirs, _ := filepath.Glob("../packaging/examples/*/policy.d")
	if len(dirs) < 5 {
		t.Fatalf("want the five journey examples, found %d", len(dirs))
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(filepath.Dir(dir)), func(t *testing.T) {
			opts := Options{}
			invPath := filepath.Join(filepath.Dir(dir), "inventory.toml")
			if _, err := os.Stat(invPath); err == nil {
				inv, err := LoadInventory(invPath)
				if err != nil {
					t.Fatal(err)
				}
				opts.Inventory = inv
			}
			res, err := Load(dir, opts)
			if err != nil {
				t.Fatalf("example does not validate:\n%v", err)
			}
			for _, w := range res.Warnings {
				t.Errorf("warning: %v", w)
			}
			if len(res.Policy.Rules) == 0 {
				t.Errorf("no rules")
			}
		})
	}
}
