package inspect

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	nfqueue "github.com/florianl/go-nfqueue/v2"
	"github.com/mdlayher/netlink"
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

// Queue is one NFQUEUE bound to a worker.
//
// go-nfqueue opens the netlink socket (in the right namespace) and its
// constants name the flags, but the packet loop is our own: profiling
// the library's loop (pprof of septad in BenchmarkConnRate) showed the
// time going to per-packet allocations (attribute structs, a fresh
// receive buffer per message), the garbage collector that follows, one
// sendmsg per verdict, and goroutine hand-offs. Here the receive buffer
// is reused and parsed in place, nothing is allocated per packet, and
// the verdicts of every packet read in one go are sent as one batch of
// netlink messages in a single sendmsg.
type Queue struct {
	nf  *nfqueue.Nfqueue
	raw syscall.RawConn
	num uint16
	cfg QueueConfig

	mu       sync.Mutex    // guards out, batching and running
	out      []byte        // verdict messages waiting to be sent
	batching bool          // the receive loop will flush out
	running  chan struct{} // closed when Run returns
	stopping atomic.Bool   // Close was called: Run returns, or does not start

	// Errors counts receive errors (a full socket buffer shows as
	// ENOBUFS: the kernel dropped messages) and failed verdicts.
	Errors atomic.Uint64
	// Batches and Verdicts count verdict sends and verdicts.
	Batches, Verdicts atomic.Uint64
}

var (
	_ Verdicter = (*Queue)(nil)
	_ Resetter  = (*Queue)(nil)
)

// Netlink constants of nfnetlink_queue (include/uapi/linux/netfilter/
// nfnetlink_queue.h and nfnetlink.h).
const (
	nfnlSubsysQueue     = 3
	nfqnlMsgPacket      = 0
	nfqnlMsgVerdict     = 1
	nfqnlMsgConfig      = 2
	nfqaPacketHdr       = 1
	nfqaVerdictHdr      = 2
	nfqaMark            = 3
	nfqaPayload         = 10
	nfqaUID             = 16
	nfqaGID             = 17
	nfqaCfgCmd          = 1
	nfqaCfgParams       = 2
	nfqaCfgQueueMaxLen  = 3
	nfqaCfgMask         = 4
	nfqaCfgFlags        = 5
	nfqnlCfgCmdBind     = 1
	nfqnlCfgCmdUnbind   = 2
	nfqnlCopyPacket     = 2
	nfDrop              = 0 // NF_DROP (include/uapi/linux/netfilter.h)
	nfAccept            = 1 // NF_ACCEPT
	nlmsgHdrLen         = 16
	nfgenHdrLen         = 4
	verdictMsgLen       = nlmsgHdrLen + nfgenHdrLen + 4 + 8 + 4 + 4
	maxVerdictBatchSize = 64*verdictMsgLen + 4096
	// recvBufSize holds the largest message: a 64 KiB GSO packet and
	// its attributes.
	recvBufSize = 128 << 10
)

// OpenQueue opens, binds and configures a queue.
func OpenQueue(cfg QueueConfig) (*Queue, error) {
	if cfg.MaxLen == 0 {
		cfg.MaxLen = 4096
	}
	nf, err := nfqueue.Open(&nfqueue.Config{NfQueue: cfg.Num, NetNS: cfg.NetNS, AfFamily: unix.AF_INET,
		MaxPacketLen: 0xffff, MaxQueueLen: cfg.MaxLen, Copymode: nfqueue.NfQnlCopyPacket})
	if err != nil {
		return nil, fmt.Errorf("inspect: open queue %d: %w", cfg.Num, err)
	}
	q := &Queue{nf: nf, num: cfg.Num, cfg: cfg, out: make([]byte, 0, maxVerdictBatchSize)}
	if err := q.configure(); err != nil {
		nf.Close()
		return nil, err
	}
	if q.raw, err = nf.Con.SyscallConn(); err != nil {
		nf.Close()
		return nil, fmt.Errorf("inspect: queue %d: %w", cfg.Num, err)
	}
	if cfg.ReadBuffer > 0 {
		if err := nf.Con.SetReadBuffer(cfg.ReadBuffer); err != nil {
			nf.Close()
			return nil, fmt.Errorf("inspect: queue %d: read buffer: %w", cfg.Num, err)
		}
	}
	return q, nil
}

