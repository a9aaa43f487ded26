package main

import (
	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/spf13/cobra"
)

// newImageExistsCommand builds `image exists`: exit 0 when the image is in
// local storage, 1 silently when not, 125 on other errors.
func newImageExistsCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "exists IMAGE",
		Short: "Check whether an image is in local storage",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withEngine(cmd, func(eng *libengine.Engine) error {
				ok, err := eng.ImageExists(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if !ok {
					return &define.ExitError{Code: 1, Silent: true}
				}
				return nil
			})
		},
	}
}
