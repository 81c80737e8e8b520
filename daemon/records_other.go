//go:build !linux

package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
)

// enableConntrackTimestamps fails: conntrack is Linux's.
func enableConntrackTimestamps() error {
	return fmt.Errorf("conntrack is not supported on %s", runtime.GOOS)
}

// ConntrackListener reads conntrack's flow ends; Linux only.
type ConntrackListener struct{}

// ListenConntrack fails: conntrack is Linux's.
func ListenConntrack(context.Context, *RecordTracker, *slog.Logger) (*ConntrackListener, error) {
	return nil, fmt.Errorf("daemon: conntrack events: not supported on %s", runtime.GOOS)
}

// Done is closed.
func (*ConntrackListener) Done() <-chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

// conntrackHolds fails: conntrack is Linux's.
func conntrackHolds() (func(src, dst netip.AddrPort, proto uint8) bool, func() error, error) {
	return nil, nil, fmt.Errorf("daemon: conntrack: not supported on %s", runtime.GOOS)
}
