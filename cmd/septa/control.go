package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/septa-fw/septa/daemon"
	"github.com/septa-fw/septa/inspect/userid"
	"github.com/spf13/cobra"
)

// controlFlags are shared by the commands that talk to septad.
type controlFlags struct {
	socket string
	json   bool
}

func (f *controlFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.socket, "socket", daemon.DefaultSocket, "septad's control socket")
	cmd.Flags().BoolVar(&f.json, "json", false, "print JSON")
}

func (f *controlFlags) client() *daemon.Client { return daemon.NewClient(f.socket) }

// failure turns an API error into exit status 1 with its message.
func failure(err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: 1, err: err}
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newStatusCmd() *cobra.Command {
	var f controlFlags
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show septad's state: policy generation, kernel, queues, last reload",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := f.client().Status()
			if err != nil {
				return failure(err)
			}
			w := cmd.OutOrStdout()
			if f.json {
				return printJSON(w, s)
			}
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "version\t%s (pid %d, up %s)\n", s.Version, s.PID, s.Uptime.Round(time.Second))
			fmt.Fprintf(tw, "policy\t%s: generation %d, %d rules (%d inspected), mode %s, default %s, fail_mode %s\n",
				s.PolicyDir, s.Generation, s.Rules, s.Inspected, s.Mode, s.Default, s.FailMode)
			fmt.Fprintf(tw, "kernel\ttable inet %s, %s\n", s.Table, s.Kernel)
			lr := s.LastReload
			state := "ok"
			if !lr.OK {
				state = "FAILED: " + firstLine(lr.Error)
			}
			fmt.Fprintf(tw, "last reload\t%s (%s): %s\n", lr.Time.Format(time.RFC3339), lr.Trigger, state)
			fmt.Fprintf(tw, "reloads\t%d (%d failed)\n", s.Reloads, s.Failures)
			for _, q := range s.Queues {
				fmt.Fprintf(tw, "queue %d\t%d packets, %d flows (%d active), %d held, %d evicted, %d decode errors, %d panics, %d errors; kernel: %d waiting, %d dropped full, %d dropped by the socket\n",
					q.Num, q.Packets, q.Flows, q.Active, q.Held, q.Evicted, q.DecodeError, q.Panics, q.Errors, q.Depth, q.KernelDropped, q.UserDropped)
			}
			for _, k := range s.Sinks {
				state := "ok"
				if k.Failing {
					state = "FAILING since " + k.ErrorTime.Format(time.RFC3339) + ": " + k.LastError
				}
				fmt.Fprintf(tw, "events %s\t%d written, %d dropped, %d failed: %s\n", k.Name, k.Written, k.Dropped, k.Errors, state)
			}
			if f := s.Fleet; f != nil {
				state := "ok"
				if f.Error != "" {
					state = fmt.Sprintf("revision %d REFUSED: %s", f.ErrorRevision, firstLine(f.Error))
				}
				fmt.Fprintf(tw, "fleet\thost %s, revision %d applied %s, %d hosts, %d remote sessions: %s\n",
					f.Host, f.Revision, f.Applied.Format(time.RFC3339), f.Counters.Hosts, f.Counters.Sessions, state)
			}
			if r := s.Records; r != nil {
				fmt.Fprintf(tw, "flow records\t%d written (%d joined with a decision), %d flow ends read, %d lost, %d late, %d rate-dropped; %d decisions waiting, %d expired, %d evicted\n",
					r.Records, r.Joined, r.Ends, r.Lost, r.LateEnds, r.RateDropped, r.Pending, r.Expired, r.Evicted)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if !lr.OK && strings.Contains(lr.Error, "\n") {
				fmt.Fprintln(w, lr.Error)
			}
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

func newReloadCmd() *cobra.Command {
	var f controlFlags
	cmd := &cobra.Command{
		Use:   "reload",
		Short: "Reload the policy; an invalid policy is refused and the running one stays",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return reload(cmd, &f)
		},
	}
	f.register(cmd)
	return cmd
}

func reload(cmd *cobra.Command, f *controlFlags) error {
	s, err := f.client().Reload()
	if err != nil {
		return failure(err)
	}
	if f.json {
		return printJSON(cmd.OutOrStdout(), s)
	}
	switch {
	case !s.Changed:
		fmt.Fprintf(cmd.OutOrStdout(), "policy unchanged: generation %d\n", s.Generation)
	case s.SetsOnly:
		fmt.Fprintf(cmd.OutOrStdout(), "sets updated: generation %d\n", s.Generation)
	default:
		fmt.Fprintf(cmd.OutOrStdout(), "applied generation %d in %s\n", s.Generation, s.Duration.Round(time.Microsecond))
	}
	for _, w := range s.Warnings {
		fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
	}
	return nil
}

func newApplyCmd() *cobra.Command {
	var f controlFlags
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "apply",
		Short: "Apply the policy on disk (--dry-run: show what would change)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !dryRun {
				return reload(cmd, &f)
			}
			r, err := f.client().DryRun()
			if err != nil {
				return failure(err)
			}
			if f.json {
				return printJSON(cmd.OutOrStdout(), r)
			}
			if !r.Changed {
				fmt.Fprintln(cmd.OutOrStdout(), "no change: the policy on disk is the running policy")
				return nil
			}
			_, err = io.WriteString(cmd.OutOrStdout(), r.Diff)
			return err
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "show the changes against the running policy, apply nothing")
	return cmd
}

