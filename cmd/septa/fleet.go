package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/septa-fw/septa/daemon"
	"github.com/septa-fw/septa/daemon/fleet"
	"github.com/septa-fw/septa/rules"
	"github.com/spf13/cobra"
)

// fleetFlags say how to reach etcd: flags, else SEPTA_ETCD_ENDPOINTS,
// else the [fleet] section of septad.toml.
type fleetFlags struct {
	config    string
	endpoints string
	cert, key string
	ca        string
	prefix    string
	timeout   time.Duration
}

func (f *fleetFlags) register(cmd *cobra.Command) {
	fl := cmd.PersistentFlags()
	fl.StringVar(&f.config, "config", daemon.DefaultConfigPath, "septad.toml whose [fleet] section names etcd, when --endpoints is not given")
	fl.StringVar(&f.endpoints, "endpoints", "", "etcd client URLs, comma-separated (default: $SEPTA_ETCD_ENDPOINTS, else the config's)")
	fl.StringVar(&f.cert, "cert", "", "client certificate for etcd")
	fl.StringVar(&f.key, "key", "", "client certificate's key")
	fl.StringVar(&f.ca, "ca", "", "CA of etcd's server certificate")
	fl.StringVar(&f.prefix, "prefix", "", "key prefix (default: the config's, else "+fleet.DefaultPrefix+")")
	fl.DurationVar(&f.timeout, "timeout", 10*time.Second, "give up on etcd after this long")
}

func (f *fleetFlags) fleetConfig() (fleet.Config, error) {
	eps := f.endpoints
	if eps == "" {
		eps = os.Getenv("SEPTA_ETCD_ENDPOINTS")
	}
	var c fleet.Config
	if eps != "" {
		c = fleet.Config{Endpoints: strings.Split(eps, ","), Cert: f.cert, Key: f.key, CA: f.ca, Prefix: f.prefix}
	} else {
		cfg, err := daemon.LoadConfig(f.config)
		if err != nil {
			return c, err
		}
		c = cfg.Fleet
		if len(c.Endpoints) == 0 {
			return c, fmt.Errorf("no etcd endpoints: give --endpoints or set [fleet] endpoints in %s", f.config)
		}
		override := func(dst *string, v string) {
			if v != "" {
				*dst = v
			}
		}
		override(&c.Cert, f.cert)
		override(&c.Key, f.key)
		override(&c.CA, f.ca)
		override(&c.Prefix, f.prefix)
	}
	// The CLI is no fleet member: its host name is never used.
	c.Enabled, c.Host = true, "septa-cli"
	c = c.WithDefaults()
	return c, c.Validate()
}

// store connects to etcd; the returned function closes the connection.
func (f *fleetFlags) store() (*fleet.Store, func(), error) {
	c, err := f.fleetConfig()
	if err != nil {
		return nil, nil, &exitError{code: 2, err: err}
	}
	cli, err := fleet.Dial(c)
	if err != nil {
		return nil, nil, &exitError{code: 1, err: err}
	}
	return fleet.NewStore(cli, c.Prefix), func() { cli.Close() }, nil
}

// with runs fn with a store and a context bounded by --timeout.
func (f *fleetFlags) with(fn func(ctx context.Context, st *fleet.Store) error) error {
	st, done, err := f.store()
	if err != nil {
		return err
	}
	defer done()
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()
	return fn(ctx, st)
}

func newFleetCmd() *cobra.Command {
	f := &fleetFlags{}
	cmd := &cobra.Command{
		Use:   "fleet",
		Short: "Publish policies to a fleet of septad hosts through etcd, and watch them",
		Long: `Fleet drives septad hosts in fleet mode (docs/fleet.md): push publishes a
policy directory as one revision, which every host validates and applies
atomically; status shows which revision each host runs; diff and rollback
work on the revisions kept in etcd.

etcd is named by --endpoints (with --cert, --key, --ca for TLS), by
$SEPTA_ETCD_ENDPOINTS, or by the [fleet] section of septad.toml.`,
	}
	f.register(cmd)
	cmd.AddCommand(newFleetPushCmd(f), newFleetStatusCmd(f), newFleetDiffCmd(f), newFleetRollbackCmd(f))
	return cmd
}

