// Command septa is the operator's tool for septa: it checks and shows
// policies offline and drives a running septad.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// exitError carries an exit code: 1 for a failed check, 2 for bad usage.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "septa:", ee.err)
		}
		return ee.code
	}
	// Anything cobra itself rejects (unknown command or flag, wrong
	// number of arguments) is a usage error.
	fmt.Fprintln(stderr, "septa:", err)
	return 2
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "septa",
		Short: "septa: a distributed internal firewall for Linux servers",
		Long: `septa enforces a zero-trust policy on each server's own east-west traffic:
zones, tag-selected groups, user and application rules, and signatures.

The policy is a directory of TOML files (default /etc/septa/policy.d).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newCheckCmd(), newShowCmd(), newVersionCmd(),
		newStatusCmd(), newReloadCmd(), newApplyCmd(), newTopCmd(), newIdentityCmd(), newQuarantineCmd(), newFlushCmd(), newGenDocsCmd(), newFlowsCmd(), newAlertsCmd(), newReplayCmd(), newIDSCmd(),
		newMapCmd(), newRecommendCmd(), newFleetCmd())
	return root
}