// configure binds the queue and sets its copy mode, length and flags, as
// libnetfilter_queue's nfq_create_queue and nfq_set_* do.
func (q *Queue) configure() error {
	// GSO: take large segments whole rather than have the kernel split
	// them (KERNEL.md: without it bulk TCP collapses). UID/GID: the
	// socket owner of local traffic, for user rules, without a lookup.
	flags := uint32(nfqueue.NfQaCfgFlagGSO | nfqueue.NfQaCfgFlagUIDGid)
	if q.cfg.FailOpen {
		flags |= nfqueue.NfQaCfgFlagFailOpen
	}
	be32 := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
	steps := []struct {
		what  string
		attrs []netlink.Attribute
	}{
		{"bind", []netlink.Attribute{{Type: nfqaCfgCmd, Data: []byte{nfqnlCfgCmdBind, 0, 0, unix.AF_INET}}}},
		{"copy mode", []netlink.Attribute{{Type: nfqaCfgParams, Data: append(be32(0xffff), nfqnlCopyPacket)}}},
		{"flags", []netlink.Attribute{
			{Type: nfqaCfgFlags, Data: be32(flags)}, {Type: nfqaCfgMask, Data: be32(flags)},
			{Type: nfqaCfgQueueMaxLen, Data: be32(q.cfg.MaxLen)},
		}},
	}
	for _, s := range steps {
		if err := q.config(s.attrs); err != nil {
			return fmt.Errorf("inspect: queue %d: %s: %w", q.num, s.what, err)
		}
	}
	return nil
}

func (q *Queue) config(attrs []netlink.Attribute) error {
	data, err := netlink.MarshalAttributes(attrs)
	if err != nil {
		return err
	}
	hdr := []byte{unix.AF_UNSPEC, 0, byte(q.num >> 8), byte(q.num)}
	_, err = q.nf.Con.Execute(netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(nfnlSubsysQueue<<8 | nfqnlMsgConfig),
			Flags: netlink.Request | netlink.Acknowledge},
		Data: append(hdr, data...),
	})
	return err
}

// Run delivers the queue's packets to w (a Worker) until ctx ends, Close
// is called, or the socket fails. It reads every message the socket holds, hands
// each to the worker inline, and sends their verdicts as one batch.
//
// The loop owns an OS thread and blocks in recvfrom, not in Go's network
// poller: a packet then costs one wake-up of this thread, where the
// poller's path woke a second thread of the scheduler (and its monitor)
// for every packet after an idle spell. On a busy host those extra
// context switches were most of the inspector's cost per connection
// (BENCHMARKS.md). The socket's receive timeout bounds how long the loop
// takes to notice ctx or Close.
func (q *Queue) Run(ctx context.Context, w Handler) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	q.mu.Lock()
	if q.stopping.Load() {
		q.mu.Unlock()
		return nil
	}
	q.running = make(chan struct{})
	defer close(q.running)
	q.mu.Unlock()
	fd := q.fd()
	tv := unix.NsecToTimeval(int64(recvTimeout))
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return fmt.Errorf("inspect: queue %d: receive timeout: %w", q.num, err)
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		return fmt.Errorf("inspect: queue %d: blocking mode: %w", q.num, err)
	}
	// Close unbinds through the library, which expects the poller's
	// non-blocking socket back.
	defer unix.SetNonblock(fd, true)
	batcher, _ := w.(Batcher)
	buf := make([]byte, recvBufSize)
	var qp Packet
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if ctx.Err() != nil || q.stopping.Load() {
			return nil
		}
		if err != nil {
			// EAGAIN: the receive timeout, to look at ctx and Close.
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				continue
			}
			q.Errors.Add(1)
			// ENOBUFS: the kernel dropped messages because the socket
			// buffer was full; those packets follow the fail mode.
			if errors.Is(err, unix.ENOBUFS) {
				continue
			}
			return fmt.Errorf("inspect: queue %d: %w", q.num, err)
		}
		if batcher != nil {
			batcher.BeginBatch()
		}
		q.mu.Lock()
		q.batching = true
		q.mu.Unlock()
		q.dispatch(buf[:n], &qp, w)
		// Drain what else is queued without blocking, up to a batch.
		for range 63 {
			n, _, err = unix.Recvfrom(fd, buf, unix.MSG_DONTWAIT)
			if err != nil || n <= 0 {
				break
			}
			q.dispatch(buf[:n], &qp, w)
		}
		q.mu.Lock()
		q.batching = false
		q.flushLocked()
		q.mu.Unlock()
		if batcher != nil {
			batcher.EndBatch()
		}
	}
}

