//go:build linux

package integration

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/septa-fw/septa/inspect"
	"github.com/septa-fw/septa/integration/lab"
	"github.com/septa-fw/septa/rules"
	"github.com/septa-fw/septa/rules/ir"
)

// loadExample compiles one of the shipped example policies with its
// inventory, as septa check does.
func loadExample(tb testing.TB, name string) *ir.Policy {
	tb.Helper()
	dir := filepath.Join("..", "packaging", "examples", name)
	opts := rules.Options{}
	if inv, err := rules.LoadInventory(filepath.Join(dir, "inventory.toml")); err == nil {
		opts.Inventory = inv
	}
	res, err := rules.Load(filepath.Join(dir, "policy.d"), opts)
	if err != nil {
		tb.Fatalf("example %s: %v", name, err)
	}
	return res.Policy
}

// expectedOutcome is what the policy says of a connection from one lab
// host to another: each end's own firewall decides it (the client's on
// its way out, the server's on its way in), as the inspector's evaluator
// of the same IR computes it. The attacker runs no firewall.
func expectedOutcome(tb testing.TB, pol *inspect.Policy, from, to *lab.Host, port uint16) lab.Outcome {
	tb.Helper()
	now := time.Now()
	ends := []struct {
		host *lab.Host
		hook inspect.Hook
	}{{from, inspect.HookOutput}, {to, inspect.HookInput}}
	for _, e := range ends {
		if e.host.Name == "attacker" {
			continue
		}
		d := pol.Decide(&inspect.Facts{Src: from.V4, Dst: to.V4, Proto: 6, DstPort: port, Hook: e.hook, Now: now})
		if d.Need != inspect.NeedNothing {
			tb.Fatalf("%s -> %s:%d needs inspection; this test covers kernel-only policies", from.Name, to.Name, port)
		}
		if d.Observe || d.Action == ir.ActionAllow {
			continue
		}
		if d.Action == ir.ActionReject {
			return lab.Refused
		}
		return lab.TimedOut
	}
	return lab.Connected
}

// TestExampleZoneMatrix applies the shipped example policies on every lab
// host and checks every pair of hosts on a few ports: the observed result
// (connected, refused, timed out) must be what the policy says.
func TestExampleZoneMatrix(t *testing.T) {
	for _, example := range []string{"1-zones", "2-observe"} {
		t.Run(example, func(t *testing.T) {
			p := loadExample(t, example)
			pol := inspect.NewPolicy(p, 1)
			l := newLab(t)
			hosts := l.Hosts()
			ports := []uint16{22, 80, 5432}
			for _, h := range hosts {
				echoOn(t, h, ports...)
				if h.Name != "attacker" {
					applyPolicy(t, h, p, 1)
				}
			}
			type result struct {
				from, to  *lab.Host
				port      uint16
				got, want lab.Outcome
				err       error
			}
			var (
				wg  sync.WaitGroup
				mu  sync.Mutex
				res []result
			)
			for _, from := range hosts {
				for _, to := range hosts {
					if from == to {
						continue
					}
					for _, port := range ports {
						want := expectedOutcome(t, pol, from, to, port)
						wg.Add(1)
						go func() {
							defer wg.Done()
							got, err := from.Connect(ap(to.V4, port), connectTimeout)
							mu.Lock()
							res = append(res, result{from, to, port, got, want, err})
							mu.Unlock()
						}()
					}
				}
			}
			wg.Wait()
			var matrix strings.Builder
			counts := map[lab.Outcome]int{}
			for _, r := range res {
				counts[r.want]++
				if r.err != nil || r.got != r.want {
					t.Errorf("%s -> %s:%d: %s (%v), the policy says %s", r.from.Name, r.to.Name, r.port, r.got, r.err, r.want)
				}
				fmt.Fprintf(&matrix, "%s -> %s:%d %s\n", r.from.Name, r.to.Name, r.port, r.got)
			}
			// The matrix must exercise both answers, or it proves little.
			if example == "1-zones" && (counts[lab.Connected] == 0 || counts[lab.TimedOut] == 0) {
				t.Errorf("outcomes %v: want both connections and denials", counts)
			}
			if example == "2-observe" && counts[lab.Connected] != len(res) {
				t.Errorf("observe mode must deny nothing: %v", counts)
			}
			if t.Failed() {
				t.Logf("matrix:\n%s", matrix.String())
			}
		})
	}
}
