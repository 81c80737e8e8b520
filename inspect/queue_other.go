//go:build !linux

package inspect

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
)

// QueueConfig says which NFQUEUE to bind and how.
type QueueConfig struct {
	Num        uint16
	NetNS      int
	MaxLen     uint32
	FailOpen   bool
	ReadBuffer int
}

// Queue is an NFQUEUE; only Linux has them.
type Queue struct {
	Errors, Batches, Verdicts atomic.Uint64
}

// OpenQueue fails: NFQUEUE exists on Linux only.
func OpenQueue(QueueConfig) (*Queue, error) {
	return nil, fmt.Errorf("inspect: NFQUEUE is not supported on %s", runtime.GOOS)
}

// Run is never reached.
func (q *Queue) Run(context.Context, Handler) error { return nil }

// Verdict is never reached.
func (q *Queue) Verdict(uint32, bool, uint32) {}

// Close is never reached.
func (q *Queue) Close() error { return nil }
