package daemon

import (
	"log/slog"
	"time"

	"github.com/septa-fw/septa/daemon/events"
)

// Defaults of NFLOGConfig.
const (
	DefaultNFLOGWindow  = 10 * time.Second
	DefaultNFLOGMaxKeys = 16384
)

// NFLOGConfig configures an NFLOG listener.
type NFLOGConfig struct {
	// The NFLOG groups to bind, by what the kernel logs to them
	// (nft.Config's LogGroupDeny, LogGroupObserve, LogGroupAllow); 0
	// leaves one unbound.
	DenyGroup, ObserveGroup, AllowGroup uint16
	// Publish receives each event; it must not block (events.Bus.Publish).
	Publish func(*events.Event)
	// Enrich, if set, completes an event before it is published (zones).
	Enrich func(*events.Event)
	// Logger logs binding failures and, rate-limited, lost messages.
	// Nil discards.
	Logger *slog.Logger
	// NetNS is a network namespace file descriptor; 0 for the current
	// one. NFLOG groups are per namespace: bind where the rules are.
	NetNS int
	// Window is how long a flow key's event suppresses its repeats
	// (DefaultNFLOGWindow if zero), MaxKeys how many keys the table
	// holds (DefaultNFLOGMaxKeys if zero).
	Window  time.Duration
	MaxKeys int
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// NFLOGStats are an NFLOG listener's counters.
type NFLOGStats struct {
	// Received counts logged packets read from the kernel.
	Received uint64 `json:"received"`
	// Published counts events published, Suppressed the packets that
	// repeated a flow key within the window.
	Published  uint64 `json:"published"`
	Suppressed uint64 `json:"suppressed"`
	// Errors counts lost messages (ENOBUFS: the socket buffer was full
	// and the kernel dropped log messages), malformed messages and
	// payloads without IP addresses.
	Errors uint64 `json:"errors"`
}