// fd returns the socket's descriptor for the non-blocking drain reads.
func (q *Queue) fd() int {
	var fd int
	q.raw.Control(func(f uintptr) { fd = int(f) })
	return fd
}

// dispatch parses the netlink messages of one datagram and hands each
// queued packet to the worker. It allocates nothing.
func (q *Queue) dispatch(b []byte, qp *Packet, w Handler) {
	for len(b) >= nlmsgHdrLen {
		mlen := int(binary.NativeEndian.Uint32(b[0:4]))
		typ := binary.NativeEndian.Uint16(b[4:6])
		if mlen < nlmsgHdrLen || mlen > len(b) {
			q.Errors.Add(1)
			return
		}
		msg := b[nlmsgHdrLen:mlen]
		b = b[min(len(b), (mlen+3)&^3):]
		if typ != nfnlSubsysQueue<<8|nfqnlMsgPacket || len(msg) < nfgenHdrLen {
			continue // acks and errors of earlier requests
		}
		if parsePacket(msg[nfgenHdrLen:], qp) {
			w.Handle(qp)
		} else {
			q.Errors.Add(1)
		}
	}
}

// parsePacket reads the attributes of an NFQNL_MSG_PACKET in place.
func parsePacket(attrs []byte, qp *Packet) bool {
	*qp = Packet{}
	haveID, haveGID := false, false
	for len(attrs) >= 4 {
		alen := int(binary.NativeEndian.Uint16(attrs[0:2]))
		atyp := binary.NativeEndian.Uint16(attrs[2:4]) & 0x3fff // without NLA_F_NESTED, NLA_F_NET_BYTEORDER
		if alen < 4 || alen > len(attrs) {
			return false
		}
		v := attrs[4:alen]
		attrs = attrs[min(len(attrs), (alen+3)&^3):]
		switch atyp {
		case nfqaPacketHdr: // struct nfqnl_msg_packet_hdr: be32 id, be16 hw_protocol, u8 hook
			if len(v) < 7 {
				return false
			}
			qp.ID, qp.Hook, haveID = binary.BigEndian.Uint32(v[0:4]), hookOf(v[6]), true
		case nfqaMark:
			if len(v) >= 4 {
				qp.Mark = binary.BigEndian.Uint32(v)
			}
		case nfqaPayload:
			qp.Payload = v
		case nfqaUID:
			if len(v) >= 4 {
				qp.UID, qp.HasUID = binary.BigEndian.Uint32(v), true
			}
		case nfqaGID:
			if len(v) >= 4 {
				qp.GID, haveGID = binary.BigEndian.Uint32(v), true
			}
		}
	}
	qp.HasUID = qp.HasUID && haveGID
	return haveID
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

// Verdict implements Verdicter: it adds a verdict message (NFQNL_MSG_VERDICT
// with NFQA_VERDICT_HDR and NFQA_MARK) to the batch, and sends the batch
// at once unless the receive loop will.
func (q *Queue) Verdict(id uint32, accept bool, mark uint32) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.out)+verdictMsgLen > cap(q.out) {
		q.flushLocked()
	}
	q.appendVerdictLocked(id, accept, mark)
	if !q.batching {
		q.flushLocked()
	}
}

