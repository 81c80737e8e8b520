package daemon

import (
	"bytes"
	"compress/gzip"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/septa-fw/septa/daemon/events"
)

// testRecord is a record that ended at end.
func testRecord(src, dst string, end time.Time, mod func(*events.Event)) *events.Event {
	e := &events.Event{
		Kind: events.KindFlow, Time: end, Src: netip.MustParseAddrPort(src), Dst: netip.MustParseAddrPort(dst), Proto: 6,
		Start: end.Add(-time.Second), End: end, Action: "allow", Reason: "policy", Rule: "web-in",
		ZoneSrc: "vdi", ZoneDst: "prod", GroupsDst: []string{"shop-web"}, App: "http",
		PacketsToServer: 5, BytesToServer: 500, PacketsToClient: 4, BytesToClient: 4000, State: "closed", EndReason: "timeout",
	}
	e.FlowID = events.FlowID(e.Src, e.Dst, 6, e.Start)
	if mod != nil {
		mod(e)
	}
	return e
}

// recordSet is five records a minute apart: allow, deny, would-deny,
// reject, and an allow of another app between other zones.
func recordSet() []*events.Event {
	return []*events.Event{
		testRecord("10.4.0.1:40000", "10.3.0.1:80", recT0, nil),
		testRecord("10.4.0.2:40000", "10.3.0.2:5432", recT0.Add(time.Minute), func(e *events.Event) {
			e.Action, e.Rule, e.App, e.GroupsDst = "deny", "", "postgresql", []string{"shop-db"}
		}),
		testRecord("10.4.0.3:40000", "10.3.0.1:80", recT0.Add(2*time.Minute), func(e *events.Event) {
			e.Action, e.Observe, e.Rule = "deny", true, "web-observe"
		}),
		testRecord("10.4.0.4:40000", "10.3.0.1:25", recT0.Add(3*time.Minute), func(e *events.Event) {
			e.Action, e.App = "reject", "smtp"
		}),
		testRecord("10.5.0.1:40000", "10.6.0.1:443", recT0.Add(4*time.Minute), func(e *events.Event) {
			e.ZoneSrc, e.ZoneDst, e.App, e.GroupsDst = "dev", "test", "tls", nil
		}),
	}
}

