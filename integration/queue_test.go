//go:build linux

package integration

import (
	"net"

	"context"
	"github.com/septa-fw/septa/inspect/packet"
	"io"
	"sync/atomic"
	"testing"
	"time"

	nfqueue "github.com/florianl/go-nfqueue/v2"
	"github.com/mdlayher/netlink"

	"github.com/septa-fw/septa/nft"
	"github.com/septa-fw/septa/rules/ir"
)

// TestDecidedFlowLeavesTheQueue runs a trivial inspector: it accepts
// every queued packet with the ALLOW packet mark. The verdict chain copies
// that into the conntrack mark, so only the first packet of a flow is
// queued and the rest take the kernel's fast path.
func TestDecidedFlowLeavesTheQueue(t *testing.T) {
	l := newLab(t)
	app, db := l.Host("prod-app"), l.Host("prod-db")
	echoOn(t, db, 5432)
	p := newPolicy(ir.ActionDeny, zoneSets(), ir.Rule{
		ID: "db-app-id", Action: ir.ActionAllow, Dir: ir.DirIn,
		From: hostEP(app), To: selfEP(), Ports: []ir.Port{tcp(5432, 5432)},
		App: ir.AppMatch{Name: "postgresql"}, Needs: ir.NeedApp,
	})
	fw := applyPolicy(t, db, p, 1)
	caps, err := fw.Probe()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("caps: %s", caps)
	if caps.Queue == nft.QueueNone {
		t.Skip("kernel has no NFQUEUE")
	}

	// Without a listener and with fail_mode closed, no data passes. The
	// handshake carries none and is not queued (planner.go), so it
	// completes; the first data packet is queued, and dropped.
	var firstPort uint16
	if c, err := app.DialTCP(ap(db.V4, 5432), 2*time.Second); err != nil {
		t.Fatalf("the handshake must pass without a trip to the queue: %v", err)
	} else {
		firstPort = uint16(c.LocalAddr().(*net.TCPAddr).Port)
		c.SetDeadline(time.Now().Add(time.Second))
		c.Write([]byte("hello"))
		if _, err := c.Read(make([]byte, 5)); err == nil {
			t.Errorf("data passed with fail_mode closed and no inspector")
		}
		c.Close()
	}

	ns, err := db.OpenNS()
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	q, err := nfqueue.Open(&nfqueue.Config{
		NetNS:        int(ns.Fd()),
		NfQueue:      fw.Config().QueueBase,
		MaxPacketLen: 128,
		MaxQueueLen:  256,
		Copymode:     nfqueue.NfQnlCopyPacket,
		WriteTimeout: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("open queue: %v", err)
	}
	defer q.Close()
	_ = q.SetOption(netlink.NoENOBUFS, true)
	mark := int(fw.MarkLayout().PacketMark(nft.MarkAllow))
	var queued atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = q.RegisterWithErrorFunc(ctx, func(a nfqueue.Attribute) int {
		// The first connection's retransmissions and close may still
		// arrive: they are dropped and not counted.
		var p packet.Packet
		if a.Payload != nil && packet.Decode(*a.Payload, &p) == packet.OK && (p.SrcPort == firstPort || p.DstPort == firstPort) {
			q.SetVerdict(*a.PacketID, nfqueue.NfDrop)
			return 0
		}
		queued.Add(1)
		m := uint32(mark)
		if a.Mark != nil {
			m |= *a.Mark
		}
		q.SetVerdictWithOption(*a.PacketID, nfqueue.NfAccept, nfqueue.WithMark(m))
		return 0
	}, func(e error) int { return 0 })
	if err != nil {
		t.Fatalf("register: %v", err)
	}

	before, err := fw.Counters()
	if err != nil {
		t.Fatal(err)
	}
	c, err := app.DialTCP(ap(db.V4, 5432), 2*time.Second)
	if err != nil {
		t.Fatalf("connect through the inspector: %v", err)
	}
	defer c.Close()
	const rounds = 100
	buf := make([]byte, 64)
	for i := range rounds {
		c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Write(buf); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
	}
	after, err := fw.Counters()
	if err != nil {
		t.Fatal(err)
	}
	n := queued.Load()
	sentToQueue := after["db-app-id"].Packets - before["db-app-id"].Packets
	fast := after[nft.IDDecided].Packets - before[nft.IDDecided].Packets
	copied := after[nft.IDVerdict].Packets - before[nft.IDVerdict].Packets
	t.Logf("queued %d, queue rule %d, verdict copies %d, fast path %d, over %d round trips", n, sentToQueue, copied, fast, rounds)
	if n < 1 || n > 2 {
		t.Errorf("inspector saw %d packets, want the first one (or two)", n)
	}
	// The rule's counter also counts the handshake (SYN, SYN-ACK) that
	// its handshake rule passes without queueing, and the closing packets
	// of the first connection, which no inspector decided.
	if sentToQueue < uint64(n) || sentToQueue > uint64(n)+6 {
		t.Errorf("queue rule counted %d packets, inspector saw %d (+ at most 4: handshake, the first connection's close)", sentToQueue, n)
	}
	if copied != uint64(n) {
		t.Errorf("verdict chain copied %d verdicts, want %d", copied, n)
	}
	if fast < 2*rounds {
		t.Errorf("fast path took %d packets, want at least %d", fast, 2*rounds)
	}
}
