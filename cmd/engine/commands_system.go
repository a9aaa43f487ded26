package main

import (
	"github.com/spf13/cobra"
)

// addSystemCommands wires version, info, unshare and the system group.
func addSystemCommands(root *cobra.Command, g *globalOptions) {
	root.AddCommand(newVersionCommand(), newInfoCommand(g), newUnshareCommand(g))
	system := &cobra.Command{Use: "system", Short: "Manage the engine", RunE: requireSubcommand}
	system.AddCommand(newSystemMigrateCommand(g))
	root.AddCommand(system)
}
