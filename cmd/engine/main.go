// Command engine is a daemonless container engine with podman's command line.
// This file wires every command explicitly and maps errors to exit codes.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/rootless"
	"github.com/spf13/cobra"
	"go.podman.io/storage/pkg/reexec"
)

func main() {
	// The store re-executes this binary to apply layers in a chroot.
	if reexec.Init() {
		return
	}
	// Installed as a systemd generator, the binary runs under another name.
	if handled, code := quadletGeneratorMain(os.Args[0], os.Args[1:]); handled {
		os.Exit(code)
	}
	root := newRootCommand()
	// An unprivileged user's engine runs in a user namespace.
	if err := enterUserNamespace(root, os.Args[1:]); err != nil {
		os.Exit(exitCode(err))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := root.ExecuteContext(ctx)
	stop()
	os.Exit(exitCode(err))
}

func newRootCommand() *cobra.Command {
	g := &globalOptions{}
	root := &cobra.Command{
		Use:           "engine",
		Short:         "Manage images and containers without a daemon",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return g.setup()
		},
	}
	g.addFlags(root)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return fmt.Errorf("%w (see --help)", err)
	})

	image := &cobra.Command{Use: "image", Short: "Manage images", RunE: requireSubcommand}
	root.AddCommand(image)
	addImageTransferCommands(root, image, g)
	addBuildCommands(root, image, g)
	addImageLocalCommands(root, image, g)
	addSystemCommands(root, g)
	root.AddCommand(newQuadletCommand(g))
	addContainerCommands(root, g)
	addVolumeCommands(root, g)
	addPodCommands(root, g)
	addSystemdCommands(root, g)
	addNetworkCommands(root, g)
	return root
}

// requireSubcommand makes a bare group command an error, as podman does.
func requireSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("missing command '%s COMMAND' (see --help)", cmd.CommandPath())
	}
	return fmt.Errorf("unrecognized command `%s %s` (see --help)", cmd.CommandPath(), args[0])
}

// exitCode maps an error to podman's exit codes and prints it.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	err = rootless.ExplainIDError(err)
	var ee *define.ExitError
	if errors.As(err, &ee) {
		if !ee.Silent && ee.Err != nil {
			fmt.Fprintln(os.Stderr, "Error:", ee.Err)
		}
		return ee.Code
	}
	fmt.Fprintln(os.Stderr, "Error:", err)
	return define.ExitEngineError
}
