//go:build !linux

package nft

import (
	"errors"
	"net/netip"
	"runtime"
	"time"

	"github.com/septa-fw/septa/rules/ir"
)

// ErrNotSupported is returned by every kernel operation off Linux.
var ErrNotSupported = errors.New("nft: not supported on " + runtime.GOOS)

// Firewall is the Linux nftables firewall; off Linux every method fails
// with ErrNotSupported, so that the rest of septa builds and tests here.
type Firewall struct{}

// Result describes an apply.
type Result struct {
	Generation uint64
	Caps       Caps
	Stats      Stats
	Reconciled bool
	Duration   time.Duration
	Warnings   []string
}

// RuleCounter is the traffic that matched a rule.
type RuleCounter struct{ Packets, Bytes uint64 }

func Open(netnsFD int, cfg Config) (*Firewall, error)                       { return nil, ErrNotSupported }
func (f *Firewall) Close() error                                            { return ErrNotSupported }
func (f *Firewall) Config() Config                                          { return Config{} }
func (f *Firewall) MarkLayout() MarkLayout                                  { return MarkLayout{} }
func (f *Firewall) Probe() (Caps, error)                                    { return Caps{}, ErrNotSupported }
func (f *Firewall) Plan(p *ir.Policy, gen uint64) (*Plan, error)            { return nil, ErrNotSupported }
func (f *Firewall) Apply(p *ir.Policy, gen uint64) (Result, error)          { return Result{}, ErrNotSupported }
func (f *Firewall) ApplyPlan(plan *Plan) (Result, error)                    { return Result{}, ErrNotSupported }
func (f *Firewall) Flush() error                                            { return ErrNotSupported }
func (f *Firewall) Generation() (uint64, bool, error)                       { return 0, false, ErrNotSupported }
func (f *Firewall) Counters() (map[string]RuleCounter, error)               { return nil, ErrNotSupported }
func (f *Firewall) UpdateSet(name string, add, remove []netip.Prefix) error { return ErrNotSupported }
func (f *Firewall) ReplaceSet(name string, prefixes []netip.Prefix) error   { return ErrNotSupported }
func (f *Firewall) Quarantine(addr netip.Addr, timeout time.Duration) error { return ErrNotSupported }
func (f *Firewall) Release(addr netip.Addr) error                           { return ErrNotSupported }
func (f *Firewall) Quarantined() (map[netip.Addr]time.Duration, error)      { return nil, ErrNotSupported }
