package sig

import "strings"

func init() {
	register(&keyword{name: "target", doc: "which side is the target of the attack: src_ip or dest_ip (for the alert)", setup: func(p *parser, v string) error {
		switch strings.TrimSpace(v) {
		case "src_ip":
			p.sig.target = 1
		case "dest_ip":
			p.sig.target = 2
		default:
			return errf("want src_ip or dest_ip, have %q", strings.TrimSpace(v))
		}
		return nil
	}})
}
