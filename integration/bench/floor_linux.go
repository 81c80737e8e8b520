//go:build linux

package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/septa-fw/septa/inspect"
	"github.com/septa-fw/septa/integration/benchkit"
	"github.com/septa-fw/septa/integration/lab"
	"github.com/septa-fw/septa/nft"
	"github.com/septa-fw/septa/rules/ir"
)

// The NFQUEUE round trip configuration: the plain ruleset, and the
// packets septa's app-ID rule sends to the inspector (after the
// handshake, every packet of a web flow from the client until the flow is
// decided) sent to a listener that inspects nothing. It answers each
// packet at once, with septa's own queue loop (inspect.Queue), and
// decides a flow on its first data as app-ID would: the mark it gives
// that packet is copied into the conntrack mark, and the flow's later
// packets stay in the kernel. What septa's app-ID rule costs beyond this
// is the inspector's own work; this much is the kernel's queue and the
// scheduler's, which no NFQUEUE-based inspector avoids.
const (
	floorTable = "benchfloor"
	floorMark  = 0x1
	floorQueue = 0
	// floorFlag is the hidden flag that makes the harness the listener,
	// in the server's namespace (ip netns exec).
	floorFlag = "nfqueue-floor-listener"
)

// floorRuleset queues what septa's app-ID rule queues, to floorQueue.
func floorRuleset(caps nft.Caps) *nft.Plan {
	web := []nft.Stmt{nft.L4Proto{Proto: ir.ProtoTCP}, nft.Port{Ranges: []nft.PortRange{{First: portShort, Last: portBulk}}}}
	with := func(id string, extra ...nft.Stmt) nft.Rule {
		return nft.Rule{ID: id, Stmts: append(append([]nft.Stmt{}, web...), extra...)}
	}
	return &nft.Plan{
		Table: floorTable, Generation: 1, Caps: caps,
		Chains: []nft.Chain{
			{Name: "floor_in", Hook: nft.HookInput, Priority: 10, Rules: []nft.Rule{
				{ID: "decided", Stmts: []nft.Stmt{nft.CtMark{Mask: floorMark, Value: floorMark}, nft.Counter{}, nft.Verdict{Kind: nft.VerdictAccept}}},
				with("handshake", nft.TCPHandshake{}, nft.Counter{}, nft.Verdict{Kind: nft.VerdictAccept}),
				with("queued", nft.Counter{}, nft.Queue{Kind: caps.Queue, Num: floorQueue, Total: 1}),
			}},
			{Name: "floor_mark", Hook: nft.HookInput, Priority: 20, Rules: []nft.Rule{
				{ID: "mark", Stmts: []nft.Stmt{nft.MetaMark{Mask: floorMark, Value: floorMark}, nft.SetCtMark{Mask: floorMark, Value: floorMark}}},
			}},
		},
	}
}

// floorFW is the plain ruleset, the queue rules and the listener.
type floorFW struct{ queueFW }

// queued is how many packets went to the listener so far.
func (f *floorFW) queued() (uint64, error) {
	c, err := f.fw.Counters()
	if err != nil {
		return 0, err
	}
	return c["queued"].Packets, nil
}

func (h *harness) startFloor(web *lab.Host) (_ fw, err error) {
	f := &floorFW{queueFW{what: "the listener", stopWait: 10 * time.Second}}
	defer func() {
		if err != nil {
			err = errors.Join(err, f.close())
		}
	}()
	if err := f.open(h, web, floorTable, floorRuleset); err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	// A process of its own, as septad is: in the harness's process the
	// listener would share the Go scheduler with the client and server.
	if err := f.start(web, self, "-"+floorFlag); err != nil {
		return nil, err
	}
	// Until the listener binds the queue, queued packets are dropped: a
	// whole request and response says it is ready.
	deadline := time.Now().Add(30 * time.Second)
	dst := netip.AddrPortFrom(web.V4, portShort)
	for {
		time.Sleep(200 * time.Millisecond)
		if err := f.exited("at start"); err != nil {
			return nil, err
		}
		if benchkit.ShortConn(web, dst) == nil {
			return f, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the listener passed no connection within 30 s: %.2000s", f.out.String())
		}
	}
}

// runFloorListener is the listener's process: it serves floorQueue in
// the current network namespace until SIGTERM.
func runFloorListener() error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	q, err := inspect.OpenQueue(inspect.QueueConfig{Num: floorQueue, ReadBuffer: 8 << 20})
	if err != nil {
		return err
	}
	defer q.Close()
	return q.Run(ctx, floorHandler{q})
}

// floorHandler accepts every packet at once; one that carries TCP data
// also decides its flow.
type floorHandler struct{ v inspect.Verdicter }

func (h floorHandler) Handle(p *inspect.Packet) {
	mark := p.Mark
	if tcpPayload(p.Payload) {
		mark |= floorMark
	}
	h.v.Verdict(p.ID, true, mark)
}

// tcpPayload reports whether an IPv4 or IPv6 packet (without extension
// headers) is TCP with data.
func tcpPayload(b []byte) bool {
	if len(b) < 1 {
		return false
	}
	var l4 []byte
	var total int
	switch b[0] >> 4 {
	case 4:
		ihl := int(b[0]&0x0f) * 4
		if len(b) < 20 || ihl < 20 || len(b) < ihl || b[9] != 6 {
			return false
		}
		total = int(binary.BigEndian.Uint16(b[2:4]))
		l4, total = b[ihl:], total-ihl
	case 6:
		if len(b) < 40 || b[6] != 6 {
			return false
		}
		l4, total = b[40:], int(binary.BigEndian.Uint16(b[4:6]))
	default:
		return false
	}
	if len(l4) < 20 {
		return false
	}
	return total > int(l4[12]>>4)*4
}
