package inspect

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	nfqueue "github.com/florianl/go-nfqueue/v2"
	"golang.org/x/sys/unix"
)

// QueueConfig says which NFQUEUE to bind and how.
type QueueConfig struct {
	Num uint16
	// NetNS is a network namespace file descriptor; 0 for the current one.
	// The queue must be opened in the namespace that holds the rules
	// (KERNEL.md).
	NetNS int
	// MaxLen is the kernel's queue length; packets beyond it follow the
	// fail mode.
	MaxLen uint32
	// FailOpen: when the queue is full, the kernel accepts packets
	// instead of dropping them (NFQA_CFG_F_FAIL_OPEN).
	FailOpen bool
	// ReadBuffer is the netlink socket's receive buffer in bytes.
	ReadBuffer int
}

// Queue is one NFQUEUE bound to a worker, through go-nfqueue. Its receive
// loop calls the worker inline: no goroutine or channel per packet.
type Queue struct {
	nf  *nfqueue.Nfqueue
	num uint16
	// Errors counts receive errors (a full socket buffer shows as
	// ENOBUFS: the kernel dropped messages) and failed verdicts.
	Errors atomic.Uint64
}

var _ Verdicter = (*Queue)(nil)

// OpenQueue opens and configures a queue. Run binds it.
func OpenQueue(cfg QueueConfig) (*Queue, error) {
	if cfg.MaxLen == 0 {
		cfg.MaxLen = 4096
	}
	// GSO: take large segments whole rather than have the kernel split
	// them (KERNEL.md: without it bulk TCP collapses). UID/GID: the
	// socket owner of local traffic, for user rules, without a lookup.
	flags := uint32(nfqueue.NfQaCfgFlagGSO | nfqueue.NfQaCfgFlagUIDGid)
	if cfg.FailOpen {
		flags |= nfqueue.NfQaCfgFlagFailOpen
	}
	nf, err := nfqueue.Open(&nfqueue.Config{
		NfQueue:      cfg.Num,
		NetNS:        cfg.NetNS,
		MaxPacketLen: 0xffff,
		MaxQueueLen:  cfg.MaxLen,
		Copymode:     nfqueue.NfQnlCopyPacket,
		AfFamily:     unix.AF_INET,
		Flags:        flags,
	})
	if err != nil {
		return nil, fmt.Errorf("inspect: open queue %d: %w", cfg.Num, err)
	}
	if cfg.ReadBuffer > 0 {
		if err := nf.Con.SetReadBuffer(cfg.ReadBuffer); err != nil {
			nf.Close()
			return nil, fmt.Errorf("inspect: queue %d: read buffer: %w", cfg.Num, err)
		}
	}
	return &Queue{nf: nf, num: cfg.Num}, nil
}

// Run binds the queue and delivers its packets to w until ctx ends.
func (q *Queue) Run(ctx context.Context, w *Worker) error {
	var qp Packet
	hook := func(a nfqueue.Attribute) int {
		if a.PacketID == nil || a.Payload == nil {
			return 0
		}
		qp = Packet{ID: *a.PacketID, Payload: *a.Payload}
		if a.Hook != nil {
			qp.Hook = hookOf(*a.Hook)
		}
		if a.Mark != nil {
			qp.Mark = *a.Mark
		}
		if a.UID != nil && a.GID != nil {
			qp.UID, qp.GID, qp.HasUID = *a.UID, *a.GID, true
		}
		w.Handle(&qp)
		return 0
	}
	stopped := make(chan error, 1)
	onErr := func(err error) int {
		if ctx.Err() != nil {
			return 1
		}
		q.Errors.Add(1)
		// ENOBUFS: the kernel dropped messages because the socket buffer
		// was full; the packets follow the fail mode. The loop goes on.
		// Any other error (the socket closed) ends it.
		if errors.Is(err, unix.ENOBUFS) || errors.Is(err, unix.EINTR) {
			return 0
		}
		select {
		case stopped <- err:
		default:
		}
		return 1
	}
	if err := q.nf.RegisterWithErrorFunc(ctx, hook, onErr); err != nil {
		return fmt.Errorf("inspect: bind queue %d: %w", q.num, err)
	}
	select {
	case <-ctx.Done():
		return nil
	case err := <-stopped:
		return fmt.Errorf("inspect: queue %d: %w", q.num, err)
	}
}

// hookOf maps netfilter hook numbers (NF_INET_*) to Hook.
func hookOf(h uint8) Hook {
	switch h {
	case unix.NF_INET_LOCAL_IN:
		return HookInput
	case unix.NF_INET_LOCAL_OUT:
		return HookOutput
	case unix.NF_INET_FORWARD:
		return HookForward
	}
	return HookUnknown
}

// Verdict implements Verdicter.
func (q *Queue) Verdict(id uint32, accept bool, mark uint32) {
	v := nfqueue.NfDrop
	if accept {
		v = nfqueue.NfAccept
	}
	if err := q.nf.SetVerdictWithMark(id, v, int(mark)); err != nil {
		q.Errors.Add(1)
	}
}

// Close closes the queue's socket.
func (q *Queue) Close() error { return q.nf.Close() }