func TestRecordQuery(t *testing.T) {
	tests := []struct {
		name    string
		params  string
		want    []int // indexes into recordSet
		wantErr string
	}{
		{name: "everything", params: "", want: []int{0, 1, 2, 3, 4}},
		{name: "zone either end", params: "zone=prod", want: []int{0, 1, 2, 3}},
		{name: "zone source", params: "zone=dev", want: []int{4}},
		{name: "group", params: "group=shop-db", want: []int{1}},
		{name: "app", params: "app=http", want: []int{0, 2}},
		{name: "rule default", params: "rule=default", want: []int{1}},
		{name: "verdict allow excludes would-deny", params: "verdict=allow", want: []int{0, 4}},
		{name: "verdict deny", params: "verdict=deny", want: []int{1}},
		{name: "verdict reject", params: "verdict=reject", want: []int{3}},
		{name: "would-deny", params: "would_deny=1", want: []int{2}},
		{name: "verdict would-deny", params: "verdict=would-deny", want: []int{2}},
		{name: "since is inclusive", params: "since=" + url.QueryEscape(recT0.Add(3*time.Minute).Format(time.RFC3339)), want: []int{3, 4}},
		{name: "until is exclusive", params: "until=" + url.QueryEscape(recT0.Add(time.Minute).Format(time.RFC3339)), want: []int{0}},
		{name: "since as a duration", params: "since=90s", want: []int{3, 4}},
		{name: "limit keeps the newest", params: "limit=2", want: []int{3, 4}},
		{name: "filters and limit", params: "zone=prod&limit=2", want: []int{2, 3}},
		{name: "unknown verdict", params: "verdict=maybe", wantErr: `verdict: "maybe" is not allow, deny, reject or would-deny`},
		{name: "verdict against would_deny", params: "verdict=allow&would_deny=1", wantErr: `verdict: "allow" contradicts would-deny`},
		{name: "bad since", params: "since=yesterday", wantErr: `since: "yesterday" is neither an RFC 3339 time nor a duration such as "1h"`},
		{name: "negative limit", params: "limit=-1", wantErr: "limit: -1 is not from 0 to 10000000"},
		{name: "unknown parameter", params: "zones=prod", wantErr: "zones: unknown parameter"},
		{name: "empty window", params: "since=" + url.QueryEscape(recT0.Format(time.RFC3339)) + "&until=" + url.QueryEscape(recT0.Format(time.RFC3339)), wantErr: "since: not before until"},
	}
	set := recordSet()
	now := recT0.Add(4*time.Minute + 30*time.Second)
	w := NewRecordWindow(100, 0, func() time.Time { return now })
	w.Restore(set)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := url.ParseQuery(tt.params)
			if err != nil {
				t.Fatal(err)
			}
			q, err := parseRecordQuery(v, now)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var want []*events.Event
			for _, i := range tt.want {
				want = append(want, set[i])
			}
			if diff := cmp.Diff(want, w.Query(q), eventOpts); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRecordWindowBounds(t *testing.T) {
	now := recT0
	w := NewRecordWindow(3, time.Hour, func() time.Time { return now })
	set := recordSet()
	w.Write(&events.Event{Kind: events.KindFlow, Time: now}) // a decision: not kept
	w.Restore(set)
	if diff := cmp.Diff(set[2:], w.Query(RecordQuery{}), eventOpts); diff != "" {
		t.Errorf("at most 3 (-want +got):\n%s", diff)
	}
	now = recT0.Add(time.Hour + 210*time.Second) // records 2 and 3 are past an hour old
	if diff := cmp.Diff(set[4:], w.Query(RecordQuery{}), eventOpts); diff != "" {
		t.Errorf("at most an hour old (-want +got):\n%s", diff)
	}
	if w.Len() != 1 {
		t.Errorf("%d records kept, want 1", w.Len())
	}
}

// serveRecords serves a daemon's control API with a window of records on
// a unix socket, and returns a client.
func serveRecords(t *testing.T, es []*events.Event) *Client {
	t.Helper()
	d := &Daemon{records: NewRecordWindow(100, 0, nil)}
	d.records.Restore(es)
	sock := filepath.Join(t.TempDir(), "septad.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: d.Handler()}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return NewClient(sock)
}

func TestClientFlowRecords(t *testing.T) {
	set := recordSet()
	c := serveRecords(t, set)
	got, err := c.FlowRecords(RecordQuery{Zone: "prod", Verdict: VerdictDeny})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]events.Event{*set[1]}, got, eventOpts); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	got, err = c.FlowRecords(RecordQuery{})
	if err != nil || len(got) != len(set) {
		t.Errorf("all: %d records, %v; want %d", len(got), err, len(set))
	}
	got, err = c.FlowRecords(RecordQuery{App: "nothing"})
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("none: %#v, %v; want an empty list", got, err)
	}
	if _, err := c.FlowRecords(RecordQuery{Verdict: "maybe"}); err == nil {
		t.Error("a bad verdict was accepted")
	}

	off := &Daemon{}
	sock := filepath.Join(t.TempDir(), "off.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: off.Handler()}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	_, err = NewClient(sock).FlowRecords(RecordQuery{})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusNotFound || !strings.Contains(ae.Msg, "flow records are off") {
		t.Errorf("records off: %v, want a 404 saying so", err)
	}
}

func TestRecordState(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "flows.json.gz")
	set := recordSet()
	if es, err := LoadRecords(path, 10); err != nil || es != nil {
		t.Fatalf("missing file: %v, %v; want nothing and no error", es, err)
	}
	if err := SaveRecords(path, set); err != nil {
		t.Fatal(err)
	}
	got, err := LoadRecords(path, 10)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(set, got, eventOpts); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	got, err = LoadRecords(path, 2)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(set[3:], got, eventOpts); diff != "" {
		t.Errorf("the newest 2 (-want +got):\n%s", diff)
	}
	// A second save replaces the file whole, leaving no temporary file.
	if err := SaveRecords(path, set[:1]); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadRecords(path, 10); err != nil || len(got) != 1 {
		t.Errorf("after a second save: %d records, %v", len(got), err)
	}
	if names, _ := filepath.Glob(filepath.Join(dir, "*")); len(names) != 1 {
		t.Errorf("files left: %q", names)
	}
}

