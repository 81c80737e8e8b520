package sig

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"

	"github.com/septa-fw/septa/inspect/ids"
)

// PluginName is the name the engine registers with package ids.
const PluginName = "signature"

func init() {
	ids.Register(PluginName, func(cfg ids.Config) (ids.Engine, error) {
		e, err := NewFromConfig(cfg)
		if err != nil {
			return nil, err
		}
		return e, nil
	})
}

// Engine is a built, immutable signature engine. Build a new one to
// change the signatures and swap it in (atomic.Pointer) on reload.
type Engine struct {
	gen   uint32
	sigs  []*Signature // by internal id
	group [numGroups]*group
	// pre is the prefilter per direction (0: to the server) and buffer;
	// npg counts the port groups, whose indexes its entries carry.
	pre   [2][NumBuffers]*bufMPM
	npg   uint32
	nbits int
	stats Stats
	// loadErrors are the first errors of skipped signatures.
	loadErrors []error
	// maxPayloadPat is the longest payload fast pattern: an incremental
	// stream scan starts this many bytes less one before the new data.
	maxPayloadPat int
	// pcreTimeouts counts backtracking pcre matches that ran over their
	// timeout (pcre_backtrack.go), over all scratches.
	pcreTimeouts atomic.Uint64
}

// Stats describe a built engine.
type Stats struct {
	Loaded int // signatures in the engine
	Failed int // signatures that did not parse
	// Inert signatures loaded but use something the engine cannot
	// evaluate; they never match.
	Inert int
	// Prefiltered signatures have a fast pattern; the rest are checked
	// on every packet of their group.
	Prefiltered int
	Groups      int
	// PortGroups are the groups' splits by server port, each with its
	// own prefilter.
	PortGroups int
	MPMStates  int
	MPMBytes   int // the prefilter automata's memory
}

var (
	_ ids.Engine    = (*Engine)(nil)
	_ ids.Validator = (*Engine)(nil)
)

var generation atomic.Uint32

// Name implements ids.Engine.
func (e *Engine) Name() string { return PluginName }

// Stats returns the engine's build statistics.
func (e *Engine) Stats() Stats { return e.stats }

// SignatureStats is the summary septa check and septad report.
func (e *Engine) SignatureStats() (loaded, failed, inert int) {
	return e.stats.Loaded, e.stats.Failed, e.stats.Inert
}

var _ ids.MatchLimiter = (*Engine)(nil)

// PCRETimeouts implements ids.MatchLimiter: the backtracking pcre
// matches that ran over their timeout since the engine was built (each
// counted as no match).
func (e *Engine) PCRETimeouts() uint64 { return e.pcreTimeouts.Load() }

// Validate implements ids.Validator: a built engine is valid.
func (e *Engine) Validate() error { return nil }

// NewFromConfig loads the configured files and builds an engine. A
// signature that does not parse is skipped (and counted in Stats) unless
// cfg.Strict; the error then joins every signature error.
func NewFromConfig(cfg ids.Config) (*Engine, error) {
	vars := DefaultVars()
	for _, v := range cfg.AddressVars {
		s := "["
		for i, p := range v.Prefixes {
			if i > 0 {
				s += ","
			}
			s += p.String()
		}
		s += "]"
		if len(v.Prefixes) == 0 {
			s = "any"
		}
		if v.Negated {
			s = "!" + s
		}
		vars.Addr[v.Name] = s
	}
	for k, v := range cfg.PortVars {
		vars.Port[k] = v
	}
	opt := LoadOptions{Vars: vars, Disabled: map[uint32]bool{}, Actions: cfg.Actions}
	for _, sid := range cfg.Disabled {
		opt.Disabled[sid] = true
	}
	res := &LoadResult{}
	for _, f := range cfg.Files {
		if !filepath.IsAbs(f) && cfg.Dir != "" {
			f = filepath.Join(cfg.Dir, f)
		}
		if err := LoadFile(f, opt, res); err != nil {
			return nil, fmt.Errorf("signatures: %w", err)
		}
	}
	if cfg.Strict && len(res.Errors) > 0 {
		errs := make([]error, len(res.Errors))
		for i, e := range res.Errors {
			errs[i] = e
		}
		return nil, errors.Join(errs...)
	}
	e, err := Build(res.Sigs)
	if err != nil {
		return nil, err
	}
	e.stats.Failed = len(res.Errors)
	for _, le := range res.Errors[:min(len(res.Errors), maxLoadErrors)] {
		e.loadErrors = append(e.loadErrors, le)
	}
	return e, nil
}

var _ ids.Reporter = (*Engine)(nil)

// maxLoadErrors bounds the load errors an engine keeps for reporting.
const maxLoadErrors = 100

// LoadErrors returns the first errors of the signatures that were skipped
// (FILE:LINE: sid N: keyword "content": problem), at most maxLoadErrors;
// Stats().Failed counts them all.
func (e *Engine) LoadErrors() []error { return e.loadErrors }
