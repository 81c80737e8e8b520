package events

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestEVEFileFullTmpfs fills a small tmpfs: writes fail with ENOSPC, a
// line cut short is removed again so that every line stays whole, and
// writing resumes, without Reopen, once space is freed.
func TestEVEFileFullTmpfs(t *testing.T) {
	integration(t)
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=64k"); err != nil {
		t.Skipf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, make([]byte, 32<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "eve.json")
	w, err := NewEVEFile(EVEFileConfig{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })

	written, failed := 0, 0
	for i := 0; i < 1000 && failed < 3; i++ {
		// Vary the length, so that some write is cut short rather than
		// refused whole.
		e := numberedEvent(i)
		e.Process = strings.Repeat("p", i%97)
		switch err := w.Write(e); {
		case err == nil:
			written++
		case errors.Is(err, syscall.ENOSPC):
			failed++
		default:
			t.Fatalf("Write: %v", err)
		}
	}
	if failed == 0 {
		t.Fatal("the tmpfs never filled up")
	}
	if got := len(readEVE(t, path)); got != written {
		t.Fatalf("%d whole lines in the file, want %d", got, written)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(numberedEvent(5000)); err != nil {
		t.Fatalf("Write after freeing space: %v", err)
	}
	ids := readEVE(t, path)
	if len(ids) != written+1 || ids[len(ids)-1] != 5001 {
		t.Fatalf("after freeing space: %d lines ending in %d, want %d ending in 5001", len(ids), ids[len(ids)-1], written+1)
	}
}
