package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/mdlayher/netlink"
	"github.com/ti-mo/conntrack"
	"golang.org/x/sys/unix"
)

// timestampSysctl turns on conntrack's start and stop times (KERNEL.md:
// DESTROY events arrive 20-50 s late, so a record's end is the flow's
// stop time, which needs nf_conntrack_timestamp=1).
const timestampSysctl = "/proc/sys/net/netfilter/nf_conntrack_timestamp"

// enableConntrackTimestamps switches the timestamps on in this network
// namespace, if it can. Like the counters, they apply to flows created
// from then on.
func enableConntrackTimestamps() error {
	return os.WriteFile(timestampSysctl, []byte("1"), 0)
}

// nfnlgrpConntrackDestroy is NFNLGRP_CONNTRACK_DESTROY
// (include/uapi/linux/netfilter/nfnetlink.h): the multicast group of
// conntrack's flow ends. NEW and UPDATE are not joined: an end carries
// the counters, the times and the mark, and records are written at the
// end only.
const nfnlgrpConntrackDestroy = 3

// conntrackReadBuffer is the event socket's receive buffer: about 20,000
// DESTROY messages (some 400 bytes each) of a burst.
const conntrackReadBuffer = 8 << 20

// ConntrackListener reads conntrack's flow ends (DESTROY events) of the
// network namespace septad runs in and hands them to a RecordTracker.
type ConntrackListener struct {
	conn    *netlink.Conn
	tracker *RecordTracker
	log     *slog.Logger
	done    chan struct{}
}

// ListenConntrack joins conntrack's DESTROY group and feeds the tracker
// until ctx ends.
func ListenConntrack(ctx context.Context, t *RecordTracker, log *slog.Logger) (*ConntrackListener, error) {
	conn, err := netlink.Dial(unix.NETLINK_NETFILTER, nil)
	if err != nil {
		return nil, fmt.Errorf("daemon: conntrack events: %w", err)
	}
	if err := conn.JoinGroup(nfnlgrpConntrackDestroy); err != nil {
		conn.Close()
		return nil, fmt.Errorf("daemon: conntrack events: join group: %w", err)
	}
	setRecvBuffer(conn, conntrackReadBuffer, log)
	l := &ConntrackListener{conn: conn, tracker: t, log: log, done: make(chan struct{})}
	go l.run(ctx)
	return l, nil
}

// setRecvBuffer sizes a netlink socket's receive buffer: SO_RCVBUFFORCE
// first, which root may set past net.core.rmem_max, else SO_RCVBUF.
func setRecvBuffer(conn *netlink.Conn, n int, log *slog.Logger) {
	if raw, err := conn.SyscallConn(); err == nil {
		var serr error
		if err := raw.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, n)
		}); err == nil && serr == nil {
			return
		}
	}
	if err := conn.SetReadBuffer(n); err != nil {
		log.Warn("conntrack events: socket receive buffer not enlarged", "bytes", n, "error", err)
	}
}

// conntrackHolds returns a function that asks conntrack whether it holds
// a flow (an exact lookup, not a dump), and the connection to close.
// The query names the flow by its reply tuple, server to client, which is
// the flow's whether or not its destination was NATed.
func conntrackHolds() (func(src, dst netip.AddrPort, proto uint8) bool, func() error, error) {
	c, err := conntrack.Dial(nil)
	if err != nil {
		return nil, nil, fmt.Errorf("daemon: conntrack: %w", err)
	}
	var mu sync.Mutex
	holds := func(src, dst netip.AddrPort, proto uint8) bool {
		var f conntrack.Flow
		r := &f.TupleReply
		r.IP.SourceAddress, r.IP.DestinationAddress = dst.Addr(), src.Addr()
		r.Proto.Protocol, r.Proto.SourcePort, r.Proto.DestinationPort = proto, dst.Port(), src.Port()
		mu.Lock()
		defer mu.Unlock()
		_, err := c.Get(f)
		return err == nil
	}
	return holds, c.Close, nil
}

// Done is closed when the receive loop has ended.
func (l *ConntrackListener) Done() <-chan struct{} { return l.done }

