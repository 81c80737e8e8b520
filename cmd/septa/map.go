package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/septa-fw/septa/daemon"
	"github.com/septa-fw/septa/daemon/events"
	"github.com/septa-fw/septa/daemon/flowmap"
	"github.com/septa-fw/septa/rules"
	"github.com/septa-fw/septa/rules/ir"
	"github.com/spf13/cobra"
)

// flowInput is where the visibility commands (map, recommend, check
// --impact) read flow records from, and the policy and inventory they
// place addresses with.
type flowInput struct {
	eve       []string
	live      bool
	socket    string
	inventory string
	policy    string
}

func (f *flowInput) register(cmd *cobra.Command) {
	f.registerSource(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.inventory, "inventory", "", "inventory of hosts and tags (default: "+daemon.DefaultInventory+" if present)")
	fl.StringVar(&f.policy, "policy", "", "the current policy directory, for its zones and groups (default: "+rules.DefaultDir+" if present)")
}

// registerSource registers the flags that choose the records' source.
func (f *flowInput) registerSource(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringSliceVar(&f.eve, "eve", nil, "EVE JSON file to read flow records from, septad's or Suricata's; repeat it for several hosts' files or rotated ones (default: septad's EVE file, from "+daemon.DefaultConfigPath+", else "+daemon.DefaultEVE+")")
	fl.BoolVar(&f.live, "live", false, "ask the running septad for the flow records in its window instead of reading an EVE file")
	fl.StringVar(&f.socket, "socket", daemon.DefaultSocket, "septad's control socket (with --live)")
}

// defaultEVE is septad's EVE file: its configuration's, else the usual
// path.
func defaultEVE() string {
	if c, err := daemon.LoadConfig(daemon.DefaultConfigPath); err == nil && c.Events.EVE != "" {
		return c.Events.EVE
	}
	return daemon.DefaultEVE
}

// context loads the inventory and the current policy; either may be
// absent.
func (f *flowInput) context() (*rules.Inventory, *ir.Policy, error) {
	var inv *rules.Inventory
	invPath := f.inventory
	if invPath == "" {
		if _, err := os.Stat(daemon.DefaultInventory); err == nil {
			invPath = daemon.DefaultInventory
		}
	}
	if invPath != "" {
		var err error
		if inv, err = rules.LoadInventory(invPath); err != nil {
			return nil, nil, err
		}
	}
	dir := f.policy
	if dir == "" {
		if _, err := os.Stat(rules.DefaultDir); err != nil {
			return inv, nil, nil
		}
		dir = rules.DefaultDir
	}
	res, err := rules.Load(dir, rules.Options{Inventory: inv})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", dir, err)
	}
	return inv, res.Policy, nil
}

// each hands every flow record to add: from septad's window with --live
// (narrowed by q), else from the EVE file (one event per flow; bad lines
// are reported on stderr, not fatal).
func (f *flowInput) each(stderr io.Writer, q daemon.RecordQuery, add func(*events.Event)) error {
	if f.live {
		if len(f.eve) > 0 {
			return &exitError{code: 2, err: errors.New("--live and --eve are two sources: give one")}
		}
		es, err := daemon.NewClient(f.socket).FlowRecords(q)
		if err != nil {
			return failure(err)
		}
		for i := range es {
			add(&es[i])
		}
		return nil
	}
	paths := f.eve
	if len(paths) == 0 {
		paths = []string{defaultEVE()}
	}
	st, err := flowmap.ReadEVEFiles(paths, add)
	if err != nil {
		return failure(err)
	}
	for _, fs := range st.Files {
		if fs.Bad > 0 {
			fmt.Fprintf(stderr, "warning: %s: %d of %d lines are not EVE records and were skipped:\n", fs.Path, fs.Bad, fs.Lines)
			for _, le := range fs.Errors {
				fmt.Fprintf(stderr, "  %s:%v\n", fs.Path, le)
			}
		}
	}
	return nil
}

// flowTime reads an RFC 3339 time or a duration before now ("24h").
func flowTime(flag, s string, now time.Time) (time.Time, error) {
	t, err := when(flag, s, now)
	if err != nil {
		return t, &exitError{code: 2, err: err}
	}
	return t, nil
}

func newMapCmd() *cobra.Command {
	var in flowInput
	var format, since, until string
	var zones, groups, apps, verdicts []string
	cmd := &cobra.Command{
		Use:   "map",
		Short: "Draw who talks to whom: the communication map of recorded flows (DOT, JSON, SVG)",
		Long: `Map aggregates flow records into edges between workloads (inventory hosts
grouped by their tags, or hosts), zones and external networks, labelled with
the services, applications and users seen, how many flows and bytes, and
what the policy said (allowed, denied, would-deny in observe mode).

--format dot prints Graphviz DOT, json the same data for tools, svg renders
the DOT with Graphviz's dot command (which must be installed).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			now := time.Now()
			f := flowmap.Filter{Zones: zones, Groups: groups, Apps: apps}
			var err error
			if f.Since, err = flowTime("since", since, now); err != nil {
				return err
			}
			if f.Until, err = flowTime("until", until, now); err != nil {
				return err
			}
			for _, v := range verdicts {
				vd, err := flowmap.ParseVerdict(v)
				if err != nil {
					return &exitError{code: 2, err: fmt.Errorf("--verdict: %w", err)}
				}
				f.Verdicts = append(f.Verdicts, vd)
			}
			switch format {
			case "dot", "json", "svg":
			default:
				return &exitError{code: 2, err: fmt.Errorf("--format: %q is not dot, json or svg", format)}
			}
			inv, pol, err := in.context()
			if err != nil {
				return failure(err)
			}
			cat, err := flowmap.NewCatalogue(pol)
			if err != nil {
				return failure(err)
			}
			agg := flowmap.NewAggregator(flowmap.NewResolver(inv, pol), cat, f)
			// septad's query bounds records by their end; --until bounds
			// their start, so only --since narrows the query.
			if err := in.each(cmd.ErrOrStderr(), daemon.RecordQuery{Since: f.Since}, func(e *events.Event) { agg.Add(e) }); err != nil {
				return err
			}
			m := agg.Map()
			w := cmd.OutOrStdout()
			switch format {
			case "json":
				return m.WriteJSON(w)
			case "svg":
				var dot bytes.Buffer
				if err := m.WriteDOT(&dot); err != nil {
					return err
				}
				svg, err := flowmap.RenderSVG(context.Background(), dot.Bytes())
				if err != nil {
					return failure(err)
				}
				_, err = w.Write(svg)
				return err
			}
			return m.WriteDOT(w)
		},
	}
	in.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&format, "format", "dot", "output: dot, json or svg")
	fl.StringVar(&since, "since", "", "flows that ran since a duration ago (\"24h\") or an RFC 3339 time")
	fl.StringVar(&until, "until", "", "flows that started before a duration ago or an RFC 3339 time")
	fl.StringSliceVar(&zones, "zone", nil, "flows with either end in this zone (repeatable)")
	fl.StringSliceVar(&groups, "group", nil, "flows with either end in this policy group (repeatable)")
	fl.StringSliceVar(&apps, "app", nil, "flows of this application (repeatable)")
	fl.StringSliceVar(&verdicts, "verdict", nil, "flows with this verdict: allow, deny, would-deny or seen (no verdict) (repeatable)")
	return cmd
}
