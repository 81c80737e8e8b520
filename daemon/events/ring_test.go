package events

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRing(t *testing.T) {
	ids := func(es []*Event) []uint64 {
		out := []uint64{}
		for _, e := range es {
			out = append(out, e.FlowID)
		}
		return out
	}
	tests := []struct {
		name   string
		size   int
		alerts int // alerts written, FlowID 1..alerts
		kind   Kind
		n      int
		want   []uint64
	}{
		{name: "empty", size: 3, kind: KindAlert, want: []uint64{}},
		{name: "partly filled", size: 3, alerts: 2, kind: KindAlert, want: []uint64{1, 2}},
		{name: "wrapped", size: 3, alerts: 7, kind: KindAlert, want: []uint64{5, 6, 7}},
		{name: "exactly full", size: 3, alerts: 3, kind: KindAlert, want: []uint64{1, 2, 3}},
		{name: "latest two of wrapped", size: 3, alerts: 7, kind: KindAlert, n: 2, want: []uint64{6, 7}},
		{name: "n past what is kept", size: 3, alerts: 2, kind: KindAlert, n: 10, want: []uint64{1, 2}},
		{name: "other kind kept apart", size: 3, alerts: 7, kind: KindFlow, want: []uint64{100}},
		{name: "kind out of range", size: 3, alerts: 1, kind: Kind(200), want: []uint64{}},
		{name: "flows sized on their own", size: 3, alerts: 1, kind: KindPolicy, want: []uint64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRing(tt.size, map[Kind]int{KindPolicy: 0})
			r.Write(&Event{Kind: KindFlow, FlowID: 100})
			r.Write(&Event{Kind: KindPolicy, FlowID: 200}) // not kept: size 0
			for i := 1; i <= tt.alerts; i++ {
				r.Write(&Event{Kind: KindAlert, FlowID: uint64(i)})
			}
			if diff := cmp.Diff(tt.want, ids(r.Last(tt.kind, tt.n))); diff != "" {
				t.Errorf("Last(%v, %d) (-want +got):\n%s", tt.kind, tt.n, diff)
			}
		})
	}
}
