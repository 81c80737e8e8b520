package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/septa-fw/septa/daemon"
	"github.com/septa-fw/septa/daemon/flowmap"
	"github.com/septa-fw/septa/inspect/ids"
	"github.com/septa-fw/septa/rules"
	"github.com/septa-fw/septa/rules/ir"
	"github.com/spf13/cobra"
)

// policyFlags are the flags of the commands that load a policy offline.
type policyFlags struct {
	inventory string
}

func (f *policyFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.inventory, "inventory", "",
		"inventory file of hosts and tags (default: inventory.toml beside the policy directory, if present)")
}

// load loads the policy of dir, with the inventory named by the flags or
// found beside the directory.
func (f *policyFlags) load(dir string) (*rules.Result, error) {
	opts := rules.Options{}
	invPath := f.inventory
	if invPath == "" {
		cand := filepath.Join(filepath.Dir(filepath.Clean(dir)), "inventory.toml")
		if _, err := os.Stat(cand); err == nil {
			invPath = cand
		}
	}
	if invPath != "" {
		inv, err := rules.LoadInventory(invPath)
		if err != nil {
			return &rules.Result{}, err
		}
		opts.Inventory = inv
	}
	return rules.Load(dir, opts)
}

// printProblems prints errors or warnings with their source excerpts.
func printProblems(w io.Writer, prefix string, list []*rules.Error, src map[string][]byte) {
	for _, e := range list {
		fmt.Fprintf(w, "%s%s\n", prefix, e)
		if ex := rules.Excerpt(e, src); ex != "" {
			fmt.Fprintln(w, ex)
		}
	}
}

