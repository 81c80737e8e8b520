package sig

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// etOpenDir returns ../shared/corpus/et-open beside the repository root,
// or skips the test when it is absent.
func etOpenDir(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	root := ""
	if err == nil && strings.TrimSpace(string(out)) != "" && strings.TrimSpace(string(out)) != os.DevNull {
		root = filepath.Dir(strings.TrimSpace(string(out)))
	} else {
		dir, _ := os.Getwd()
		for dir != "/" {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				root = dir
				break
			}
			dir = filepath.Dir(dir)
		}
	}
	dir := filepath.Join(root, "..", "shared", "corpus", "et-open")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("ET Open corpus not found at %s (see ../shared/corpus/README.md): %v", dir, err)
	}
	return dir
}

// loadETOpen parses every .rules file of the corpus.
func loadETOpen(t testing.TB) (*LoadResult, int) {
	t.Helper()
	dir := etOpenDir(t)
	files, err := filepath.Glob(filepath.Join(dir, "*.rules"))
	if err != nil || len(files) == 0 {
		t.Skipf("no .rules files in %s", dir)
	}
	sort.Strings(files)
	res := &LoadResult{}
	for _, f := range files {
		if err := LoadFile(f, LoadOptions{}, res); err != nil {
			t.Fatal(err)
		}
	}
	return res, len(res.Sigs) + len(res.Errors)
}

// TestETOpenParse is the rule-language coverage yardstick: the share of
// the Emerging Threats Open rules that parse (target 98 %), and the
// keywords behind the failures. Run with -v to see the report.
func TestETOpenParse(t *testing.T) {
	res, total := loadETOpen(t)
	ok := len(res.Sigs)
	share := float64(ok) / float64(total) * 100
	var b strings.Builder
	fmt.Fprintf(&b, "ET Open: %d of %d enabled rules parse (%.3f %%), %d fail\n", ok, total, share, len(res.Errors))
	for _, rc := range res.FailuresByReason() {
		fmt.Fprintf(&b, "  %6d  %s\n", rc.Count, rc.Reason)
	}
	inert := map[string]int{}
	for _, s := range res.Sigs {
		for _, k := range s.Inert {
			inert[k]++
		}
	}
	certs, inertSigs := 0, 0
	for _, s := range res.Sigs {
		if len(s.Inert) > 0 {
			inertSigs++
		}
		if usesCertificate(s) {
			certs++
		}
	}
	fmt.Fprintf(&b, "%d load and can match (%.3f %% of all); %d use the TLS certificate buffers or keywords\n",
		ok-inertSigs, float64(ok-inertSigs)/float64(total)*100, certs)
	fmt.Fprintf(&b, "parsed but inert (never match), by keyword:\n")
	for _, k := range sortedKeys(inert) {
		fmt.Fprintf(&b, "  %6d  %s\n", inert[k], k)
	}
	if testing.Verbose() {
		// Up to three examples per reason.
		seen := map[string]int{}
		for _, e := range res.Errors {
			if seen[e.Reason()] < 3 {
				fmt.Fprintf(&b, "  e.g. %v\n", e)
			}
			seen[e.Reason()]++
		}
	}
	t.Log(b.String())
	if share < 98 {
		t.Errorf("parse share %.2f %% is below the 98 %% target", share)
	}
}

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if m[out[i]] != m[out[j]] {
			return m[out[i]] > m[out[j]]
		}
		return out[i] < out[j]
	})
	return out
}

// usesCertificate reports whether s inspects the server certificate.
func usesCertificate(s *Signature) bool {
	for _, l := range s.lists {
		switch l.buf {
		case BufTLSCerts, BufTLSCertSubject, BufTLSCertIssuer, BufTLSCertSerial, BufTLSCertFingerprint:
			return true
		}
	}
	for _, c := range s.checks {
		if _, ok := c.(*tlsCertField); ok {
			return true
		}
	}
	return false
}
