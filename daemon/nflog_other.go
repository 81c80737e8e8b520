//go:build !linux

package daemon

import (
	"context"
	"fmt"
	"runtime"
)

// NFLOGListener reads the kernel's NFLOG messages; Linux only.
type NFLOGListener struct{}

// ListenNFLOG fails: NFLOG is Linux's.
func ListenNFLOG(context.Context, NFLOGConfig) (*NFLOGListener, error) {
	return nil, fmt.Errorf("daemon: nflog: not supported on %s", runtime.GOOS)
}

// Stats returns zero counters.
func (*NFLOGListener) Stats() NFLOGStats { return NFLOGStats{} }

// Done is closed.
func (*NFLOGListener) Done() <-chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

func (d *Daemon) startNFLOG(context.Context) *NFLOGListener { return nil }
