package main

import "github.com/spf13/cobra"

// addNetworkCommands wires `network` and its subcommands.
func addNetworkCommands(root *cobra.Command, g *globalOptions) {
	nw := &cobra.Command{Use: "network", Short: "Manage networks", RunE: requireSubcommand}
	root.AddCommand(nw)
	nw.AddCommand(
		newNetworkCreateCommand(g),
		newNetworkLsCommand(g),
		newNetworkInspectCommand(g),
		newNetworkRmCommand(g),
		newNetworkPruneCommand(g),
		newNetworkExistsCommand(g),
		newNetworkConnectCommand(g),
		newNetworkDisconnectCommand(g),
		newNetworkReloadCommand(g),
		newNetworkPortForwarderCommand(),
	)
}
