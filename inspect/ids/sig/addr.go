package sig

import (
	"net/netip"
	"strconv"
	"strings"
)

// addrExpr is a parsed address or port specification: any, one prefix
// (or port range), or a list, each possibly negated. Lists follow
// Suricata: [a,b,!c] is a or b, but never c; a list of only negations
// is everything but those.
type addrExpr struct {
	neg    bool
	any    bool
	prefix netip.Prefix // address leaf
	lo, hi uint16       // port leaf
	leaf   bool
	items  []addrExpr
}

func (e *addrExpr) matchAddr(a netip.Addr) bool {
	r := e.innerAddr(a)
	return r != e.neg
}

func (e *addrExpr) innerAddr(a netip.Addr) bool {
	switch {
	case e.any:
		return true
	case e.leaf:
		return e.prefix.Contains(a.Unmap())
	}
	pos, hasPos := false, false
	for i := range e.items {
		it := &e.items[i]
		if it.neg {
			if it.innerAddr(a) {
				return false
			}
			continue
		}
		hasPos = true
		if !pos && it.innerAddr(a) {
			pos = true
		}
	}
	return pos || !hasPos
}

func (e *addrExpr) matchPort(p uint16) bool {
	r := e.innerPort(p)
	return r != e.neg
}

func (e *addrExpr) innerPort(p uint16) bool {
	switch {
	case e.any:
		return true
	case e.leaf:
		return p >= e.lo && p <= e.hi
	}
	pos, hasPos := false, false
	for i := range e.items {
		it := &e.items[i]
		if it.neg {
			if it.innerPort(p) {
				return false
			}
			continue
		}
		hasPos = true
		if !pos && it.innerPort(p) {
			pos = true
		}
	}
	return pos || !hasPos
}

// Vars are Suricata's address and port variables (HOME_NET, HTTP_PORTS,
// ...), by name without the $, in Suricata syntax.
type Vars struct {
	Addr map[string]string
	Port map[string]string
}

// DefaultVars returns the variables of Suricata's default suricata.yaml,
// so that published rulesets load without a configuration.
func DefaultVars() *Vars {
	return &Vars{
		Addr: map[string]string{
			"HOME_NET":     "[192.168.0.0/16,10.0.0.0/8,172.16.0.0/12]",
			"EXTERNAL_NET": "!$HOME_NET",
			"HTTP_SERVERS": "$HOME_NET", "SMTP_SERVERS": "$HOME_NET", "SQL_SERVERS": "$HOME_NET",
			"DNS_SERVERS": "$HOME_NET", "TELNET_SERVERS": "$HOME_NET", "AIM_SERVERS": "$EXTERNAL_NET",
			"DC_SERVERS": "$HOME_NET", "DNP3_SERVER": "$HOME_NET", "DNP3_CLIENT": "$HOME_NET",
			"MODBUS_CLIENT": "$HOME_NET", "MODBUS_SERVER": "$HOME_NET", "ENIP_CLIENT": "$HOME_NET",
			"ENIP_SERVER": "$HOME_NET",
		},
		Port: map[string]string{
			"HTTP_PORTS": "80", "SHELLCODE_PORTS": "!80", "ORACLE_PORTS": "1521", "SSH_PORTS": "22",
			"DNP3_PORTS": "20000", "MODBUS_PORTS": "502", "FILE_DATA_PORTS": "[$HTTP_PORTS,110,143]",
			"FTP_PORTS": "21", "GENEVE_PORTS": "6081", "VXLAN_PORTS": "4789", "TEREDO_PORTS": "3544",
		},
	}
}

// maxVarDepth bounds variable expansion, so $A = $B = $A fails instead of
// recursing forever.
const maxVarDepth = 8

