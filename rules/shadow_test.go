package rules

import (
	"net/netip"
	"testing"

	"github.com/septa-fw/septa/rules/ir"
)

func TestInside(t *testing.T) {
	in := ir.MergePrefixes([]netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("192.168.1.0/24"),
		netip.MustParsePrefix("192.168.3.0/24"),
		netip.MustParsePrefix("fd00::/16"),
	})
	tests := []struct {
		name string
		x    string
		want bool
	}{
		{"itself", "10.0.0.0/8", true},
		{"inside the first", "10.200.0.0/16", true},
		{"an address inside", "10.255.255.255/32", true},
		{"wider than the container", "10.0.0.0/7", false},
		{"before everything", "9.255.255.255/32", false},
		{"between two", "192.168.2.0/24", false},
		{"inside the last IPv4", "192.168.3.7/32", true},
		{"after the last IPv4", "192.168.4.0/24", false},
		{"straddling two", "192.168.0.0/22", false},
		{"IPv6 inside", "fd00:3::/48", true},
		{"IPv6 outside", "fe80::/64", false},
		{"IPv6 before the IPv6 ranges", "::1/128", false},
		{"IPv4 everything is not inside", "0.0.0.0/0", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := netip.MustParsePrefix(tt.x)
			if got := inside(x, in); got != tt.want {
				t.Errorf("inside(%v, %v) = %v, want %v", x, in, got, tt.want)
			}
			// The search must agree with a scan.
			scan := false
			for _, y := range in {
				if y.Bits() <= x.Bits() && y.Contains(x.Addr()) {
					scan = true
				}
			}
			if scan != tt.want {
				t.Errorf("scan says %v: the case is wrong", scan)
			}
		})
	}
	if inside(netip.MustParsePrefix("10.0.0.0/8"), nil) {
		t.Errorf("inside an empty list")
	}
}
