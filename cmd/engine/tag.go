package main

import (
	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/spf13/cobra"
)

// newTagCommand builds `tag` and `image tag`.
func newTagCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "tag IMAGE TARGET_NAME [TARGET_NAME...]",
		Short: "Add names to a local image",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withEngine(cmd, func(eng *libengine.Engine) error {
				return eng.ImageTag(cmd.Context(), args[0], args[1:])
			})
		},
	}
}

// newUntagCommand builds `untag` and `image untag`.
func newUntagCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "untag IMAGE [NAME...]",
		Short: "Remove names from a local image (all of them when none is given)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withEngine(cmd, func(eng *libengine.Engine) error {
				return eng.ImageUntag(cmd.Context(), args[0], args[1:])
			})
		},
	}
}
