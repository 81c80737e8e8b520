package nft

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/google/nftables/xt"
	"golang.org/x/sys/unix"
)

// This file turns planned statements into google/nftables expressions.
// Each encoding is the one nft itself emits for the statement's String
// (compare `nft --debug=netlink add rule inet t c <stmt>`).

const (
	reg1 = 1 // NFT_REG_1: a 16-byte register, wide enough for an IPv6 address

	// metaKeyTimeNS is NFT_META_TIME_NS (include/uapi/linux/netfilter/
	// nf_tables.h, enum nft_meta_keys: ... NFT_META_BRI_IIFVPROTO = 29,
	// NFT_META_TIME_NS = 30); x/sys/unix does not have it.
	metaKeyTimeNS = 30

	// xt_NFQUEUE.h: NFQ_FLAG_BYPASS, NFQ_FLAG_CPU_FANOUT.
	nfqFlagBypass = 0x01
	nfqFlagFanout = 0x02

	// elementsPerMessage bounds the elements of one NEWSETELEM message:
	// the element list is one netlink attribute, whose length is 16 bits.
	elementsPerMessage = 1024

	// enum ip_conntrack_dir (include/linux/netfilter/nf_conntrack_tuple_common.h)
	ctDirOriginal = 0
	ctDirReply    = 1
)

// nfqueueInfoV3 is struct xt_NFQ_info_v3 (include/uapi/linux/netfilter/
// xt_NFQUEUE.h) in host byte order: u16 queuenum, u16 queues_total,
// u16 flags, and 2 bytes of padding to the struct's 4-byte alignment
// (XT_ALIGN makes the kernel expect 8 bytes).
func nfqueueInfoV3(num, total uint16, flags uint16) []byte {
	b := make([]byte, 8)
	binary.NativeEndian.PutUint16(b[0:], num)
	binary.NativeEndian.PutUint16(b[2:], total)
	binary.NativeEndian.PutUint16(b[4:], flags)
	return b
}

// ruleUserData is the rule's comment TLV (what `nft list` shows as
// comment "ID").
func ruleUserData(id string) []byte {
	return userdata.AppendString(nil, userdata.TypeComment, id)
}

// ruleIDOf reads a rule's ID back from its userdata.
func ruleIDOf(ud []byte) string {
	if len(ud) < 2 {
		return ""
	}
	s, _ := userdata.GetString(ud, userdata.TypeComment)
	return s
}

func addrKey(a netip.Addr) []byte {
	if a.Is4() {
		b := a.As4()
		return b[:]
	}
	b := a.As16()
	return b[:]
}

// rangeElements are the kernel elements of ranges: a start, and the next
// address flagged as interval end (none if the range runs to the end of
// the address space).
func rangeElements(rs []addrRange) []nftables.SetElement {
	out := make([]nftables.SetElement, 0, 2*len(rs))
	for _, r := range rs {
		out = append(out, nftables.SetElement{Key: addrKey(r.from)})
		if next := r.to.Next(); next.IsValid() {
			out = append(out, nftables.SetElement{Key: addrKey(next), IntervalEnd: true})
		}
	}
	return out
}

func u16(v uint16) []byte { return binaryutil.BigEndian.PutUint16(v) }

// portElements are an interval set of inet_service for port ranges.
func portElements(rs []PortRange) []nftables.SetElement {
	out := make([]nftables.SetElement, 0, 2*len(rs))
	for _, r := range rs {
		out = append(out, nftables.SetElement{Key: u16(r.First)})
		if r.Last < 0xffff {
			out = append(out, nftables.SetElement{Key: u16(r.Last + 1), IntervalEnd: true})
		}
	}
	return out
}

func setKeyType(f Family) nftables.SetDatatype {
	if f == FamilyIPv6 {
		return nftables.TypeIP6Addr
	}
	return nftables.TypeIPAddr
}

func nfproto(f Family) byte {
	if f == FamilyIPv6 {
		return unix.NFPROTO_IPV6
	}
	return unix.NFPROTO_IPV4
}

func addrLen(f Family) uint32 {
	if f == FamilyIPv6 {
		return 16
	}
	return 4
}

// encoder adds a plan's rules to a batch; anonymous sets go into the same
// batch, just before the rule that uses them.
type encoder struct {
	conn  *nftables.Conn
	table *nftables.Table
}

func (e *encoder) rule(chain *nftables.Chain, r Rule) error {
	var exprs []expr.Any
	for _, s := range r.Stmts {
		x, err := e.stmt(s)
		if err != nil {
			return fmt.Errorf("rule %q: %s: %w", r.ID, s, err)
		}
		exprs = append(exprs, x...)
	}
	e.conn.AddRule(&nftables.Rule{Table: e.table, Chain: chain, Exprs: exprs, UserData: ruleUserData(r.ID)})
	return nil
}