func newTopCmd() *cobra.Command {
	var f controlFlags
	var limit int
	cmd := &cobra.Command{
		Use:   "top",
		Short: "Show the busiest policy rules (kernel counters) and the busiest live flows (conntrack)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cs, err := f.client().Counters()
			if err != nil {
				return failure(err)
			}
			if limit > 0 && len(cs) > limit {
				cs = cs[:limit]
			}
			fs, err := f.client().TopFlows(max(limit, 1))
			if err != nil {
				return failure(err)
			}
			if f.json {
				return printJSON(cmd.OutOrStdout(), struct {
					Rules []daemon.RuleCounters `json:"rules"`
					Flows []daemon.FlowSummary  `json:"flows"`
				}{cs, fs})
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PACKETS\tBYTES\tRULE")
			for _, c := range cs {
				fmt.Fprintf(tw, "%d\t%d\t%s\n", c.Packets, c.Bytes, c.Rule)
			}
			fmt.Fprintln(tw, "\nBYTES\tPACKETS\tVERDICT\tSOURCE\tDESTINATION\tPROTO\tZONES")
			for _, fl := range fs {
				zones := ""
				if fl.ZoneSrc != "" || fl.ZoneDst != "" {
					zones = dash(fl.ZoneSrc) + "->" + dash(fl.ZoneDst)
				}
				fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%d\t%s\n", fl.BytesToServer+fl.BytesToClient,
					fl.PacketsToServer+fl.PacketsToClient, fl.Verdict, fl.Src, fl.Dst, fl.Proto, dash(zones))
			}
			return tw.Flush()
		},
	}
	f.register(cmd)
	cmd.Flags().IntVar(&limit, "limit", 10, "rules and flows to show")
	return cmd
}

func newIdentityCmd() *cobra.Command {
	var f controlFlags
	cmd := &cobra.Command{
		Use:   "identity",
		Short: "List, add and remove address-to-user mappings of the identity map",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var ms []userid.Mapping
			if err := f.client().Identities(&ms); err != nil {
				return failure(err)
			}
			if f.json {
				return printJSON(cmd.OutOrStdout(), ms)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ADDRESS\tUSER\tGROUPS\tSOURCE\tEXPIRES")
			for _, m := range ms {
				exp := "never"
				if !m.Expires.IsZero() {
					exp = m.Expires.Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.Addr, m.User, strings.Join(m.Groups, ","), m.Source, exp)
			}
			return tw.Flush()
		},
	}
	f.register(cmd)
	var groups []string
	var ttl time.Duration
	add := &cobra.Command{
		Use:   "add ADDRESS USER",
		Short: "Map an address to a user (and groups)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return failure(f.client().AddIdentity(daemon.IdentityRequest{Addr: args[0], User: args[1], Groups: groups, TTL: int64(ttl.Seconds())}))
		},
	}
	add.Flags().StringSliceVar(&groups, "groups", nil, "the user's groups, comma-separated")
	add.Flags().DurationVar(&ttl, "ttl", 0, "how long the mapping lives (default: the daemon's identity.ttl)")
	remove := &cobra.Command{
		Use:   "remove ADDRESS [USER]",
		Short: "Remove the mappings of an address (of one user)",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			user := ""
			if len(args) == 2 {
				user = args[1]
			}
			return failure(f.client().RemoveIdentity(args[0], user))
		},
	}
	for _, c := range []*cobra.Command{add, remove} {
		c.Flags().StringVar(&f.socket, "socket", daemon.DefaultSocket, "septad's control socket")
		cmd.AddCommand(c)
	}
	return cmd
}

func newQuarantineCmd() *cobra.Command {
	var f controlFlags
	cmd := &cobra.Command{
		Use:   "quarantine",
		Short: "List, add and remove quarantined addresses (the kernel drops their traffic)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			qs, err := f.client().Quarantines()
			if err != nil {
				return failure(err)
			}
			if f.json {
				return printJSON(cmd.OutOrStdout(), qs)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ADDRESS\tUNTIL\tREASON")
			for _, q := range qs {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", q.Addr, q.Until.Format(time.RFC3339), q.Reason)
			}
			return tw.Flush()
		},
	}
	f.register(cmd)
	var timeout time.Duration
	var reason string
	add := &cobra.Command{
		Use:   "add ADDRESS",
		Short: "Quarantine an address",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			q, err := f.client().AddQuarantine(daemon.QuarantineRequest{Addr: args[0], Timeout: int64(timeout.Seconds()), Reason: reason})
			if err != nil {
				return failure(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s quarantined until %s\n", q.Addr, q.Until.Format(time.RFC3339))
			return nil
		},
	}
	add.Flags().DurationVar(&timeout, "timeout", time.Hour, "how long")
	add.Flags().StringVar(&reason, "reason", "", "why, for the record")
	remove := &cobra.Command{
		Use:   "remove ADDRESS",
		Short: "End a quarantine",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return failure(f.client().RemoveQuarantine(args[0]))
		},
	}
	for _, c := range []*cobra.Command{add, remove} {
		c.Flags().StringVar(&f.socket, "socket", daemon.DefaultSocket, "septad's control socket")
		cmd.AddCommand(c)
	}
	return cmd
}
