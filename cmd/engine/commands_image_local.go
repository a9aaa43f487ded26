package main

import "github.com/spf13/cobra"

// addImageLocalCommands wires commands that read or change the local image
// store: images, rmi, tag, untag, inspect, history, exists, prune.
func addImageLocalCommands(root, image *cobra.Command, g *globalOptions) {
}
