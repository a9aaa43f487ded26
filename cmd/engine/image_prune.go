package main

import (
	"fmt"
	"io"

	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/spf13/cobra"
)

// newImagePruneCommand builds `image prune`.
func newImagePruneCommand(g *globalOptions) *cobra.Command {
	var opts libengine.PruneOptions
	var force bool
	cmd := &cobra.Command{
		Use:   "prune [options]",
		Short: "Remove dangling images, or with --all every image no container uses",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !force {
				ok, err := confirmPrune(cmd.InOrStdin(), cmd.OutOrStdout(), opts.All)
				if err != nil || !ok {
					return err
				}
			}
			return g.withEngine(cmd, func(eng *libengine.Engine) error {
				reports, err := eng.ImagePrune(cmd.Context(), opts)
				for _, r := range reports {
					if _, perr := fmt.Fprintln(cmd.OutOrStdout(), r.ID); perr != nil && err == nil {
						err = perr
					}
				}
				return err
			})
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.All, "all", "a", false, "remove every image no container uses, not only dangling ones")
	f.BoolVarP(&force, "force", "f", false, "do not ask for confirmation")
	f.StringArrayVar(&opts.Filters, "filter", nil, "prune only images matching label=KEY[=VALUE], label!=…, until=TIME (repeatable)")
	return cmd
}

// confirmPrune asks podman's question and reads one answer line, from a
// terminal or not; only an answer starting with y proceeds.
func confirmPrune(in io.Reader, out io.Writer, all bool) (bool, error) {
	what := "all dangling images"
	if all {
		what = "all images without at least one container associated with them"
	}
	return confirm(in, out, "WARNING! This command removes "+what+".")
}