func (v *Vars) parseAddr(s string, depth int) (addrExpr, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return addrExpr{}, errf("empty address")
	}
	if s[0] == '!' {
		e, err := v.parseAddr(s[1:], depth)
		if err != nil {
			return e, err
		}
		if e.neg {
			e.neg = false // !!x
			return e, nil
		}
		return addrExpr{neg: true, items: []addrExpr{e}}, nil
	}
	if s[0] == '[' {
		if s[len(s)-1] != ']' {
			return addrExpr{}, errf("address list %q: missing ]", s)
		}
		parts, err := splitList(s[1 : len(s)-1])
		if err != nil {
			return addrExpr{}, errf("address list %q: %v", s, err)
		}
		e := addrExpr{items: make([]addrExpr, 0, len(parts))}
		for _, p := range parts {
			it, err := v.parseAddr(p, depth)
			if err != nil {
				return e, err
			}
			e.items = append(e.items, it)
		}
		return e, nil
	}
	if s[0] == '$' {
		if depth >= maxVarDepth {
			return addrExpr{}, errf("address variable %s: nested too deep", s)
		}
		val, ok := v.Addr[s[1:]]
		if !ok {
			return addrExpr{}, errf("undefined address variable %s", s)
		}
		return v.parseAddr(val, depth+1)
	}
	if s == "any" {
		return addrExpr{any: true}, nil
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			// Suricata accepts a dotted netmask: 10.0.0.0/255.0.0.0.
			if i := strings.IndexByte(s, '/'); i > 0 {
				if m, err2 := netip.ParseAddr(s[i+1:]); err2 == nil && m.Is4() {
					ones := maskBits(m.As4())
					a, err3 := netip.ParseAddr(s[:i])
					if ones >= 0 && err3 == nil {
						return addrExpr{leaf: true, prefix: netip.PrefixFrom(a, ones).Masked()}, nil
					}
				}
			}
			return addrExpr{}, errf("bad address %q", s)
		}
		return addrExpr{leaf: true, prefix: p.Masked()}, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return addrExpr{}, errf("bad address %q", s)
	}
	return addrExpr{leaf: true, prefix: netip.PrefixFrom(a, a.BitLen())}, nil
}

func maskBits(m [4]byte) int {
	v := uint32(m[0])<<24 | uint32(m[1])<<16 | uint32(m[2])<<8 | uint32(m[3])
	n := 0
	for v&0x80000000 != 0 {
		n++
		v <<= 1
	}
	if v != 0 {
		return -1
	}
	return n
}

func (v *Vars) parsePort(s string, depth int) (addrExpr, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return addrExpr{}, errf("empty port")
	}
	if s[0] == '!' {
		e, err := v.parsePort(s[1:], depth)
		if err != nil {
			return e, err
		}
		return addrExpr{neg: true, items: []addrExpr{e}}, nil
	}
	if s[0] == '[' {
		if s[len(s)-1] != ']' {
			return addrExpr{}, errf("port list %q: missing ]", s)
		}
		parts, err := splitList(s[1 : len(s)-1])
		if err != nil {
			return addrExpr{}, errf("port list %q: %v", s, err)
		}
		e := addrExpr{items: make([]addrExpr, 0, len(parts))}
		for _, p := range parts {
			it, err := v.parsePort(p, depth)
			if err != nil {
				return e, err
			}
			e.items = append(e.items, it)
		}
		return e, nil
	}
	if s[0] == '$' {
		if depth >= maxVarDepth {
			return addrExpr{}, errf("port variable %s: nested too deep", s)
		}
		val, ok := v.Port[s[1:]]
		if !ok {
			return addrExpr{}, errf("undefined port variable %s", s)
		}
		return v.parsePort(val, depth+1)
	}
	if s == "any" {
		return addrExpr{any: true}, nil
	}
	lo, hi := s, s
	if i := strings.IndexByte(s, ':'); i >= 0 {
		lo, hi = s[:i], s[i+1:]
		if lo == "" {
			lo = "0"
		}
		if hi == "" {
			hi = "65535"
		}
	}
	l, err1 := strconv.ParseUint(lo, 10, 16)
	h, err2 := strconv.ParseUint(hi, 10, 16)
	if err1 != nil || err2 != nil || l > h {
		return addrExpr{}, errf("bad port %q", s)
	}
	return addrExpr{leaf: true, lo: uint16(l), hi: uint16(h)}, nil
}

// splitList splits the inside of [...] at top-level commas.
func splitList(s string) ([]string, error) {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			depth++
		case ']':
			depth--
			if depth < 0 {
				return nil, errf("unbalanced ]")
			}
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	if depth != 0 {
		return nil, errf("unbalanced [")
	}
	out = append(out, s[start:])
	for _, p := range out {
		if strings.TrimSpace(p) == "" {
			return nil, errf("empty element")
		}
	}
	return out, nil
}
