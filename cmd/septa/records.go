package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/septa-fw/septa/daemon"
	"github.com/septa-fw/septa/daemon/events"
	"github.com/spf13/cobra"
)

// recordFlags are septa flows --records and its filters.
type recordFlags struct {
	records                bool
	since, until           string
	zone, group, app, rule string
	verdict                string
}

func (r *recordFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.BoolVar(&r.records, "records", false, "show flow records (one per ended flow, with bytes each way) instead of decisions")
	fl.StringVar(&r.since, "since", "", "records that ended since a time (RFC 3339) or a duration ago (\"1h\"); with --records")
	fl.StringVar(&r.until, "until", "", "records that ended before a time (RFC 3339) or a duration ago; with --records")
	fl.StringVar(&r.zone, "zone", "", "records with either end in this zone; with --records")
	fl.StringVar(&r.group, "group", "", "records with either end in this inventory group; with --records")
	fl.StringVar(&r.app, "app", "", "records of this application (\"http\"); with --records")
	fl.StringVar(&r.rule, "rule", "", "records decided by this rule (\"default\" for the policy default); with --records")
	fl.StringVar(&r.verdict, "verdict", "", "records with this verdict: allow, deny, reject or would-deny; with --records")
}

// query builds the API query; filters without --records are an error.
func (r *recordFlags) query(limit int, wouldDeny bool, now time.Time) (daemon.RecordQuery, error) {
	if !r.records {
		for name, v := range map[string]string{"since": r.since, "until": r.until, "zone": r.zone, "group": r.group,
			"app": r.app, "rule": r.rule, "verdict": r.verdict} {
			if v != "" {
				return daemon.RecordQuery{}, fmt.Errorf("--%s filters flow records: add --records", name)
			}
		}
	}
	q := daemon.RecordQuery{Zone: r.zone, Group: r.group, App: r.app, Rule: r.rule, Verdict: r.verdict, WouldDeny: wouldDeny, Limit: limit}
	var err error
	if q.Since, err = when("since", r.since, now); err != nil {
		return q, err
	}
	if q.Until, err = when("until", r.until, now); err != nil {
		return q, err
	}
	return q, q.Validate()
}

// when reads an RFC 3339 time or a duration before now.
func when(flag, s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("--%s: %q is neither an RFC 3339 time nor a duration such as \"1h\"", flag, s)
}

// printRecords prints flow records as a table.
func printRecords(w io.Writer, es []events.Event) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "END\tDURATION\tVERDICT\tPROTO\tSOURCE\tDESTINATION\tAPP\tUSER\tPROCESS\tZONES\tRULE\tDECIDER\tBYTES OUT/IN\tPACKETS OUT/IN\tSTATE")
	for i := range es {
		e := &es[i]
		dur := "-"
		if !e.Start.IsZero() {
			dur = e.End.Sub(e.Start).Round(time.Millisecond).String()
		}
		rule := e.Rule
		if rule == "" && e.Reason != daemon.ReasonUndecided && e.Reason != daemon.ReasonUnattributed {
			rule = "(default)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d/%d\t%d/%d\t%s%s\n",
			e.End.Format(time.DateTime), dur, verdict(e), events.ProtoName(e.Proto), e.Src, e.Dst, appText(e),
			dash(e.User), dash(e.Process), dash(zones(e)), dash(rule), dash(e.Decider),
			e.BytesToServer, e.BytesToClient, e.PacketsToServer, e.PacketsToClient, dash(e.State), alerted(e))
	}
	return tw.Flush()
}

func alerted(e *events.Event) string {
	if e.Alerted {
		return " alerted"
	}
	return ""
}
