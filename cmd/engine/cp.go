package main

import (
	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/spf13/cobra"
)

// newCpCommand builds `cp` and `container cp`.
func newCpCommand(g *globalOptions) *cobra.Command {
	var opts libengine.CopyOptions
	cmd := &cobra.Command{
		Use:   "cp [options] [CONTAINER:]SRC_PATH [CONTAINER:]DEST_PATH",
		Short: "Copy files between a container and the host",
		Long: "Copy files between a container and the host. One path is CONTAINER:PATH; the other a host path,\n" +
			"or - for a tar stream on standard input (as SRC) or output (as DEST).",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Stdin, opts.Stdout = cmd.InOrStdin(), cmd.OutOrStdout()
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				return e.ContainerCopy(cmd.Context(), libengine.ParseCopyLocation(args[0]), libengine.ParseCopyLocation(args[1]), opts)
			})
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&opts.Chown, "archive", "a", true, "give copied files the destination's owner (the container's user); --archive=false keeps the source's UID and GID")
	fl.BoolVarP(&opts.FollowLink, "follow-link", "L", false, "copy what a symbolic link SRC_PATH points to")
	fl.BoolVar(&opts.Overwrite, "overwrite", false, "let a directory replace a non-directory and the reverse")
	return cmd
}
