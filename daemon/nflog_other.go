//go:build !linux

package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/septa-fw/septa/daemon/events"
)

// Defaults of NFLOGConfig.
const (
	DefaultNFLOGWindow  = 10 * time.Second
	DefaultNFLOGMaxKeys = 16384
)

// NFLOGConfig configures an NFLOG listener (see nflog_linux.go).
type NFLOGConfig struct {
	DenyGroup, ObserveGroup, AllowGroup uint16
	Publish                             func(*events.Event)
	Enrich                              func(*events.Event)
	Logger                              *slog.Logger
	NetNS                               int
	Window                              time.Duration
	MaxKeys                             int
	Now                                 func() time.Time
}

// NFLOGStats are an NFLOG listener's counters.
type NFLOGStats struct {
	Received   uint64 `json:"received"`
	Published  uint64 `json:"published"`
	Suppressed uint64 `json:"suppressed"`
	Errors     uint64 `json:"errors"`
}

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
