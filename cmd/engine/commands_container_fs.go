package main

import "github.com/spf13/cobra"

// addContainerFSCommands wires the commands that work on a container's
// processes and files (exec, cp, diff, export, mount, unmount, commit), at
// the top level and under `container`, as podman does.
func addContainerFSCommands(root, container *cobra.Command, g *globalOptions) {
	both := func(build func() *cobra.Command) {
		root.AddCommand(build())
		container.AddCommand(build())
	}
	both(func() *cobra.Command { return newExecCommand(g) })
	both(func() *cobra.Command { return newCpCommand(g) })
	both(func() *cobra.Command { return newDiffCommand(g) })
	both(func() *cobra.Command { return newExportCommand(g) })
	both(func() *cobra.Command { return newMountCommand(g) })
	both(func() *cobra.Command { return newUnmountCommand(g) })
	both(func() *cobra.Command { return newCommitCommand(g) })
}
