package events

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// readEVE returns the flow IDs of the lines in the files, checking that
// each line is one JSON object.
func readEVE(t *testing.T, paths ...string) []uint64 {
	t.Helper()
	var ids []uint64
	for _, p := range paths {
		f, err := os.Open(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var rec struct {
				FlowID uint64 `json:"flow_id"`
			}
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				t.Fatalf("%s: bad line %q: %v", p, sc.Text(), err)
			}
			ids = append(ids, rec.FlowID)
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	return ids
}

func numberedEvent(i int) *Event {
	e := sampleFlow()
	e.FlowID = uint64(i) + 1
	return e
}

// TestEVEFileRotationLosesNoLine publishes from several goroutines
// through the bus into a file that rotates many times, while another
// goroutine keeps reopening it, and finds every event exactly once
// across the rotated files.
func TestEVEFileRotationLosesNoLine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "eve.json")
	line, err := NewEVEEncoder().Encode(numberedEvent(0))
	if err != nil {
		t.Fatal(err)
	}
	const publishers, each = 4, 1000
	const total = publishers * each
	// About 100 lines per file: 40 rotations, all kept.
	maxBytes := int64(len(line)) * 100
	keep := total/100 + 10
	w, err := NewEVEFile(EVEFileConfig{Path: path, MaxBytes: maxBytes, Keep: keep})
	if err != nil {
		t.Fatal(err)
	}
	b := NewBus(BusConfig{})
	if err := b.Add("eve", w, total, 0); err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	reopened := make(chan int)
	go func() {
		n := 0
		defer func() { reopened <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := b.Reopen(); err != nil {
				t.Error(err)
				return
			}
			n++
		}
	}()
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			for i := range each {
				b.Publish(numberedEvent(p*each + i))
			}
		})
	}
	wg.Wait()
	close(stop)
	t.Logf("reopened %d times", <-reopened)
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	st := sinkStats(t, b, "eve")
	if st.Dropped != 0 || st.Errors != 0 || st.Written != total {
		t.Fatalf("sink stats %+v, want %d written and nothing lost", st, total)
	}
	paths := []string{path}
	for i := 1; i <= keep; i++ {
		paths = append(paths, fmt.Sprintf("%s.%d", path, i))
	}
	ids := readEVE(t, paths...)
	seen := make(map[uint64]int, total)
	for _, id := range ids {
		seen[id]++
	}
	for i := range total {
		if seen[uint64(i)+1] != 1 {
			t.Fatalf("event %d found %d times in the files", i+1, seen[uint64(i)+1])
		}
	}
	if len(ids) != total {
		t.Fatalf("%d lines in the files, want %d", len(ids), total)
	}
	rotated := 0
	for _, p := range paths[1:] {
		if fi, err := os.Stat(p); err == nil {
			rotated++
			if fi.Size() > maxBytes {
				t.Errorf("%s has %d bytes, more than MaxBytes %d", p, fi.Size(), maxBytes)
			}
		}
	}
	if rotated < 30 {
		t.Errorf("only %d rotated files", rotated)
	}
}

func TestEVEFileRotationKeep(t *testing.T) {
	tests := []struct {
		name      string
		keep      int
		wantFiles []string
		wantLines int // in all files
	}{
		{name: "keep none", keep: 0, wantFiles: []string{"eve.json"}, wantLines: 1},
		{name: "keep two", keep: 2, wantFiles: []string{"eve.json", "eve.json.1", "eve.json.2"}, wantLines: 3},
		{name: "keep more than made", keep: 9, wantFiles: []string{"eve.json", "eve.json.1", "eve.json.2", "eve.json.3", "eve.json.4"}, wantLines: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "eve.json")
			// One line per file: every write after the first rotates.
			w, err := NewEVEFile(EVEFileConfig{Path: path, MaxBytes: 1, Keep: tt.keep})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 5 {
				if err := w.Write(numberedEvent(i)); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			var files []string
			var paths []string
			for _, e := range entries {
				files = append(files, e.Name())
				paths = append(paths, filepath.Join(dir, e.Name()))
			}
			if diff := cmp.Diff(tt.wantFiles, files); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
			ids := readEVE(t, paths...)
			if len(ids) != tt.wantLines {
				t.Errorf("%d lines, want %d", len(ids), tt.wantLines)
			}
			// The newest line is in eve.json, the one before in eve.json.1.
			if got := readEVE(t, path); len(got) != 1 || got[0] != 5 {
				t.Errorf("eve.json holds %v, want [5]", got)
			}
			if tt.keep > 0 {
				if got := readEVE(t, path+".1"); len(got) != 1 || got[0] != 4 {
					t.Errorf("eve.json.1 holds %v, want [4]", got)
				}
			}
		})
	}
}