func (e *encoder) anonSet(keyType nftables.SetDatatype, elems []nftables.SetElement) (*nftables.Set, error) {
	s := &nftables.Set{Table: e.table, Anonymous: true, Constant: true, Interval: true, KeyType: keyType}
	if err := e.conn.AddSet(s, elems); err != nil {
		return nil, err
	}
	return s, nil
}

func (e *encoder) stmt(s Stmt) ([]expr.Any, error) {
	ne := binaryutil.NativeEndian
	switch s := s.(type) {
	case CtState:
		// ct state is a host-endian bitmask: [ ct load state => reg 1 ]
		// [ bitwise reg 1 = (reg=1 & bits) ^ 0 ] [ cmp neq reg 1 0 ]
		return []expr.Any{
			&expr.Ct{Register: reg1, Key: expr.CtKeySTATE},
			&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4, Mask: ne.PutUint32(s.Bits), Xor: ne.PutUint32(0)},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: reg1, Data: ne.PutUint32(0)},
		}, nil
	case CtDirection:
		dir := byte(ctDirOriginal)
		if s.Reply {
			dir = ctDirReply
		}
		return []expr.Any{
			&expr.Ct{Register: reg1, Key: expr.CtKeyDIRECTION},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{dir}},
		}, nil
	case CtMark:
		return []expr.Any{
			&expr.Ct{Register: reg1, Key: expr.CtKeyMARK},
			&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4, Mask: ne.PutUint32(s.Mask), Xor: ne.PutUint32(0)},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: ne.PutUint32(s.Value)},
		}, nil
	case MetaMark:
		return []expr.Any{
			&expr.Meta{Register: reg1, Key: expr.MetaKeyMARK},
			&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4, Mask: ne.PutUint32(s.Mask), Xor: ne.PutUint32(0)},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: ne.PutUint32(s.Value)},
		}, nil
	case SetCtMark:
		// ct mark set ct mark & ^mask | value: the bitwise keeps the bits
		// outside the mask and, the field being zero after the AND, the
		// XOR writes the value.
		return []expr.Any{
			&expr.Ct{Register: reg1, Key: expr.CtKeyMARK},
			&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4, Mask: ne.PutUint32(^s.Mask), Xor: ne.PutUint32(s.Value & s.Mask)},
			&expr.Ct{Register: reg1, Key: expr.CtKeyMARK, SourceRegister: true},
		}, nil
	case ClearMetaMark:
		return []expr.Any{
			&expr.Meta{Register: reg1, Key: expr.MetaKeyMARK},
			&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4, Mask: ne.PutUint32(^s.Mask), Xor: ne.PutUint32(0)},
			&expr.Meta{Register: reg1, Key: expr.MetaKeyMARK, SourceRegister: true},
		}, nil
	case Iface:
		key := expr.MetaKeyIIF
		if s.Out {
			key = expr.MetaKeyOIF
		}
		return []expr.Any{
			&expr.Meta{Register: reg1, Key: key},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: ne.PutUint32(s.Index)},
		}, nil
	case NFProto:
		return []expr.Any{
			&expr.Meta{Register: reg1, Key: expr.MetaKeyNFPROTO},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{nfproto(s.Family)}},
		}, nil
	case Addr:
		return e.addr(s)
	case TCPFlags:
		// [ payload load 1b @ transport header + 13 => reg 1 ]
		// [ bitwise reg 1 = (reg=1 & mask) ^ 0x00 ] [ cmp eq reg 1 value ]
		return []expr.Any{
			&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseTransportHeader, Offset: 13, Len: 1},
			&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 1, Mask: []byte{s.Mask}, Xor: []byte{0}},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{s.Value}},
		}, nil
	case TCPHandshake:
		// [ payload load 1b @ transport header + 13 => reg 1 ]
		// [ bitwise reg 1 = (reg=1 & 0x17) ^ 0x00 ] [ cmp eq reg 1 0x02 ]
		// [ exthdr load tcpopt 1b @ 34 + 0 present => reg 1 ] [ cmp eq reg 1 0x00 ]
		// (RFC 9293 3.1: flags in byte 13; RFC 7413: option kind 34)
		want := byte(tcpFlagSyn)
		if s.Reply {
			want |= tcpFlagAck
		}
		return []expr.Any{
			&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseTransportHeader, Offset: 13, Len: 1},
			&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 1,
				Mask: []byte{tcpFlagFin | tcpFlagSyn | tcpFlagRst | tcpFlagAck}, Xor: []byte{0}},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{want}},
			&expr.Exthdr{DestRegister: reg1, Op: expr.ExthdrOpTcpopt, Type: tcpOptFastOpen, Offset: 0, Len: 1, Flags: unix.NFT_EXTHDR_F_PRESENT},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{0}},
		}, nil
	case L4Proto:
		return []expr.Any{
			&expr.Meta{Register: reg1, Key: expr.MetaKeyL4PROTO},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{byte(s.Proto)}},
		}, nil
	case Port:
		// th sport / th dport: the first two 16-bit words of the TCP,
		// UDP and SCTP headers (RFC 9293, 768, 9260).
		off := uint32(2)
		if s.Src {
			off = 0
		}
		load := &expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseTransportHeader, Offset: off, Len: 2}
		switch {
		case len(s.Ranges) == 0:
			return nil, fmt.Errorf("no port ranges")
		case len(s.Ranges) == 1 && s.Ranges[0].First == s.Ranges[0].Last:
			return []expr.Any{load, &expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: u16(s.Ranges[0].First)}}, nil
		case len(s.Ranges) == 1:
			return []expr.Any{load, &expr.Range{Op: expr.CmpOpEq, Register: reg1, FromData: u16(s.Ranges[0].First), ToData: u16(s.Ranges[0].Last)}}, nil
		}
		set, err := e.anonSet(nftables.TypeInetService, portElements(s.Ranges))
		if err != nil {
			return nil, err
		}
		return []expr.Any{load, &expr.Lookup{SourceRegister: reg1, SetName: set.Name, SetID: set.ID}}, nil
	case ICMPv6Type:
		return []expr.Any{
			&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 1},
			&expr.Range{Op: expr.CmpOpEq, Register: reg1, FromData: []byte{s.First}, ToData: []byte{s.Last}},
		}, nil
	case TimeBefore:
		// meta time is host-endian nanoseconds; nft converts it to big
		// endian before an ordered comparison (cmp works bytewise).
		return []expr.Any{
			&expr.Meta{Register: reg1, Key: expr.MetaKey(metaKeyTimeNS)},
			&expr.Byteorder{SourceRegister: reg1, DestRegister: reg1, Op: expr.ByteorderHton, Len: 8, Size: 8},
			&expr.Cmp{Op: expr.CmpOpLt, Register: reg1, Data: binaryutil.BigEndian.PutUint64(uint64(s.T.UnixNano()))},
		}, nil
	case Counter:
		return []expr.Any{&expr.Counter{}}, nil
	case Log:
		return []expr.Any{&expr.Log{
			Key:   1<<unix.NFTA_LOG_GROUP | 1<<unix.NFTA_LOG_PREFIX,
			Group: s.Group,
			Data:  []byte(s.Prefix),
		}}, nil
	case Verdict:
		switch s.Kind {
		case VerdictAccept:
			return []expr.Any{&expr.Verdict{Kind: expr.VerdictAccept}}, nil
		case VerdictDrop:
			return []expr.Any{&expr.Verdict{Kind: expr.VerdictDrop}}, nil
		case VerdictJump:
			return []expr.Any{&expr.Verdict{Kind: expr.VerdictJump, Chain: s.Chain}}, nil
		}
		return nil, fmt.Errorf("unknown verdict %d", s.Kind)
	case Reject:
		if s.TCP {
			return []expr.Any{&expr.Reject{Type: unix.NFT_REJECT_TCP_RST, Code: 0}}, nil
		}
		return []expr.Any{&expr.Reject{Type: unix.NFT_REJECT_ICMPX_UNREACH, Code: unix.NFT_REJECT_ICMPX_PORT_UNREACH}}, nil
	case Queue:
		return queueExprs(s)
	}
	return nil, fmt.Errorf("unknown statement %T", s)
}

