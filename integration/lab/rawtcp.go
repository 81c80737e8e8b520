//go:build linux

package lab

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"
)

// RawTCP is a TCP client made by hand, for evasion tests: after a real
// handshake it sends segments at any sequence offset, in any order,
// overlapping, and in IP fragments, which no socket API allows.
//
// The host's own TCP stack knows nothing of the connection and would
// answer the server's SYN-ACK with a reset, so the host gets an nftables
// table of its own (never septa's) that drops the resets it sends. The
// rule looks only at first fragments: nft reads the bytes of a later
// fragment as a TCP header too (seen on 6.18), and would drop a fragment
// whose data happens to have the reset bit there.
// Segments carry IPv4 only.
type RawTCP struct {
	send, recv int // raw sockets: IPPROTO_RAW with our headers; IPPROTO_TCP to read
	Src, Dst   netip.AddrPort
	iss, irs   uint32
	ipID       uint16
}

// rawTable is the lab table that silences the host's resets.
const rawTable = "lab_rawtcp"

// RawTCP opens raw sockets in h for hand-made segments from source port
// sport to dst. Handshake makes a connection of them.
func (h *Host) RawTCP(dst netip.AddrPort, sport uint16) (*RawTCP, error) {
	if _, err := h.Run(5*time.Second, "nft", fmt.Sprintf(
		"add table ip %[1]s; add chain ip %[1]s out { type filter hook output priority 0; }; flush chain ip %[1]s out; add rule ip %[1]s out ip frag-off & 0x1fff == 0 tcp flags & (rst | syn) == rst drop",
		rawTable)); err != nil {
		return nil, err
	}
	r := &RawTCP{Src: netip.AddrPortFrom(h.V4, sport), Dst: dst, iss: rand.Uint32(), ipID: uint16(rand.Uint32())}
	err := h.Do(func() error {
		var err error
		if r.send, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_RAW); err != nil {
			return fmt.Errorf("raw socket: %w", err)
		}
		if r.recv, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_TCP); err != nil {
			unix.Close(r.send)
			return fmt.Errorf("raw socket: %w", err)
		}
		tv := unix.NsecToTimeval((100 * time.Millisecond).Nanoseconds())
		return unix.SetsockoptTimeval(r.recv, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Close closes the sockets; the connection is left to time out.
func (r *RawTCP) Close() {
	unix.Close(r.send)
	unix.Close(r.recv)
}

// Handshake connects: SYN, the server's SYN-ACK, ACK (bounded by
// timeout).
func (r *RawTCP) Handshake(timeout time.Duration) error {
	if err := r.write(r.segment(r.iss, 0, TCPSyn, nil, false), 1); err != nil {
		return err
	}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		tcp, err := r.reply()
		if err != nil {
			return err
		}
		switch {
		case tcp == nil:
		case tcp.RST:
			return fmt.Errorf("connection to %s refused", r.Dst)
		case tcp.SYN && tcp.ACK && tcp.Ack == r.iss+1:
			r.irs = tcp.Seq
			return r.write(r.segment(r.iss+1, r.irs+1, TCPAck, nil, false), 1)
		}
	}
	return fmt.Errorf("no SYN-ACK from %s within %s", r.Dst, timeout)
}

// Replies counts the segments dst sends to this client within d.
func (r *RawTCP) Replies(d time.Duration) (int, error) {
	n := 0
	for deadline := time.Now().Add(d); time.Now().Before(deadline); {
		tcp, err := r.reply()
		if err != nil {
			return n, err
		}
		if tcp != nil {
			n++
		}
	}
	return n, nil
}

// reply reads one packet (waiting at most the socket's 100 ms) and
// returns it if it is a TCP segment from dst to this client, nil if not.
func (r *RawTCP) reply() (*layers.TCP, error) {
	buf := make([]byte, 65536)
	n, _, err := unix.Recvfrom(r.recv, buf, 0)
	if err != nil {
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			return nil, nil
		}
		return nil, fmt.Errorf("read: %w", err)
	}
	ip := &layers.IPv4{}
	tcp := &layers.TCP{}
	if ip.DecodeFromBytes(buf[:n], gopacket.NilDecodeFeedback) != nil || tcp.DecodeFromBytes(ip.Payload, gopacket.NilDecodeFeedback) != nil {
		return nil, nil
	}
	src, _ := netip.AddrFromSlice(ip.SrcIP)
	if src != r.Dst.Addr() || uint16(tcp.SrcPort) != r.Dst.Port() || uint16(tcp.DstPort) != r.Src.Port() {
		return nil, nil
	}
	return tcp, nil
}

