package main

import (
	"fmt"

	"github.com/septa-fw/septa/nft"
	"github.com/spf13/cobra"
)

func newFlushCmd() *cobra.Command {
	var table string
	cmd := &cobra.Command{
		Use:   "flush",
		Short: "Remove septa's nftables table, and nothing else",
		Long: `Flush deletes septa's own table (inet septa) from the kernel: the host is
then unfiltered by septa. Other tables (Docker's, firewalld's, yours) are
not touched. Stop septad first, or it will not re-create the table until
its next reload.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fw, err := nft.Open(0, nft.Config{Table: table}.WithDefaults())
			if err != nil {
				return failure(err)
			}
			defer fw.Close()
			if err := fw.Flush(); err != nil {
				return failure(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "table inet %s removed\n", table)
			return nil
		},
	}
	cmd.Flags().StringVar(&table, "table", nft.DefaultTable, "the table to remove")
	return cmd
}
