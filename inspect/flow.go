package inspect

import (
	"unsafe"

	"github.com/septa-fw/septa/inspect/appid"
	"github.com/septa-fw/septa/inspect/ids"
	"github.com/septa-fw/septa/inspect/packet"
	"github.com/septa-fw/septa/inspect/userid"
	"github.com/septa-fw/septa/rules/ir"
)

// flow is what a worker keeps of one flow under inspection, and for a
// while after its decision (so that packets already queued when the kernel
// took the flow over get the same verdict).
type flow struct {
	key packet.FlowKey
	// clientIsA: the key's A side opened the flow (sent the first packet,
	// or the SYN).
	clientIsA bool
	proto     uint8
	hook      Hook
	state     flowState
	// Nanoseconds (of the worker's clock) of creation and last packet.
	created, seen int64
	// streams[0] is what the client sent, streams[1] the server.
	streams [2]stream
	// held are queue ids of packets waiting for the decision.
	held  [maxHeld]uint32
	nheld uint8
	// heldSince is when the oldest held packet arrived (0: none held).
	heldSince int64

	app     appid.App
	appDone bool
	user    *userid.Identity // nil: unknown
	// userDone and processDone: resolution was tried (it may have found
	// nothing).
	userDone    bool
	processDone bool
	process     string
	cmdline     string

	decided  bool
	decision Decision
	// idsActive: the flow is allowed and its signatures are inspected;
	// idsMode says whether a match blocks it.
	idsActive bool
	idsMode   ir.IDSMode
	// ids is the signature engine's state while idsActive: out of line
	// (from the worker's pool), so that flows without signatures stay
	// small.
	ids     *ids.Flow
	mark    uint32 // packet mark bits of the verdict
	packets [2]uint32

	// LRU list, by index into the table's flows; -1 ends.
	prev, next int32
}

type flowState uint8

const (
	stateNew flowState = iota
	stateSynSent
	stateSynAck
	stateEstablished
	stateClosing
)

// maxHeld bounds the packets of one flow held while it is inspected.
const maxHeld = 8

// FlowSize is the memory a flow entry takes in the table, without its
// stream buffers (pooled, and released at the decision) and without the
// index map's share.
const FlowSize = int(unsafe.Sizeof(flow{}))

// flowTable is one worker's bounded flow table: an index from key to slot,
// slots in one slice, and a least-recently-seen list to evict from when
// full. It is not safe for concurrent use; the worker's lock guards it.
type flowTable struct {
	index map[packet.FlowKey]int32
	flows []flow
	free  []int32
	max   int
	// head is the most recently seen flow, tail the least.
	head, tail int32
}

// newFlowTable makes a table of at most max flows. The slots are
// allocated at once, so that pointers to flows stay valid and the table
// never grows on the packet path; the operating system backs the memory
// as it is touched.
func newFlowTable(max int) *flowTable {
	return &flowTable{
		index: make(map[packet.FlowKey]int32, min(max, 4096)),
		flows: make([]flow, 0, max),
		max:   max,
		head:  -1,
		tail:  -1,
	}
}

func (t *flowTable) len() int { return len(t.index) }

func (t *flowTable) lookup(k packet.FlowKey) *flow {
	i, ok := t.index[k]
	if !ok {
		return nil
	}
	return &t.flows[i]
}

// full reports whether an insert needs an eviction first.
func (t *flowTable) full() bool { return len(t.index) >= t.max }

// insert adds a flow; the table must not be full.
func (t *flowTable) insert(k packet.FlowKey) *flow {
	var i int32
	if n := len(t.free); n > 0 {
		i = t.free[n-1]
		t.free = t.free[:n-1]
	} else {
		t.flows = append(t.flows, flow{})
		i = int32(len(t.flows) - 1)
	}
	f := &t.flows[i]
	*f = flow{key: k, prev: -1, next: -1}
	t.index[k] = i
	t.pushFront(i)
	return f
}

func (t *flowTable) slot(f *flow) int32 {
	return int32((uintptr(unsafe.Pointer(f)) - uintptr(unsafe.Pointer(&t.flows[0]))) / unsafe.Sizeof(flow{}))
}

// touch marks a flow as just seen.
func (t *flowTable) touch(f *flow) {
	i := t.slot(f)
	if t.head == i {
		return
	}
	t.unlink(i)
	t.pushFront(i)
}

func (t *flowTable) remove(f *flow) {
	i := t.slot(f)
	t.unlink(i)
	delete(t.index, f.key)
	*f = flow{prev: -1, next: -1}
	t.free = append(t.free, i)
}

func (t *flowTable) pushFront(i int32) {
	f := &t.flows[i]
	f.prev, f.next = -1, t.head
	if t.head >= 0 {
		t.flows[t.head].prev = i
	}
	t.head = i
	if t.tail < 0 {
		t.tail = i
	}
}

func (t *flowTable) unlink(i int32) {
	f := &t.flows[i]
	if f.prev >= 0 {
		t.flows[f.prev].next = f.next
	} else if t.head == i {
		t.head = f.next
	}
	if f.next >= 0 {
		t.flows[f.next].prev = f.prev
	} else if t.tail == i {
		t.tail = f.prev
	}
	f.prev, f.next = -1, -1
}

// oldest returns the least recently seen flow, or nil.
func (t *flowTable) oldest() *flow {
	if t.tail < 0 {
		return nil
	}
	return &t.flows[t.tail]
}
