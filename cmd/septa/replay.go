package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime/pprof"

	"github.com/septa-fw/septa/daemon"
	// The built-in signature engine, for replay.
	_ "github.com/septa-fw/septa/inspect/ids/sig"
	"github.com/spf13/cobra"
)

func newReplayCmd() *cobra.Command {
	var cfg daemon.ReplayConfig
	var eve, cpuProfile string
	cmd := &cobra.Command{
		Use:   "replay --pcap FILE [--rules FILE]... [--eve OUT]",
		Short: "Run the inspector offline over a capture: app-ID and signatures, EVE JSON out",
		Long: `Replay runs septa's own inspector (reassembly, app-ID, the signature engine)
over a pcap file, allowing and inspecting every flow. It writes EVE JSON:
an alert per signature match and a flow event per flow with app_proto set
by septa's app-ID ("failed" when unknown). Without --rules it runs app-ID
alone. --eve - (the default) writes to standard output.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cfg.Pcap == "" {
				return fmt.Errorf("--pcap is required")
			}
			var out io.Writer = cmd.OutOrStdout()
			if eve != "-" {
				f, err := os.Create(eve)
				if err != nil {
					return failure(err)
				}
				defer f.Close()
				out = f
			}
			bw := bufio.NewWriterSize(out, 256<<10)
			cfg.EVE = bw
			if cpuProfile != "" {
				pf, err := os.Create(cpuProfile)
				if err != nil {
					return failure(err)
				}
				defer pf.Close()
				if err := pprof.StartCPUProfile(pf); err != nil {
					return failure(err)
				}
				defer pprof.StopCPUProfile()
			}
			st, err := daemon.Replay(cfg)
			if ferr := bw.Flush(); err == nil && ferr != nil {
				err = fmt.Errorf("replay: eve: %w", ferr)
			}
			if err != nil {
				return failure(err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "replay: %d packets (%d skipped), %d flows, %d alerts in %s\n",
				st.Packets, st.Skipped, st.Flows, st.Alerts, st.Duration)
			return nil
		},
	}
	cmd.Flags().StringVar(&cfg.Pcap, "pcap", "", "the capture to replay")
	cmd.Flags().StringSliceVar(&cfg.Rules, "rules", nil, "signature files (Suricata rule language)")
	cmd.Flags().StringVar(&eve, "eve", "-", "where to write EVE JSON")
	cmd.Flags().IntVar(&cfg.Depth, "depth", 0, "inspection depth per direction in bytes (default 4096)")
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the replay to this file (for performance work)")
	cmd.Flags().MarkHidden("cpuprofile")
	return cmd
}
