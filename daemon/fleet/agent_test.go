package fleet

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/septa-fw/septa/daemon/fleet/etcdtest"
	"github.com/septa-fw/septa/rules"
	clientv3 "go.etcd.io/etcd/client/v3"
)

const dbPolicy = `[settings]
default = "deny"

[groups.app]
select = "tier=app"

[groups.db]
select = "tier=db"

[[rules]]
name = "app-to-db"
from = "group:app"
to = "group:db"
ports = ["tcp/5432"]
action = "allow"
`

// recorder is a Target that remembers what it was given.
type recorder struct {
	mu       sync.Mutex // guards the fields below
	applies  []applied
	sessions []RemoteSession
	refuse   error
}

type applied struct {
	rev     uint64
	trigger string
	res     *rules.Result
}

func (r *recorder) Apply(res *rules.Result, rev uint64, trigger string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.refuse != nil {
		return r.refuse
	}
	r.applies = append(r.applies, applied{rev, trigger, res})
	return nil
}

func (r *recorder) Sessions(ss []RemoteSession) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sessions = ss
}

func (r *recorder) last() (applied, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.applies) == 0 {
		return applied{}, false
	}
	return r.applies[len(r.applies)-1], true
}

// members returns the addresses of a set in the last applied policy.
func (r *recorder) members(set string) []string {
	a, ok := r.last()
	if !ok {
		return nil
	}
	var out []string
	for _, s := range a.res.Policy.Sets {
		if s.Name == set {
			for _, p := range s.Prefixes {
				// Adjacent hosts merge into one prefix: list each address.
				for a, n := p.Masked().Addr(), 0; p.Contains(a) && n < 256; a, n = a.Next(), n+1 {
					out = append(out, a.String())
				}
			}
		}
	}
	return out
}

