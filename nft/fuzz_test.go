package nft

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/septa-fw/septa/rules/ir"
)

// FuzzPlan checks that the planner never panics, and that whatever it
// plans validates, whatever IR the bytes describe.
func FuzzPlan(f *testing.F) {
	f.Add([]byte{1, 1, 1, 0, 3, 1, 1, 6, 0, 80, 0, 80})
	f.Add([]byte{2, 2, 2, 2, 9, 0, 3, 0, 17, 0, 0, 255, 255, 1, 4, 58})
	f.Add(make([]byte, 64))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := policyFromBytes(data)
		for _, c := range []Caps{{}, {Queue: QueueCompat, MetaTime: true}} {
			plan, err := PlanPolicy(p, Config{}, uint64(len(data)), c)
			if err != nil {
				continue
			}
			if err := plan.Validate(); err != nil {
				t.Fatalf("planned plan does not validate: %v", err)
			}
			_ = plan.Dump()
		}
	})
}

// policyFromBytes builds a policy from fuzz bytes: each byte picks the
// next field, out-of-range values included.
func policyFromBytes(data []byte) *ir.Policy {
	i := 0
	next := func() byte {
		if i >= len(data) {
			return 0
		}
		b := data[i]
		i++
		return b
	}
	next16 := func() uint16 { return binary.BigEndian.Uint16([]byte{next(), next()}) }
	names := []string{"zone:a", "group:b", "identity:c", "zone:a", ""}
	prefix := func() netip.Prefix {
		b := next()
		if b%5 == 0 {
			return netip.PrefixFrom(netip.AddrFrom16([16]byte{0xfd, next(), 15: next()}), int(next()%140))
		}
		if b%7 == 0 {
			return netip.Prefix{}
		}
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, next(), next(), next()}), int(next()%40))
	}
	p := &ir.Policy{Settings: ir.Settings{
		Default: ir.Action(next() % 4), Mode: ir.Mode(next() % 3), FailMode: ir.FailMode(next() % 3), Log: ir.LogLevel(next() % 4),
	}}
	for n := next() % 4; n > 0; n-- {
		s := ir.Set{Name: names[int(next())%len(names)], Kind: ir.SetKind(next() % 5)}
		for m := next() % 4; m > 0; m-- {
			s.Prefixes = append(s.Prefixes, prefix())
		}
		p.Sets = append(p.Sets, s)
	}
	endpoint := func() ir.Endpoint {
		b := next()
		e := ir.Endpoint{Any: b&1 != 0, Self: b&2 != 0}
		for m := b >> 2 % 3; m > 0; m-- {
			e.Sets = append(e.Sets, names[int(next())%len(names)])
		}
		for m := b >> 4 % 3; m > 0; m-- {
			e.Prefixes = append(e.Prefixes, prefix())
		}
		return e
	}
	ids := []string{"r1", "r2", "septa:x", "", "r1"}
	for n := next() % 5; n > 0; n-- {
		r := ir.Rule{
			ID: ids[int(next())%len(ids)], Dir: ir.Direction(next() % 5), Action: ir.Action(next() % 5),
			From: endpoint(), To: endpoint(), Needs: ir.Need(next() % 17),
			Log: next()&1 != 0, Observe: next()&1 != 0,
		}
		if next()&1 != 0 {
			r.Expires = time.Unix(int64(next16())*1000, 0)
		}
		for m := next() % 4; m > 0; m-- {
			r.Ports = append(r.Ports, ir.Port{Proto: ir.Proto(next()), First: next16(), Last: next16()})
		}
		p.Rules = append(p.Rules, r)
	}
	return p
}
