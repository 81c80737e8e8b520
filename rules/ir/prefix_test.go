package ir

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMergePrefixes(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{"empty", nil, nil},
		{"dedup", []string{"10.0.0.0/8", "10.0.0.0/8"}, []string{"10.0.0.0/8"}},
		{"contained", []string{"10.1.0.0/16", "10.0.0.0/8", "10.2.3.4/32"}, []string{"10.0.0.0/8"}},
		{"masked", []string{"10.1.2.3/16"}, []string{"10.1.0.0/16"}},
		{"siblings", []string{"10.0.0.0/25", "10.0.0.128/25"}, []string{"10.0.0.0/24"}},
		{"sibling chain", []string{"10.0.0.0/26", "10.0.0.64/26", "10.0.0.128/25"}, []string{"10.0.0.0/24"}},
		{"not siblings", []string{"10.0.0.128/25", "10.0.1.0/25"}, []string{"10.0.0.128/25", "10.0.1.0/25"}},
		{"v4 before v6", []string{"fd00::/64", "192.168.0.0/24", "::1/128"}, []string{"192.168.0.0/24", "::1/128", "fd00::/64"}},
		{"v6 does not contain v4", []string{"::/0", "10.0.0.0/8"}, []string{"10.0.0.0/8", "::/0"}},
		{"mapped", []string{"::ffff:10.0.0.1/128"}, []string{"10.0.0.1/32"}},
		{"all v4", []string{"0.0.0.0/1", "128.0.0.0/1"}, []string{"0.0.0.0/0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var in []netip.Prefix
			for _, s := range tt.in {
				in = append(in, netip.MustParsePrefix(s))
			}
			var got []string
			for _, p := range MergePrefixes(in) {
				got = append(got, p.String())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("MergePrefixes(%v) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}
