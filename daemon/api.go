package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"

	"syscall"
	"time"

	"github.com/septa-fw/septa/daemon/events"
	"github.com/septa-fw/septa/inspect/userid"
	"github.com/septa-fw/septa/rules"
)

// maxRequestBytes bounds a control API request body.
const maxRequestBytes = 64 << 10

// apiError is the body of every error answer.
type apiError struct {
	Error string `json:"error"`
	// Errors lists policy problems one per line (file:line:col: ...).
	Errors []string `json:"errors,omitempty"`
}

// IdentityRequest adds a mapping to the identity map.
type IdentityRequest struct {
	Addr   string   `json:"addr"`
	User   string   `json:"user"`
	Groups []string `json:"groups"`
	// TTL in seconds; 0 for the configured default.
	TTL int64 `json:"ttl"`
}

// QuarantineRequest quarantines an address: the kernel drops its traffic
// until the timeout.
type QuarantineRequest struct {
	Addr string `json:"addr"`
	// Timeout in seconds; 0 for an hour.
	Timeout int64  `json:"timeout"`
	Reason  string `json:"reason"`
}

// Quarantined is one quarantined address.
type Quarantined struct {
	Addr    netip.Addr `json:"addr"`
	Until   time.Time  `json:"until"`
	Reason  string     `json:"reason,omitempty"`
	Created time.Time  `json:"created"`
}

// DryRunResult is the answer to apply --dry-run.
type DryRunResult struct {
	Changed bool   `json:"changed"`
	Diff    string `json:"diff"`
}

