//go:build !linux

package daemon

import (
	"fmt"
	"runtime"

	"github.com/septa-fw/septa/daemon/events"
)

// enableConntrackAccounting does nothing: conntrack is Linux's.
func enableConntrackAccounting() error {
	return fmt.Errorf("conntrack is not supported on %s", runtime.GOOS)
}

// TopFlows fails: conntrack is Linux's.
func (d *Daemon) TopFlows(int) ([]FlowSummary, error) {
	return nil, fmt.Errorf("conntrack is not supported on %s", runtime.GOOS)
}

// withLiveCounters leaves the events as they are outside Linux.
func withLiveCounters(es []*events.Event) []*events.Event { return es }
