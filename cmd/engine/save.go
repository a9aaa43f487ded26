package main

import (
	"fmt"
	"os"

	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// newSaveCommand builds `save` and `image save`.
func newSaveCommand(g *globalOptions) *cobra.Command {
	var (
		opts  libengine.SaveOptions
		quiet bool
	)
	cmd := &cobra.Command{
		Use:   "save [options] IMAGE [IMAGE_OR_TAG...]",
		Short: "Write images to an archive or a layout directory",
		Long: "Write images to an archive (standard output unless --output is given) or a layout directory.\n" +
			"Without --multi-image-archive, names after the first are extra tags for the first image.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Path == "" {
				if term.IsTerminal(int(os.Stdout.Fd())) {
					return fmt.Errorf("refusing to save to terminal. Use -o flag or redirect: %w", define.ErrInvalidArg)
				}
				opts.Output = cmd.OutOrStdout()
			}
			opts.ReportWriter = os.Stderr
			if quiet {
				opts.ReportWriter = nil
			}
			return g.withEngine(cmd, func(eng *libengine.Engine) error {
				return eng.ImageSave(cmd.Context(), args, opts)
			})
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Path, "output", "o", "", "write to this file (or directory for oci-dir and docker-dir) instead of standard output")
	f.StringVar(&opts.Format, "format", libengine.FormatDockerArchive, "docker-archive, oci-archive, oci-dir or docker-dir")
	f.BoolVarP(&opts.MultiImageArchive, "multi-image-archive", "m", false, "treat every name as an image of its own (docker-archive, oci-archive, oci-dir)")
	f.BoolVar(&opts.Compress, "compress", false, "compress layers (docker-dir only)")
	f.BoolVarP(&quiet, "quiet", "q", false, "print no progress")
	return cmd
}
