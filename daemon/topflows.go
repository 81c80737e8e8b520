package daemon

import (
	"net/netip"
	"time"
)

// FlowSummary is one live flow as conntrack counts it, with septa's
// verdict from the flow's mark.
type FlowSummary struct {
	Src, Dst             netip.AddrPort
	Proto                uint8
	Verdict              string // allow, deny, inspect, undecided; "stale" for an older generation
	PacketsToServer      uint64
	PacketsToClient      uint64
	BytesToServer        uint64
	BytesToClient        uint64
	Start                time.Time `json:",omitzero"`
	ZoneSrc, ZoneDst     string
	GroupsSrc, GroupsDst []string
}
