package rules

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/septa-fw/septa/rules/ir"
)

func TestMergePorts(t *testing.T) {
	tcp := func(first, last uint16) ir.Port { return ir.Port{Proto: ir.ProtoTCP, First: first, Last: last} }
	udp := func(first, last uint16) ir.Port { return ir.Port{Proto: ir.ProtoUDP, First: first, Last: last} }
	tests := []struct {
		name string
		in   []ir.Port
		want []ir.Port
	}{
		{"none", nil, nil},
		{"one", []ir.Port{tcp(443, 443)}, []ir.Port{tcp(443, 443)}},
		{"duplicates", []ir.Port{tcp(22, 22), tcp(22, 22)}, []ir.Port{tcp(22, 22)}},
		{"sorted by protocol then port", []ir.Port{udp(53, 53), tcp(443, 443), tcp(80, 80)}, []ir.Port{tcp(80, 80), tcp(443, 443), udp(53, 53)}},
		{"adjacent join", []ir.Port{tcp(80, 80), tcp(81, 81), tcp(82, 90)}, []ir.Port{tcp(80, 90)}},
		{"overlapping join", []ir.Port{tcp(8000, 8100), tcp(8050, 8200)}, []ir.Port{tcp(8000, 8200)}},
		{"contained", []ir.Port{tcp(1, 1024), tcp(22, 22)}, []ir.Port{tcp(1, 1024)}},
		{"gap stays", []ir.Port{tcp(80, 80), tcp(82, 82)}, []ir.Port{tcp(80, 80), tcp(82, 82)}},
		{"protocols do not join", []ir.Port{tcp(53, 53), udp(54, 54)}, []ir.Port{tcp(53, 53), udp(54, 54)}},
		{"every port absorbs ranges", []ir.Port{tcp(80, 80), {Proto: ir.ProtoTCP}, tcp(443, 443), udp(53, 53)}, []ir.Port{{Proto: ir.ProtoTCP}, udp(53, 53)}},
		{"any absorbs everything", []ir.Port{tcp(80, 80), {Proto: ir.ProtoAny}, {Proto: ir.ProtoICMP}}, []ir.Port{{Proto: ir.ProtoAny}}},
		{"top of the range", []ir.Port{tcp(65535, 65535), tcp(65534, 65534), tcp(1, 65533)}, []ir.Port{tcp(1, 65535)}},
		{"protocols without ports", []ir.Port{{Proto: ir.ProtoICMPv6}, {Proto: ir.ProtoICMP}, {Proto: ir.ProtoICMP}}, []ir.Port{{Proto: ir.ProtoICMP}, {Proto: ir.ProtoICMPv6}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]ir.Port(nil), tt.in...)
			got := mergePorts(tt.in)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("mergePorts(%v) (-want +got):\n%s", tt.in, diff)
			}
			if diff := cmp.Diff(in, tt.in); diff != "" {
				t.Errorf("mergePorts changed its input (-before +after):\n%s", diff)
			}
		})
	}
}