// TCP flags for SendFlags.
const (
	TCPFin = 1 << iota
	TCPSyn
	TCPRst
	TCPPsh
	TCPAck
	TCPUrg
)

// SendFlags sends one segment with the given flags at the client's
// initial sequence number, without a handshake; badChecksum corrupts its
// TCP checksum.
func (r *RawTCP) SendFlags(flags int, data []byte, badChecksum bool) error {
	return r.write(r.segment(r.iss, 0, flags, data, badChecksum), 1)
}

// SYNFlood sends SYNs from every source port in turn (1024-65535, then
// again), each with a new sequence number, until n are sent or d has
// passed; it returns how many it sent.
func (r *RawTCP) SYNFlood(n int, d time.Duration) (int, error) {
	deadline := time.Now().Add(d)
	src := r.Src
	defer func() { r.Src = src }()
	sent := 0
	for ; sent < n && (sent%1024 != 0 || time.Now().Before(deadline)); sent++ {
		r.Src = netip.AddrPortFrom(src.Addr(), uint16(1024+sent%64512))
		if err := r.write(r.segment(rand.Uint32(), 0, TCPSyn, nil, false), 1); err != nil {
			return sent, err
		}
	}
	return sent, nil
}

// Send sends data at offset bytes into the client's stream (0 is its
// first byte), as one segment, in frags IP fragments when frags > 1
// (each but the last a multiple of 8 bytes, RFC 791).
func (r *RawTCP) Send(offset int, data []byte, frags int) error {
	flags := TCPAck
	if len(data) > 0 {
		flags |= TCPPsh
	}
	return r.write(r.segment(r.iss+1+uint32(offset), r.irs+1, flags, data, false), frags)
}

// segment builds an IPv4 TCP segment from the client.
func (r *RawTCP) segment(seq, ack uint32, flags int, data []byte, badChecksum bool) []byte {
	r.ipID++
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Id: r.ipID, Protocol: layers.IPProtocolTCP,
		SrcIP: r.Src.Addr().AsSlice(), DstIP: r.Dst.Addr().AsSlice()}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(r.Src.Port()), DstPort: layers.TCPPort(r.Dst.Port()),
		Seq: seq, Ack: ack, Window: 64240,
		FIN: flags&TCPFin != 0, SYN: flags&TCPSyn != 0, RST: flags&TCPRst != 0,
		PSH: flags&TCPPsh != 0, ACK: flags&TCPAck != 0, URG: flags&TCPUrg != 0}
	tcp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ip, tcp, gopacket.Payload(data)); err != nil {
		panic(err) // only fixed-size headers: cannot fail
	}
	pkt := buf.Bytes()
	if badChecksum {
		pkt[20+16] ^= 0xff // the TCP checksum's first byte
	}
	return pkt
}

// write sends an IPv4 packet whole, or split into frags fragments.
func (r *RawTCP) write(pkt []byte, frags int) error {
	to := &unix.SockaddrInet4{Addr: r.Dst.Addr().As4()}
	if frags <= 1 {
		return unix.Sendto(r.send, pkt, 0, to)
	}
	hdr, payload := pkt[:20], pkt[20:]
	size := max((len(payload)/frags+7)&^7, 8)
	for off := 0; off < len(payload); off += size {
		end := min(off+size, len(payload))
		frag := make([]byte, 20+end-off)
		copy(frag, hdr)
		copy(frag[20:], payload[off:end])
		binary.BigEndian.PutUint16(frag[2:], uint16(len(frag)))
		flags := uint16(off / 8)
		if end < len(payload) {
			flags |= 1 << 13 // more fragments
		}
		binary.BigEndian.PutUint16(frag[6:], flags)
		binary.BigEndian.PutUint16(frag[10:], 0)
		binary.BigEndian.PutUint16(frag[10:], ipChecksum(frag[:20]))
		if err := unix.Sendto(r.send, frag, 0, to); err != nil {
			return fmt.Errorf("fragment at %d of %d bytes: %w", off, len(payload), err)
		}
	}
	return nil
}

// ipChecksum is the IPv4 header checksum (RFC 791).
func ipChecksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
