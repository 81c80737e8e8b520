package integration

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// TestImportRules enforces the package boundaries of STYLE.md (C1) with
// `go list -deps -json`: what each package may import of septa and of
// the outside world. It needs no root.
func TestImportRules(t *testing.T) {
	const mod = "github.com/septa-fw/septa"
	cmd := exec.Command("go", "list", "-deps", "-json", "../...")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	type pkg struct {
		ImportPath string
		Standard   bool
		Imports    []string
	}
	pkgs := map[string]pkg{}
	dec := json.NewDecoder(out)
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs[p.ImportPath] = p
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	ours := func(path string) (string, bool) {
		if path == mod {
			return "", true
		}
		rel, ok := strings.CutPrefix(path, mod+"/")
		return rel, ok
	}
	std := func(path string) bool { return pkgs[path].Standard }
	under := func(rel, prefix string) bool { return rel == prefix || strings.HasPrefix(rel, prefix+"/") }
	checked := 0
	for path, p := range pkgs {
		rel, ok := ours(path)
		if !ok {
			continue
		}
		checked++
		for _, imp := range p.Imports {
			irel, isOurs := ours(imp)
			bad := ""
			switch {
			case imp == "testing" && !under(rel, "integration") && !strings.HasSuffix(rel, "test"):
				bad = "non-test code imports testing"
			case rel == "rules/ir" && !std(imp):
				bad = "rules/ir imports only the standard library"
			case rel == "rules" && !std(imp) && imp != "github.com/BurntSushi/toml" && irel != "rules/ir":
				bad = "rules imports the standard library, BurntSushi/toml and rules/ir only"
			case under(rel, "nft") && isOurs && irel != "rules/ir":
				bad = "nft imports rules/ir only of septa"
			case under(rel, "inspect") && isOurs && !under(irel, "inspect") && irel != "rules/ir":
				bad = "inspect imports rules/ir only of septa outside itself"
			case rel == "inspect/packet" && isOurs:
				bad = "inspect/packet is a leaf"
			case under(rel, "daemon/fleet") && isOurs && !under(irel, "daemon/fleet") && irel != "rules" && irel != "rules/ir":
				bad = "daemon/fleet imports rules and rules/ir only of septa"
			case isOurs && under(irel, "daemon") && !under(rel, "cmd") && !under(rel, "daemon") && !under(rel, "integration"):
				bad = "only cmd imports daemon"
			case isOurs && under(irel, "cmd"):
				bad = "nothing imports cmd"
			case isOurs && under(irel, "integration") && !under(rel, "integration"):
				bad = "nothing outside integration imports it"
			}
			if bad != "" {
				t.Errorf("%s imports %s: %s", path, imp, bad)
			}
		}
	}
	if checked < 10 {
		t.Errorf("checked only %d of septa's packages", checked)
	}
}
