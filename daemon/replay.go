package daemon

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/septa-fw/septa/daemon/events"
	"github.com/septa-fw/septa/inspect"
	"github.com/septa-fw/septa/inspect/ids"
	"github.com/septa-fw/septa/rules/ir"
)

// ReplayConfig is an offline run of the inspector over a capture.
type ReplayConfig struct {
	// Pcap is a pcap file (Ethernet, raw IP or Linux cooked captures).
	Pcap string
	// Rules are signature files; none runs app-ID alone.
	Rules []string
	// EVE receives the alerts and one flow event per flow, in
	// Suricata's schema.
	EVE io.Writer
	// Depth is the inspection depth per direction; 0 for the default.
	Depth int
	Log   *slog.Logger
}

// ReplayStats counts what a replay saw.
type ReplayStats struct {
	Packets, Skipped, Flows, Alerts uint64
	Duration                        time.Duration
}

// Replay runs the inspector's own pipeline (decoding, flow table, stream
// reassembly, app-ID and the signature engine) over a capture: every flow
// is allowed and inspected, its application identified, and each
// signature match reported, as `septa replay` does for rule writers and
// for benchmarks.
func Replay(cfg ReplayConfig) (ReplayStats, error) {
	var st ReplayStats
	f, err := os.Open(cfg.Pcap)
	if err != nil {
		return st, fmt.Errorf("replay: %w", err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return st, fmt.Errorf("replay: %s: %w", cfg.Pcap, err)
	}
	var strip int
	switch r.LinkType() {
	case layers.LinkTypeEthernet:
		strip = 14
	case layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6:
	case layers.LinkTypeLinuxSLL:
		strip = 16
	default:
		return st, fmt.Errorf("replay: %s: link type %v is not supported (Ethernet, raw IP, Linux cooked)", cfg.Pcap, r.LinkType())
	}
	rule := ir.Rule{ID: "replay", Dir: ir.DirBoth, From: ir.Endpoint{Any: true}, To: ir.Endpoint{Any: true}, Action: ir.ActionAllow, IDS: ir.IDSOff}
	var engine atomic.Pointer[inspect.IDSEngine]
	if len(cfg.Rules) > 0 {
		log := cfg.Log
		if log == nil {
			log = slog.New(slog.DiscardHandler)
		}
		e, err := ids.New("signature", ids.Config{Files: cfg.Rules, Logger: log})
		if err != nil {
			return st, fmt.Errorf("replay: %w", err)
		}
		engine.Store(&inspect.IDSEngine{Engine: e})
		rule.IDS, rule.Needs = ir.IDSDetect, ir.NeedIDS
	}
	var pol atomic.Pointer[inspect.Policy]
	pol.Store(inspect.NewPolicy(&ir.Policy{
		Settings: ir.Settings{Default: ir.ActionAllow, Mode: ir.ModeEnforce, FailMode: ir.FailOpen, Log: ir.LogNone},
		Rules:    []ir.Rule{rule},
	}, 1))
	var now time.Time
	sink := &replaySink{enc: events.NewEVEEncoder(), w: cfg.EVE}
	w := inspect.NewWorker(inspect.Config{Depth: cfg.Depth, IdentifyAll: true, DecideIdle: true, PassFirstPackets: true, MaxFlows: 1 << 20,
		AllowMark: 1, DenyMark: 2, VerdictMask: 3},
		inspect.Deps{Policy: &pol, Verdicter: replayVerdicter{}, Sink: sink, IDS: &engine, Now: func() time.Time { return now }})
	start := time.Now()
	var qp inspect.Packet
	// Flows time out on the capture's clock, as in septad (a decided
	// flow lingers, an undecided idle one is decided), checked once per
	// second of it.
	var swept time.Time
	for id := uint32(1); ; id++ {
		// The worker keeps nothing of a packet past Handle (as with
		// NFQUEUE's receive buffer), so the reader's buffer is reused.
		data, ci, err := r.ZeroCopyReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return st, fmt.Errorf("replay: %s: packet %d: %w", cfg.Pcap, id, err)
		}
		st.Packets++
		if len(data) <= strip {
			st.Skipped++
			continue
		}
		now = ci.Timestamp
		qp = inspect.Packet{ID: id, Payload: data[strip:], Hook: inspect.HookForward}
		w.Handle(&qp)
		if now.Sub(swept) >= time.Second {
			w.Sweep()
			swept = now
		}
	}
	// Decide what is left: flows whose application never showed.
	w.DecideAll()
	st.Duration = time.Since(start)
	st.Flows, st.Alerts = w.Stats.Flows.Load(), w.Stats.Alerts.Load()
	if sink.err != nil {
		return st, fmt.Errorf("replay: eve: %w", sink.err)
	}
	return st, nil
}

type replayVerdicter struct{}

func (replayVerdicter) Verdict(uint32, bool, uint32) {}

// replaySink writes the inspector's events as EVE lines: alerts, and one
// flow record per flow (at its decision, with its application).
type replaySink struct {
	enc *events.EVEEncoder
	w   io.Writer
	err error
}

func (s *replaySink) Emit(e *inspect.Event) {
	if s.w == nil || s.err != nil {
		return
	}
	ev := events.FromInspect(e)
	if ev.Kind == events.KindFlow && ev.AppProto == "" {
		ev.AppProto = "failed"
	}
	if ev.Kind == events.KindFlow {
		// A capture has no conntrack: the decision stands for the
		// flow's record (EVE's event_type flow, as Suricata writes one
		// per flow), ending where it was decided.
		ev.End = ev.Time
	}
	line, err := s.enc.Encode(ev)
	if err == nil {
		_, err = s.w.Write(line)
	}
	s.err = err
}
