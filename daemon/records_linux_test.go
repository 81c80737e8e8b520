package daemon

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/netlink"
	"github.com/septa-fw/septa/daemon/events"
	"golang.org/x/sys/unix"
)

// Attributes of a conntrack event (include/uapi/linux/netfilter/
// nfnetlink_conntrack.h), for building the kernel's DESTROY messages in
// tests: what `conntrack -E -e DESTROY` prints, as netlink carries it.
const (
	ctaTupleOrig     = 1
	ctaTupleReply    = 2
	ctaStatus        = 3
	ctaProtoinfo     = 4
	ctaMark          = 8
	ctaCountersOrig  = 9
	ctaCountersReply = 10
	ctaTimestamp     = 20

	ctaTupleIP      = 1
	ctaTupleProto   = 2
	ctaIPv4Src      = 1
	ctaIPv4Dst      = 2
	ctaIPv6Src      = 3
	ctaIPv6Dst      = 4
	ctaProtoNum     = 1
	ctaProtoSrcPort = 2
	ctaProtoDstPort = 3

	ctaProtoinfoTCP      = 1
	ctaProtoinfoTCPState = 1
	ctaCountersPackets   = 1
	ctaCountersBytes     = 2
	ctaTimestampStart    = 1
	ctaTimestampStop     = 2

	ipctnlMsgCtNew    = 0 // IPCTNL_MSG_CT_NEW
	ipctnlMsgCtDelete = 2 // IPCTNL_MSG_CT_DELETE
	nfnlSubsysCT      = 1 // NFNL_SUBSYS_CTNETLINK

	ipsSeenReply = 1 << 1 // IPS_SEEN_REPLY
	ipsDstNAT    = 1 << 5 // IPS_DST_NAT
)

// ctMsg describes a conntrack event message.
type ctMsg struct {
	typ           uint16 // IPCTNL_MSG_CT_*
	orig, reply   [2]netip.AddrPort
	proto         uint8
	status        uint32
	tcpState      int // -1: no CTA_PROTOINFO
	mark          uint32
	counters      [4]uint64 // packets and bytes, original then reply
	start, stop   time.Time // zero: no CTA_TIMESTAMP
	withCounters  bool
	withTimestamp bool
}

// message encodes m as the kernel does: struct nfgenmsg, then the
// attributes, values big-endian, nested attributes flagged NLA_F_NESTED.
func (m ctMsg) message(t testing.TB) netlink.Message {
	t.Helper()
	ae := netlink.NewAttributeEncoder()
	ae.ByteOrder = binary.BigEndian
	tuple := func(typ uint16, ends [2]netip.AddrPort) {
		ae.Nested(typ, func(nae *netlink.AttributeEncoder) error {
			nae.Nested(ctaTupleIP, func(ip *netlink.AttributeEncoder) error {
				if ends[0].Addr().Is4() {
					ip.Bytes(ctaIPv4Src, ends[0].Addr().AsSlice())
					ip.Bytes(ctaIPv4Dst, ends[1].Addr().AsSlice())
				} else {
					ip.Bytes(ctaIPv6Src, ends[0].Addr().AsSlice())
					ip.Bytes(ctaIPv6Dst, ends[1].Addr().AsSlice())
				}
				return nil
			})
			nae.Nested(ctaTupleProto, func(p *netlink.AttributeEncoder) error {
				p.Uint8(ctaProtoNum, m.proto)
				p.Uint16(ctaProtoSrcPort, ends[0].Port())
				p.Uint16(ctaProtoDstPort, ends[1].Port())
				return nil
			})
			return nil
		})
	}
	tuple(ctaTupleOrig, m.orig)
	tuple(ctaTupleReply, m.reply)
	ae.Uint32(ctaStatus, m.status)
	if m.tcpState >= 0 {
		ae.Nested(ctaProtoinfo, func(nae *netlink.AttributeEncoder) error {
			nae.Nested(ctaProtoinfoTCP, func(tcp *netlink.AttributeEncoder) error {
				tcp.Uint8(ctaProtoinfoTCPState, uint8(m.tcpState))
				return nil
			})
			return nil
		})
	}
	ae.Uint32(ctaMark, m.mark)
	if m.withCounters {
		for i, typ := range []uint16{ctaCountersOrig, ctaCountersReply} {
			ae.Nested(typ, func(nae *netlink.AttributeEncoder) error {
				nae.Uint64(ctaCountersPackets, m.counters[2*i])
				nae.Uint64(ctaCountersBytes, m.counters[2*i+1])
				return nil
			})
		}
	}
	if m.withTimestamp {
		ae.Nested(ctaTimestamp, func(nae *netlink.AttributeEncoder) error {
			nae.Uint64(ctaTimestampStart, uint64(m.start.UnixNano()))
			nae.Uint64(ctaTimestampStop, uint64(m.stop.UnixNano()))
			return nil
		})
	}
	attrs, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	fam := byte(unix.AF_INET)
	if m.orig[0].Addr().Is6() {
		fam = unix.AF_INET6
	}
	var flags netlink.HeaderFlags
	if m.typ == ipctnlMsgCtNew {
		flags = netlink.Create | netlink.Excl
	}
	return netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(nfnlSubsysCT<<8 | m.typ), Flags: flags},
		Data:   append([]byte{fam, 0, 0, 0}, attrs...),
	}
}

