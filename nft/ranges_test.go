package nft

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func r(from, to string) addrRange {
	return addrRange{netip.MustParseAddr(from), netip.MustParseAddr(to)}
}

var rangeCmp = cmp.Comparer(func(a, b addrRange) bool { return a == b })

func TestRangesOf(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []addrRange
	}{
		{"host", []string{"10.0.0.1/32"}, []addrRange{r("10.0.0.1", "10.0.0.1")}},
		{"adjacent join", []string{"10.0.0.0/25", "10.0.0.128/26"}, []addrRange{r("10.0.0.0", "10.0.0.191")}},
		{"contained", []string{"10.0.0.0/8", "10.1.0.0/16"}, []addrRange{r("10.0.0.0", "10.255.255.255")}},
		{"all v4", []string{"0.0.0.0/0"}, []addrRange{r("0.0.0.0", "255.255.255.255")}},
		{"v6", []string{"fd00::/64"}, []addrRange{r("fd00::", "fd00::ffff:ffff:ffff:ffff")}},
		{"disjoint", []string{"10.0.0.5/32", "10.0.0.1/32"}, []addrRange{r("10.0.0.1", "10.0.0.1"), r("10.0.0.5", "10.0.0.5")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ps []netip.Prefix
			for _, s := range tt.in {
				ps = append(ps, netip.MustParsePrefix(s))
			}
			if diff := cmp.Diff(tt.want, rangesOf(ps), rangeCmp); diff != "" {
				t.Errorf("rangesOf (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSubtractRanges(t *testing.T) {
	tests := []struct {
		name string
		a, b []addrRange
		want []addrRange
	}{
		{"hole", []addrRange{r("10.0.0.0", "10.0.0.255")}, []addrRange{r("10.0.0.10", "10.0.0.20")},
			[]addrRange{r("10.0.0.0", "10.0.0.9"), r("10.0.0.21", "10.0.0.255")}},
		{"all", []addrRange{r("10.0.0.1", "10.0.0.1")}, []addrRange{r("10.0.0.0", "10.0.0.255")}, nil},
		{"none", []addrRange{r("10.0.0.1", "10.0.0.1")}, []addrRange{r("10.0.0.2", "10.0.0.2")}, []addrRange{r("10.0.0.1", "10.0.0.1")}},
		{"two holes", []addrRange{r("10.0.0.0", "10.0.0.9")}, []addrRange{r("10.0.0.0", "10.0.0.0"), r("10.0.0.5", "10.0.0.5"), r("10.0.0.9", "10.0.0.9")},
			[]addrRange{r("10.0.0.1", "10.0.0.4"), r("10.0.0.6", "10.0.0.8")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, subtractRanges(tt.a, tt.b), rangeCmp); diff != "" {
				t.Errorf("subtract (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDiffRanges(t *testing.T) {
	old := []addrRange{r("10.0.0.1", "10.0.0.1"), r("10.0.0.5", "10.0.0.5")}
	new := []addrRange{r("10.0.0.1", "10.0.0.2"), r("10.0.0.5", "10.0.0.5")}
	del, add := diffRanges(old, new)
	if diff := cmp.Diff([]addrRange{r("10.0.0.1", "10.0.0.1")}, del, rangeCmp); diff != "" {
		t.Errorf("del (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]addrRange{r("10.0.0.1", "10.0.0.2")}, add, rangeCmp); diff != "" {
		t.Errorf("add (-want +got):\n%s", diff)
	}
}