// TestEVEFileReopenAfterLogrotate renames the file away as logrotate
// does; Reopen starts a new one and the old one keeps every line.
func TestEVEFileReopenAfterLogrotate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "eve.json")
	w, err := NewEVEFile(EVEFileConfig{Path: path, SyncInterval: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	write := func(i int) {
		t.Helper()
		if err := w.Write(numberedEvent(i)); err != nil {
			t.Fatal(err)
		}
	}
	write(0)
	if err := os.Rename(path, path+"-20260601"); err != nil {
		t.Fatal(err)
	}
	write(1) // still into the renamed file, as logrotate expects
	if err := w.Reopen(); err != nil {
		t.Fatal(err)
	}
	write(2)
	if diff := cmp.Diff([]uint64{1, 2}, readEVE(t, path+"-20260601")); diff != "" {
		t.Errorf("rotated file (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]uint64{3}, readEVE(t, path)); diff != "" {
		t.Errorf("new file (-want +got):\n%s", diff)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("new file: %v, mode %v; want 0640", err, fi.Mode().Perm())
	}
}

// TestEVEFileFullDisk points the file at /dev/full (every write fails
// with ENOSPC): the bus counts the errors and carries on, and writing
// resumes once the file is writable again.
func TestEVEFileFullDisk(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full on this system")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "eve.json")
	if err := os.Symlink("/dev/full", path); err != nil {
		t.Fatal(err)
	}
	w, err := NewEVEFile(EVEFileConfig{Path: path, MaxBytes: 1 << 20, Keep: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(numberedEvent(0)); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Write to a full disk = %v, want ENOSPC", err)
	}

	synctest.Test(t, func(t *testing.T) {
		b := NewBus(BusConfig{})
		if err := b.Add("eve", w, 16, 0); err != nil {
			t.Fatal(err)
		}
		sub := b.Subscribe(16, 0) // the rest of the bus goes on
		for i := range 3 {
			b.Publish(numberedEvent(i))
		}
		settle()
		if got := len(drain(sub.C(), 16)); got != 3 {
			t.Errorf("subscriber got %d events, want 3", got)
		}
		if st := sinkStats(t, b, "eve"); st.Errors != 3 || !st.Failing {
			t.Errorf("stats %+v, want 3 errors, failing", st)
		}
		// Space returns: the path is a file again, and SIGHUP reopens it.
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		if err := b.Reopen(); err != nil {
			t.Fatal(err)
		}
		b.Publish(numberedEvent(3))
		sub.Unsubscribe()
		if err := b.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		st := sinkStats(t, b, "eve")
		if st.Errors != 3 || st.Written != 1 || st.Failing || st.LastError == "" {
			t.Errorf("stats %+v, want 3 errors then 1 written, recovered", st)
		}
		if diff := cmp.Diff([]uint64{4}, readEVE(t, path)); diff != "" {
			t.Errorf("file (-want +got):\n%s", diff)
		}
	})
}

func TestEVEFileOpenError(t *testing.T) {
	_, err := NewEVEFile(EVEFileConfig{Path: filepath.Join(t.TempDir(), "missing", "eve.json")})
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("NewEVEFile in a missing directory = %v, want not exist", err)
	}
	if _, err := NewEVEFile(EVEFileConfig{}); err == nil {
		t.Error("NewEVEFile without a path succeeded")
	}
}
