package sig

import (
	"strings"

	"github.com/septa-fw/septa/inspect/appid"
)

func init() {
	register(&keyword{name: "app-layer-protocol", doc: "the flow's application protocol as app-ID identified it: NAME or !NAME (failed: none identified)", setup: setupAppLayerProtocol})
}

type appLayer struct {
	neg    bool
	failed bool
	apps   []appid.App
}

func setupAppLayerProtocol(p *parser, v string) error {
	a := &appLayer{}
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, ','); i >= 0 {
		v = strings.TrimSpace(v[:i]) // ,final / ,to_server modifiers: ignored
	}
	if strings.HasPrefix(v, "!") {
		a.neg, v = true, v[1:]
	}
	switch v {
	case "failed", "unknown":
		a.failed = true
	default:
		apps, ok := appProtos[v]
		if !ok {
			return errf("unknown protocol %q", v)
		}
		a.apps = apps
	}
	p.sig.checks = append(p.sig.checks, a)
	return nil
}

func (a *appLayer) check(st *state) bool {
	m := false
	if a.failed {
		m = st.in.App == appid.Unknown
	} else {
		for _, x := range a.apps {
			if st.in.App == x {
				m = true
			}
		}
	}
	return m != a.neg
}
