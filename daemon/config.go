// Package daemon is septad: it wires the policy (rules), the kernel side
// (nft) and the inspector (inspect) into one long-running service, with
// its lifecycle (start, reload, stop, systemd notify and watchdog), the
// control API on a unix socket, and the event sinks.
//
// It imports every other package of septa; only cmd/* imports it.
package daemon

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/septa-fw/septa/daemon/fleet"
)

// DefaultConfigPath is where septad reads its configuration.
const DefaultConfigPath = "/etc/septa/septad.toml"

// Config is septad's configuration (/etc/septa/septad.toml). Every field
// has a default; an empty file is a valid configuration.
type Config struct {
	// PolicyDir is the policy directory, Inventory the inventory file
	// ("" or a missing file: no inventory).
	PolicyDir string `toml:"policy_dir"`
	Inventory string `toml:"inventory"`
	// StateDir keeps what survives a restart.
	StateDir string `toml:"state_dir"`
	// OnStop: "keep" leaves the table in the kernel when septad stops, so
	// the kernel keeps enforcing (the default); "remove" deletes it.
	OnStop string `toml:"on_stop"`
	// WatchPolicy reloads when the policy directory or the inventory
	// changes (debounced).
	WatchPolicy *bool `toml:"watch_policy"`

	Kernel   KernelConfig   `toml:"kernel"`
	Inspect  InspectConfig  `toml:"inspect"`
	Identity IdentityConfig `toml:"identity"`
	Events   EventsConfig   `toml:"events"`
	Flows    FlowsConfig    `toml:"flows"`
	Control  ControlConfig  `toml:"control"`
	// Fleet is fleet mode (docs/fleet.md): policy, inventory and
	// identity shared through etcd. Off by default.
	Fleet fleet.Config `toml:"fleet"`
}

// KernelConfig is the nftables side.
type KernelConfig struct {
	Table string `toml:"table"`
	// MarkMask is the part of the conntrack and packet marks septa owns,
	// as a number or a hex string ("0x00fff000").
	MarkMask  Hex    `toml:"mark_mask"`
	Queues    uint16 `toml:"queues"`
	QueueBase uint16 `toml:"queue_base"`
	QueueLen  uint32 `toml:"queue_len"`
	// QueueFanout spreads flows over queues by CPU instead of by
	// address hash.
	QueueFanout bool `toml:"queue_fanout"`
}

// InspectConfig tunes the inspector.
type InspectConfig struct {
	MaxFlows         int      `toml:"max_flows"`
	Depth            int      `toml:"depth"`
	HoldTimeout      Duration `toml:"hold_timeout"`
	IdleTimeout      Duration `toml:"idle_timeout"`
	PassFirstPackets bool     `toml:"pass_first_packets"`
}

// IdentityConfig feeds the identity map of remote users.
type IdentityConfig struct {
	// MapFile is a static TOML file of address-to-user mappings.
	MapFile string `toml:"map_file"`
	// Feed is a JSON-lines file that an authentication system appends
	// logins and logouts to; septad follows it.
	Feed string `toml:"feed"`
	// TTL is how long a mapping from the feed lives without renewal.
	TTL Duration `toml:"ttl"`
}

// EventsConfig says where events go.
type EventsConfig struct {
	Journald *bool  `toml:"journald"`
	EVE      string `toml:"eve"`
	// EVEMaxBytes rotates the EVE file past this size; EVEKeep rotated
	// files are kept.
	EVEMaxBytes int64 `toml:"eve_max_bytes"`
	EVEKeep     int   `toml:"eve_keep"`
	// Metrics is an address for Prometheus metrics ("127.0.0.1:9750");
	// empty: no TCP listener at all.
	Metrics string `toml:"metrics"`
}

// FlowsConfig is flow records: one per flow when it ends, from conntrack,
// with what septa knows of the flow (see records_tracker.go).
type FlowsConfig struct {
	// Records turns flow records on (the default).
	Records *bool `toml:"records"`
	// MaxRecords and MaxAge bound the records kept in memory for
	// queries (septa flows --records, septa map).
	MaxRecords int      `toml:"max_records"`
	MaxAge     Duration `toml:"max_age"`
	// Rate bounds the records written per second; more are dropped
	// and counted.
	Rate int `toml:"rate"`
	// JoinMax bounds the decisions waiting for their flow's end,
	// JoinTTL how long one waits; DenyGrace how long an inspector's
	// deny waits for conntrack before it is recorded alone.
	JoinMax   int      `toml:"join_max"`
	JoinTTL   Duration `toml:"join_ttl"`
	DenyGrace Duration `toml:"deny_grace"`
	// StateFile keeps the latest records across a restart ("" is
	// flows.json.gz in state_dir); StateRecords bounds how many,
	// StateInterval how often it is written (and at stop).
	StateFile     string   `toml:"state_file"`
	StateRecords  int      `toml:"state_records"`
	StateInterval Duration `toml:"state_interval"`
}

// Defaults of FlowsConfig.
const (
	DefaultFlowRecords       = 50_000
	DefaultFlowMaxAge        = 24 * time.Hour
	DefaultFlowStateFile     = "flows.json.gz"
	DefaultFlowStateRecords  = 20_000
	DefaultFlowStateInterval = 5 * time.Minute
)

// ControlConfig is the control API.
type ControlConfig struct {
	Socket string `toml:"socket"`
	// Group may use the socket besides root (mode 0660).
	Group string `toml:"group"`
}

// Defaults of Config.
const (
	DefaultPolicyDir = "/etc/septa/policy.d"
	DefaultInventory = "/etc/septa/inventory.toml"
	DefaultStateDir  = "/var/lib/septa"
	DefaultSocket    = "/run/septa/septad.sock"
	DefaultGroup     = "septa"
	DefaultEVE       = "/var/log/septa/eve.json"
)

