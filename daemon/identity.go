package daemon

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/septa-fw/septa/inspect/userid"
	"github.com/septa-fw/septa/rules/ir"
)

// The identity map of remote users has three sources besides the control
// API: a static TOML file (identity.map_file), reloaded with the policy;
// a JSON-lines feed (identity.feed) that an authentication system appends
// logins and logouts to; and, in fleet mode, the other hosts. The
// addresses where a single user is logged in are pushed into the kernel's
// identity sets, so that user rules for them are decided in the kernel.

// identityFile is the static map file:
//
//	[[mappings]]
//	addr = "10.4.0.11"
//	user = "alice"
//	groups = ["finance"]
type identityFile struct {
	Mappings []struct {
		Addr   string   `toml:"addr"`
		User   string   `toml:"user"`
		Groups []string `toml:"groups"`
	} `toml:"mappings"`
}

// loadIdentityFile replaces the file's mappings in the map. A missing file
// clears them.
func (d *Daemon) loadIdentityFile() error {
	path := d.cfg.Identity.MapFile
	if path == "" {
		return nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		d.idmap.ReplaceSource("file", nil)
		return nil
	}
	if err != nil {
		return fmt.Errorf("identity map %s: %w", path, err)
	}
	ms, err := parseIdentityFile(path, data, time.Now())
	if err != nil {
		return err
	}
	d.idmap.ReplaceSource("file", ms)
	return nil
}

// parseIdentityFile reads the mappings of an identity map file; name is
// for errors.
func parseIdentityFile(name string, data []byte, now time.Time) ([]userid.Mapping, error) {
	var f identityFile
	md, err := toml.Decode(string(data), &f)
	switch {
	case err != nil:
		return nil, fmt.Errorf("identity map %s: %w", name, err)
	case len(md.Undecoded()) > 0:
		return nil, fmt.Errorf("identity map %s: unknown key %s", name, md.Undecoded()[0])
	}
	var ms []userid.Mapping
	for i, m := range f.Mappings {
		req := IdentityRequest{Addr: m.Addr, User: m.User, Groups: m.Groups}
		mp, err := req.mapping(now, 0)
		if err != nil {
			return nil, fmt.Errorf("identity map %s: mapping %d: %w", name, i+1, err)
		}
		mp.Expires, mp.Source = time.Time{}, "file"
		ms = append(ms, mp)
	}
	return ms, nil
}

// FeedEvent is one line of the identity feed.
type FeedEvent struct {
	Event  string   `json:"event"` // "login" or "logout"
	Addr   string   `json:"addr"`
	User   string   `json:"user"`
	Groups []string `json:"groups,omitempty"`
	// TTL in seconds; 0 for identity.ttl.
	TTL int64 `json:"ttl,omitempty"`
}

// maxFeedLine bounds one line of the feed; longer lines are skipped.
const maxFeedLine = 4096

// applyFeedLine applies one line of the feed to the map.
func (d *Daemon) applyFeedLine(line []byte) error {
	var ev FeedEvent
	if err := decodeBody(bytes.NewReader(line), &ev); err != nil {
		return err
	}
	switch ev.Event {
	case "login":
		m, err := IdentityRequest{Addr: ev.Addr, User: ev.User, Groups: ev.Groups, TTL: ev.TTL}.mapping(time.Now(), time.Duration(d.cfg.Identity.TTL))
		if err != nil {
			return err
		}
		m.Source = "feed"
		d.idmap.Add(m)
	case "logout":
		addr, err := netip.ParseAddr(ev.Addr)
		if err != nil {
			return fmt.Errorf("addr: %q is not an IP address", ev.Addr)
		}
		d.idmap.Remove(addr, ev.User)
	default:
		return fmt.Errorf("event: %q is not \"login\" or \"logout\"", ev.Event)
	}
	return nil
}

// followFeed reads the feed from its start, then follows what is
// appended, polling every interval; a file that shrinks (rotated or
// truncated) is read again from its start. Lines that do not parse are
// counted and logged, at most once per interval.
func (d *Daemon) followFeed(ctx context.Context, interval time.Duration, changed func()) {
	path := d.cfg.Identity.Feed
	var off int64
	var lastErr time.Time
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, next, err := d.readFeed(path, off)
		if err != nil && !errors.Is(err, os.ErrNotExist) && time.Since(lastErr) > interval {
			d.log.Warn("identity feed", "path", path, "error", err)
			lastErr = time.Now()
		}
		off = next
		if n > 0 {
			changed()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// readFeed applies the complete lines after off and returns how many it
// applied and the offset after the last complete line.
func (d *Daemon) readFeed(path string, off int64) (int, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, off, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, off, err
	}
	if st.Size() < off {
		off = 0 // rotated or truncated
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return 0, off, err
	}
	r := bufio.NewReaderSize(f, maxFeedLine)
	applied := 0
	var bad error
	for lines := 0; lines < 100000; lines++ {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// Skip the rest of an overlong line.
			n := int64(len(line))
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = r.ReadSlice('\n')
				n += int64(len(line))
			}
			if err != nil {
				break // the line is not complete yet
			}
			off += n
			bad = fmt.Errorf("a line longer than %d bytes", maxFeedLine)
			d.feedErrors.Add(1)
			continue
		}
		if err != nil {
			break // EOF: an incomplete last line waits for its end
		}
		off += int64(len(line))
		if len(line) <= 1 {
			continue
		}
		if err := d.applyFeedLine(line); err != nil {
			d.feedErrors.Add(1)
			bad = err
			continue
		}
		applied++
	}
	return applied, off, bad
}

// syncIdentitySets writes the addresses where a single user is logged in
// into the kernel's identity sets of the running policy.
func (d *Daemon) syncIdentitySets() error {
	res := d.Policy()
	if res == nil {
		return nil
	}
	single := d.idmap.SingleUserAddrs()
	d.identityMu.Lock()
	defer d.identityMu.Unlock()
	if d.identitySynced == nil {
		d.identitySynced = map[string][]netip.Addr{}
	}
	var errs []error
	for _, s := range res.Policy.Sets {
		if s.Kind != ir.SetIdentity {
			continue
		}
		key := s.Name[len("identity:"):]
		want := single[key]
		if have, ok := d.identitySynced[s.Name]; ok && slices.Equal(have, want) {
			continue
		}
		ps := make([]netip.Prefix, len(want))
		for i, a := range want {
			ps[i] = netip.PrefixFrom(a, a.BitLen())
		}
		if err := d.fw.ReplaceSet(s.Name, ps); err != nil {
			errs = append(errs, err)
			continue
		}
		d.identitySynced[s.Name] = want
	}
	return errors.Join(errs...)
}

// identityLoop keeps the kernel's identity sets in step with the map:
// on every change, and periodically for expiries.
func (d *Daemon) identityLoop(ctx context.Context) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		if err := d.syncIdentitySets(); err != nil {
			d.log.Warn("identity sets", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.identityChanged:
		}
	}
}

// identityChange asks identityLoop to sync now.
func (d *Daemon) identityChange() {
	select {
	case d.identityChanged <- struct{}{}:
	default:
	}
}
