package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/septa-fw/septa/daemon/events"
)

// Client talks to septad's control API over its unix socket.
type Client struct {
	http *http.Client
}

// NewClient returns a client for the socket at path.
func NewClient(path string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}
	return &Client{http: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// APIError is an error answer of the API.
type APIError struct {
	Status int
	Msg    string
	// Errors are policy problems, one per line, when there are any.
	Errors []string
}

func (e *APIError) Error() string {
	if len(e.Errors) == 0 {
		return e.Msg
	}
	return e.Msg + "\n" + strings.Join(e.Errors, "\n")
}

func (c *Client) do(method, path string, query url.Values, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	u := "http://septad" + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("septad: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("septad: %w", err)
	}
	if resp.StatusCode >= 300 {
		var ae apiError
		if json.Unmarshal(data, &ae) != nil || ae.Error == "" {
			ae.Error = strings.TrimSpace(string(data))
		}
		return &APIError{Status: resp.StatusCode, Msg: ae.Error, Errors: ae.Errors}
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("septad: answer: %w", err)
	}
	return nil
}

// Status asks for the daemon's status.
func (c *Client) Status() (Status, error) {
	var s Status
	return s, c.do(http.MethodGet, "/v1/status", nil, nil, &s)
}

// Reload asks for a reload.
func (c *Client) Reload() (ReloadStatus, error) {
	var s ReloadStatus
	return s, c.do(http.MethodPost, "/v1/reload", nil, nil, &s)
}

// DryRun asks what a reload would change.
func (c *Client) DryRun() (DryRunResult, error) {
	var r DryRunResult
	return r, c.do(http.MethodGet, "/v1/dry-run", nil, nil, &r)
}

// Counters asks for the kernel's rule counters.
func (c *Client) Counters() ([]RuleCounters, error) {
	var r []RuleCounters
	return r, c.do(http.MethodGet, "/v1/counters", nil, nil, &r)
}

// TopFlows asks for the busiest live flows by bytes.
func (c *Client) TopFlows(limit int) ([]FlowSummary, error) {
	var r []FlowSummary
	return r, c.do(http.MethodGet, "/v1/top/flows", url.Values{"limit": {strconv.Itoa(limit)}}, nil, &r)
}

// IDS asks for the signature engine's state.
func (c *Client) IDS() (IDSStatus, error) {
	var st IDSStatus
	return st, c.do(http.MethodGet, "/v1/ids", nil, nil, &st)
}

// Identities lists the identity map.
func (c *Client) Identities(out any) error {
	return c.do(http.MethodGet, "/v1/identity", nil, nil, out)
}

// AddIdentity maps an address to a user.
func (c *Client) AddIdentity(req IdentityRequest) error {
	return c.do(http.MethodPost, "/v1/identity", nil, req, nil)
}

// RemoveIdentity removes mappings of an address (of one user, if given).
func (c *Client) RemoveIdentity(addr, user string) error {
	q := url.Values{"addr": {addr}}
	if user != "" {
		q.Set("user", user)
	}
	return c.do(http.MethodDelete, "/v1/identity", q, nil, nil)
}

// Quarantines lists quarantined addresses.
func (c *Client) Quarantines() ([]Quarantined, error) {
	var r []Quarantined
	return r, c.do(http.MethodGet, "/v1/quarantine", nil, nil, &r)
}

// AddQuarantine quarantines an address.
func (c *Client) AddQuarantine(req QuarantineRequest) (Quarantined, error) {
	var q Quarantined
	return q, c.do(http.MethodPost, "/v1/quarantine", nil, req, &q)
}

// RemoveQuarantine ends a quarantine.
func (c *Client) RemoveQuarantine(addr string) error {
	return c.do(http.MethodDelete, "/v1/quarantine", url.Values{"addr": {addr}}, nil, nil)
}

// IsUnavailable reports whether err means septad could not be reached.
func IsUnavailable(err error) bool {
	var ae *APIError
	return err != nil && !errors.As(err, &ae)
}

// Flows asks for the most recent flow decisions (of the inspector); only
// the would-be-denied ones with wouldDeny.
func (c *Client) Flows(limit int, wouldDeny bool) ([]*events.Event, error) {
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if wouldDeny {
		q.Set("would_deny", "1")
	}
	var out []*events.Event
	return out, c.do(http.MethodGet, "/v1/flows", q, nil, &out)
}

// Alerts asks for the most recent alerts.
func (c *Client) Alerts(limit int) ([]*events.Event, error) {
	var out []*events.Event
	return out, c.do(http.MethodGet, "/v1/alerts", url.Values{"limit": {strconv.Itoa(limit)}}, nil, &out)
}

// FollowAlerts calls fn for each alert as it happens, until ctx ends or
// the daemon goes away.
func (c *Client) FollowAlerts(ctx context.Context, fn func(*events.Event)) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://septad/v1/alerts?follow=1", nil)
	if err != nil {
		return err
	}
	hc := *c.http
	hc.Timeout = 0 // a follow lasts as long as the caller wants
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("septad: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &APIError{Status: resp.StatusCode, Msg: resp.Status}
	}
	dec := json.NewDecoder(resp.Body)
	for {
		var e events.Event
		if err := dec.Decode(&e); err != nil {
			if ctx.Err() != nil || errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("septad: %w", err)
		}
		fn(&e)
	}
}

// FlowRecords asks for the flow records that match q, oldest first (see
// RecordQuery). The answer is read as a stream, without a size limit
// beyond the daemon's window.
func (c *Client) FlowRecords(q RecordQuery) ([]events.Event, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	u := "http://septad/v1/records"
	if v := q.values(); len(v) > 0 {
		u += "?" + v.Encode()
	}
	hc := *c.http
	hc.Timeout = 5 * time.Minute // a large window takes a while to send
	resp, err := hc.Get(u)
	if err != nil {
		return nil, fmt.Errorf("septad: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		var ae apiError
		if json.Unmarshal(data, &ae) != nil || ae.Error == "" {
			ae.Error = strings.TrimSpace(string(data))
		}
		return nil, &APIError{Status: resp.StatusCode, Msg: ae.Error, Errors: ae.Errors}
	}
	dec := json.NewDecoder(resp.Body)
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, fmt.Errorf("septad: answer: not a JSON array (%v)", err)
	}
	out := []events.Event{}
	for dec.More() {
		var e events.Event
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("septad: answer: record %d: %w", len(out)+1, err)
		}
		out = append(out, e)
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("septad: answer: %w", err)
	}
	return out, nil
}
