package sig

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/septa-fw/septa/inspect/ids"
)

// TestActionOverride: the policy's per-sid actions replace the rules'.
func TestActionOverride(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.rules")
	os.WriteFile(path, []byte("alert tcp any any -> any any (msg:\"a\"; content:\"x\"; sid:7; rev:1;)\ndrop tcp any any -> any any (msg:\"b\"; content:\"y\"; sid:8; rev:1;)\n"), 0o644)
	e, err := NewFromConfig(ids.Config{Files: []string{path}, Actions: map[uint32]ids.Action{7: ids.ActionDrop, 8: ids.ActionAlert}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[uint32]ids.Action{}
	for _, s := range e.sigs {
		got[s.SID] = s.Action
	}
	if got[7] != ids.ActionDrop || got[8] != ids.ActionAlert {
		t.Errorf("actions %v, want sid 7 drop and sid 8 alert", got)
	}
}