// WithDefaults fills every unset field.
func (c Config) WithDefaults() Config {
	set := func(s *string, d string) {
		if *s == "" {
			*s = d
		}
	}
	set(&c.PolicyDir, DefaultPolicyDir)
	set(&c.Inventory, DefaultInventory)
	set(&c.StateDir, DefaultStateDir)
	set(&c.OnStop, "keep")
	set(&c.Control.Socket, DefaultSocket)
	set(&c.Control.Group, DefaultGroup)
	if c.WatchPolicy == nil {
		t := true
		c.WatchPolicy = &t
	}
	if c.Kernel.Queues == 0 {
		c.Kernel.Queues = 1
	}
	if c.Events.Journald == nil {
		t := true
		c.Events.Journald = &t
	}
	if c.Events.EVEMaxBytes == 0 {
		c.Events.EVEMaxBytes = 100 << 20
	}
	if c.Events.EVEKeep == 0 {
		c.Events.EVEKeep = 5
	}
	if c.Flows.Records == nil {
		t := true
		c.Flows.Records = &t
	}
	if c.Flows.MaxRecords == 0 {
		c.Flows.MaxRecords = DefaultFlowRecords
	}
	if c.Flows.MaxAge == 0 {
		c.Flows.MaxAge = Duration(DefaultFlowMaxAge)
	}
	if c.Flows.Rate == 0 {
		c.Flows.Rate = DefaultRecordRate
	}
	if c.Flows.JoinMax == 0 {
		c.Flows.JoinMax = DefaultRecordJoinMax
	}
	if c.Flows.JoinTTL == 0 {
		c.Flows.JoinTTL = Duration(DefaultRecordJoinTTL)
	}
	if c.Flows.DenyGrace == 0 {
		c.Flows.DenyGrace = Duration(DefaultRecordDenyGrace)
	}
	if c.Flows.StateFile == "" {
		c.Flows.StateFile = filepath.Join(c.StateDir, DefaultFlowStateFile)
	}
	if c.Flows.StateRecords == 0 {
		c.Flows.StateRecords = DefaultFlowStateRecords
	}
	if c.Flows.StateInterval == 0 {
		c.Flows.StateInterval = Duration(DefaultFlowStateInterval)
	}
	if c.Identity.TTL == 0 {
		c.Identity.TTL = Duration(12 * time.Hour)
	}
	c.Fleet = c.Fleet.WithDefaults()
	return c
}

// Validate checks the values that have a fixed set of choices.
func (c Config) Validate() error {
	var errs []error
	if c.OnStop != "keep" && c.OnStop != "remove" {
		errs = append(errs, fmt.Errorf("on_stop: %q is not \"keep\" or \"remove\"", c.OnStop))
	}
	if c.Kernel.Queues > 64 {
		errs = append(errs, fmt.Errorf("kernel.queues: %d is more than 64", c.Kernel.Queues))
	}
	if c.Inspect.MaxFlows < 0 || c.Inspect.Depth < 0 {
		errs = append(errs, errors.New("inspect: max_flows and depth must not be negative"))
	}
	f := c.Flows
	switch {
	case f.MaxRecords < 0 || f.MaxRecords > 10_000_000:
		errs = append(errs, fmt.Errorf("flows.max_records: %d is not from 1 to 10000000", f.MaxRecords))
	case f.StateRecords < 0 || f.StateRecords > f.MaxRecords:
		errs = append(errs, fmt.Errorf("flows.state_records: %d is not from 1 to max_records (%d)", f.StateRecords, f.MaxRecords))
	}
	if f.Rate < 0 || f.JoinMax < 0 || f.JoinMax > 10_000_000 {
		errs = append(errs, errors.New("flows: rate and join_max must be positive (join_max at most 10000000)"))
	}
	if f.MaxAge < 0 || f.JoinTTL < 0 || f.DenyGrace < 0 || f.StateInterval < 0 {
		errs = append(errs, errors.New("flows: durations must not be negative"))
	}
	if err := c.Fleet.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// LoadConfig reads a configuration file. A missing file at the default
// path gives the defaults; unknown keys are errors, since a misspelt
// setting silently ignored is a setting not applied.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && path == DefaultConfigPath {
			return Config{}.WithDefaults(), nil
		}
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return ParseConfig(path, data)
}

// ParseConfig reads a configuration from data; path is for errors.
func ParseConfig(path string, data []byte) (Config, error) {
	var c Config
	md, err := toml.Decode(string(data), &c)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return c, fmt.Errorf("config: %s:%d:%d: %s", path, pe.Position.Line, pe.Position.Col, pe.Message)
		}
		return c, fmt.Errorf("config: %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return c, fmt.Errorf("config: %s: unknown keys: %s", path, strings.Join(keys, ", "))
	}
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("config: %s: %w", path, err)
	}
	return c, nil
}

// Duration is a time.Duration written as "500ms" or "12h".
type Duration time.Duration

// UnmarshalText parses a Go duration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration such as \"500ms\" or \"12h\"", b)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the duration as Go does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// Hex is a number written as a TOML integer or a hex string.
type Hex uint32

// UnmarshalTOML accepts 16773120 and "0x00fff000".
func (h *Hex) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case int64:
		if v < 0 || v > 1<<32-1 {
			return fmt.Errorf("%d is out of range for a 32-bit mask", v)
		}
		*h = Hex(v)
		return nil
	case string:
		n, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(v), "0x"), 16, 32)
		if err != nil {
			return fmt.Errorf("%q is not a hex number such as \"0x00fff000\"", v)
		}
		*h = Hex(n)
		return nil
	}
	return fmt.Errorf("want a number or a hex string, not %T", v)
}
