package main

import "github.com/spf13/cobra"

// addContainerCommands wires the container life-cycle commands, at the top
// level and under `container`, as podman does.
func addContainerCommands(root *cobra.Command, g *globalOptions) {
	container := &cobra.Command{Use: "container", Short: "Manage containers", RunE: requireSubcommand}
	root.AddCommand(container)
	both := func(build func() *cobra.Command) {
		root.AddCommand(build())
		container.AddCommand(build())
	}
	both(func() *cobra.Command { return newRunCommand(g) })
	both(func() *cobra.Command { return newCreateCommand(g) })
	both(func() *cobra.Command { return newStartCommand(g) })
	both(func() *cobra.Command { return newStopCommand(g) })
	both(func() *cobra.Command { return newKillCommand(g) })
	both(func() *cobra.Command { return newPauseCommand(g, true) })
	both(func() *cobra.Command { return newPauseCommand(g, false) })
	both(func() *cobra.Command { return newRmCommand(g) })
	both(func() *cobra.Command { return newWaitCommand(g) })
	both(func() *cobra.Command { return newAttachCommand(g) })
	both(func() *cobra.Command { return newLogsCommand(g) })
	root.AddCommand(newPsCommand(g, "ps"))
	container.AddCommand(newPsCommand(g, "list", "ls", "ps"))
	container.AddCommand(newCleanupCommand(g))
	addContainerFSCommands(root, container, g)
	addContainerInfoCommands(root, container, g)
}
