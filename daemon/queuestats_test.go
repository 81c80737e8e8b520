package daemon

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadKernelQueues(t *testing.T) {
	// As net/netfilter/nfnetlink_queue.c prints it ("%5u %6u %5u %1u %5u %5u %5u %8u %2d").
	const table = "    0  12345     3 2 65535     7     1      123  1\n    1  12346     0 2 65535     0     0        9  1\nbroken line\n"
	path := filepath.Join(t.TempDir(), "nfnetlink_queue")
	if err := os.WriteFile(path, []byte(table), 0o644); err != nil {
		t.Fatal(err)
	}
	want := map[uint16]kernelQueue{0: {Depth: 3, Dropped: 7, UserDropped: 1}, 1: {}}
	if diff := cmp.Diff(want, readKernelQueues(path)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := readKernelQueues(filepath.Join(t.TempDir(), "missing")); got != nil {
		t.Errorf("a missing table gave %v", got)
	}
}