// RuleCounters is one rule's kernel counters.
type RuleCounters struct {
	Rule    string `json:"rule"`
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

// Handler returns the control API.
func (d *Daemon) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, d.Status())
	})
	mux.HandleFunc("POST /v1/reload", func(w http.ResponseWriter, r *http.Request) {
		st, err := d.Reload("api")
		if err != nil {
			writeError(w, http.StatusUnprocessableEntity, err)
			return
		}
		writeJSON(w, http.StatusOK, st)
	})
	mux.HandleFunc("GET /v1/dry-run", func(w http.ResponseWriter, r *http.Request) {
		diff, err := d.DryRun()
		if err != nil {
			writeError(w, http.StatusUnprocessableEntity, err)
			return
		}
		writeJSON(w, http.StatusOK, DryRunResult{Changed: diff != "", Diff: diff})
	})
	mux.HandleFunc("GET /v1/counters", func(w http.ResponseWriter, r *http.Request) {
		cs, err := d.Counters()
		if err != nil {
			writeError(w, http.StatusInternalServerError, err)
			return
		}
		writeJSON(w, http.StatusOK, cs)
	})
	mux.HandleFunc("GET /v1/flows", func(w http.ResponseWriter, r *http.Request) {
		n, err := limitParam(r)
		if err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		var out []*events.Event
		for _, e := range mergeByTime(d.ring.Last(events.KindFlow, n), d.ring.Last(events.KindDrop, n)) {
			if r.URL.Query().Get("would_deny") == "1" && !e.Observe {
				continue
			}
			out = append(out, e)
		}
		if len(out) > n {
			out = out[len(out)-n:]
		}
		out = withLiveCounters(out)
		writeJSON(w, http.StatusOK, nonNil(out))
	})
	mux.HandleFunc("GET /v1/records", d.handleRecords)
	mux.HandleFunc("GET /v1/alerts", func(w http.ResponseWriter, r *http.Request) {
		n, err := limitParam(r)
		if err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		if r.URL.Query().Get("follow") != "1" {
			writeJSON(w, http.StatusOK, nonNil(d.ring.Last(events.KindAlert, n)))
			return
		}
		d.followEvents(w, r, events.KindsOf(events.KindAlert))
	})
	mux.HandleFunc("GET /v1/top/flows", func(w http.ResponseWriter, r *http.Request) {
		n, err := limitParam(r)
		if err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		fs, err := d.TopFlows(n)
		if err != nil {
			writeError(w, http.StatusInternalServerError, err)
			return
		}
		writeJSON(w, http.StatusOK, fs)
	})
	mux.HandleFunc("GET /v1/ids", func(w http.ResponseWriter, r *http.Request) {
		st := d.IDS()
		if st == nil {
			writeError(w, http.StatusNotFound, errors.New("the policy in force has no signatures"))
			return
		}
		writeJSON(w, http.StatusOK, st)
	})
	mux.HandleFunc("GET /v1/identity", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, d.idmap.List())
	})
	mux.HandleFunc("POST /v1/identity", func(w http.ResponseWriter, r *http.Request) {
		var req IdentityRequest
		if !decodeRequest(w, r, &req) {
			return
		}
		m, err := req.mapping(time.Now(), time.Duration(d.cfg.Identity.TTL))
		if err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		d.idmap.Add(m)
		d.identityChange()
		writeJSON(w, http.StatusOK, m)
	})
	mux.HandleFunc("DELETE /v1/identity", func(w http.ResponseWriter, r *http.Request) {
		addr, err := netip.ParseAddr(r.URL.Query().Get("addr"))
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Errorf("addr: %q is not an IP address", r.URL.Query().Get("addr")))
			return
		}
		d.idmap.Remove(addr, r.URL.Query().Get("user"))
		d.identityChange()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /v1/quarantine", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, d.Quarantined())
	})
	mux.HandleFunc("POST /v1/quarantine", func(w http.ResponseWriter, r *http.Request) {
		var req QuarantineRequest
		if !decodeRequest(w, r, &req) {
			return
		}
		addr, timeout, err := req.validate()
		if err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		q, err := d.Quarantine(addr, timeout, req.Reason)
		if err != nil {
			writeError(w, http.StatusInternalServerError, err)
			return
		}
		writeJSON(w, http.StatusOK, q)
	})
	mux.HandleFunc("DELETE /v1/quarantine", func(w http.ResponseWriter, r *http.Request) {
		addr, err := netip.ParseAddr(r.URL.Query().Get("addr"))
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Errorf("addr: %q is not an IP address", r.URL.Query().Get("addr")))
			return
		}
		if err := d.Release(addr); err != nil {
			writeError(w, http.StatusInternalServerError, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

// limitParam reads ?limit=N (default 100, at most 10,000).
func limitParam(r *http.Request) (int, error) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return 100, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 10000 {
		return 0, fmt.Errorf("limit: %q is not a number from 1 to 10000", s)
	}
	return n, nil
}

func nonNil(es []*events.Event) []*events.Event {
	if es == nil {
		return []*events.Event{}
	}
	return es
}

// mergeByTime merges two lists sorted by time.
func mergeByTime(a, b []*events.Event) []*events.Event {
	out := make([]*events.Event, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if b[0].Time.Before(a[0].Time) {
			out, b = append(out, b[0]), b[1:]
		} else {
			out, a = append(out, a[0]), a[1:]
		}
	}
	return append(append(out, a...), b...)
}

// followEvents streams events as JSON lines until the client goes away.
func (d *Daemon) followEvents(w http.ResponseWriter, r *http.Request, kinds events.Kinds) {
	sub := d.bus.Subscribe(subscriberLen, kinds)
	defer sub.Unsubscribe()
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	if flusher != nil {
		flusher.Flush()
	}
	enc := json.NewEncoder(w)
	for {
		select {
		case <-r.Context().Done():
			return
		case e, ok := <-sub.C():
			if !ok {
				return
			}
			if enc.Encode(e) != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
	}
}

func (req IdentityRequest) mapping(now time.Time, defTTL time.Duration) (userid.Mapping, error) {
	addr, err := netip.ParseAddr(req.Addr)
	if err != nil || addr.Zone() != "" {
		return userid.Mapping{}, fmt.Errorf("addr: %q is not an IP address", req.Addr)
	}
	if err := checkAccountName(req.User); err != nil {
		return userid.Mapping{}, fmt.Errorf("user: %w", err)
	}
	if len(req.Groups) > 256 {
		return userid.Mapping{}, errors.New("groups: more than 256")
	}
	for _, g := range req.Groups {
		if err := checkAccountName(g); err != nil {
			return userid.Mapping{}, fmt.Errorf("groups: %w", err)
		}
	}
	if req.TTL < 0 || req.TTL > 366*24*3600 {
		return userid.Mapping{}, errors.New("ttl: between 0 and a year, in seconds")
	}
	ttl := defTTL
	if req.TTL > 0 {
		ttl = time.Duration(req.TTL) * time.Second
	}
	return userid.Mapping{Addr: addr.Unmap(), User: req.User, Groups: req.Groups, Source: "api", Expires: now.Add(ttl)}, nil
}

func (req QuarantineRequest) validate() (netip.Addr, time.Duration, error) {
	addr, err := netip.ParseAddr(req.Addr)
	if err != nil || addr.Zone() != "" {
		return netip.Addr{}, 0, fmt.Errorf("addr: %q is not an IP address", req.Addr)
	}
	if req.Timeout < 0 || req.Timeout > 30*24*3600 {
		return netip.Addr{}, 0, errors.New("timeout: between 0 and 30 days, in seconds")
	}
	if len(req.Reason) > 256 {
		return netip.Addr{}, 0, errors.New("reason: longer than 256 bytes")
	}
	t := time.Hour
	if req.Timeout > 0 {
		t = time.Duration(req.Timeout) * time.Second
	}
	return addr.Unmap(), t, nil
}

// checkAccountName accepts user and group names as the policy does.
func checkAccountName(s string) error {
	if s == "" || len(s) > 256 {
		return fmt.Errorf("%q is not a user or group name", s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c == ':' || c == ',' || c == '/' || c >= 0x7f {
			return fmt.Errorf("%q is not a user or group name", s)
		}
	}
	return nil
}

// decodeRequest reads a JSON body, bounded in size, refusing unknown
// fields and trailing data; on failure it answers and returns false.
func decodeRequest(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := decodeBody(http.MaxBytesReader(w, r.Body, maxRequestBytes), v); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return false
	}
	return true
}

func decodeBody(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("request: %w", err)
	}
	if dec.More() {
		return errors.New("request: data after the JSON object")
	}
	return nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, err error) {
	body := apiError{Error: err.Error()}
	for _, e := range rules.Errors(err) {
		body.Errors = append(body.Errors, e.Error())
	}
	if len(body.Errors) > 0 {
		body.Error = "invalid policy: the running policy stays in force"
	}
	writeJSON(w, code, body)
}

// Quarantine makes the kernel drop an address's traffic until the
// timeout, and cuts its open flows.
func (d *Daemon) Quarantine(addr netip.Addr, timeout time.Duration, reason string) (Quarantined, error) {
	if err := d.fw.Quarantine(addr, timeout); err != nil {
		return Quarantined{}, err
	}
	now := time.Now()
	q := Quarantined{Addr: addr, Until: now.Add(timeout), Reason: reason, Created: now}
	d.mu.Lock()
	if d.quarantine == nil {
		d.quarantine = map[netip.Addr]Quarantined{}
	}
	d.quarantine[addr] = q
	d.mu.Unlock()
	d.log.Warn("address quarantined", "addr", addr, "until", q.Until, "reason", reason)
	return q, nil
}

// Release ends a quarantine.
func (d *Daemon) Release(addr netip.Addr) error {
	if err := d.fw.Release(addr); err != nil {
		return err
	}
	d.mu.Lock()
	delete(d.quarantine, addr)
	d.mu.Unlock()
	return nil
}

// Quarantined lists the quarantines that have not expired.
func (d *Daemon) Quarantined() []Quarantined {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := time.Now()
	out := []Quarantined{}
	for a, q := range d.quarantine {
		if now.After(q.Until) {
			delete(d.quarantine, a)
			continue
		}
		out = append(out, q)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr.Less(out[j].Addr) })
	return out
}

