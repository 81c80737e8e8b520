package sig

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
)

// TestIPSetMatchesExpr checks the compiled address and port sets against
// the expressions they come from, on the boundaries of every range and
// on random values.
func TestIPSetMatchesExpr(t *testing.T) {
	vars := DefaultVars()
	vars.Addr["V6NET"] = "[2001:db8::/32,!2001:db8:1::/48]"
	addrs := []string{
		"any", "!any", "$HOME_NET", "$EXTERNAL_NET", "10.0.0.0/8", "!10.0.0.0/8", "1.2.3.4",
		"[1.2.3.0/24,!1.2.3.4]", "[!1.2.3.4,!5.6.7.8]", "![1.2.3.4,$HOME_NET]", "[$HOME_NET,!192.168.1.0/24]",
		"$V6NET", "!$V6NET", "[::/0,0.0.0.0/0]", "[0.0.0.0/0]", "::1", "[10.0.0.0/255.0.0.0,2001::/16]",
		"[[1.0.0.0/8,!1.1.0.0/16],[!1.1.1.1]]", "::ffff:1.2.3.4", "255.255.255.255", "0.0.0.0/0",
		// More than eight spans: searched, not walked.
		"[1.1.1.1,2.2.2.2,3.3.3.0/24,4.4.4.4,5.5.5.5,6.6.6.6,7.7.7.7,8.8.8.8,9.9.9.9,11.0.0.0/8]",
		"![1.1.1.1,2.2.2.2,3.3.3.0/24,4.4.4.4,5.5.5.5,6.6.6.6,7.7.7.7,8.8.8.8,9.9.9.9,11.0.0.0/8]",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	probe := []netip.Addr{
		netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("255.255.255.255"), netip.MustParseAddr("::"),
		netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), netip.MustParseAddr("::ffff:1.2.3.4"),
	}
	for _, src := range addrs {
		e, err := vars.parseAddr(src, 0)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		set := compileAddr(&e)
		var cands []netip.Addr
		cands = append(cands, probe...)
		for _, x := range append(append(spans{}, set.v4...), set.v6...) {
			for _, v := range []u128{x.lo, x.hi, x.lo.dec(), x.hi.inc()} {
				cands = append(cands, fromKey(v, x.lo.hi == 0 && x.hi.hi == 0 && x.hi.lo <= 0xffffffff))
			}
		}
		for range 2000 {
			var b4 [4]byte
			var b16 [16]byte
			for i := range b4 {
				b4[i] = byte(rng.IntN(256))
			}
			for i := range b16 {
				b16[i] = byte(rng.IntN(256))
			}
			if rng.IntN(3) == 0 {
				b4[0] = []byte{1, 10, 172, 192}[rng.IntN(4)]
			}
			cands = append(cands, netip.AddrFrom4(b4), netip.AddrFrom16(b16))
		}
		for _, a := range cands {
			if got, want := set.contains(a), e.matchAddr(a); got != want {
				t.Errorf("%s contains %v = %v, want %v", src, a, got, want)
			}
		}
	}
	ports := []string{"any", "!any", "80", "!80", "[80,443]", "[1,3,5,7,9,11,13,15,17,19,21]", "[1:1024,!80]", "[!80,!443]", "![80:90,100]", "1024:", ":1023", "$HTTP_PORTS", "$SHELLCODE_PORTS", "$FILE_DATA_PORTS"}
	for _, src := range ports {
		e, err := vars.parsePort(src, 0)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		set := compilePort(&e)
		for p := 0; p <= 0xffff; p++ {
			if got, want := set.contains(uint16(p)), e.matchPort(uint16(p)); got != want {
				t.Fatalf("%s contains %d = %v, want %v", src, p, got, want)
			}
		}
	}
}

func fromKey(v u128, is4 bool) netip.Addr {
	if is4 {
		return netip.AddrFrom4([4]byte{byte(v.lo >> 24), byte(v.lo >> 16), byte(v.lo >> 8), byte(v.lo)})
	}
	var b [16]byte
	for i := 0; i < 8; i++ {
		b[i] = byte(v.hi >> (56 - 8*i))
		b[i+8] = byte(v.lo >> (56 - 8*i))
	}
	return netip.AddrFrom16(b)
}

// TestAddrIndexLookup files random address sets under an index and
// checks each lookup against the sets themselves.
func TestAddrIndexLookup(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	vars := DefaultVars()
	for round := range 50 {
		var b addrIndexBuilder
		var sets []ipSet
		for id := range 1 + rng.IntN(30) {
			var parts []string
			for range 1 + rng.IntN(4) {
				parts = append(parts, fmt.Sprintf("10.%d.%d.0/%d", rng.IntN(4), rng.IntN(256), 16+rng.IntN(17)))
			}
			e, err := vars.parseAddr("["+strings.Join(parts, ",")+"]", 0)
			if err != nil {
				t.Fatal(err)
			}
			sets = append(sets, compileAddr(&e))
			b.add(&sets[id], uint32(id))
		}
		x := b.build()
		for range 500 {
			a := netip.AddrFrom4([4]byte{10, byte(rng.IntN(5)), byte(rng.IntN(256)), byte(rng.IntN(256))})
			got := map[uint32]bool{}
			for _, id := range x.lookup(a) {
				got[id] = true
			}
			for id := range sets {
				if want := sets[id].contains(a); got[uint32(id)] != want {
					t.Fatalf("round %d: lookup %v: set %d filed: %v, contains: %v", round, a, id, got[uint32(id)], want)
				}
			}
		}
	}
}
