package main

import "github.com/spf13/cobra"

// addImageLocalCommands wires commands that read or change the local image
// store: images, rmi, tag, untag, inspect, history, exists, prune.
func addImageLocalCommands(root, image *cobra.Command, g *globalOptions) {
	root.AddCommand(
		newImagesCommand(g, "images"),
		newRmiCommand(g, "rmi"),
		newTagCommand(g),
		newUntagCommand(g),
		newInspectCommand(g),
		newHistoryCommand(g),
	)
	image.AddCommand(
		newImagesCommand(g, "ls", "list"),
		newRmiCommand(g, "rm"),
		newTagCommand(g),
		newUntagCommand(g),
		newImageInspectCommand(g),
		newHistoryCommand(g),
		newImageExistsCommand(g),
		newImagePruneCommand(g),
	)
}
