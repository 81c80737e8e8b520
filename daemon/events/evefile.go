package events

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
)

// EVEFileConfig configures an EVE file.
type EVEFileConfig struct {
	// Path of the file; rotated files are Path.1 (the newest) to Path.Keep.
	Path string
	// MaxBytes rotates the file before a line would take it past this
	// size; 0 never rotates (for logrotate with Reopen).
	MaxBytes int64
	// Keep is how many rotated files are kept; 0 keeps none (the full
	// file is removed at rotation).
	Keep int
	// SyncInterval sets the fsync policy. Lines are written with one
	// write(2) each, without user-space buffering, so readers and a
	// crash of septad itself lose nothing; a crash of the machine may
	// lose what the page cache held. 0: fsync only at rotation, Reopen
	// and Close. Positive: also fsync after a write when this long has
	// passed since the last fsync (no timer: an idle file is synced by
	// the next write or at Close).
	SyncInterval time.Duration
	// Mode of a created file; 0 is 0640.
	Mode os.FileMode
	// Now is the clock for SyncInterval; nil is time.Now.
	Now func() time.Time
}

// EVEFile is a Sink writing EVE JSON lines to a file, with size-based
// rotation and Reopen for SIGHUP and logrotate.
//
// A failed write (ENOSPC, EIO) is returned, and the event is lost; a
// partly written line is cut off again so that the file stays one JSON
// object per line. Writing resumes by itself when space returns: every
// Write tries again, reopening the file first if it could not be opened.
type EVEFile struct {
	cfg EVEFileConfig
	enc *EVEEncoder

	// mu guards f, size and lastSync, and serialises Write, Reopen and
	// Close.
	mu       sync.Mutex
	f        *os.File
	size     int64
	lastSync time.Time
	closed   bool
}

var (
	_ Sink     = (*EVEFile)(nil)
	_ Reopener = (*EVEFile)(nil)
	_ Closer   = (*EVEFile)(nil)
)

// NewEVEFile opens (appending to) or creates the file at cfg.Path.
func NewEVEFile(cfg EVEFileConfig) (*EVEFile, error) {
	if cfg.Path == "" {
		return nil, errors.New("events: eve file: no path")
	}
	if cfg.Mode == 0 {
		cfg.Mode = 0o640
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	w := &EVEFile{cfg: cfg, enc: NewEVEEncoder()}
	if err := w.openLocked(); err != nil {
		return nil, err
	}
	return w, nil
}

// Write appends e as one line, rotating first if the line would take the
// file past MaxBytes.
func (w *EVEFile) Write(e *Event) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return os.ErrClosed
	}
	line, err := w.enc.Encode(e)
	if err != nil {
		return fmt.Errorf("events: eve: encode: %w", err)
	}
	if w.f == nil {
		if err := w.openLocked(); err != nil {
			return err
		}
	}
	var rotErr error
	if w.cfg.MaxBytes > 0 && w.size > 0 && w.size+int64(len(line)) > w.cfg.MaxBytes {
		// A rotation that fails (a rename refused) still leaves a file
		// to write to: write the line, past MaxBytes, and report.
		if rotErr = w.rotateLocked(); w.f == nil {
			return rotErr
		}
	}
	n, err := w.f.Write(line)
	if err != nil {
		if n > 0 {
			// Cut the partial line off: the next line must start a line
			// of its own. O_APPEND writes at w.size, which we track.
			if terr := w.f.Truncate(w.size); terr != nil {
				w.size += int64(n)
			}
		}
		return errors.Join(rotErr, fmt.Errorf("events: eve: write %s: %w", w.cfg.Path, err))
	}
	w.size += int64(n)
	if w.cfg.SyncInterval > 0 {
		if now := w.cfg.Now(); now.Sub(w.lastSync) >= w.cfg.SyncInterval {
			w.lastSync = now
			if err := syncFile(w.f); err != nil {
				return errors.Join(rotErr, fmt.Errorf("events: eve: sync %s: %w", w.cfg.Path, err))
			}
		}
	}
	return rotErr
}

// Reopen closes the file and opens Path again, for logrotate's
// postrotate (the old file was renamed away) and SIGHUP.
func (w *EVEFile) Reopen() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return os.ErrClosed
	}
	err := w.closeFileLocked()
	if oerr := w.openLocked(); oerr != nil {
		return oerr
	}
	return err
}

// Close syncs and closes the file.
func (w *EVEFile) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	return w.closeFileLocked()
}

func (w *EVEFile) openLocked() error {
	f, err := os.OpenFile(w.cfg.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, w.cfg.Mode)
	if err != nil {
		return fmt.Errorf("events: eve: open: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("events: eve: open: %w", err)
	}
	w.f, w.size = f, st.Size()
	return nil
}

func (w *EVEFile) closeFileLocked() error {
	if w.f == nil {
		return nil
	}
	serr := syncFile(w.f)
	cerr := w.f.Close()
	w.f = nil
	if cerr != nil {
		return fmt.Errorf("events: eve: close %s: %w", w.cfg.Path, cerr)
	}
	if serr != nil {
		return fmt.Errorf("events: eve: sync %s: %w", w.cfg.Path, serr)
	}
	return nil
}

// rotateLocked renames Path.N-1 to Path.N, ..., Path to Path.1 (dropping
// the oldest) and opens a new Path. Every line written before is in a
// rotated file: the rename moves the open file whole.
func (w *EVEFile) rotateLocked() error {
	// A failed sync or close does not stop the rotation: the lines are
	// written, and the rename works on a closed file all the same.
	err := w.closeFileLocked()
	if w.cfg.Keep <= 0 {
		err = os.Remove(w.cfg.Path)
	} else {
		for i := w.cfg.Keep - 1; i >= 1; i-- {
			from := fmt.Sprintf("%s.%d", w.cfg.Path, i)
			to := fmt.Sprintf("%s.%d", w.cfg.Path, i+1)
			if rerr := os.Rename(from, to); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
				err = rerr
			}
		}
		if rerr := os.Rename(w.cfg.Path, w.cfg.Path+".1"); rerr != nil {
			err = rerr
		}
	}
	if oerr := w.openLocked(); oerr != nil {
		return errors.Join(err, oerr)
	}
	if err != nil {
		return fmt.Errorf("events: eve: rotate %s: %w", w.cfg.Path, err)
	}
	return nil
}

// syncFile is f.Sync, except that a file that cannot be synced (a pipe,
// /dev/stdout, a character device: fsync(2) gives EINVAL) is no error.
func syncFile(f *os.File) error {
	if err := f.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	return nil
}
