package main

import (
	"io"

	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/spf13/cobra"
)

// addPodCommands wires `engine pod` and its subcommands, as podman's.
func addPodCommands(root *cobra.Command, g *globalOptions) {
	pod := &cobra.Command{Use: "pod", Short: "Manage pods", RunE: requireSubcommand}
	root.AddCommand(pod)
	pod.AddCommand(
		newPodCreateCommand(g),
		newPodStartCommand(g),
		newPodStopCommand(g),
		newPodRestartCommand(g),
		newPodKillCommand(g),
		newPodPauseCommand(g, true),
		newPodPauseCommand(g, false),
		newPodRmCommand(g),
		newPodPruneCommand(g),
		newPodPsCommand(g),
		newPodInspectCommand(g),
		newPodTopCommand(g),
		newPodStatsCommand(g),
		newPodLogsCommand(g),
		newPodExistsCommand(g),
	)
}

// printPodReports prints the ID of each pod acted on, as podman, and an
// error line for each failure. The exit code is 125 when anything failed,
// or missingCode when every failure is a missing pod, or stateCode when
// every one is a container in the wrong state (0: no such code).
func printPodReports(w io.Writer, reports []libengine.PodReport, missingCode, stateCode int) error {
	return printOutcomes(w, reports,
		func(r libengine.PodReport) (string, error) { return r.ID, r.Err },
		func(failed []error) int {
			switch {
			case missingCode != 0 && allAre(failed, define.ErrNoSuchPod):
				return missingCode
			case stateCode != 0 && allAre(failed, define.ErrCtrStateInvalid):
				return stateCode
			}
			return 0
		})
}