func (l *ConntrackListener) run(ctx context.Context) {
	defer close(l.done)
	defer l.conn.Close()
	stop := context.AfterFunc(ctx, func() { l.conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	var lastWarn time.Time
	for {
		msgs, err := l.conn.Receive()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			if errors.Is(err, unix.ENOBUFS) {
				// The kernel dropped events: their flows get no record.
				l.tracker.Lost(1)
				if time.Since(lastWarn) >= time.Minute {
					lastWarn = time.Now()
					l.log.Warn("conntrack events lost (socket buffer full): some flows get no record")
				}
				continue
			}
			if errors.Is(err, unix.EINTR) {
				continue
			}
			l.log.Error("conntrack events: receive failed; no more flow records", "error", err)
			return
		}
		now := time.Now()
		for _, m := range msgs {
			handleConntrackMessage(l.tracker, m, now)
		}
	}
}

// handleConntrackMessage decodes one netlink message of the DESTROY
// group and hands a flow's end to the tracker.
func handleConntrackMessage(t *RecordTracker, m netlink.Message, arrived time.Time) {
	var ev conntrack.Event
	if err := ev.Unmarshal(m); err != nil {
		t.Lost(1)
		return
	}
	if ev.Type != conntrack.EventDestroy || ev.Flow == nil {
		return
	}
	fe, ok := flowEnd(ev.Flow)
	if !ok {
		t.Lost(1)
		return
	}
	t.End(&fe, arrived)
}

// flowEnd reads what a record needs from a conntrack flow. The client is
// the original direction's source; the server is the address the
// firewall saw, which for a destination-NATed flow is the reply
// direction's source (DNAT happens in prerouting, before septa's chains).
func flowEnd(f *conntrack.Flow) (FlowEnd, bool) {
	o, r := f.TupleOrig, f.TupleReply
	if !o.IP.SourceAddress.IsValid() || !o.IP.DestinationAddress.IsValid() {
		return FlowEnd{}, false
	}
	fe := FlowEnd{
		Src:         netip.AddrPortFrom(o.IP.SourceAddress.Unmap(), o.Proto.SourcePort),
		Dst:         netip.AddrPortFrom(o.IP.DestinationAddress.Unmap(), o.Proto.DestinationPort),
		Proto:       o.Proto.Protocol,
		PacketsOrig: f.CountersOrig.Packets, BytesOrig: f.CountersOrig.Bytes,
		PacketsReply: f.CountersReply.Packets, BytesReply: f.CountersReply.Bytes,
		Mark: f.Mark,
	}
	if f.Status.DstNAT() && r.IP.SourceAddress.IsValid() {
		fe.Dst = netip.AddrPortFrom(r.IP.SourceAddress.Unmap(), r.Proto.SourcePort)
	}
	if isICMP(fe.Proto) {
		// conntrack's ICMP tuple has the ID and type instead of ports;
		// EVE has no ports for ICMP.
		fe.Src, fe.Dst = netip.AddrPortFrom(fe.Src.Addr(), 0), netip.AddrPortFrom(fe.Dst.Addr(), 0)
	}
	// The kernel sends a timestamp of 0 when the flow was created before
	// nf_conntrack_timestamp was switched on.
	if f.Timestamp.Start.Unix() > 0 {
		fe.Start = f.Timestamp.Start
	}
	if f.Timestamp.Stop.Unix() > 0 {
		fe.Stop = f.Timestamp.Stop
	}
	fe.State = flowState(f)
	return fe, true
}

func isICMP(proto uint8) bool { return proto == 1 || proto == 58 }

// TCP states of conntrack (enum tcp_conntrack in
// include/uapi/linux/netfilter/nf_conntrack_tcp.h).
const (
	tcpCtNone        = 0
	tcpCtSynSent     = 1
	tcpCtSynRecv     = 2
	tcpCtEstablished = 3
	tcpCtSynSent2    = 9
)

// flowState is a flow's state at its end in Suricata's words: new (no
// answer, or a handshake that did not finish), established, or closed (a
// TCP flow that went through FIN or RST).
func flowState(f *conntrack.Flow) string {
	if tcp := f.ProtoInfo.TCP; tcp != nil {
		switch tcp.State {
		case tcpCtNone, tcpCtSynSent, tcpCtSynRecv, tcpCtSynSent2:
			return stateNew
		case tcpCtEstablished:
			return stateEstablished
		}
		return stateClosed
	}
	if f.Status.SeenReply() {
		return stateEstablished
	}
	return stateNew
}