func TestRecordStateCorrupt(t *testing.T) {
	gz := func(s string) []byte {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write([]byte(s))
		zw.Close()
		return b.Bytes()
	}
	header := `{"format":"septa-flow-records","version":1,"records":1}` + "\n"
	var good bytes.Buffer
	if err := SaveRecords(filepath.Join(t.TempDir(), "good"), nil); err != nil {
		t.Fatal(err)
	}
	line := `{"Kind":2,"Time":"2026-06-01T12:00:00Z","Src":"10.0.0.1:1","Dst":"10.0.0.2:2","Proto":6,"End":"2026-06-01T12:00:00Z"}` + "\n"
	good.Write(gz(header + line))
	tests := []struct {
		name    string
		data    []byte
		wantErr string
	}{
		{name: "not gzip", data: []byte("a text file, not gzip"), wantErr: "gzip: invalid header"},
		{name: "empty gzip", data: gz(""), wantErr: "no header"},
		{name: "not a header", data: gz(`{"records":1}` + "\n"), wantErr: "line 1: not a header of septa-flow-records"},
		{name: "other version", data: gz(`{"format":"septa-flow-records","version":9,"records":0}` + "\n"), wantErr: "line 1: version 9, want 1"},
		{name: "bad line", data: gz(header + "{\n"), wantErr: "line 2: unexpected end of JSON input"},
		{name: "a decision, not a record", data: gz(header + `{"Kind":2}` + "\n"), wantErr: "line 2: not a flow record"},
		{name: "fewer records than the header says", data: gz(`{"format":"septa-flow-records","version":1,"records":2}` + "\n" + line), wantErr: "1 records, the header says 2"},
		{name: "cut short", data: good.Bytes()[:good.Len()-6], wantErr: "unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "flows.json.gz")
			if err := os.WriteFile(path, tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			es, err := LoadRecords(path, 10)
			if !errors.Is(err, ErrRecordState) || !strings.HasSuffix(err.Error(), tt.wantErr) || es != nil {
				t.Errorf("got %v, %v; want no records and an ErrRecordState ending %q", es, err, tt.wantErr)
			}
		})
	}
	// The same bytes, whole, load.
	path := filepath.Join(t.TempDir(), "flows.json.gz")
	if err := os.WriteFile(path, good.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if es, err := LoadRecords(path, 10); err != nil || len(es) != 1 {
		t.Errorf("the good file: %d records, %v", len(es), err)
	}
}

// TestRestoreRecords: septad starts with the records of the last run, or,
// when the file is corrupt, without them, saying so and keeping the file
// aside.
func TestRestoreRecords(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "flows.json.gz")
	set := recordSet()
	if err := SaveRecords(path, set); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	w := NewRecordWindow(100, 0, nil)
	restoreRecords(w, path, 3, log)
	if diff := cmp.Diff(set[2:], w.Query(RecordQuery{}), eventOpts); diff != "" {
		t.Errorf("restored (-want +got):\n%s", diff)
	}

	if err := os.WriteFile(path, []byte("not the records, not even gzip"), 0o600); err != nil {
		t.Fatal(err)
	}
	logs.Reset()
	w = NewRecordWindow(100, 0, nil)
	restoreRecords(w, path, 3, log)
	if w.Len() != 0 || !strings.Contains(logs.String(), "flow records state file is corrupt") {
		t.Errorf("corrupt file: %d records, log %q", w.Len(), logs.String())
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the corrupt file is still in place: %v", err)
	}
	if b, err := os.ReadFile(path + ".corrupt"); err != nil || string(b) != "not the records, not even gzip" {
		t.Errorf("the corrupt file set aside: %q, %v", b, err)
	}
}

// FuzzRecordQuery: any query string parses or is refused with an error;
// a query that parses encodes to one that parses the same.
func FuzzRecordQuery(f *testing.F) {
	f.Add("since=1h&zone=prod&verdict=deny&limit=5")
	f.Add("would_deny=1&until=2026-06-01T12:00:00Z&group=db&app=http&rule=default")
	f.Fuzz(func(t *testing.T, s string) {
		v, err := url.ParseQuery(s)
		if err != nil {
			return
		}
		q, err := parseRecordQuery(v, recT0)
		if err != nil {
			return
		}
		again, err := parseRecordQuery(q.values(), recT0)
		if err != nil {
			t.Fatalf("%q parsed to %+v, whose encoding %q is refused: %v", s, q, q.values().Encode(), err)
		}
		if !cmp.Equal(q, again) {
			t.Fatalf("%q: %+v, encoded and parsed again %+v", s, q, again)
		}
	})
}

// FuzzRecordState: a state file never panics the reader, and what it
// reads are records.
func FuzzRecordState(f *testing.F) {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(`{"format":"septa-flow-records","version":1,"records":1}` + "\n" +
		`{"Kind":2,"Time":"2026-06-01T12:00:00Z","Src":"10.0.0.1:1","Dst":"10.0.0.2:2","Proto":6,"End":"2026-06-01T12:00:00Z"}` + "\n"))
	zw.Close()
	f.Add(b.Bytes())
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, data []byte) {
		es, err := readRecords(bytes.NewReader(data), 10)
		if err != nil {
			return
		}
		for _, e := range es {
			if !e.IsRecord() {
				t.Fatalf("read a non-record: %+v", e)
			}
		}
	})
}
