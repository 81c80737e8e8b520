package inspect

import (
	"encoding/binary"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
)

// legitVerdicts records the verdicts of packets whose id has the top bit
// set (the legitimate client's) and only counts the others, so that a
// million attacker verdicts cost no memory of their own.
type legitVerdicts struct {
	got      map[uint32]verdict
	attacker int
}

func (r *legitVerdicts) Verdict(id uint32, accept bool, mark uint32) {
	if id&legitID == 0 {
		r.attacker++
		return
	}
	r.got[id] = verdict{id, accept, mark}
}

const legitID = 1 << 31

// TestFlowTableExhaustion (issue 11): an attacker opens a million flows at
// the inspector, far more than its table holds. The table stays at its
// bound, the worker's heap (table included) stays within 2 KiB per flow of the bound, and
// legitimate flows that start during the flood are still inspected and
// allowed (eviction takes the least recently seen flows: the attacker's
// older ones).
func TestFlowTableExhaustion(t *testing.T) {
	const (
		maxFlows   = 65536
		attackers  = 1_000_000
		legitEvery = 50_000 // a legitimate flow starts after this many attacker flows
		inFlight   = 10_000 // attacker flows arriving while one is inspected
	)
	pol := compilePolicy(t, webAppPolicy, "")
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	var ptr atomic.Pointer[Policy]
	ptr.Store(pol)
	before := heap()
	rec := &legitVerdicts{got: map[uint32]verdict{}}
	w := NewWorker(Config{MaxFlows: maxFlows, AllowMark: allowMark, DenyMark: denyMark, VerdictMask: verdictMask},
		Deps{Policy: &ptr, Verdicter: rec})

	// One attacker packet (the ACK that follows a handshake the kernel
	// let through), rewritten in place for each flow: the source address
	// 10.66.x.y and source port (1024-2047) vary, a distinct flow each.
	// The inspector does not check checksums; the kernel did.
	atk := (&tcpConn{t: t, client: net.IP{10, 66, 0, 0}, server: net.IP{10, 3, 1, 10}, cport: 1024, sport: 80, cseq: 1, sseq: 1}).pkt(true, "A", "")
	attack := func(i int) {
		binary.BigEndian.PutUint16(atk[14:], uint16(i>>10))
		binary.BigEndian.PutUint16(atk[20:], uint16(1024+i&1023))
		w.Handle(&Packet{ID: uint32(i), Payload: atk, Hook: HookInput})
	}

	var legit, allowed int
	for i := 0; i < attackers; {
		for end := min(i+legitEvery, attackers); i < end; i++ {
			attack(i)
		}
		// A legitimate client opens a flow; more attacker flows arrive
		// before its request; the request decides it.
		c := &tcpConn{t: t, client: net.IP{10, 1, 0, byte(legit)}, server: net.IP{10, 3, 1, 10}, cport: 40000, sport: 80, cseq: 1, sseq: 1}
		c.pkt(true, "S", "")
		id := uint32(legitID | legit<<8)
		w.Handle(&Packet{ID: id, Payload: c.pkt(true, "A", ""), Hook: HookInput})
		for end := min(i+inFlight, attackers); i < end; i++ {
			attack(i)
		}
		w.Handle(&Packet{ID: id + 1, Payload: c.pkt(true, "PA", "GET / HTTP/1.1\r\nHost: shop.example\r\n\r\n"), Hook: HookInput})
		legit++
		if v, ok := rec.got[id+1]; ok && v.Accept && v.Mark&verdictMask == allowMark {
			allowed++
		} else {
			t.Errorf("legitimate flow %d during the flood: verdict %+v (given: %v), want accepted with the allow mark", legit, v, ok)
		}
	}
	grown := int64(heap()) - int64(before)

	if n := w.Len(); n > maxFlows {
		t.Errorf("%d flows tracked, over the bound %d", n, maxFlows)
	}
	if ev := w.Stats.Evicted.Load(); ev < attackers-maxFlows {
		t.Errorf("%d evictions, want at least %d", ev, attackers-maxFlows)
	}
	// The bound's worth: the entry and its share of the index map, with
	// room for the map's growth, at most 2 KiB a flow.
	if limit := int64(maxFlows * 2048); grown > limit {
		t.Errorf("the heap grew by %d MiB for a table of %d flows, over %d MiB", grown>>20, maxFlows, limit>>20)
	}
	t.Logf("%d attacker flows at a table of %d: %d evicted, heap +%.1f MiB (%.0f B per tracked flow), %d of %d legitimate flows allowed",
		attackers, maxFlows, w.Stats.Evicted.Load(), float64(grown)/(1<<20), float64(grown)/float64(max(w.Len(), 1)), allowed, legit)
	runtime.KeepAlive(w)
}
