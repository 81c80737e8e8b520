package sig

import "strings"

func init() {
	register(&keyword{name: "reference", doc: "a reference: SYSTEM,ID (url,example.com/x; cve,2024-1)", setup: func(p *parser, v string) error {
		if i := strings.IndexByte(v, ','); i <= 0 || strings.TrimSpace(v[i+1:]) == "" {
			return errf("want SYSTEM,ID, have %q", v)
		}
		return nil
	}})
}
