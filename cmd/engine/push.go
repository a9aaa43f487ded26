package main

import (
	"os"

	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/spf13/cobra"
)

// newPushCommand builds `push` and `image push`.
func newPushCommand(g *globalOptions) *cobra.Command {
	var (
		rf    registryFlags
		opts  libengine.PushOptions
		quiet bool
	)
	cmd := &cobra.Command{
		Use:   "push [options] IMAGE [DESTINATION]",
		Short: "Copy a local image to a registry or another transport",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.RegistryOptions = rf.options(cmd)
			opts.ReportWriter = os.Stderr
			if quiet {
				opts.ReportWriter = nil
			}
			dest := ""
			if len(args) == 2 {
				dest = args[1]
			}
			return g.withEngine(cmd, func(eng *libengine.Engine) error {
				_, err := eng.ImagePush(cmd.Context(), args[0], dest, opts)
				return err
			})
		},
	}
	f := cmd.Flags()
	addRegistryFlags(cmd, &rf, true)
	f.StringVar(&opts.DigestFile, "digestfile", "", "write the digest of the pushed manifest to this file")
	f.StringVarP(&opts.ManifestType, "format", "f", "", "manifest type to push: oci, v2s2 or v2s1 (default: the image's)")
	f.BoolVar(&opts.RemoveSignatures, "remove-signatures", false, "do not copy the image's signatures")
	f.StringVar(&opts.CompressionFormat, "compression-format", "", "compress layers with gzip, zstd or zstd:chunked")
	f.BoolVarP(&quiet, "quiet", "q", false, "print no progress")
	return cmd
}
