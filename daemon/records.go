package daemon

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/septa-fw/septa/daemon/events"
)

// Flow records are what septad writes when a flow ends: its 5-tuple,
// start and end, packets and bytes each way from conntrack, joined with
// what septa knows of it (the deciding rule and verdict, observe mode,
// the application, the user, the process, the zones and groups of both
// ends). They are events.Event of KindFlow with End set (see
// events.Event.IsRecord); records.go keeps the recent ones for queries,
// records_tracker.go makes them, records_state.go keeps them across a
// restart.

// Verdicts a RecordQuery filters on.
const (
	VerdictAllow     = "allow"
	VerdictDeny      = "deny"
	VerdictReject    = "reject"
	VerdictWouldDeny = "would-deny"
)

// RecordQuery selects flow records. The zero value selects every record
// kept.
type RecordQuery struct {
	// Since and Until bound the records' end: Since <= End < Until. Zero
	// leaves a side open.
	Since, Until time.Time
	// Zone and Group select records with either end in the zone or the
	// inventory group.
	Zone, Group string
	// App selects records of one application (septa's name, "http");
	// Rule the records decided by one rule ("default" for the policy
	// default).
	App, Rule string
	// Verdict is allow, deny, reject or would-deny. An allow is a flow
	// that passed and would have passed in enforce mode too; would-deny
	// is one that passed only because of observe mode.
	Verdict string
	// WouldDeny is Verdict "would-deny" (septa flows --would-deny).
	WouldDeny bool
	// Limit keeps the newest Limit records; 0 keeps all that match.
	Limit int
}

// maxRecordQueryLimit bounds Limit.
const maxRecordQueryLimit = 10_000_000

// Validate checks the query's values.
func (q RecordQuery) Validate() error {
	var errs []error
	switch q.Verdict {
	case "", VerdictAllow, VerdictDeny, VerdictReject, VerdictWouldDeny:
	default:
		errs = append(errs, fmt.Errorf("verdict: %q is not allow, deny, reject or would-deny", q.Verdict))
	}
	if q.WouldDeny && q.Verdict != "" && q.Verdict != VerdictWouldDeny {
		errs = append(errs, fmt.Errorf("verdict: %q contradicts would-deny", q.Verdict))
	}
	if q.Limit < 0 || q.Limit > maxRecordQueryLimit {
		errs = append(errs, fmt.Errorf("limit: %d is not from 0 to %d", q.Limit, maxRecordQueryLimit))
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
		errs = append(errs, errors.New("since: not before until"))
	}
	return errors.Join(errs...)
}

// Match reports whether a record passes the query's filters (all but
// Limit).
func (q *RecordQuery) Match(e *events.Event) bool {
	if !q.Since.IsZero() && e.End.Before(q.Since) || !q.Until.IsZero() && !e.End.Before(q.Until) {
		return false
	}
	if q.Zone != "" && e.ZoneSrc != q.Zone && e.ZoneDst != q.Zone {
		return false
	}
	if q.Group != "" && !slices.Contains(e.GroupsSrc, q.Group) && !slices.Contains(e.GroupsDst, q.Group) {
		return false
	}
	if q.App != "" && e.App != q.App {
		return false
	}
	if q.Rule != "" && ruleName(e.Rule) != q.Rule {
		return false
	}
	v := q.Verdict
	if q.WouldDeny {
		v = VerdictWouldDeny
	}
	if v != "" && RecordVerdict(e) != v {
		return false
	}
	return true
}

// RecordVerdict is a record's verdict as RecordQuery names it: its action,
// or would-deny when observe mode let a denied flow pass.
func RecordVerdict(e *events.Event) string {
	if e.Observe {
		return VerdictWouldDeny
	}
	return e.Action
}

// ruleName is a rule as queries write it: "default" for the policy default.
func ruleName(rule string) string {
	if rule == "" {
		return "default"
	}
	return rule
}

// values encodes the query for the control API.
func (q RecordQuery) values() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.Format(time.RFC3339Nano))
	}
	if !q.Until.IsZero() {
		v.Set("until", q.Until.Format(time.RFC3339Nano))
	}
	set("zone", q.Zone)
	set("group", q.Group)
	set("app", q.App)
	set("rule", q.Rule)
	set("verdict", q.Verdict)
	if q.WouldDeny {
		v.Set("would_deny", "1")
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	return v
}

