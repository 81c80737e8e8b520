package sig

import (
	"strconv"
	"strings"
)

func init() {
	register(&keyword{name: "ip_proto", doc: "the IP protocol: a number or name (tcp, udp, icmp, ...), optionally !, < or >", setup: setupIPProto})
}

var ipProtoNames = map[string]uint64{"icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "ipv6-icmp": 58, "icmpv6": 58, "gre": 47, "esp": 50, "ah": 51, "sctp": 132, "pim": 103, "ipip": 4}

type ipProto struct{ cmp numCmp }

func setupIPProto(p *parser, v string) error {
	v = strings.TrimSpace(v)
	op := ""
	if len(v) > 0 && (v[0] == '!' || v[0] == '<' || v[0] == '>') {
		op, v = v[:1], v[1:]
	}
	if n, ok := ipProtoNames[strings.ToLower(v)]; ok {
		v = strconv.FormatUint(n, 10)
	}
	c, err := parseNumCmp(op+v, 255)
	if err != nil {
		return err
	}
	p.sig.checks = append(p.sig.checks, &ipProto{cmp: c})
	return nil
}

func (ip *ipProto) check(st *state) bool { return ip.cmp.match(uint64(st.pkt.Proto)) }
