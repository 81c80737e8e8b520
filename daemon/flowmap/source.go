package flowmap

import (
	"fmt"
	"io"
	"net/netip"
	"os"
	"time"

	"github.com/septa-fw/septa/daemon/events"
)

// tuple is a flow's 5-tuple: a record and the decisions about one flow
// share it.
type tuple struct {
	src, dst netip.AddrPort
	proto    uint8
}

func tupleOf(e *events.Event) tuple { return tuple{e.Src, e.Dst, e.Proto} }

// Merger turns a stream of flow events into one event per flow. An EVE
// file holds, for one flow, the decision on it ("verdict" or "drop") and,
// once it ended, its flow record ("flow", with an end, which carries the
// decision too). A record supersedes the decisions of its 5-tuple;
// decisions without a record (denied flows, which never become records,
// flows still open, files written before septad kept records) stand for
// their flow, the last one of a 5-tuple winning.
//
// A flow between two hosts that both run septad is recorded twice, once
// by each: a record whose 5-tuple was recorded already, with times that
// overlap (give or take sameFlowSlack), is the same flow and is dropped.
//
// Records pass straight through; decisions wait, one per 5-tuple, until
// Flush. Memory follows the decisions without records and the 5-tuples
// of records.
type Merger struct {
	out      func(*events.Event)
	pending  map[tuple]*events.Event
	order    []tuple
	recorded map[tuple]window
	records  int
	merged   int
}

// window is a recorded flow's start and end, in Unix nanoseconds.
type window struct{ start, end int64 }

// sameFlowSlack is how far two hosts' records of one flow may disagree
// on its times: their clocks, and conntrack's stamps on each side.
const sameFlowSlack = 2 * time.Second

// NewMerger returns a merger that hands each flow's event to out.
func NewMerger(out func(*events.Event)) *Merger {
	return &Merger{out: out, pending: map[tuple]*events.Event{}, recorded: map[tuple]window{}}
}

// Add takes one flow event; the merger keeps e when it is a decision.
func (m *Merger) Add(e *events.Event) {
	k := tupleOf(e)
	if e.IsRecord() {
		if _, ok := m.pending[k]; ok {
			delete(m.pending, k)
			m.merged++
		}
		start, end := Window(e)
		w := window{start.UnixNano(), end.UnixNano()}
		if prev, ok := m.recorded[k]; ok && w.start <= prev.end+int64(sameFlowSlack) && prev.start <= w.end+int64(sameFlowSlack) {
			m.merged++ // the other end's record of the same flow
			return
		}
		m.recorded[k] = w
		m.records++
		m.out(e)
		return
	}
	if _, ok := m.recorded[k]; ok {
		m.merged++
		return
	}
	if _, ok := m.pending[k]; ok {
		m.merged++
	} else {
		m.order = append(m.order, k)
	}
	m.pending[k] = e
}

// Flush hands out the decisions that no record superseded, in the order
// their flows first appeared.
func (m *Merger) Flush() {
	for _, k := range m.order {
		if e, ok := m.pending[k]; ok {
			m.out(e)
			delete(m.pending, k)
		}
	}
	m.order = m.order[:0]
}

// Stats are what a read of flow events found.
type Stats struct {
	// Files are the inputs, in order.
	Files []FileStats
	// Records are flow records; Merged the events that another event of
	// the same flow superseded.
	Records, Merged int
}

// FileStats are what one input held.
type FileStats struct {
	Path string
	// Lines read, Bad lines among them (their first few in Errors), and
	// lines of other event types Skipped.
	Lines, Bad, Skipped int
	Errors              []*events.LineError
}

// ReadEVE reads the flow events of an EVE stream (Suricata's or
// septad's) and hands each flow's event to add (see Merger). Bad lines
// are counted in Stats, not fatal; only a read error is.
func ReadEVE(r io.Reader, add func(*events.Event)) (Stats, error) {
	m := NewMerger(add)
	fs, err := readInto(r, m)
	m.Flush()
	return Stats{Files: []FileStats{fs}, Records: m.records, Merged: m.merged}, err
}

func readInto(r io.Reader, m *Merger) (FileStats, error) {
	x := events.NewEVEReader(r)
	var err error
	for {
		var e *events.Event
		if e, err = x.Next(); err != nil {
			break
		}
		m.Add(e)
	}
	fs := FileStats{Lines: x.Lines(), Bad: x.Bad(), Skipped: x.Skipped(), Errors: x.Errors()}
	if err != io.EOF {
		return fs, fmt.Errorf("eve: line %d: %w", x.Lines()+1, err)
	}
	return fs, nil
}

// ReadEVEFiles reads EVE files as one stream: the files of several hosts
// (a flow between two of them counts once), or a file and its rotated
// predecessors.
func ReadEVEFiles(paths []string, add func(*events.Event)) (Stats, error) {
	m := NewMerger(add)
	var st Stats
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return st, err
		}
		fs, err := readInto(f, m)
		f.Close()
		fs.Path = p
		st.Files = append(st.Files, fs)
		if err != nil {
			return st, fmt.Errorf("%s: %w", p, err)
		}
	}
	m.Flush()
	st.Records, st.Merged = m.records, m.merged
	return st, nil
}

// ReadEVEFile is ReadEVEFiles of one file.
func ReadEVEFile(path string, add func(*events.Event)) (Stats, error) {
	return ReadEVEFiles([]string{path}, add)
}
