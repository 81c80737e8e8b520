package daemon

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mdlayher/netlink"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/septa-fw/septa/daemon/events"
	"github.com/septa-fw/septa/inspect/packet"
	"github.com/septa-fw/septa/nft"
	"github.com/septa-fw/septa/rules/ir"
	"golang.org/x/sys/unix"
)

// This file turns what the kernel decides and logs into events. Rules
// that nft decides without the inspector log through NFLOG (nft's `log
// group N prefix "<rule id>"`, see nft/planner.go): group 1 for denied
// and rejected traffic, 2 for traffic observe mode lets through but would
// deny, 3 for logged allowed traffic. Without this listener those
// decisions never reach the event bus.
//
// The receive loop is the NFQUEUE loop's shape (inspect/queue_linux.go):
// one reused buffer, messages parsed in place, nothing allocated for a
// packet that does not become an event. A dropped flow's retransmissions
// and a scanner's retries are logged by the kernel every time; the
// de-duplication table (nflogDedupe) lets one event per flow key through
// per window, and counts the rest.

// Netlink constants of nfnetlink_log (include/uapi/linux/netfilter/
// nfnetlink_log.h, nfnetlink.h, nfnetlink_compat.h).
const (
	nfnlSubsysULOG  = 4 // NFNL_SUBSYS_ULOG
	nfulnlMsgPacket = 0 // NFULNL_MSG_PACKET, kernel to user
	nfulnlMsgConfig = 1 // NFULNL_MSG_CONFIG, user to kernel

	// Attributes of NFULNL_MSG_PACKET (enum nfulnl_attr_type).
	nfulaPacketHdr = 1  // struct nfulnl_msg_packet_hdr
	nfulaPayload   = 9  // the packet from its network header, cut at the copy range
	nfulaPrefix    = 10 // the log statement's prefix, NUL-terminated

	// Attributes of NFULNL_MSG_CONFIG (enum nfulnl_attr_config).
	nfulaCfgCmd     = 1 // struct nfulnl_msg_config_cmd
	nfulaCfgMode    = 2 // struct nfulnl_msg_config_mode
	nfulaCfgTimeout = 4 // be32, in 1/100 s
	nfulaCfgQThresh = 5 // be32, messages

	nfulnlCfgCmdBind = 1 // NFULNL_CFG_CMD_BIND
	nfulnlCopyPacket = 2 // NFULNL_COPY_PACKET

	nflogNlmsgHdrLen = 16 // struct nlmsghdr
	nflogNfgenHdrLen = 4  // struct nfgenmsg
	nflogNlaHdrLen   = 4  // struct nlattr
	// nlaTypeMask strips NLA_F_NESTED and NLA_F_NET_BYTEORDER.
	nlaTypeMask = 0x3fff
)

// Tuning of the kernel side and of the receive loop.
const (
	// nflogCopyRange is how much of each packet the kernel copies: an
	// IPv4 header with options (60 bytes) and a TCP header with options
	// (60) fit; UDP, ICMP and IPv6 without extension headers need less.
	nflogCopyRange = 128
	// nflogFlushTimeout (1/100 s) and nflogQThresh bound how long the
	// kernel batches log messages before it sends them: 100 ms or 32
	// messages, whichever comes first. The kernel's defaults (1 s, 100
	// messages) delay events by up to a second.
	nflogFlushTimeout = 10
	nflogQThresh      = 32
	// nflogRecvBufSize holds the largest datagram: until the copy range
	// of a fresh binding applies, the kernel copies up to 64 KiB.
	nflogRecvBufSize = 128 << 10
	// nflogReadBuffer is the socket's receive buffer: a burst of about
	// 4000 log messages.
	nflogReadBuffer = 1 << 20
	// nflogConfigTimeout bounds the wait for the kernel's acks.
	nflogConfigTimeout = 5 * time.Second
	// nflogMaxRules bounds the interned rule IDs (the prefixes).
	nflogMaxRules = 4096
	// nflogMaxPrefix is NF_LOG_PREFIXLEN (128) without the NUL: nft cuts
	// longer rule IDs (nft/planner.go, logPrefix).
	nflogMaxPrefix = 127
	// nflogWarnEvery rate-limits the log line about lost messages.
	nflogWarnEvery = time.Minute
)

