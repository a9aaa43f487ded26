package main

import (
	"fmt"
	"os"

	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/spf13/cobra"
)

// systemctlEnv names a command auto-update runs instead of systemctl, with
// systemctl's arguments. It is for tests, where systemd is not running.
const systemctlEnv = "ENGINE_AUTO_UPDATE_SYSTEMCTL"

// autoUpdateRow is one row of auto-update's table.
type autoUpdateRow struct {
	libengine.AutoUpdateReport
}

// Container is "SHORT-ID (NAME)", as podman prints it.
func (r autoUpdateRow) Container() string {
	return shortID(r.ContainerID) + " (" + r.ContainerName + ")"
}

const autoUpdateTable = "table {{.Unit}}\t{{.Container}}\t{{.Image}}\t{{.Policy}}\t{{.Updated}}"

func newAutoUpdateCommand(g *globalOptions) *cobra.Command {
	opts := libengine.AutoUpdateOptions{}
	var rf registryFlags
	var format string
	cmd := &cobra.Command{
		Use:   "auto-update [options]",
		Short: "Update containers to newer images and restart their systemd units",
		Long: "Update the images of the running containers that have the io.containers.autoupdate label (registry or local)\n" +
			"and run under a systemd unit, and restart their units, rolling back to the old image when a unit fails to start.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Registry = rf.options(cmd)
			opts.Systemctl = os.Getenv(systemctlEnv)
			if format != "json" {
				opts.ReportWriter = os.Stderr
			}
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				reports, err := e.AutoUpdate(cmd.Context(), opts)
				if err != nil {
					return err
				}
				rows := make([]autoUpdateRow, len(reports))
				var failed []error
				for i, r := range reports {
					rows[i] = autoUpdateRow{r}
					if r.Err != nil {
						failed = append(failed, r.Err)
					}
				}
				if format == "json" {
					if err := printTable(cmd.OutOrStdout(), format, autoUpdateTable, reports, nil, false); err != nil {
						return err
					}
				} else if err := printTable(cmd.OutOrStdout(), format, autoUpdateTable, rows, nil, false); err != nil {
					return err
				}
				if len(failed) == 0 {
					return nil
				}
				for _, err := range failed[:len(failed)-1] {
					fmt.Fprintln(os.Stderr, "Error:", err)
				}
				return &define.ExitError{Code: define.ExitEngineError, Err: failed[len(failed)-1]}
			})
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&opts.DryRun, "dry-run", false, "only report which containers have a newer image")
	fl.BoolVar(&opts.Rollback, "rollback", true, "restart a unit on its old image when it fails to start on the new one")
	fl.StringVar(&format, "format", "", "format output: json, or a Go template (fields Unit, Container, Image, Policy, Updated)")
	addRegistryFlags(cmd, &rf, false)
	return cmd
}