func newCheckCmd() *cobra.Command {
	var f policyFlags
	var impact impactFlags
	cmd := &cobra.Command{
		Use:   "check [DIR]...",
		Short: "Validate policy directories; with --impact, preview what they would deny",
		Long: `Check validates each policy directory (default ` + rules.DefaultDir + `) and
prints every problem as FILE:LINE:COL with the source line. It applies nothing.

With --impact, each valid policy is also run against recorded flows (an EVE
file, or septad's window with --live) by the inspector's own evaluator, and
the flows it would deny are listed by the rule that denies them; flows whose
verdict needs what their records lack (the application, the user, the
process) are listed apart.

Exit status: 0 if every policy is valid, 1 if one is not, 2 on bad usage.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{rules.DefaultDir}
			}
			failed := false
			for _, dir := range args {
				res, ok := checkOne(cmd.OutOrStdout(), cmd.ErrOrStderr(), &f, dir)
				if !ok {
					failed = true
					continue
				}
				if impact.on {
					if err := impact.run(cmd.OutOrStdout(), cmd.ErrOrStderr(), dir, res.Policy); err != nil {
						return err
					}
				}
			}
			if failed {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	f.register(cmd)
	impact.register(cmd)
	return cmd
}

// impactFlags are septa check --impact's.
type impactFlags struct {
	on   bool
	in   flowInput
	self []string
	json bool
}

func (f *impactFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.BoolVar(&f.on, "impact", false, "run each valid policy against recorded flows and list what it would deny, by rule")
	f.in.registerSource(cmd)
	fl.StringSliceVar(&f.self, "self", nil, "with --impact: the addresses of the host whose flows these are, for rules about self and direction (repeatable)")
	fl.BoolVar(&f.json, "impact-json", false, "with --impact: print the preview as JSON")
}

// run previews a candidate policy on the recorded flows.
func (f *impactFlags) run(stdout, stderr io.Writer, dir string, p *ir.Policy) error {
	var opts flowmap.ImpactOptions
	for _, s := range f.self {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return &exitError{code: 2, err: fmt.Errorf("--self: %w", err)}
		}
		opts.Self = append(opts.Self, a)
	}
	x := flowmap.NewImpact(p, opts)
	if err := f.in.each(stderr, daemon.RecordQuery{}, x.Add); err != nil {
		return err
	}
	r := x.Report()
	if f.json {
		return printJSON(stdout, r)
	}
	fmt.Fprintf(stdout, "%s: impact: ", dir)
	return r.WriteText(stdout)
}

func checkOne(stdout, stderr io.Writer, f *policyFlags, dir string) (*rules.Result, bool) {
	res, err := f.load(dir)
	if err != nil {
		if list := rules.Errors(err); list != nil {
			printProblems(stderr, "", list, res.Sources)
			fmt.Fprintf(stderr, "%s: invalid policy: %d errors\n", dir, len(list))
		} else {
			fmt.Fprintf(stderr, "%s: %v\n", dir, err)
		}
		return nil, false
	}
	printProblems(stderr, "warning: ", res.Warnings, res.Sources)
	p := res.Policy
	if p.IDS != nil {
		e, err := daemon.BuildIDS(p, slog.New(slog.DiscardHandler))
		if err != nil {
			fmt.Fprintf(stderr, "%s: signatures: %v\n", dir, err)
			return nil, false
		}
		if r, ok := e.(ids.Reporter); ok {
			loaded, failed, inert := r.SignatureStats()
			for _, le := range r.LoadErrors() {
				fmt.Fprintf(stderr, "warning: %v\n", le)
			}
			fmt.Fprintf(stdout, "%s: signatures: %d loaded, %d skipped (failed to parse), %d that can never match\n", dir, loaded, failed, inert)
		}
	}
	inspected := 0
	for _, r := range p.Rules {
		if !r.Needs.KernelOnly() {
			inspected++
		}
	}
	fmt.Fprintf(stdout, "%s: valid policy: %d rules (%d in the kernel, %d inspected), %d sets, %d warnings\n",
		dir, len(p.Rules), len(p.Rules)-inspected, inspected, len(p.Sets), len(res.Warnings))
	return res, true
}

func newShowCmd() *cobra.Command {
	var f policyFlags
	var asJSON, counters bool
	var socket string
	cmd := &cobra.Command{
		Use:   "show [DIR]",
		Short: "Show the compiled policy",
		Long: `Show compiles a policy directory (default ` + rules.DefaultDir + `) and prints the
result: the address sets, the services and the rules in evaluation order,
with what each needs (decided in the kernel, or inspected). --json prints
the same for tools.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := rules.DefaultDir
			if len(args) == 1 {
				dir = args[0]
			}
			res, err := f.load(dir)
			if err != nil {
				if list := rules.Errors(err); list != nil {
					printProblems(cmd.ErrOrStderr(), "", list, res.Sources)
					return &exitError{code: 1, err: fmt.Errorf("%s: invalid policy", dir)}
				}
				return &exitError{code: 1, err: err}
			}
			if err := writePolicy(cmd.OutOrStdout(), res.Policy, asJSON); err != nil {
				return err
			}
			if counters {
				return showCounters(cmd.OutOrStdout(), socket, res.Policy, asJSON)
			}
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&counters, "counters", false, "add how often each rule matched, from the running septad's kernel counters")
	cmd.Flags().StringVar(&socket, "socket", daemon.DefaultSocket, "septad's control socket (with --counters)")
	return cmd
}

// showCounters prints, for each rule of the policy in evaluation order,
// the packets and bytes the kernel counted for it.
func showCounters(w io.Writer, socket string, p *ir.Policy, asJSON bool) error {
	cs, err := daemon.NewClient(socket).Counters()
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	byRule := map[string]daemon.RuleCounters{}
	for _, c := range cs {
		byRule[c.Rule] = c
	}
	var out []daemon.RuleCounters
	for _, r := range p.Rules {
		c := byRule[r.ID]
		c.Rule = r.ID
		out = append(out, c)
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\nPACKETS\tBYTES\tRULE\t")
	for _, c := range out {
		fmt.Fprintf(tw, "%d\t%d\t%s\t\n", c.Packets, c.Bytes, c.Rule)
	}
	return tw.Flush()
}

func writePolicy(w io.Writer, p *ir.Policy, asJSON bool) error {
	if !asJSON {
		_, err := io.WriteString(w, p.Dump())
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(p); err != nil {
		return errors.Join(errors.New("encode policy"), err)
	}
	return nil
}