// NFLOGListener reads the kernel's NFLOG messages and publishes them as
// events. Its receive loop runs on one goroutine, which owns every
// field but the counters.
type NFLOGListener struct {
	cfg    NFLOGConfig
	log    *slog.Logger
	groups [3]nflogGroup

	conn *netlink.Conn
	raw  syscall.RawConn
	buf  []byte
	// readFD is l.readOnce bound once, so that a receive allocates no
	// closure; it leaves its results in n and rerr.
	readFD func(fd uintptr) bool
	n      int
	rerr   error
	// binding is set while bind waits for acks, which collects the
	// kernel's answers to the config requests.
	binding bool
	acks    []nflogAck

	dedupe   *nflogDedupe
	rules    map[string]string // interned rule IDs, by prefix
	pkt      packet.Packet     // decode scratch
	start    time.Time         // the dedupe clock's origin
	lastWarn time.Time

	received, published, suppressed, errs atomic.Uint64

	done chan struct{}
}

// nflogGroup is a bound group and what its messages mean.
type nflogGroup struct {
	num  uint16
	role nflogRole
}

// nflogRole is what the kernel decided about the packets of a group.
type nflogRole uint8

const (
	nflogRoleUnknown nflogRole = iota
	nflogRoleDeny              // denied or rejected
	nflogRoleObserve           // would be denied; observe mode let it pass
	nflogRoleAllow             // allowed by a rule that logs
)

type nflogAck struct {
	seq   uint32
	errno int32 // 0 for an ack, else the (positive) error number
}

// ListenNFLOG binds the configured NFLOG groups and publishes the
// kernel's log messages as events until ctx ends. A group another
// process holds (ulogd) fails alone: it is logged and the others are
// kept; the error says why when no group could be bound.
func ListenNFLOG(ctx context.Context, cfg NFLOGConfig) (*NFLOGListener, error) {
	l := newNFLOGListener(cfg)
	if len(l.boundGroups()) == 0 {
		return nil, errors.New("daemon: nflog: no group to bind")
	}
	conn, err := netlink.Dial(unix.NETLINK_NETFILTER, &netlink.Config{NetNS: cfg.NetNS})
	if err != nil {
		return nil, fmt.Errorf("daemon: nflog: %w", err)
	}
	l.conn = conn
	if l.raw, err = conn.SyscallConn(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("daemon: nflog: %w", err)
	}
	l.setReadBuffer(nflogReadBuffer)
	if err := l.bind(); err != nil {
		conn.Close()
		return nil, err
	}
	go l.run(ctx)
	return l, nil
}

// newNFLOGListener returns a listener without a socket: the parser, the
// de-duplication table and the counters.
func newNFLOGListener(cfg NFLOGConfig) *NFLOGListener {
	if cfg.Window <= 0 {
		cfg.Window = DefaultNFLOGWindow
	}
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = DefaultNFLOGMaxKeys
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Publish == nil {
		cfg.Publish = func(*events.Event) {}
	}
	l := &NFLOGListener{
		cfg: cfg,
		log: cfg.Logger,
		groups: [3]nflogGroup{
			{cfg.DenyGroup, nflogRoleDeny},
			{cfg.ObserveGroup, nflogRoleObserve},
			{cfg.AllowGroup, nflogRoleAllow},
		},
		dedupe: newNFLOGDedupe(cfg.Window, cfg.MaxKeys),
		rules:  make(map[string]string),
		start:  cfg.Now(),
		done:   make(chan struct{}),
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	l.readFD = l.readOnce
	return l
}

func (l *NFLOGListener) boundGroups() []nflogGroup {
	var out []nflogGroup
	for _, g := range l.groups {
		if g.num != 0 {
			out = append(out, g)
		}
	}
	return out
}

// setReadBuffer sizes the socket's receive buffer: SO_RCVBUFFORCE first,
// which root may set past net.core.rmem_max, else SO_RCVBUF (capped).
func (l *NFLOGListener) setReadBuffer(n int) {
	var serr error
	err := l.raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, n)
	})
	if err == nil && serr == nil {
		return
	}
	if err := l.conn.SetReadBuffer(n); err != nil {
		l.log.Warn("nflog: socket receive buffer not enlarged", "bytes", n, "error", err)
	}
}

