package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"text/tabwriter"
	"time"

	"github.com/septa-fw/septa/daemon/events"
	"github.com/spf13/cobra"
)

func newFlowsCmd() *cobra.Command {
	var f controlFlags
	var limit int
	var wouldDeny bool
	var rf recordFlags
	cmd := &cobra.Command{
		Use:   "flows",
		Short: "Show the latest flow decisions, or flow records (--records): app, user, process, zones, groups, rule, verdict",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			q, err := rf.query(limit, wouldDeny, time.Now())
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			if rf.records {
				rs, err := f.client().FlowRecords(q)
				if err != nil {
					return failure(err)
				}
				if f.json {
					return printJSON(cmd.OutOrStdout(), rs)
				}
				return printRecords(cmd.OutOrStdout(), rs)
			}
			es, err := f.client().Flows(limit, wouldDeny)
			if err != nil {
				return failure(err)
			}
			if f.json {
				return printJSON(cmd.OutOrStdout(), es)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TIME\tVERDICT\tPROTO\tSOURCE\tDESTINATION\tAPP\tUSER\tPROCESS\tZONES\tRULE\tREASON\tBYTES")
			for _, e := range es {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n",
					e.Time.Format(time.TimeOnly), verdict(e), events.ProtoName(e.Proto), e.Src, e.Dst, appText(e),
					dash(e.User), dash(e.Process), dash(zones(e)), dash(e.Rule), e.Reason, e.BytesToServer+e.BytesToClient)
			}
			return tw.Flush()
		},
	}
	f.register(cmd)
	cmd.Flags().IntVar(&limit, "limit", 50, "flows to show (the newest); with --records, 0 shows all")
	cmd.Flags().BoolVar(&wouldDeny, "would-deny", false, "only flows an observed rule or observe mode would have denied")
	rf.register(cmd)
	return cmd
}

func newAlertsCmd() *cobra.Command {
	var f controlFlags
	var limit int
	var follow bool
	cmd := &cobra.Command{
		Use:   "alerts",
		Short: "Show signature alerts (--follow: as they happen)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			w := cmd.OutOrStdout()
			show := func(e *events.Event) {
				if f.json {
					printJSON(w, e)
					return
				}
				fmt.Fprintf(w, "%s %s sid %d rev %d %q %s %s -> %s rule %s\n", e.Time.Format(time.RFC3339),
					e.Alert.Action, e.Alert.SID, e.Alert.Rev, e.Alert.Signature, events.ProtoName(e.Proto), e.Src, e.Dst, dash(e.Rule))
			}
			if follow {
				ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
				defer stop()
				return failure(f.client().FollowAlerts(ctx, show))
			}
			es, err := f.client().Alerts(limit)
			if err != nil {
				return failure(err)
			}
			if f.json {
				return printJSON(w, es)
			}
			for _, e := range es {
				show(e)
			}
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().IntVar(&limit, "limit", 50, "alerts to show")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "print alerts as they happen, until interrupted")
	return cmd
}

func verdict(e *events.Event) string {
	if e.Observe {
		return "would-" + e.Action
	}
	return e.Action
}

func appText(e *events.Event) string {
	s := dash(e.App)
	if e.SNI != "" {
		s += " sni=" + e.SNI
	}
	if e.HTTPHost != "" {
		s += " host=" + e.HTTPHost
	}
	return s
}

func zones(e *events.Event) string {
	if e.ZoneSrc == "" && e.ZoneDst == "" {
		return ""
	}
	return dash(e.ZoneSrc) + "->" + dash(e.ZoneDst)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
