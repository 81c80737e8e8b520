package daemon

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/septa-fw/septa/daemon/events"
)

// The records' state file keeps the latest flow records across a restart
// of septad, so that septa map and septa recommend see what happened
// before it: gzip-compressed JSON lines, a header line first,
//
//	{"format":"septa-flow-records","version":1,"records":2}
//	{"Kind":2,"Time":"...","Src":"10.0.0.1:40000",...}
//	{"Kind":2,...}
//
// each record as the control API writes it. It is written to a temporary
// file that is synced and renamed over the old one, so a crash leaves the
// old file or the new one, never half of one.

const (
	recordStateFormat  = "septa-flow-records"
	recordStateVersion = 1
	// maxRecordStateLine bounds one line of the file when reading: a
	// record is far smaller (about 500 bytes).
	maxRecordStateLine = 1 << 20
)

type recordStateHeader struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
	Records int    `json:"records"`
}

// ErrRecordState marks a state file that cannot be read back: it is
// reported and ignored, never fatal.
var ErrRecordState = errors.New("flow records state file is corrupt")

// SaveRecords writes records to path atomically.
func SaveRecords(path string, es []*events.Event) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("flow records: save: %w", err)
	}
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("flow records: save: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename: no such file
	bw := bufio.NewWriterSize(tmp, 64<<10)
	zw := gzip.NewWriter(bw)
	enc := json.NewEncoder(zw)
	err = enc.Encode(recordStateHeader{Format: recordStateFormat, Version: recordStateVersion, Records: len(es)})
	for _, e := range es {
		if err != nil {
			break
		}
		err = enc.Encode(e)
	}
	if err == nil {
		err = zw.Close()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = tmp.Chmod(0o640)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("flow records: save %s: %w", path, err)
	}
	// The rename is durable once the directory is synced.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// LoadRecords reads the records of a state file, at most max of them
// (the newest). A missing file gives none and no error; a file that does
// not read back whole gives an error wrapping ErrRecordState and no
// records.
func LoadRecords(path string, max int) ([]*events.Event, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("flow records: load: %w", err)
	}
	defer f.Close()
	es, err := readRecords(f, max)
	if err != nil {
		return nil, fmt.Errorf("flow records: load %s: %w: %w", path, ErrRecordState, err)
	}
	return es, nil
}

func readRecords(r io.Reader, max int) ([]*events.Event, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 0, 64<<10), maxRecordStateLine)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return nil, err
		}
		return nil, errors.New("no header")
	}
	var h recordStateHeader
	if err := strictJSON(sc.Bytes(), &h); err != nil || h.Format != recordStateFormat {
		return nil, fmt.Errorf("line 1: not a header of %s", recordStateFormat)
	}
	if h.Version != recordStateVersion {
		return nil, fmt.Errorf("line 1: version %d, want %d", h.Version, recordStateVersion)
	}
	if h.Records < 0 {
		return nil, fmt.Errorf("line 1: %d records", h.Records)
	}
	// Keep the newest max: a ring over what is read.
	ring := make([]*events.Event, 0, min(h.Records, max))
	next, n := 0, 0
	for line := 2; sc.Scan(); line++ {
		e := new(events.Event)
		if err := json.Unmarshal(sc.Bytes(), e); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if !e.IsRecord() {
			return nil, fmt.Errorf("line %d: not a flow record", line)
		}
		n++
		if max <= 0 {
			continue
		}
		if len(ring) < max {
			ring = append(ring, e)
			continue
		}
		ring[next] = e
		next = (next + 1) % max
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if n != h.Records {
		return nil, fmt.Errorf("%d records, the header says %d", n, h.Records)
	}
	return append(ring[next:], ring[:next]...), nil
}

func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// Restore puts saved records back into the window, oldest first; those
// past its age are forgotten as usual.
func (w *RecordWindow) Restore(es []*events.Event) {
	for _, e := range es {
		w.Write(e)
	}
}

// Latest returns the newest n records kept, oldest first.
func (w *RecordWindow) Latest(n int) []*events.Event {
	return w.Query(RecordQuery{Limit: n})
}