// appendVerdictLocked appends one verdict message to the batch.
func (q *Queue) appendVerdictLocked(id uint32, accept bool, mark uint32) {
	v := uint32(nfDrop)
	if accept {
		v = nfAccept
	}
	b := q.out
	b = binary.NativeEndian.AppendUint32(b, verdictMsgLen)
	b = binary.NativeEndian.AppendUint16(b, nfnlSubsysQueue<<8|nfqnlMsgVerdict)
	b = binary.NativeEndian.AppendUint16(b, unix.NLM_F_REQUEST)
	b = binary.NativeEndian.AppendUint32(b, 0) // seq
	b = binary.NativeEndian.AppendUint32(b, 0) // portid
	b = append(b, unix.AF_UNSPEC, 0, byte(q.num>>8), byte(q.num))
	b = binary.NativeEndian.AppendUint16(b, 4+8)
	b = binary.NativeEndian.AppendUint16(b, nfqaVerdictHdr)
	b = binary.BigEndian.AppendUint32(b, v)
	b = binary.BigEndian.AppendUint32(b, id)
	b = binary.NativeEndian.AppendUint16(b, 4+4)
	b = binary.NativeEndian.AppendUint16(b, nfqaMark)
	b = binary.BigEndian.AppendUint32(b, mark)
	q.out = b
	q.Verdicts.Add(1)
}

// VerdictPayload implements Resetter: the verdict replaces the packet's
// content with payload (NFQA_PAYLOAD), which must be a whole IP packet.
func (q *Queue) VerdictPayload(id uint32, accept bool, mark uint32, payload []byte) {
	q.mu.Lock()
	defer q.mu.Unlock()
	padded := (len(payload) + 3) &^ 3
	if len(q.out)+verdictMsgLen+4+padded > cap(q.out) {
		q.flushLocked()
	}
	start := len(q.out)
	q.appendVerdictLocked(id, accept, mark)
	b := binary.NativeEndian.AppendUint16(q.out, uint16(4+len(payload)))
	b = binary.NativeEndian.AppendUint16(b, nfqaPayload)
	b = append(b, payload...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	binary.NativeEndian.PutUint32(b[start:start+4], uint32(len(b)-start))
	q.out = b
	if !q.batching {
		q.flushLocked()
	}
}

// flushLocked sends the pending verdicts in one sendmsg: the kernel
// processes every netlink message of the datagram in turn.
func (q *Queue) flushLocked() {
	if len(q.out) == 0 {
		return
	}
	var werr error
	err := q.raw.Write(func(fd uintptr) bool {
		werr = unix.Sendto(int(fd), q.out, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
		return werr != unix.EAGAIN
	})
	if err != nil || werr != nil {
		q.Errors.Add(1)
	}
	q.Batches.Add(1)
	q.out = q.out[:0]
}

// Close stops Run (within the receive timeout), unbinds the queue and
// closes its socket.
func (q *Queue) Close() error {
	q.stopping.Store(true)
	q.mu.Lock()
	running := q.running
	q.mu.Unlock()
	if running != nil {
		select {
		case <-running:
		case <-time.After(closeWait):
		}
	}
	_ = q.config([]netlink.Attribute{{Type: nfqaCfgCmd, Data: []byte{nfqnlCfgCmdUnbind, 0, 0, unix.AF_INET}}})
	return q.nf.Close()
}

// recvTimeout bounds a blocked receive, so that Run sees ctx and Close;
// closeWait bounds how long Close waits for Run to return.
const (
	recvTimeout = 100 * time.Millisecond
	closeWait   = 2 * time.Second
)
