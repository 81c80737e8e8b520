package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Store is the operator's side of the fleet: publishing revisions and
// reading what the hosts report (septa fleet push|diff|rollback|status).
type Store struct {
	cli  *clientv3.Client
	keys Keys
}

// NewStore returns a store on an etcd client under prefix.
func NewStore(cli *clientv3.Client, prefix string) *Store {
	return &Store{cli: cli, keys: NewKeys(prefix)}
}

// ErrNoRevision means nothing was ever pushed, or a revision is unknown.
var ErrNoRevision = errors.New("no such revision")

// Current returns the revision in force and its key's etcd modification
// revision, or ErrNoRevision.
func (s *Store) Current(ctx context.Context) (*Revision, int64, error) {
	resp, err := s.cli.Get(ctx, s.keys.Current())
	if err != nil {
		return nil, 0, fmt.Errorf("fleet: read current revision: %w", err)
	}
	if len(resp.Kvs) == 0 {
		return nil, 0, ErrNoRevision
	}
	r, err := DecodeRevision(resp.Kvs[0].Value)
	if err != nil {
		return nil, 0, fmt.Errorf("fleet: %s: %w", s.keys.Current(), err)
	}
	return r, resp.Kvs[0].ModRevision, nil
}

// Revision returns revision rev from the history.
func (s *Store) Revision(ctx context.Context, rev uint64) (*Revision, error) {
	resp, err := s.cli.Get(ctx, s.keys.History(rev))
	if err != nil {
		return nil, fmt.Errorf("fleet: read revision %d: %w", rev, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, fmt.Errorf("fleet: revision %d: %w", rev, ErrNoRevision)
	}
	r, err := DecodeRevision(resp.Kvs[0].Value)
	if err != nil {
		return nil, fmt.Errorf("fleet: %s: %w", s.keys.History(rev), err)
	}
	return r, nil
}

// Publish makes r the current revision, numbered one past the current
// one: the current and history keys change in one transaction, which
// fails if another push came in between (then Publish reads again, a few
// times). The caller has validated the files.
func (s *Store) Publish(ctx context.Context, r *Revision) (*Revision, error) {
	for range 5 {
		cur, mod, err := s.Current(ctx)
		if err != nil && !errors.Is(err, ErrNoRevision) {
			return nil, err
		}
		next := *r
		next.Rev, next.Time = 1, time.Now().UTC().Truncate(time.Millisecond)
		if cur != nil {
			next.Rev = cur.Rev + 1
		}
		val, err := next.Encode()
		if err != nil {
			return nil, err
		}
		// mod 0 means the key must not exist yet.
		resp, err := s.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(s.keys.Current()), "=", mod)).
			Then(clientv3.OpPut(s.keys.Current(), string(val)), clientv3.OpPut(s.keys.History(next.Rev), string(val))).
			Commit()
		if err != nil {
			return nil, fmt.Errorf("fleet: publish revision %d: %w", next.Rev, err)
		}
		if resp.Succeeded {
			return &next, nil
		}
	}
	return nil, errors.New("fleet: publish: other pushes kept coming in between; try again")
}

// Rollback publishes the files of revision rev as a new revision.
func (s *Store) Rollback(ctx context.Context, rev uint64, author string) (*Revision, error) {
	old, err := s.Revision(ctx, rev)
	if err != nil {
		return nil, err
	}
	return s.Publish(ctx, &Revision{Author: author, RollbackOf: rev, Files: old.Files})
}

// Statuses returns every host's status.
func (s *Store) Statuses(ctx context.Context) (map[string]Status, error) {
	resp, err := s.cli.Get(ctx, s.keys.StatusPrefix(), clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("fleet: read statuses: %w", err)
	}
	out := map[string]Status{}
	for _, kv := range resp.Kvs {
		name, ok := Name(s.keys.StatusPrefix(), string(kv.Key))
		if !ok {
			continue
		}
		var st Status
		if err := json.Unmarshal(kv.Value, &st); err != nil {
			st = Status{Host: name, Error: fmt.Sprintf("status does not decode: %v", err)}
		}
		out[name] = st
	}
	return out, nil
}

// Registered returns the names of the hosts whose lease is alive.
func (s *Store) Registered(ctx context.Context) (map[string]bool, error) {
	resp, err := s.cli.Get(ctx, s.keys.HostsPrefix(), clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, fmt.Errorf("fleet: read hosts: %w", err)
	}
	out := map[string]bool{}
	for _, kv := range resp.Kvs {
		if name, ok := Name(s.keys.HostsPrefix(), string(kv.Key)); ok {
			out[name] = true
		}
	}
	return out, nil
}

// Summary returns the current revision (0 if none) and every host's
// standing against it.
func (s *Store) Summary(ctx context.Context) (uint64, []HostState, error) {
	var current uint64
	resp, err := s.cli.Get(ctx, s.keys.Current())
	if err != nil {
		return 0, nil, fmt.Errorf("fleet: read current revision: %w", err)
	}
	if len(resp.Kvs) > 0 {
		// A value that does not decode still has its hosts' reports.
		current = RevisionNumber(resp.Kvs[0].Value)
	}
	sts, err := s.Statuses(ctx)
	if err != nil {
		return 0, nil, err
	}
	reg, err := s.Registered(ctx)
	if err != nil {
		return 0, nil, err
	}
	return current, Summarize(current, sts, reg), nil
}
