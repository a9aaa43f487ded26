package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/spf13/cobra"
)

func newTopCommand(g *globalOptions) *cobra.Command {
	var latest, list bool
	cmd := &cobra.Command{
		Use:   "top [options] CONTAINER [FORMAT-DESCRIPTORS|PS-OPTIONS...]",
		Short: "Display the running processes of a container",
		Long: `Display the running processes of a container.

Descriptors (one per argument or comma-separated) select the columns; the
default is ` + strings.Join(libengine.DefaultTopDescriptors, ",") + `. Arguments that are
not descriptors are passed to the host's ps(1) (e.g. "-o pid,comm" or aux),
which then reports the container's processes with their host PIDs.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if list {
				_, err := fmt.Fprintln(cmd.OutOrStdout(), strings.Join(libengine.TopDescriptorNames(), "\n"))
				return err
			}
			if len(args) == 0 && !latest {
				return fmt.Errorf("top needs a container name or ID (or --latest): %w", define.ErrInvalidArg)
			}
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				name, descs := "", args
				if latest {
					id, err := latestContainer(cmd.Context(), e)
					if err != nil {
						return err
					}
					name = id
				} else {
					name, descs = args[0], args[1:]
				}
				lines, err := e.ContainerTop(cmd.Context(), name, descs)
				if err != nil {
					return err
				}
				return printTop(cmd.OutOrStdout(), lines)
			})
		},
	}
	// Options after the container name belong to ps, not to top.
	cmd.Flags().SetInterspersed(false)
	cmd.Flags().BoolVarP(&latest, "latest", "l", false, "act on the latest container created")
	cmd.Flags().BoolVar(&list, "list-descriptors", false, "list the supported format descriptors")
	return cmd
}

// printTop aligns the tab-separated columns as podman does.
func printTop(w io.Writer, lines []string) error {
	tw := tabwriter.NewWriter(w, 12, 2, 2, ' ', 0)
	for _, l := range lines {
		if _, err := fmt.Fprintln(tw, l); err != nil {
			return err
		}
	}
	return tw.Flush()
}
