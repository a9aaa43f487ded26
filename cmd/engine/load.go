package main

import (
	"fmt"
	"os"

	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// newLoadCommand builds `load` and `image load`.
func newLoadCommand(g *globalOptions) *cobra.Command {
	var (
		opts  libengine.LoadOptions
		quiet bool
	)
	cmd := &cobra.Command{
		Use:   "load [options]",
		Short: "Load images from an archive or a layout directory",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Input == "" {
				if term.IsTerminal(int(os.Stdin.Fd())) {
					return fmt.Errorf("cannot read an archive from a terminal: use --input or redirect standard input: %w", define.ErrInvalidArg)
				}
				opts.Stdin = cmd.InOrStdin()
			}
			opts.ReportWriter = os.Stderr
			if quiet {
				opts.ReportWriter = nil
			}
			return g.withEngine(cmd, func(eng *libengine.Engine) error {
				names, err := eng.ImageLoad(cmd.Context(), opts)
				if err != nil {
					return err
				}
				for _, n := range names {
					if _, err := fmt.Fprintln(cmd.OutOrStdout(), "Loaded image:", n); err != nil {
						return err
					}
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Input, "input", "i", "", "read from this archive or layout directory instead of standard input")
	f.BoolVarP(&quiet, "quiet", "q", false, "print no progress")
	return cmd
}
