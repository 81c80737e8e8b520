package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

func newIDSCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ids",
		Short: "The signature engine of the running septad",
	}
	var f controlFlags
	stats := &cobra.Command{
		Use:   "stats",
		Short: "Signatures loaded, skipped and inert, alerts and packets inspected",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := f.client().IDS()
			if err != nil {
				return failure(err)
			}
			if f.json {
				return printJSON(cmd.OutOrStdout(), st)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "engine      %s, built %s in %s from %d files\n", st.Engine, st.Built.Format(time.RFC3339), st.BuildTime.Round(time.Millisecond), len(st.Files))
			fmt.Fprintf(w, "signatures  %d loaded, %d skipped (failed to parse), %d that can never match\n", st.Loaded, st.Failed, st.Inert)
			fmt.Fprintf(w, "traffic     %d packets inspected, %d alerts\n", st.Inspected, st.Alerts)
			fmt.Fprintf(w, "pcre        %d backtracking matches timed out (taken as no match)\n", st.PCRETimeouts)
			for _, e := range st.Errors {
				fmt.Fprintln(w, "skipped:", e)
			}
			return nil
		},
	}
	f.register(stats)
	cmd.AddCommand(stats)
	return cmd
}
