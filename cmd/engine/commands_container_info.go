package main

import "github.com/spf13/cobra"

// addContainerInfoCommands wires the commands that look at and tend
// containers: container inspect, exists and prune; top, stats, rename,
// port and restart at the top level and under container, as podman does;
// and events. The top-level inspect is wired with the image commands.
func addContainerInfoCommands(root, container *cobra.Command, g *globalOptions) {
	both := func(build func(*globalOptions) *cobra.Command) {
		root.AddCommand(build(g))
		container.AddCommand(build(g))
	}
	both(newTopCommand)
	both(newStatsCommand)
	both(newRenameCommand)
	both(newPortCommand)
	both(newRestartCommand)
	container.AddCommand(newContainerInspectCommand(g), newContainerExistsCommand(g), newContainerPruneCommand(g))
	root.AddCommand(newEventsCommand(g))
}