// parseRecordQuery reads a query from the control API's parameters.
// since and until are RFC 3339 times, or durations before now ("1h").
func parseRecordQuery(v url.Values, now time.Time) (RecordQuery, error) {
	var q RecordQuery
	var errs []error
	for k := range v {
		switch k {
		case "since", "until", "zone", "group", "app", "rule", "verdict", "would_deny", "limit":
		default:
			errs = append(errs, fmt.Errorf("%s: unknown parameter", k))
		}
	}
	when := func(name string) time.Time {
		s := v.Get(name)
		if s == "" {
			return time.Time{}
		}
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t
		}
		if d, err := time.ParseDuration(s); err == nil && d >= 0 {
			return now.Add(-d)
		}
		errs = append(errs, fmt.Errorf("%s: %q is neither an RFC 3339 time nor a duration such as \"1h\"", name, s))
		return time.Time{}
	}
	q.Since, q.Until = when("since"), when("until")
	q.Zone, q.Group, q.App, q.Rule, q.Verdict = v.Get("zone"), v.Get("group"), v.Get("app"), v.Get("rule"), v.Get("verdict")
	switch v.Get("would_deny") {
	case "", "0":
	case "1":
		q.WouldDeny = true
	default:
		errs = append(errs, fmt.Errorf("would_deny: %q is not 0 or 1", v.Get("would_deny")))
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("limit: %q is not a number", s))
		}
		q.Limit = n
	}
	if err := errors.Join(errs...); err != nil {
		return q, err
	}
	return q, q.Validate()
}

// RecordWindow keeps the latest flow records in memory, bounded in count
// and in age, for the control API. It is an events.Sink that keeps
// records only (events.Event.IsRecord) and ignores every other event.
type RecordWindow struct {
	maxAge time.Duration
	now    func() time.Time

	// mu guards the ring and dropped.
	mu   sync.Mutex
	ring []*events.Event
	head int // the oldest record
	n    int
	// aged counts records forgotten for age, evicted those forgotten to
	// make room.
	aged, evicted uint64
}

var _ events.Sink = (*RecordWindow)(nil)

// NewRecordWindow returns a window of at most max records, none older
// (by End) than maxAge (0: no age limit); now is the clock (nil:
// time.Now).
func NewRecordWindow(max int, maxAge time.Duration, now func() time.Time) *RecordWindow {
	if max < 1 {
		max = 1
	}
	if now == nil {
		now = time.Now
	}
	return &RecordWindow{maxAge: maxAge, now: now, ring: make([]*events.Event, max)}
}

// Write keeps a record, forgetting the oldest when full.
func (w *RecordWindow) Write(e *events.Event) error {
	if !e.IsRecord() {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.expireLocked()
	if w.n == len(w.ring) {
		w.ring[w.head] = nil
		w.head = (w.head + 1) % len(w.ring)
		w.n--
		w.evicted++
	}
	w.ring[(w.head+w.n)%len(w.ring)] = e
	w.n++
	return nil
}

// expireLocked forgets the records past maxAge from the oldest end.
// Records arrive roughly in the order they ended (conntrack reports
// ends late and not quite in order), so one ending early may outlive
// its age for a while behind a younger one; queries filter by time.
func (w *RecordWindow) expireLocked() {
	if w.maxAge <= 0 {
		return
	}
	limit := w.now().Add(-w.maxAge)
	for w.n > 0 && w.ring[w.head].End.Before(limit) {
		w.ring[w.head] = nil
		w.head = (w.head + 1) % len(w.ring)
		w.n--
		w.aged++
	}
}

// Query returns the records that match q, oldest first, the newest
// q.Limit of them when it is set. Records older than the window's age are
// never returned.
func (w *RecordWindow) Query(q RecordQuery) []*events.Event {
	if w.maxAge > 0 {
		if limit := w.now().Add(-w.maxAge); q.Since.Before(limit) {
			q.Since = limit
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.expireLocked()
	var out []*events.Event
	for i := w.n - 1; i >= 0; i-- {
		e := w.ring[(w.head+i)%len(w.ring)]
		if !q.Match(e) {
			continue
		}
		out = append(out, e)
		if q.Limit > 0 && len(out) == q.Limit {
			break
		}
	}
	slices.Reverse(out)
	return out
}

// Len returns the number of records kept.
func (w *RecordWindow) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// handleRecords answers GET /v1/records: the records that match the
// query's parameters (see parseRecordQuery), oldest first, as one compact
// JSON array written record by record.
func (d *Daemon) handleRecords(w http.ResponseWriter, r *http.Request) {
	if d.records == nil {
		writeError(w, http.StatusNotFound, errors.New("flow records are off ([flows] records = false in septad.toml)"))
		return
	}
	q, err := parseRecordQuery(r.URL.Query(), time.Now())
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	writeRecords(w, d.records.Query(q))
}

// writeRecords writes records as a JSON array, one record per line.
func writeRecords(w http.ResponseWriter, es []*events.Event) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	bw.WriteString("[")
	for i, e := range es {
		if i > 0 {
			bw.WriteString(",")
		}
		if enc.Encode(e) != nil {
			return
		}
	}
	bw.WriteString("]\n")
	bw.Flush()
}
