package main

import (
	"fmt"

	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/spf13/cobra"
)

// newHealthcheckCommand is `healthcheck run`.
func newHealthcheckCommand(g *globalOptions) *cobra.Command {
	hc := &cobra.Command{Use: "healthcheck", Short: "Manage health checks of containers", RunE: requireSubcommand}
	hc.AddCommand(&cobra.Command{
		Use:   "run CONTAINER",
		Short: "Run the health check of a container",
		Long: "Run the container's health check once and record the result. Exits 0 when the container is healthy,\n" +
			"1 (printing the status) when it is unhealthy or still starting, 125 on error.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				rep, err := e.ContainerHealthcheckRun(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if rep.Status == libengine.HealthHealthy {
					return nil
				}
				if _, err := fmt.Fprintln(cmd.OutOrStdout(), rep.Status); err != nil {
					return err
				}
				return &define.ExitError{Code: 1, Silent: true}
			})
		},
	})
	return hc
}
