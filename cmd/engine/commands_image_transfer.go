package main

import "github.com/spf13/cobra"

// addImageTransferCommands wires commands that move images in and out of the
// store: pull, push, save, load, import, login, logout.
func addImageTransferCommands(root, image *cobra.Command, g *globalOptions) {
	root.AddCommand(
		newPullCommand(g),
		newPushCommand(g),
		newSaveCommand(g),
		newLoadCommand(g),
		newImportCommand(g),
		newLoginCommand(g),
		newLogoutCommand(g),
	)
	image.AddCommand(
		newPullCommand(g),
		newPushCommand(g),
		newSaveCommand(g),
		newLoadCommand(g),
		newImportCommand(g),
	)
}
