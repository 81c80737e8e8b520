package daemon

import (
	"context"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// watchPaths sends on changed whenever a file in one of the directories,
// or one of the files, is written, created, removed or renamed (inotify).
// Directories are watched as a whole; for a file its directory is watched,
// so that editors replacing it by rename are seen. Missing paths are
// skipped.
func watchPaths(ctx context.Context, paths []string, changed chan<- struct{}) error {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return err
	}
	const mask = unix.IN_CLOSE_WRITE | unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM
	watched := 0
	for _, p := range paths {
		if p == "" {
			continue
		}
		dir := p
		if st, err := os.Stat(p); err != nil || !st.IsDir() {
			dir = filepath.Dir(p)
		}
		if _, err := unix.InotifyAddWatch(fd, dir, mask); err == nil {
			watched++
		}
	}
	if watched == 0 {
		unix.Close(fd)
		return errNoWatch
	}
	f := os.NewFile(uintptr(fd), "inotify")
	go func() {
		<-ctx.Done()
		f.Close()
	}()
	go func() {
		buf := make([]byte, 64<<10)
		for {
			if _, err := f.Read(buf); err != nil {
				return
			}
			select {
			case changed <- struct{}{}:
			default: // a change is pending already
			}
		}
	}()
	return nil
}
