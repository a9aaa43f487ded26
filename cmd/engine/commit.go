package main

import (
	"fmt"

	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/spf13/cobra"
)

// newCommitCommand builds `commit` and `container commit`.
func newCommitCommand(g *globalOptions) *cobra.Command {
	var (
		opts  libengine.CommitOptions
		quiet bool
	)
	cmd := &cobra.Command{
		Use:   "commit [options] CONTAINER [IMAGE]",
		Short: "Create an image from a container's changes",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 2 {
				opts.Reference = args[1]
			}
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				id, err := e.ContainerCommit(cmd.Context(), args[0], opts)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(cmd.OutOrStdout(), id)
				return err
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Author, "author", "a", "", "author of the image")
	fl.StringVarP(&opts.Message, "message", "m", "", "comment of the image's history entry")
	fl.StringArrayVarP(&opts.Changes, "change", "c", nil, "apply a Dockerfile instruction (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR); repeatable")
	fl.BoolVarP(&opts.Pause, "pause", "p", false, "pause the container while committing")
	fl.StringVarP(&opts.Format, "format", "f", libengine.FormatOCI, "image format: oci or docker")
	fl.BoolVarP(&quiet, "quiet", "q", false, "print only the image ID (no progress is printed anyway)")
	return cmd
}
