package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// newGenDocsCmd writes the man pages and shell completions generated from
// the command tree, for the packages. It is hidden: operators get its
// output installed.
func newGenDocsCmd() *cobra.Command {
	var manDir, complDir string
	cmd := &cobra.Command{
		Use:    "gendocs",
		Short:  "Write man pages and shell completions (for packaging)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			if manDir != "" {
				if err := os.MkdirAll(manDir, 0o755); err != nil {
					return err
				}
				hdr := &doc.GenManHeader{Title: "SEPTA", Section: "1", Source: "septa", Manual: "septa manual"}
				if err := doc.GenManTree(root, hdr, manDir); err != nil {
					return fmt.Errorf("man pages: %w", err)
				}
			}
			if complDir != "" {
				if err := os.MkdirAll(complDir, 0o755); err != nil {
					return err
				}
				gens := map[string]func(string) error{
					"septa.bash": func(p string) error { return root.GenBashCompletionFileV2(p, true) },
					"_septa":     root.GenZshCompletionFile,
					"septa.fish": func(p string) error { return root.GenFishCompletionFile(p, true) },
				}
				for name, gen := range gens {
					if err := gen(filepath.Join(complDir, name)); err != nil {
						return fmt.Errorf("completion %s: %w", name, err)
					}
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&manDir, "man", "", "directory for the man pages")
	cmd.Flags().StringVar(&complDir, "completions", "", "directory for bash, zsh and fish completions")
	return cmd
}
