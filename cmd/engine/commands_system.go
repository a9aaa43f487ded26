package main

import (
	"github.com/spf13/cobra"
)

// addSystemCommands wires version and info.
func addSystemCommands(root *cobra.Command, g *globalOptions) {
	root.AddCommand(newVersionCommand(), newInfoCommand(g))
}