func author() string {
	u, err := user.Current()
	h, _ := os.Hostname()
	if err != nil {
		return h
	}
	return u.Username + "@" + h
}

// loadForPush validates a policy directory as septa check does and
// returns it as a revision; problems are printed with their source line.
func loadForPush(stderr io.Writer, f *policyFlags, dir string) (*fleet.Revision, error) {
	files, err := rules.ReadDir(dir)
	if err != nil {
		return nil, &exitError{code: 1, err: err}
	}
	res, err := f.load(dir)
	if err != nil {
		if list := rules.Errors(err); list != nil {
			printProblems(stderr, "", list, res.Sources)
			return nil, &exitError{code: 1, err: fmt.Errorf("%s: invalid policy: %d errors; nothing pushed", dir, len(list))}
		}
		return nil, &exitError{code: 1, err: err}
	}
	printProblems(stderr, "warning: ", res.Warnings, res.Sources)
	if res.Policy.IDS != nil {
		return nil, &exitError{code: 1, err: fmt.Errorf("%s: fleet revisions carry policy files only, not signature files: the [ids] table cannot be pushed", dir)}
	}
	r, err := fleet.NewRevision(files)
	if err != nil {
		return nil, &exitError{code: 1, err: err}
	}
	return r, nil
}

func newFleetPushCmd(f *fleetFlags) *cobra.Command {
	var pf policyFlags
	cmd := &cobra.Command{
		Use:   "push DIR",
		Short: "Validate a policy directory and publish it as the fleet's next revision",
		Long: `Push validates DIR exactly as septa check does (errors as FILE:LINE:COL, exit 1,
nothing published) and publishes all of its *.toml files as one revision.
Every host validates it again and applies it in one transaction, or
refuses it and keeps its running policy (see septa fleet status).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := loadForPush(cmd.ErrOrStderr(), &pf, args[0])
			if err != nil {
				return err
			}
			r.Author = author()
			return f.with(func(ctx context.Context, st *fleet.Store) error {
				out, err := st.Publish(ctx, r)
				if err != nil {
					return &exitError{code: 1, err: err}
				}
				fmt.Fprintf(cmd.OutOrStdout(), "revision %d published (%d files, digest %s)\n", out.Rev, len(out.Files), out.Digest())
				return nil
			})
		},
	}
	pf.register(cmd)
	return cmd
}

func newFleetStatusCmd(f *fleetFlags) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show every host of the fleet: the revision it runs, and whether it is behind or failing",
		Long: `Status lists every host that registered or reported: ok (runs the current
revision), behind (runs an older one), failing (refused the current one:
the error says why, FILE:LINE:COL for policy errors), offline (its lease
expired), unknown (registered, no report yet).

Exit status: 0 when every host is ok, 1 otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.with(func(ctx context.Context, st *fleet.Store) error {
				cur, rows, err := st.Summary(ctx)
				if err != nil {
					return &exitError{code: 1, err: err}
				}
				w := cmd.OutOrStdout()
				if asJSON {
					enc := json.NewEncoder(w)
					enc.SetIndent("", "  ")
					if err := enc.Encode(struct {
						Current uint64            `json:"current"`
						Hosts   []fleet.HostState `json:"hosts"`
					}{cur, rows}); err != nil {
						return err
					}
				} else {
					fmt.Fprintf(w, "current revision: %d\n", cur)
					tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "HOST\tSTATE\tREVISION\tHOSTS\tSESSIONS\tERROR")
					for _, r := range rows {
						fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\n", r.Host, r.State, r.Revision, r.Counters.Hosts, r.Counters.Sessions, firstLine(r.Error))
					}
					tw.Flush()
					for _, r := range rows {
						if strings.Contains(r.Error, "\n") {
							fmt.Fprintf(w, "\n%s:\n%s\n", r.Host, r.Error)
						}
					}
				}
				for _, r := range rows {
					if r.State != fleet.StateOK {
						return &exitError{code: 1}
					}
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newFleetDiffCmd(f *fleetFlags) *cobra.Command {
	var pf policyFlags
	cmd := &cobra.Command{
		Use:   "diff [DIR | REV [REV]]",
		Short: "Compare the fleet's current revision with a policy directory, or two revisions",
		Long: `Diff compiles both sides and prints the lines of the compiled policy that
differ ("-" old, "+" new), as septa apply --dry-run does. With DIR: the
current revision against DIR. With REV: the current revision against REV;
with two: the first against the second. Groups are compiled without the
fleet's inventory, so the diff shows rules and static sets.

Exit status: 0 when they compile the same, 1 when they differ.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.with(func(ctx context.Context, st *fleet.Store) error {
				revOf := func(s string) (*fleet.Revision, error) {
					n, err := strconv.ParseUint(s, 10, 64)
					if err != nil {
						return nil, err
					}
					return st.Revision(ctx, n)
				}
				cur, _, err := st.Current(ctx)
				if err != nil {
					return &exitError{code: 1, err: err}
				}
				var oldDump, newDump string
				dump := func(r *fleet.Revision) (string, error) {
					res, err := r.Compile(nil)
					if err != nil && r.Rev == 0 {
						return "", err
					}
					if err != nil {
						return "", fmt.Errorf("revision %d does not compile: %w", r.Rev, err)
					}
					return res.Policy.Dump(), nil
				}
				var a, b *fleet.Revision
				switch {
				case len(args) == 2:
					if a, err = revOf(args[0]); err == nil {
						b, err = revOf(args[1])
					}
				default:
					a = cur
					if b, err = revOf(args[0]); err != nil {
						if _, statErr := os.Stat(args[0]); statErr == nil {
							b, err = loadForPush(cmd.ErrOrStderr(), &pf, args[0])
						}
					}
				}
				if err != nil {
					var ee *exitError
					if errors.As(err, &ee) {
						return err
					}
					return &exitError{code: 2, err: err}
				}
				if oldDump, err = dump(a); err == nil {
					newDump, err = dump(b)
				}
				if err != nil {
					return &exitError{code: 1, err: err}
				}
				d := daemon.PolicyDiff(oldDump, newDump)
				if d == "" {
					fmt.Fprintln(cmd.OutOrStdout(), "no difference")
					return nil
				}
				fmt.Fprint(cmd.OutOrStdout(), d)
				return &exitError{code: 1}
			})
		},
	}
	pf.register(cmd)
	return cmd
}

func newFleetRollbackCmd(f *fleetFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "rollback REV",
		Short: "Publish the files of an earlier revision as the next revision",
		Long: `Rollback republishes revision REV's files as a new revision, so revision
numbers only grow and every host's status stays comparable.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil || n == 0 {
				return &exitError{code: 2, err: fmt.Errorf("%q is not a revision number", args[0])}
			}
			return f.with(func(ctx context.Context, st *fleet.Store) error {
				old, err := st.Revision(ctx, n)
				if err != nil {
					return &exitError{code: 1, err: err}
				}
				if _, err := old.Compile(nil); err != nil {
					return &exitError{code: 1, err: fmt.Errorf("revision %d does not validate; not rolled back: %w", n, err)}
				}
				out, err := st.Rollback(ctx, n, author())
				if err != nil {
					return &exitError{code: 1, err: err}
				}
				fmt.Fprintf(cmd.OutOrStdout(), "revision %d published: the files of revision %d (digest %s)\n", out.Rev, n, out.Digest())
				return nil
			})
		},
	}
}