func queueExprs(s Queue) ([]expr.Any, error) {
	total := max(s.Total, 1)
	switch s.Kind {
	case QueueNative:
		var flags expr.QueueFlag
		if s.Bypass {
			flags |= expr.QueueFlagBypass
		}
		if s.Fanout {
			flags |= expr.QueueFlagFanout
		}
		return []expr.Any{&expr.Queue{Num: s.Num, Total: total, Flag: flags}}, nil
	case QueueCompat:
		var flags uint16
		if s.Bypass {
			flags |= nfqFlagBypass
		}
		if s.Fanout {
			flags |= nfqFlagFanout
		}
		info := xt.Unknown(nfqueueInfoV3(s.Num, total, flags))
		return []expr.Any{&expr.Target{Name: "NFQUEUE", Rev: 3, Info: &info}}, nil
	}
	return nil, ErrNoQueue
}

func (e *encoder) addr(s Addr) ([]expr.Any, error) {
	// IPv4 header: saddr at 12, daddr at 16 (RFC 791 section 3.1); IPv6:
	// saddr at 8, daddr at 24 (RFC 8200 section 3).
	var off uint32
	switch {
	case s.Family == FamilyIPv4 && s.Field == AddrSrc:
		off = 12
	case s.Family == FamilyIPv4:
		off = 16
	case s.Field == AddrSrc:
		off = 8
	default:
		off = 24
	}
	load := &expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: addrLen(s.Family)}
	if s.Set != "" {
		return []expr.Any{load, &expr.Lookup{SourceRegister: reg1, SetName: s.Set}}, nil
	}
	switch len(s.Prefixes) {
	case 0:
		return nil, fmt.Errorf("no prefixes")
	case 1:
		p := s.Prefixes[0].Masked()
		n := addrLen(s.Family)
		if p.Bits() == int(n*8) {
			return []expr.Any{load, &expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: addrKey(p.Addr())}}, nil
		}
		mask := make([]byte, n)
		for i := 0; i < p.Bits(); i++ {
			mask[i/8] |= 0x80 >> (i % 8)
		}
		return []expr.Any{load,
			&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: n, Mask: mask, Xor: make([]byte, n)},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: addrKey(p.Addr())},
		}, nil
	}
	set, err := e.anonSet(setKeyType(s.Family), rangeElements(rangesOf(s.Prefixes)))
	if err != nil {
		return nil, err
	}
	return []expr.Any{load, &expr.Lookup{SourceRegister: reg1, SetName: set.Name, SetID: set.ID}}, nil
}

