package main

import (
	"fmt"
	"time"

	"github.com/septa-fw/septa/daemon"
	"github.com/septa-fw/septa/daemon/events"
	"github.com/septa-fw/septa/daemon/flowmap"
	"github.com/spf13/cobra"
)

func newRecommendCmd() *cobra.Command {
	var in flowInput
	var scope, since string
	var allowedOnly bool
	cmd := &cobra.Command{
		Use:   "recommend",
		Short: "Propose a policy that allows exactly the observed legitimate flows",
		Long: `Recommend reads flow records and prints a policy, in septa's own TOML, with
one allow rule per observed source, destination and application: workloads
grouped by their inventory tags (by zones where the inventory has none),
ports collapsed into named services, the application named where app-ID
identified one, and comments on what it could not attribute.

It allows the flows the policy allowed, and those observe mode let pass as
would-deny by the policy default (no rule covered them: what a proposal is
for). Denied flows, and would-deny flows that a written deny rule or a zone's
isolation decided, are left out and counted in the output's comments.

The proposal is validated with the code of septa check before it is printed.
Preview it with septa check --impact, then apply it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := flowmap.RecommendOptions{AllowedOnly: allowedOnly}
			var err error
			if scope != "" {
				if opts.Scope, err = flowmap.ParseScope(scope); err != nil {
					return &exitError{code: 2, err: fmt.Errorf("--scope: %w", err)}
				}
			}
			if opts.Since, err = flowTime("since", since, time.Now()); err != nil {
				return err
			}
			if opts.Inventory, opts.Policy, err = in.context(); err != nil {
				return failure(err)
			}
			rec, err := flowmap.NewRecommender(opts)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			q := daemon.RecordQuery{Since: opts.Since}
			if err := in.each(cmd.ErrOrStderr(), q, func(e *events.Event) { rec.Add(e) }); err != nil {
				return err
			}
			res, err := rec.Result()
			if err != nil {
				return failure(err)
			}
			if _, err := cmd.OutOrStdout().Write(res.TOML); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "septa: %d rules allowing %d of %d flow records\n", res.Rules, res.Used, res.Seen)
			return nil
		},
	}
	in.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&scope, "scope", "", "only flows with an end in group:NAME or zone:NAME (one application, one zone)")
	fl.StringVar(&since, "since", "", "only flows that ran since a duration ago (\"168h\") or an RFC 3339 time")
	fl.BoolVar(&allowedOnly, "allowed-only", false, "leave out the flows observe mode let pass as would-deny")
	return cmd
}
