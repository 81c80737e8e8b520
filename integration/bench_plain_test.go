//go:build linux

package integration

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/septa-fw/septa/integration/benchkit"
	"github.com/septa-fw/septa/integration/lab"
	"github.com/septa-fw/septa/rules/ir"
)

// TestPlainRulesetMatchesSepta: the hand-written nftables ruleset that
// make bench compares septa with (benchkit.PlainRuleset) lets through
// exactly what septa's kernel-only policy does: the allowed port in, its
// replies out, nothing else in, nothing new out.
func TestPlainRulesetMatchesSepta(t *testing.T) {
	l := newLab(t, lab.DefaultHosts()[0], lab.DefaultHosts()[2]) // dev-1, prod-web
	client, web := l.Host("dev-1"), l.Host("prod-web")
	echoOn(t, web, 8080, 9090)
	echoOn(t, client, 7000)
	check := func(t *testing.T) {
		t.Helper()
		expectConnect(t, client, ap(web.V4, 8080), lab.Connected)
		expectConnect(t, client, ap(web.V4, 9090), lab.TimedOut)
		expectConnect(t, web, ap(client.V4, 7000), lab.TimedOut)
		if ok, err := client.UDPExchange(ap(web.V4, 8080), []byte("x"), 300*time.Millisecond); err != nil || ok {
			t.Errorf("UDP to the allowed TCP port: answered %v (%v), want dropped", ok, err)
		}
	}
	t.Run("plain nftables", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "plain.nft")
		if err := os.WriteFile(path, []byte(benchkit.PlainRuleset("benchnft", 8080)), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := web.Run(10*time.Second, "nft", "-f", path); err != nil {
			t.Fatalf("nft -f: %v: %s", err, out)
		}
		check(t)
		if out, err := web.Run(10*time.Second, "nft", "delete", "table", "inet", "benchnft"); err != nil {
			t.Fatalf("nft delete table: %v: %s", err, out)
		}
	})
	t.Run("septa kernel-only rule", func(t *testing.T) {
		p := newPolicy(ir.ActionDeny, zoneSets(), ruleOf("web", ir.ActionAllow, ir.DirIn, anyEP, selfEP(), tcp(8080, 8080)))
		fw := applyPolicy(t, web, p, 1)
		check(t)
		if err := fw.Flush(); err != nil {
			t.Fatal(err)
		}
	})
}
