package main

import (
	"fmt"
	"os"

	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/spf13/cobra"
)

// newImportCommand builds `import` and `image import`.
func newImportCommand(g *globalOptions) *cobra.Command {
	var (
		opts  libengine.ImportOptions
		quiet bool
	)
	cmd := &cobra.Command{
		Use:   "import [options] TARBALL|- [REFERENCE]",
		Short: "Create a one-layer image from a root filesystem tarball",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 2 {
				opts.Reference = args[1]
			}
			opts.Stdin = cmd.InOrStdin()
			opts.ReportWriter = os.Stderr
			if quiet {
				opts.ReportWriter = nil
			}
			return g.withEngine(cmd, func(eng *libengine.Engine) error {
				id, err := eng.ImageImport(cmd.Context(), args[0], opts)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(cmd.OutOrStdout(), id)
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&opts.Changes, "change", "c", nil, "apply a Dockerfile instruction (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR); repeatable")
	f.StringVarP(&opts.Message, "message", "m", "", "comment of the image's history entry")
	f.StringVar(&opts.OS, "os", "", "operating system of the image (default: the host's)")
	f.StringVar(&opts.Arch, "arch", "", "architecture of the image (default: the host's)")
	f.StringVar(&opts.Variant, "variant", "", "architecture variant of the image")
	f.BoolVarP(&quiet, "quiet", "q", false, "print only the image ID, no progress")
	return cmd
}