func TestParsePort(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    ir.Port
		wantErr string
	}{
		{name: "tcp port", in: "tcp/443", want: ir.Port{Proto: ir.ProtoTCP, First: 443, Last: 443}},
		{name: "udp range", in: "udp/1000-2000", want: ir.Port{Proto: ir.ProtoUDP, First: 1000, Last: 2000}},
		{name: "one-port range", in: "sctp/9-9", want: ir.Port{Proto: ir.ProtoSCTP, First: 9, Last: 9}},
		{name: "whole range", in: "tcp/1-65535", want: ir.Port{Proto: ir.ProtoTCP, First: 1, Last: 65535}},
		{name: "every tcp port", in: "tcp", want: ir.Port{Proto: ir.ProtoTCP}},
		{name: "icmp", in: "icmp", want: ir.Port{Proto: ir.ProtoICMP}},
		{name: "icmpv6", in: "icmpv6", want: ir.Port{Proto: ir.ProtoICMPv6}},
		{name: "any", in: "any", want: ir.Port{Proto: ir.ProtoAny}},
		{name: "bare number", in: "5432", wantErr: `port "5432" needs a protocol: write "tcp/5432" or "udp/5432"`},
		{name: "unknown protocol", in: "tpc/80", wantErr: `unknown protocol "tpc" (want tcp, udp, sctp, icmp, icmpv6 or any)`},
		{name: "upper case", in: "TCP/80", wantErr: `unknown protocol "TCP" (want tcp, udp, sctp, icmp, icmpv6 or any)`},
		{name: "empty", in: "", wantErr: `"": want PROTO/PORT such as "tcp/443", PROTO or any`},
		{name: "no protocol", in: "/80", wantErr: `"/80": want PROTO/PORT such as "tcp/443", PROTO or any`},
		{name: "port on icmp", in: "icmp/8", wantErr: `"icmp/8": protocol icmp has no ports`},
		{name: "port zero", in: "tcp/0", wantErr: `"tcp/0": port 0 out of range (1 to 65535)`},
		{name: "port too big", in: "tcp/70000", wantErr: `"tcp/70000": port 70000 out of range (1 to 65535)`},
		{name: "port way too big", in: "tcp/99999999999", wantErr: `"tcp/99999999999": "99999999999" is not a port number`},
		{name: "negative", in: "tcp/-1", wantErr: `"tcp/-1": "" is not a port number`},
		{name: "reversed", in: "tcp/90-80", wantErr: `"tcp/90-80": range ends before it starts`},
		{name: "range end too big", in: "udp/1-65536", wantErr: `"udp/1-65536": port 65536 out of range (1 to 65535)`},
		{name: "no port", in: "tcp/", wantErr: `"tcp/": "" is not a port number`},
		{name: "plus sign", in: "tcp/+80", wantErr: `"tcp/+80": "+80" is not a port number`},
		{name: "spaces", in: "tcp/ 80", wantErr: `"tcp/ 80": " 80" is not a port number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parsePort(tt.in)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("parsePort(%q) = %v, want error %q", tt.in, got, tt.wantErr)
				}
				if diff := cmp.Diff(tt.wantErr, err.Error()); diff != "" {
					t.Errorf("parsePort(%q) error (-want +got):\n%s", tt.in, diff)
				}
				return
			}
			if err != nil {
				t.Fatalf("parsePort(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parsePort(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestParsePrefix(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr string
	}{
		{name: "cidr", in: "10.3.0.0/16", want: "10.3.0.0/16"},
		{name: "address", in: "10.3.0.1", want: "10.3.0.1/32"},
		{name: "everything", in: "0.0.0.0/0", want: "0.0.0.0/0"},
		{name: "ipv6 cidr", in: "fd00:3::/48", want: "fd00:3::/48"},
		{name: "ipv6 address", in: "fd00::1", want: "fd00::1/128"},
		{name: "every ipv6", in: "::/0", want: "::/0"},
		{name: "mapped address becomes ipv4", in: "::ffff:10.0.0.1", want: "10.0.0.1/32"},
		{name: "host bits", in: "10.3.0.1/16", wantErr: `"10.3.0.1/16" has host bits set (did you mean 10.3.0.0/16?)`},
		{name: "ipv6 host bits", in: "fd00::1/64", wantErr: `"fd00::1/64" has host bits set (did you mean fd00::/64?)`},
		{name: "length too long", in: "10.0.0.0/33", wantErr: `"10.0.0.0/33": prefix length out of range (0 to 32)`},
		{name: "ipv6 length too long", in: "fd00::/129", wantErr: `"fd00::/129": prefix length out of range (0 to 128)`},
		{name: "negative length", in: "10.0.0.0/-8", wantErr: `"10.0.0.0/-8": prefix length out of range (0 to 32)`},
		{name: "garbage length", in: "10.0.0.0/x", wantErr: `"10.0.0.0/x": prefix length out of range (0 to 32)`},
		{name: "garbage address", in: "ten/8", wantErr: `"ten/8" is not an address range (CIDR)`},
		{name: "five octets", in: "10.0.0.0.0", wantErr: `"10.0.0.0.0" is not an address or address range`},
		{name: "octet too big", in: "10.0.0.256", wantErr: `"10.0.0.256" is not an address or address range`},
		{name: "scoped address", in: "fe80::1%eth0", wantErr: `"fe80::1%eth0" is not an address or address range`},
		{name: "scoped cidr", in: "fe80::%eth0/64", wantErr: `"fe80::%eth0/64" is not an address range (CIDR)`},
		{name: "empty", in: "", wantErr: `"" is not an address or address range`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parsePrefix(tt.in)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("parsePrefix(%q) = %v, want error %q", tt.in, got, tt.wantErr)
				}
				if diff := cmp.Diff(tt.wantErr, err.Error()); diff != "" {
					t.Errorf("parsePrefix(%q) error (-want +got):\n%s", tt.in, diff)
				}
				return
			}
			if err != nil {
				t.Fatalf("parsePrefix(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(netip.MustParsePrefix(tt.want), got, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
				t.Errorf("parsePrefix(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestParseRef(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    ref
		wantErr string
	}{
		{name: "any", in: "any", want: ref{kind: refAny}},
		{name: "self", in: "self", want: ref{kind: refSelf}},
		{name: "zone", in: "zone:prod", want: ref{kind: refZone, name: "prod"}},
		{name: "group", in: "group:web-1", want: ref{kind: refGroup, name: "web-1"}},
		{name: "address", in: "10.0.0.1", want: ref{kind: refPrefix, prefix: netip.MustParsePrefix("10.0.0.1/32")}},
		{name: "ipv6 starting with ::", in: "::1", want: ref{kind: refPrefix, prefix: netip.MustParsePrefix("::1/128")}},
		{name: "ipv6 with a word-like first group", in: "face:b00c::/32", want: ref{kind: refPrefix, prefix: netip.MustParsePrefix("face:b00c::/32")}},
		{name: "unknown kind", in: "host:web", wantErr: `"host:web": unknown kind "host" (want zone:NAME, group:NAME, an address, any or self)`},
		{name: "kind without name", in: "zone:", wantErr: `"zone:": empty name`},
		{name: "bare word", in: "prod", wantErr: `"prod": want zone:prod, group:prod, an address, any or self`},
		{name: "hex-like bad address", in: "beef:x", wantErr: `"beef:x" is not an address or address range`},
		{name: "upper case Any", in: "Any", wantErr: `"Any": want zone:Any, group:Any, an address, any or self`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseRef(item{s: tt.in})
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("parseRef(%q) = %+v, want error %q", tt.in, got, tt.wantErr)
				}
				if diff := cmp.Diff(tt.wantErr, err.Error()); diff != "" {
					t.Errorf("parseRef(%q) error (-want +got):\n%s", tt.in, diff)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseRef(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(ref{}), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
				t.Errorf("parseRef(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestCheckName(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{name: "plain", in: "web-1"},
		{name: "dots and underscores", in: "shop.db_primary"},
		{name: "63 characters", in: "a23456789012345678901234567890123456789012345678901234567890123"},
		{name: "64 characters", in: "a234567890123456789012345678901234567890123456789012345678901234",
			wantErr: `name "a234567890123456789012345678901234567890123456789012345678901234" is longer than 63 characters`},
		{name: "empty", in: "", wantErr: "empty name"},
		{name: "leading dash", in: "-web", wantErr: `name "-web": '-' is not allowed (letters, digits, and - _ . after the first)`},
		{name: "space", in: "a b", wantErr: `name "a b": ' ' is not allowed (letters, digits, and - _ . after the first)`},
		{name: "non-ASCII shown whole", in: "café", wantErr: `name "café": 'é' is not allowed (letters, digits, and - _ . after the first)`},
		{name: "colon", in: "zone:x", wantErr: `name "zone:x": ':' is not allowed (letters, digits, and - _ . after the first)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkName(tt.in)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tt.wantErr, got); diff != "" {
				t.Errorf("checkName(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}
