package main

import "github.com/spf13/cobra"

// addVolumeCommands wires `volume` and its subcommands.
func addVolumeCommands(root *cobra.Command, g *globalOptions) {
	volume := &cobra.Command{Use: "volume", Short: "Manage volumes", RunE: requireSubcommand}
	root.AddCommand(volume)
	volume.AddCommand(
		newVolumeCreateCommand(g),
		newVolumeListCommand(g),
		newVolumeInspectCommand(g),
		newVolumeRemoveCommand(g),
		newVolumePruneCommand(g),
		newVolumeExistsCommand(g),
		newVolumeExportCommand(g),
		newVolumeImportCommand(g),
		newVolumeMountCommand(g),
		newVolumeUnmountCommand(g),
	)
}