// kernelSet is the nftables object for a planned set.
func kernelSet(t *nftables.Table, s Set) *nftables.Set {
	return &nftables.Set{
		Table:      t,
		Name:       s.Name,
		KeyType:    setKeyType(s.Family),
		Interval:   s.Interval,
		HasTimeout: s.Timeout,
		Comment:    s.Source,
	}
}

// addElements appends NEWSETELEM messages of at most elementsPerMessage
// elements each.
func addElements(conn *nftables.Conn, s *nftables.Set, elems []nftables.SetElement) error {
	return inChunks(s, elems, conn.SetAddElements)
}

// deleteElements appends DELSETELEM messages, chunked the same way.
func deleteElements(conn *nftables.Conn, s *nftables.Set, elems []nftables.SetElement) error {
	return inChunks(s, elems, conn.SetDeleteElements)
}

// inChunks calls op on chunks of at most elementsPerMessage elements,
// keeping a range's start and end in one message.
func inChunks(s *nftables.Set, elems []nftables.SetElement, op func(*nftables.Set, []nftables.SetElement) error) error {
	for len(elems) > 0 {
		n := min(len(elems), elementsPerMessage)
		if n < len(elems) && !elems[n-1].IntervalEnd && s.Interval {
			n--
		}
		if n == 0 {
			n = 1
		}
		if err := op(s, elems[:n]); err != nil {
			return err
		}
		elems = elems[n:]
	}
	return nil
}

// elementsRanges turns an interval set's elements as the kernel lists
// them back into ranges.
func elementsRanges(fam Family, elems []nftables.SetElement) []addrRange {
	type el struct {
		a   netip.Addr
		end bool
	}
	var es []el
	for _, e := range elems {
		a, ok := netip.AddrFromSlice(e.Key)
		if !ok || familyOf(a) != fam {
			continue
		}
		es = append(es, el{a, e.IntervalEnd})
	}
	// by address; an end and a start at the same address: the end first
	slices.SortFunc(es, func(x, y el) int {
		if c := x.a.Compare(y.a); c != 0 {
			return c
		}
		switch {
		case x.end == y.end:
			return 0
		case x.end:
			return -1
		}
		return 1
	})
	var out []addrRange
	for i := 0; i < len(es); i++ {
		if es[i].end {
			continue
		}
		if i+1 < len(es) && es[i+1].end {
			out = append(out, addrRange{es[i].a, es[i+1].a.Prev()})
			i++
			continue
		}
		out = append(out, addrRange{es[i].a, lastAddr(fam)})
	}
	return normalizeRanges(out)
}

func lastAddr(fam Family) netip.Addr {
	if fam == FamilyIPv6 {
		return netip.AddrFrom16([16]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	}
	return netip.AddrFrom4([4]byte{0xff, 0xff, 0xff, 0xff})
}