// Counters reads the kernel's per-rule counters, busiest first.
func (d *Daemon) Counters() ([]RuleCounters, error) {
	m, err := d.fw.Counters()
	if err != nil {
		return nil, err
	}
	out := make([]RuleCounters, 0, len(m))
	for id, c := range m {
		out = append(out, RuleCounters{Rule: id, Packets: c.Packets, Bytes: c.Bytes})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Packets != out[j].Packets {
			return out[i].Packets > out[j].Packets
		}
		return out[i].Rule < out[j].Rule
	})
	return out, nil
}

// listenControl opens the control socket: a unix socket, mode 0660, owned
// by root and the configured group, so only root and that group's members
// can connect. A stale socket from an earlier run is replaced; a live one
// (another septad) is an error.
func listenControl(path, group string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("control socket %s: another septad is listening", path)
	}
	_ = os.Remove(path)
	// Create the socket without group or other access from the start, so
	// there is no moment when it is more open than intended.
	old := syscall.Umask(0o177)
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	gid := -1
	if group != "" {
		if g, err := user.LookupGroup(group); err == nil {
			gid, _ = strconv.Atoi(g.Gid)
		}
	}
	if gid >= 0 {
		if err := os.Chown(path, 0, gid); err != nil {
			ln.Close()
			return nil, fmt.Errorf("control socket: %w", err)
		}
		if err := os.Chmod(path, 0o660); err != nil {
			ln.Close()
			return nil, fmt.Errorf("control socket: %w", err)
		}
	}
	return ln, nil
}

// groupMissing explains a control socket left at mode 0600.
func groupMissing(group string) bool {
	if group == "" {
		return true
	}
	_, err := user.LookupGroup(group)
	return err != nil
}