func newClient(t *testing.T, url string) *clientv3.Client {
	t.Helper()
	cli, err := Dial(Config{Endpoints: []string{url}, DialTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

type member struct {
	agent  *Agent
	target *recorder
	cancel context.CancelFunc
	done   chan struct{}
}

// startAgent runs an agent for host name with tags at addr.
func startAgent(t *testing.T, url, name, tags, addr, stateDir string, sessions func() ([]Session, error)) *member {
	t.Helper()
	cfg := Config{Enabled: true, Endpoints: []string{url}, Host: name, Tags: map[string]string{}, LeaseTTL: 2 * time.Second}.WithDefaults()
	for _, kv := range strings.Split(tags, ",") {
		k, v, _ := strings.Cut(kv, "=")
		cfg.Tags[k] = v
	}
	m := &member{target: &recorder{}, done: make(chan struct{})}
	m.agent = NewAgent(Options{
		Config: cfg, Client: newClient(t, url), Target: m.target, StateDir: stateDir,
		Addrs:    func() ([]netip.Addr, error) { return []netip.Addr{netip.MustParseAddr(addr)}, nil },
		Sessions: sessions, Poll: 100 * time.Millisecond,
	})
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	go func() {
		m.agent.Run(ctx)
		close(m.done)
	}()
	t.Cleanup(m.stop)
	return m
}

func (m *member) stop() {
	m.cancel()
	<-m.done
}

// eventually waits, at most 30 s, for cond; it is a bound on a wait, not
// a measure of speed.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 30 s: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func push(t *testing.T, s *Store, files ...string) *Revision {
	t.Helper()
	var fs []rules.File
	for i := 0; i < len(files); i += 2 {
		fs = append(fs, rules.File{Name: files[i], Data: []byte(files[i+1])})
	}
	r, err := NewRevision(fs)
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Publish(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAgent runs two agents on a real etcd: a pushed revision reaches
// them, a joining host lands in the other's group, an invalid revision
// is refused with its file:line:col and reported, sessions travel, and
// an expired lease takes the host out again.
func TestAgent(t *testing.T) {
	srv := etcdtest.Start(t, etcdtest.Options{})
	store := NewStore(newClient(t, srv.ClientURL), "/septa/")
	ctx := context.Background()
	rev1 := push(t, store, "10-db.toml", dbPolicy)
	if rev1.Rev != 1 {
		t.Fatalf("first revision %d", rev1.Rev)
	}
	app := startAgent(t, srv.ClientURL, "app-1", "tier=app", "10.3.2.10", t.TempDir(), nil)
	eventually(t, "app-1 applies revision 1", func() bool { a, ok := app.target.last(); return ok && a.rev == 1 })
	eventually(t, "app-1 in its own group:app", func() bool {
		return slices.Equal(app.target.members("group:app"), []string{"10.3.2.10"})
	})

	// A database host joins: app-1's group:db gains its address.
	db := startAgent(t, srv.ClientURL, "db-1", "tier=db", "10.3.3.10", "", func() ([]Session, error) {
		return []Session{{User: "alice", Groups: []string{"dba"}}}, nil
	})
	eventually(t, "db-1 in app-1's group:db", func() bool {
		return slices.Equal(app.target.members("group:db"), []string{"10.3.3.10"})
	})
	if a, _ := app.target.last(); a.rev != 1 || a.trigger != "fleet inventory" {
		t.Errorf("the join was applied as %+v, want revision 1 by the inventory", a)
	}
	eventually(t, "alice's session reaches app-1", func() bool {
		app.target.mu.Lock()
		defer app.target.mu.Unlock()
		return len(app.target.sessions) == 1 && app.target.sessions[0].User == "alice" &&
			app.target.sessions[0].Addr == netip.MustParseAddr("10.3.3.10") && app.target.sessions[0].Host == "db-1"
	})

	// An invalid revision written straight into etcd (push would refuse
	// it) is refused by both, with the error's position.
	bad := strings.Replace(dbPolicy, `action = "allow"`, `action = "alow"`, 1)
	push(t, store, "10-db.toml", bad)
	want := `10-db.toml:15:10: rule "app-to-db": action: "alow" is not one of "allow", "deny" or "reject"`
	for _, m := range []*member{app, db} {
		t.Cleanup(func() { t.Logf("%s: %+v", m.agent.opts.Config.Host, m.agent.Status()) })
		eventually(t, "revision 2 refused", func() bool {
			st := m.agent.Status()
			return st.ErrorRevision == 2 && strings.Contains(st.Error, want) && st.Revision == 1
		})
	}
	eventually(t, "fleet status shows the failures", func() bool {
		cur, rows, err := store.Summary(ctx)
		if err != nil || cur != 2 || len(rows) != 2 {
			return false
		}
		for _, r := range rows {
			if r.State != StateFailing || !strings.Contains(r.Error, want) || r.Revision != 1 {
				return false
			}
		}
		return true
	})

	// A rollback to revision 1 is revision 3, and applies.
	if _, err := store.Rollback(ctx, 1, "test"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "revision 3 applied", func() bool {
		st := app.agent.Status()
		return st.Revision == 3 && st.Error == ""
	})

	// db-1 dies without a word: its lease expires and it leaves app-1's
	// group and identity map.
	db.stop()
	eventually(t, "db-1 leaves group:db", func() bool { return len(app.target.members("group:db")) == 0 })
	eventually(t, "alice's session leaves", func() bool {
		app.target.mu.Lock()
		defer app.target.mu.Unlock()
		return len(app.target.sessions) == 0
	})
	_, rows, err := store.Summary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[1].Host != "db-1" || rows[1].State != StateOffline {
		t.Errorf("status rows after db-1 died: %+v", rows)
	}
}

// TestAgentEtcdDown: with etcd stopped, nothing the agent applied
// changes; after etcd restarts, the agent catches up with a push, and a
// new agent on the same state directory restores the last revision
// without etcd.
func TestAgentEtcdDown(t *testing.T) {
	srv := etcdtest.Start(t, etcdtest.Options{})
	store := NewStore(newClient(t, srv.ClientURL), "/septa/")
	push(t, store, "10-db.toml", dbPolicy)
	state := t.TempDir()
	app := startAgent(t, srv.ClientURL, "app-1", "tier=app", "10.3.2.10", state, nil)
	db := startAgent(t, srv.ClientURL, "db-1", "tier=db", "10.3.3.10", "", nil)
	eventually(t, "db-1 in group:db", func() bool { return slices.Equal(app.target.members("group:db"), []string{"10.3.3.10"}) })
	app.target.mu.Lock()
	before := len(app.target.applies)
	app.target.mu.Unlock()

	srv.Stop()
	db.stop() // its lease cannot expire while etcd is down
	time.Sleep(3 * time.Second)
	app.target.mu.Lock()
	after := len(app.target.applies)
	app.target.mu.Unlock()
	if after != before || !slices.Equal(app.target.members("group:db"), []string{"10.3.3.10"}) {
		t.Errorf("etcd down: %d applies became %d, group:db %v", before, after, app.target.members("group:db"))
	}

	// A septad restarted now restores revision 1 from its cache.
	restored := NewAgent(Options{Config: Config{Host: "app-1"}.WithDefaults(), Target: &recorder{}, StateDir: state})
	ok, err := restored.Restore()
	if err != nil || !ok {
		t.Fatalf("restore: %v %v", ok, err)
	}
	res, rev, ok, err := restored.Compiled()
	if err != nil || !ok || rev != 1 {
		t.Fatalf("compiled from the cache: rev %d, %v, %v", rev, ok, err)
	}
	for _, s := range res.Policy.Sets {
		if s.Name == "group:db" && (len(s.Prefixes) != 1 || s.Prefixes[0].Addr() != netip.MustParseAddr("10.3.3.10")) {
			t.Errorf("cached group:db %v", s.Prefixes)
		}
	}

	srv.Restart()
	r := push(t, store, "10-db.toml", dbPolicy+"\n# revision 2\n")
	eventually(t, "revision 2 applied after the restart", func() bool {
		a, ok := app.target.last()
		return ok && a.rev == r.Rev
	})
	// db-1's lease runs out after the restart: it leaves.
	eventually(t, "db-1 leaves after its lease expires", func() bool { return len(app.target.members("group:db")) == 0 })
}

// TestAgentTargetRefuses: a revision the kernel refuses is reported as
// refused and the running one stays.
func TestAgentTargetRefuses(t *testing.T) {
	srv := etcdtest.Start(t, etcdtest.Options{})
	store := NewStore(newClient(t, srv.ClientURL), "/septa/")
	push(t, store, "10-db.toml", dbPolicy)
	app := startAgent(t, srv.ClientURL, "app-1", "tier=app", "10.3.2.10", "", nil)
	eventually(t, "revision 1", func() bool { return app.agent.Status().Revision == 1 })
	app.target.mu.Lock()
	app.target.refuse = errors.New("nft: apply generation 2: kernel says no")
	app.target.mu.Unlock()
	push(t, store, "10-db.toml", dbPolicy+"\n")
	eventually(t, "revision 2 refused", func() bool {
		st := app.agent.Status()
		return st.Revision == 1 && st.ErrorRevision == 2 && strings.Contains(st.Error, "kernel says no") && st.Counters.Refused == 1
	})
}

// TestAgentCompacted: an agent whose last seen etcd revision has been
// compacted away reads the whole state again instead of missing changes.
func TestAgentCompacted(t *testing.T) {
	srv := etcdtest.Start(t, etcdtest.Options{})
	cli := newClient(t, srv.ClientURL)
	store := NewStore(cli, "/septa/")
	ctx := context.Background()
	push(t, store, "10-db.toml", dbPolicy)
	keys := NewKeys("/septa/")
	var last int64
	for i := range 5 {
		resp, err := cli.Put(ctx, keys.Host(fmt.Sprintf("db-%d", i)), fmt.Sprintf(`{"name":"db-%d","addresses":["10.3.3.%d"],"tags":{"tier":"db"}}`, i, 10+i))
		if err != nil {
			t.Fatal(err)
		}
		last = resp.Header.Revision
	}
	if _, err := cli.Compact(ctx, last); err != nil {
		t.Fatal(err)
	}
	target := &recorder{}
	cfg := Config{Host: "app-1", Endpoints: []string{srv.ClientURL}}.WithDefaults()
	a := NewAgent(Options{Config: cfg, Client: cli, Target: target, WatchOnly: true})
	a.etcdRev = 1 // seen before the compaction
	actx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		a.Run(actx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	eventually(t, "the state read again after the compaction", func() bool {
		return len(target.members("group:db")) == 5 && a.Status().Revision == 1
	})
	if st := a.Status(); st.Counters.Resyncs != 1 {
		t.Errorf("resyncs %d, want 1", st.Counters.Resyncs)
	}
}

// TestAgentUndecodable: a current revision that is not a revision at all
// is refused under its rev number, and fleet status still reports.
func TestAgentUndecodable(t *testing.T) {
	srv := etcdtest.Start(t, etcdtest.Options{})
	cli := newClient(t, srv.ClientURL)
	store := NewStore(cli, "/septa/")
	push(t, store, "10-db.toml", dbPolicy)
	app := startAgent(t, srv.ClientURL, "app-1", "tier=app", "10.3.2.10", "", nil)
	eventually(t, "revision 1", func() bool { return app.agent.Status().Revision == 1 })
	if _, err := cli.Put(context.Background(), NewKeys("/septa/").Current(), `{"rev":2,"files":"not a list"}`); err != nil {
		t.Fatal(err)
	}
	eventually(t, "revision 2 refused", func() bool {
		st := app.agent.Status()
		return st.Revision == 1 && st.ErrorRevision == 2 && strings.Contains(st.Error, "/septa/policy/current: revision: json: cannot unmarshal")
	})
	eventually(t, "fleet status", func() bool {
		cur, rows, err := store.Summary(context.Background())
		return err == nil && cur == 2 && len(rows) == 1 && rows[0].State == StateFailing
	})
}