func TestConntrackMessages(t *testing.T) {
	c4, s4 := netip.MustParseAddrPort("10.0.1.5:40000"), netip.MustParseAddrPort("10.0.2.7:443")
	vip := netip.MustParseAddrPort("10.0.100.1:443")
	c6, s6 := netip.MustParseAddrPort("[fd00::5]:5353"), netip.MustParseAddrPort("[fd00::7]:53")
	start := recT0.Add(-time.Minute)
	stop := recT0.Add(-40 * time.Second)
	arrived := recT0
	tcp := ctMsg{
		typ: ipctnlMsgCtDelete, orig: [2]netip.AddrPort{c4, s4}, reply: [2]netip.AddrPort{s4, c4}, proto: 6,
		status: ipsSeenReply, tcpState: 7, withCounters: true, counters: [4]uint64{12, 2048, 10, 40960},
		withTimestamp: true, start: start, stop: stop,
	}
	record := func(src, dst netip.AddrPort, proto uint8, state string, start, end time.Time, counters [4]uint64) *events.Event {
		idStart := start // a flow without a start time is named by its end
		if idStart.IsZero() {
			idStart = end
		}
		return &events.Event{
			Kind: events.KindFlow, Time: end, FlowID: events.FlowID(src, dst, proto, idStart),
			Src: src, Dst: dst, Proto: proto, Action: "allow", Reason: ReasonUndecided, ZoneSrc: "enriched",
			PacketsToServer: counters[0], BytesToServer: counters[1], PacketsToClient: counters[2], BytesToClient: counters[3],
			Start: start, End: end, State: state, EndReason: reasonTimeout,
		}
	}
	tests := []struct {
		name     string
		msg      func() ctMsg
		want     []*events.Event
		wantLost uint64
	}{
		{
			name: "TCP flow ends in TIME_WAIT",
			msg:  func() ctMsg { return tcp },
			want: []*events.Event{record(c4, s4, 6, stateClosed, start, stop, tcp.counters)},
		},
		{
			name: "destination NAT: the server is the reply's source",
			msg: func() ctMsg {
				m := tcp
				m.orig, m.status = [2]netip.AddrPort{c4, vip}, ipsSeenReply|ipsDstNAT
				return m
			},
			want: []*events.Event{record(c4, s4, 6, stateClosed, start, stop, tcp.counters)},
		},
		{
			name: "TCP handshake that never finished",
			msg:  func() ctMsg { m := tcp; m.tcpState = 1; return m },
			want: []*events.Event{record(c4, s4, 6, stateNew, start, stop, tcp.counters)},
		},
		{
			name: "UDP over IPv6 with an answer",
			msg: func() ctMsg {
				m := tcp
				m.orig, m.reply, m.proto, m.tcpState = [2]netip.AddrPort{c6, s6}, [2]netip.AddrPort{s6, c6}, 17, -1
				return m
			},
			want: []*events.Event{record(c6, s6, 17, stateEstablished, start, stop, tcp.counters)},
		},
		{
			name: "no timestamps or counters: the end is when conntrack told",
			msg:  func() ctMsg { m := tcp; m.withTimestamp, m.withCounters = false, false; return m },
			want: []*events.Event{record(c4, s4, 6, stateClosed, time.Time{}, arrived, [4]uint64{})},
		},
		{
			name: "a NEW event is not an end",
			msg:  func() ctMsg { m := tcp; m.typ = ipctnlMsgCtNew; return m },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRecordRig(t, RecordTrackerConfig{})
			handleConntrackMessage(r.t, tt.msg().message(t), arrived)
			if diff := cmp.Diff(tt.want, r.records, eventOpts); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
			if st := r.t.Stats(); st.Lost != 0 {
				t.Errorf("%d lost", st.Lost)
			}
		})
	}
	t.Run("malformed messages are counted", func(t *testing.T) {
		r := newRecordRig(t, RecordTrackerConfig{})
		m := tcp.message(t)
		m.Data = m.Data[:len(m.Data)-3]
		handleConntrackMessage(r.t, m, arrived)
		handleConntrackMessage(r.t, netlink.Message{Header: netlink.Header{Type: netlink.HeaderType(7 << 8)}, Data: []byte{2, 0, 0, 0}}, arrived)
		if st := r.t.Stats(); st.Lost != 2 || len(r.records) != 0 {
			t.Errorf("stats %+v, %d records: want 2 lost, none written", st, len(r.records))
		}
	})
}

// FuzzConntrackMessage: any message body is decoded or counted, never a
// panic.
func FuzzConntrackMessage(f *testing.F) {
	c, s := netip.MustParseAddrPort("10.0.1.5:40000"), netip.MustParseAddrPort("10.0.2.7:443")
	m := ctMsg{typ: ipctnlMsgCtDelete, orig: [2]netip.AddrPort{c, s}, reply: [2]netip.AddrPort{s, c}, proto: 6,
		tcpState: 3, withCounters: true, withTimestamp: true, start: recT0, stop: recT0.Add(time.Second)}
	f.Add(m.message(f).Data)
	f.Fuzz(func(t *testing.T, data []byte) {
		r := newRecordRig(t, RecordTrackerConfig{})
		handleConntrackMessage(r.t, netlink.Message{Header: netlink.Header{Type: netlink.HeaderType(nfnlSubsysCT<<8 | ipctnlMsgCtDelete)}, Data: data}, recT0)
		if st := r.t.Stats(); uint64(len(r.records))+st.Lost+st.Local+st.RateDropped > 1 {
			t.Fatalf("one message gave %d records and stats %+v", len(r.records), st)
		}
	})
}