// nflogConfigRequest returns the payload (after struct nlmsghdr) of an
// NFULNL_MSG_CONFIG that binds group and sets its copy mode and flush
// thresholds. The kernel applies the command first, then the other
// attributes, in one request (nfulnl_recv_config in
// net/netfilter/nfnetlink_log.c), so the group never runs with the
// default copy range once the request is processed.
//
//	struct nfgenmsg        family AF_UNSPEC, version NFNETLINK_V0, res_id = group (be16)
//	NFULA_CFG_CMD          struct nfulnl_msg_config_cmd { u8 command }       (padded to 4)
//	NFULA_CFG_MODE         struct nfulnl_msg_config_mode { be32 copy_range; u8 copy_mode; u8 pad } (packed, 6 bytes, padded to 8)
//	NFULA_CFG_TIMEOUT      be32, 1/100 s
//	NFULA_CFG_QTHRESH      be32
//
// Attribute headers (struct nlattr: u16 len, u16 type) are host-endian;
// the values are big-endian, as the kernel reads them with ntohl.
func nflogConfigRequest(group uint16, copyRange, timeout, qthresh uint32) []byte {
	b := make([]byte, 0, 44)
	b = append(b, unix.AF_UNSPEC, 0) // nfgen_family, version
	b = binary.BigEndian.AppendUint16(b, group)
	attr := func(typ uint16, v []byte) {
		b = binary.NativeEndian.AppendUint16(b, uint16(nflogNlaHdrLen+len(v)))
		b = binary.NativeEndian.AppendUint16(b, typ)
		b = append(b, v...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
	}
	attr(nfulaCfgCmd, []byte{nfulnlCfgCmdBind})
	attr(nfulaCfgMode, append(binary.BigEndian.AppendUint32(nil, copyRange), nfulnlCopyPacket, 0))
	attr(nfulaCfgTimeout, binary.BigEndian.AppendUint32(nil, timeout))
	attr(nfulaCfgQThresh, binary.BigEndian.AppendUint32(nil, qthresh))
	return b
}

// bind sends one config request per group in one datagram and waits for
// the kernel's acks. Log messages that arrive meanwhile (a group bound
// first already logs) are handled as usual.
func (l *NFLOGListener) bind() error {
	groups := l.boundGroups()
	msgs := make([]netlink.Message, len(groups))
	for i, g := range groups {
		msgs[i] = netlink.Message{
			Header: netlink.Header{
				Type:  netlink.HeaderType(nfnlSubsysULOG<<8 | nfulnlMsgConfig),
				Flags: netlink.Request | netlink.Acknowledge,
			},
			Data: nflogConfigRequest(g.num, nflogCopyRange, nflogFlushTimeout, nflogQThresh),
		}
	}
	sent, err := l.conn.SendMessages(msgs)
	if err != nil {
		return fmt.Errorf("daemon: nflog: bind: %w", err)
	}
	if err := l.conn.SetReadDeadline(l.cfg.Now().Add(nflogConfigTimeout)); err != nil {
		return fmt.Errorf("daemon: nflog: bind: %w", err)
	}
	l.buf = make([]byte, nflogRecvBufSize)
	l.binding = true
	defer func() { l.binding, l.acks = false, nil }()
	for len(l.acks) < len(sent) {
		n, err := l.read()
		if errors.Is(err, unix.ENOBUFS) {
			l.errs.Add(1)
			continue
		}
		if err != nil {
			return fmt.Errorf("daemon: nflog: bind: waiting for the kernel: %w", err)
		}
		l.handleDatagram(l.buf[:n])
	}
	if err := l.conn.SetReadDeadline(time.Time{}); err != nil {
		return fmt.Errorf("daemon: nflog: bind: %w", err)
	}
	var errs []error
	bound := 0
	for i, m := range sent {
		errno := int32(-1)
		for _, a := range l.acks {
			if a.seq == m.Header.Sequence {
				errno = a.errno
			}
		}
		g := groups[i]
		switch {
		case errno == 0:
			bound++
			continue
		case errno < 0:
			err = errors.New("no answer from the kernel")
		case errno == int32(unix.EPERM):
			err = fmt.Errorf("%w (another process, ulogd or another septad, holds the group)", unix.EPERM)
		default:
			err = unix.Errno(errno)
		}
		err = fmt.Errorf("daemon: nflog: bind group %d: %w", g.num, err)
		errs = append(errs, err)
		l.log.Warn("kernel log messages of a group are not reported", "group", g.num, "error", err)
		l.groups[g.role-1].num = 0
	}
	if bound == 0 {
		return errors.Join(errs...)
	}
	return nil
}

// Stats returns the listener's counters.
func (l *NFLOGListener) Stats() NFLOGStats {
	return NFLOGStats{
		Received:   l.received.Load(),
		Published:  l.published.Load(),
		Suppressed: l.suppressed.Load(),
		Errors:     l.errs.Load(),
	}
}

// Done is closed when the receive loop has ended and the socket is
// closed (the kernel then releases the groups).
func (l *NFLOGListener) Done() <-chan struct{} { return l.done }

// run is the receive loop. It ends when ctx does, or on a receive error
// other than ENOBUFS.
func (l *NFLOGListener) run(ctx context.Context) {
	defer close(l.done)
	defer l.conn.Close()
	// A deadline in the past wakes the blocked read.
	stop := context.AfterFunc(ctx, func() { l.conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	for {
		n, err := l.read()
		if ctx.Err() != nil {
			return
		}
		switch {
		case err == nil:
			l.handleDatagram(l.buf[:n])
		case errors.Is(err, unix.EINTR):
		case errors.Is(err, unix.ENOBUFS):
			// ENOBUFS: the socket buffer overflowed and the kernel
			// dropped log messages; the socket itself is fine.
			l.errs.Add(1)
			if now := l.cfg.Now(); now.Sub(l.lastWarn) >= nflogWarnEvery {
				l.lastWarn = now
				l.log.Warn("nflog: the kernel dropped log messages (socket buffer full)", "errors", l.errs.Load())
			}
		default:
			l.errs.Add(1)
			l.log.Error("nflog: receive failed; kernel log messages are no longer reported", "error", err)
			return
		}
	}
}

// read receives one datagram into l.buf.
func (l *NFLOGListener) read() (int, error) {
	l.n, l.rerr = 0, nil
	if err := l.raw.Read(l.readFD); err != nil {
		return 0, err
	}
	return l.n, l.rerr
}

func (l *NFLOGListener) readOnce(fd uintptr) bool {
	l.n, l.rerr = unix.Read(int(fd), l.buf)
	return l.rerr != unix.EAGAIN
}

// nflogMessage is one netlink message of a datagram.
type nflogMessage struct {
	typ   uint16
	seq   uint32
	body  []byte // after struct nlmsghdr
	valid bool
}

// nextNetlinkMessage splits the first netlink message off b. ok is false
// when b holds no more messages; msg.valid is false (and rest empty)
// when the message's length is impossible, since nothing after it can
// be trusted then.
//
//	struct nlmsghdr { u32 nlmsg_len; u16 nlmsg_type; u16 nlmsg_flags; u32 nlmsg_seq; u32 nlmsg_pid; }
//
// host-endian, each message padded to 4 bytes (NLMSG_ALIGN).
func nextNetlinkMessage(b []byte) (msg nflogMessage, rest []byte, ok bool) {
	if len(b) < nflogNlmsgHdrLen {
		return nflogMessage{}, nil, false
	}
	mlen := int(binary.NativeEndian.Uint32(b[0:4]))
	if mlen < nflogNlmsgHdrLen || mlen > len(b) {
		return nflogMessage{}, nil, true
	}
	msg = nflogMessage{
		typ:   binary.NativeEndian.Uint16(b[4:6]),
		seq:   binary.NativeEndian.Uint32(b[8:12]),
		body:  b[nflogNlmsgHdrLen:mlen],
		valid: true,
	}
	return msg, b[min(len(b), (mlen+3)&^3):], true
}

// nflogPacket is one NFULNL_MSG_PACKET. Its slices alias the receive
// buffer.
type nflogPacket struct {
	Family  uint8  // nfgenmsg: NFPROTO_IPV4 (2) or NFPROTO_IPV6 (10) for inet tables
	Group   uint16 // nfgenmsg res_id
	Hook    uint8  // NF_INET_LOCAL_IN (1), NF_INET_FORWARD (2), NF_INET_LOCAL_OUT (3), ...
	HasHdr  bool
	Prefix  []byte // without its NUL
	Payload []byte
}

// parseNFLOGPacket reads the body of an NFULNL_MSG_PACKET in place
// (__build_packet_message in net/netfilter/nfnetlink_log.c):
//
//	struct nfgenmsg { u8 nfgen_family; u8 version; be16 res_id /* the group */ }
//	struct nlattr   { u16 nla_len; u16 nla_type } + value, padded to 4, repeated:
//	  NFULA_PACKET_HDR  struct nfulnl_msg_packet_hdr { be16 hw_protocol; u8 hook; u8 pad }
//	  NFULA_PREFIX      the prefix and its NUL
//	  NFULA_PAYLOAD     the packet from the network header, at most the copy range
//	  and others (mark, interfaces, hardware address, uid, gid) that are skipped.
//
// It reports false for a body too short for its header, or an attribute
// whose length runs past the body.
func parseNFLOGPacket(body []byte, p *nflogPacket) bool {
	*p = nflogPacket{}
	if len(body) < nflogNfgenHdrLen {
		return false
	}
	p.Family = body[0]
	p.Group = binary.BigEndian.Uint16(body[2:4])
	attrs := body[nflogNfgenHdrLen:]
	for len(attrs) >= nflogNlaHdrLen {
		alen := int(binary.NativeEndian.Uint16(attrs[0:2]))
		atyp := binary.NativeEndian.Uint16(attrs[2:4]) & nlaTypeMask
		if alen < nflogNlaHdrLen || alen > len(attrs) {
			return false
		}
		v := attrs[nflogNlaHdrLen:alen]
		attrs = attrs[min(len(attrs), (alen+3)&^3):]
		switch atyp {
		case nfulaPacketHdr:
			if len(v) >= 3 {
				p.Hook, p.HasHdr = v[2], true
			}
		case nfulaPrefix:
			for len(v) > 0 && v[len(v)-1] == 0 {
				v = v[:len(v)-1]
			}
			p.Prefix = v
		case nfulaPayload:
			p.Payload = v
		}
	}
	return true
}

// handleDatagram handles every message of one datagram: log messages,
// and the kernel's answers to the config requests. It allocates nothing
// unless a packet becomes an event.
func (l *NFLOGListener) handleDatagram(b []byte) {
	var p nflogPacket
	for {
		msg, rest, ok := nextNetlinkMessage(b)
		if !ok {
			return
		}
		if !msg.valid {
			l.errs.Add(1)
			return
		}
		b = rest
		switch msg.typ {
		case nfnlSubsysULOG<<8 | nfulnlMsgPacket:
			l.received.Add(1)
			if !parseNFLOGPacket(msg.body, &p) {
				l.errs.Add(1)
				continue
			}
			l.handlePacket(&p)
		case unix.NLMSG_ERROR:
			// struct nlmsgerr { int error; struct nlmsghdr msg; ... }:
			// error 0 is an ack.
			if len(msg.body) < 4 {
				l.errs.Add(1)
				continue
			}
			errno := -int32(binary.NativeEndian.Uint32(msg.body[0:4]))
			if l.binding {
				l.acks = append(l.acks, nflogAck{seq: msg.seq, errno: errno})
			} else if errno != 0 {
				l.errs.Add(1)
			}
		}
		// NLMSG_DONE ends a batch of several log messages (NLM_F_MULTI);
		// NLMSG_NOOP and anything else carry nothing for us.
	}
}

// handlePacket turns one logged packet into an event, unless its flow
// key was published within the window.
func (l *NFLOGListener) handlePacket(p *nflogPacket) {
	role := l.roleOf(p.Group)
	if role == nflogRoleUnknown || len(p.Prefix) == 0 {
		// Not septa's: every log statement septa writes has a prefix.
		return
	}
	clampIPLength(p.Payload)
	pk := &l.pkt
	packet.Decode(p.Payload, pk)
	// Whatever the status, the addresses are real when they were read:
	// the kernel logged this packet, and a header cut by the copy range
	// (a TCP header with long options) still names the flow.
	if !pk.Src.IsValid() || !pk.Dst.IsValid() {
		l.errs.Add(1)
		return
	}
	rule := l.ruleOf(p.Prefix)
	now := l.cfg.Now()
	key := nflogKey{src: pk.Src, dst: pk.Dst, dport: pk.DstPort, proto: pk.Proto, role: role, rule: rule}
	if !l.dedupe.admit(key, now.Sub(l.start)) {
		l.suppressed.Add(1)
		return
	}
	e := nflogEvent(role, rule, pk, now)
	if l.cfg.Enrich != nil {
		l.cfg.Enrich(e)
	}
	l.cfg.Publish(e)
	l.published.Add(1)
}

func (l *NFLOGListener) roleOf(group uint16) nflogRole {
	for _, g := range l.groups {
		if g.num != 0 && g.num == group {
			return g.role
		}
	}
	return nflogRoleUnknown
}

// ruleOf returns the rule ID a prefix names: "" for the policy default
// (as in events.Event.Rule), the interned prefix otherwise. The map
// lookup with a converted key does not allocate; a new prefix does,
// once.
func (l *NFLOGListener) ruleOf(prefix []byte) string {
	if string(prefix) == nft.IDDefault {
		return ""
	}
	if s, ok := l.rules[string(prefix)]; ok {
		return s
	}
	if len(l.rules) >= nflogMaxRules {
		clear(l.rules) // policies are far smaller; this bounds foreign prefixes
	}
	s := string(prefix)
	l.rules[s] = s
	return s
}

// clampIPLength lowers the IP header's length to the bytes the kernel
// copied (at most nflogCopyRange), so that packet.Decode, which refuses
// a packet shorter than its header says, reads the headers that were
// copied. The buffer is ours until the next receive.
func clampIPLength(b []byte) {
	if len(b) < 1 {
		return
	}
	switch b[0] >> 4 {
	case 4: // RFC 791: total length at bytes 2-3
		if len(b) >= 20 && int(binary.BigEndian.Uint16(b[2:4])) > len(b) {
			binary.BigEndian.PutUint16(b[2:4], uint16(len(b)))
		}
	case 6: // RFC 8200: payload length (after the 40-byte header) at bytes 4-5
		if len(b) >= 40 && 40+int(binary.BigEndian.Uint16(b[4:6])) > len(b) {
			binary.BigEndian.PutUint16(b[4:6], uint16(len(b)-40))
		}
	}
}

// nflogEvent is the event of a logged packet. The kernel logs a flow's
// first packets, before conntrack confirms it, so the packet's source is
// the client. It cannot tell a reject from a deny: the daemon's enrich
// (enrichNFLOG) corrects the action from the policy.
func nflogEvent(role nflogRole, rule string, p *packet.Packet, now time.Time) *events.Event {
	e := &events.Event{
		Kind:   events.KindFlow,
		Time:   now,
		Src:    netip.AddrPortFrom(p.Src, p.SrcPort),
		Dst:    netip.AddrPortFrom(p.Dst, p.DstPort),
		Proto:  p.Proto,
		Rule:   rule,
		Action: ir.ActionDeny.String(),
		Reason: packet.ReasonPolicy.String(),
		Start:  now,
		// The kernel decided: a record of a denied flow is made of
		// this event alone (records_tracker.go).
		Decider: events.DeciderKernel,
	}
	if rule == "" {
		e.Reason = packet.ReasonDefault.String()
	}
	switch role {
	case nflogRoleDeny:
		e.Kind = events.KindDrop
	case nflogRoleObserve:
		e.Observe = true
	case nflogRoleAllow:
		e.Action = ir.ActionAllow.String()
	}
	e.FlowID = events.FlowID(e.Src, e.Dst, e.Proto, now)
	return e
}

// nflogKey is what makes two logged packets the same for
// de-duplication: not the source port, which a client's retries change.
type nflogKey struct {
	src, dst netip.Addr
	dport    uint16
	proto    uint8
	role     nflogRole
	rule     string
}

// nflogDedupe admits one event per key per window, in bounded memory: a
// ring of at most max keys in the order they were admitted, which is
// also the order they expire in, and an index into it. When the ring is
// full of keys still within their window, the oldest is forgotten early
// (its flow may then get a second event sooner): memory stays bounded
// whatever a scanner sends.
type nflogDedupe struct {
	window time.Duration
	ring   []nflogSlot
	head   int // the oldest slot
	n      int // slots in use
	index  map[nflogKey]int
}

type nflogSlot struct {
	key nflogKey
	at  time.Duration // when the key was admitted, on the listener's clock
}

func newNFLOGDedupe(window time.Duration, max int) *nflogDedupe {
	return &nflogDedupe{window: window, ring: make([]nflogSlot, max), index: make(map[nflogKey]int, max)}
}

// admit reports whether k's event may be published at now (monotonic,
// since the listener started), and if so records k.
func (d *nflogDedupe) admit(k nflogKey, now time.Duration) bool {
	for d.n > 0 && now-d.ring[d.head].at >= d.window {
		d.pop()
	}
	if _, ok := d.index[k]; ok {
		return false
	}
	if d.n == len(d.ring) {
		d.pop()
	}
	tail := (d.head + d.n) % len(d.ring)
	d.ring[tail] = nflogSlot{key: k, at: now}
	d.index[k] = tail
	d.n++
	return true
}

func (d *nflogDedupe) pop() {
	delete(d.index, d.ring[d.head].key)
	d.ring[d.head] = nflogSlot{}
	d.head = (d.head + 1) % len(d.ring)
	d.n--
}

// len is the number of keys held.
func (d *nflogDedupe) len() int { return d.n }

// startNFLOG starts the NFLOG listener on the groups the kernel rules log
// to, publishing on the daemon's bus, and registers its counters. Without
// it (another process holds the groups) the daemon runs on, and kernel
// decisions are missing from the events: that is logged.
func (d *Daemon) startNFLOG(ctx context.Context) *NFLOGListener {
	ncfg := d.nftConfig()
	l, err := ListenNFLOG(ctx, NFLOGConfig{
		DenyGroup:    ncfg.LogGroupDeny,
		ObserveGroup: ncfg.LogGroupObserve,
		AllowGroup:   ncfg.LogGroupAllow,
		Publish:      d.bus.Publish,
		Enrich:       d.enrichNFLOG,
		Logger:       d.log.With("component", "nflog"),
	})
	if err != nil {
		d.log.Warn("kernel-decided traffic is not reported as events", "error", err)
		return nil
	}
	if d.registry != nil {
		if err := registerNFLOGMetrics(d.registry, l); err != nil {
			d.log.Warn("nflog metrics", "error", err)
		}
	}
	return l
}

// registerNFLOGMetrics exports the listener's counters.
func registerNFLOGMetrics(reg prometheus.Registerer, l *NFLOGListener) error {
	counter := func(name, help string, f func(NFLOGStats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: events.Namespace, Name: name, Help: help},
			func() float64 { return float64(f(l.Stats())) })
	}
	for _, c := range []prometheus.Collector{
		counter("nflog_packets_total", "Packets the kernel logged (NFLOG) and septad read.", func(s NFLOGStats) uint64 { return s.Received }),
		counter("nflog_events_total", "Events made of kernel log messages.", func(s NFLOGStats) uint64 { return s.Published }),
		counter("nflog_suppressed_total", "Kernel log messages that repeated a flow within the window.", func(s NFLOGStats) uint64 { return s.Suppressed }),
		counter("nflog_errors_total", "Kernel log messages lost (ENOBUFS) or malformed.", func(s NFLOGStats) uint64 { return s.Errors }),
	} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("daemon: metrics: %w", err)
		}
	}
	return nil
}

// enrichNFLOG completes an event of the kernel's log: zones and groups as
// for the inspector's events, and the action of the rule that logged it,
// which the log message does not carry (a reject logs to the deny group).
func (d *Daemon) enrichNFLOG(e *events.Event) {
	d.enrich(e)
	if e.Rule == "" || e.Action != ir.ActionDeny.String() {
		return
	}
	if p := d.policy.Load(); p != nil {
		if a, ok := ruleAction(p.IR(), e.Rule); ok && a == ir.ActionReject {
			e.Action = a.String()
		}
	}
}

// ruleAction returns the action of the rule a log prefix names; the
// prefix is the rule ID, cut to nflogMaxPrefix bytes.
func ruleAction(p *ir.Policy, prefix string) (ir.Action, bool) {
	for i := range p.Rules {
		id := p.Rules[i].ID
		if id == prefix || len(prefix) == nflogMaxPrefix && strings.HasPrefix(id, prefix) {
			return p.Rules[i].Action, true
		}
	}
	return 0, false
}
