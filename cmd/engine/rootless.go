package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"

	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/rootless"
	"github.com/spf13/cobra"
)

// enterUserNamespace re-executes an unprivileged engine inside the user's
// namespace (see rootless.Enter) unless the command args name needs none
// (rootless.StaysOutside). A process the binary's C constructor already
// joined to the namespace runs as root, and goes on. It runs before cobra
// parses anything, so it only finds the command. (cobra adds help and
// completion when it executes, so Find does not know them: they stay
// outside too.)
func enterUserNamespace(root *cobra.Command, args []string) error {
	if os.Geteuid() == 0 {
		return nil
	}
	cmd, _, err := root.Find(args)
	if err != nil || cmd == root {
		// Usage errors and the root's help are cobra's to print.
		return nil
	}
	for cmd.Parent() != root {
		cmd = cmd.Parent()
	}
	if rootless.StaysOutside(cmd.Name()) || slices.ContainsFunc(cmd.Aliases, rootless.StaysOutside) {
		return nil
	}
	return rootless.Enter()
}

func newUnshareCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "unshare [COMMAND [ARG...]]",
		Short: "Run a command in the engine's user namespace",
		Long: "Runs COMMAND ($SHELL by default) in the user and mount namespace the engine runs in for an unprivileged user, " +
			"with ENGINE_ROOT and ENGINE_RUNROOT set to the store's paths. There, root is the user and files of the store show the owners containers see.",
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !rootless.Enabled() {
				return errors.New("engine unshare is for unprivileged users, whom the engine runs in a user namespace: as root, run the command directly")
			}
			if len(args) == 0 {
				args = []string{os.Getenv("SHELL")}
				if args[0] == "" {
					args[0] = "/bin/sh"
				}
			}
			var root, runRoot string
			if err := g.withEngine(cmd, func(eng *libengine.Engine) error {
				root, runRoot = eng.Store().GraphRoot(), eng.Store().RunRoot()
				return nil
			}); err != nil {
				return err
			}
			// Not tied to the context: ^C belongs to the command (a shell).
			c := exec.Command(args[0], args[1:]...)
			c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
			c.Env = append(os.Environ(), "ENGINE_ROOT="+root, "ENGINE_RUNROOT="+runRoot)
			err := c.Run()
			var ee *exec.ExitError
			switch {
			case errors.As(err, &ee):
				return &define.ExitError{Code: ee.ExitCode(), Silent: true, Err: err}
			case errors.Is(err, exec.ErrNotFound):
				return &define.ExitError{Code: define.ExitNotFound, Err: fmt.Errorf("%s: command not found in $PATH", args[0])}
			case err != nil:
				return &define.ExitError{Code: define.ExitCannotExec, Err: err}
			}
			return nil
		},
	}
	cmd.Flags().SetInterspersed(false) // flags after COMMAND are its own
	return cmd
}

func newSystemMigrateCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Stop running containers and restart the user namespace",
		Long: "For an unprivileged user, stops the running containers of the store and ends the pause process holding the user namespace, " +
			"so that the next command creates a new one with the current ranges of /etc/subuid and /etc/subgid.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var errs []error
			err := g.withEngine(cmd, func(eng *libengine.Engine) error {
				reports, err := eng.ContainerStop(cmd.Context(), nil, libengine.ContainerStopOptions{All: true})
				for _, r := range reports {
					if r.Err != nil {
						errs = append(errs, r.Err)
					}
				}
				return err
			})
			if err != nil {
				return err
			}
			if rootless.Enabled() {
				dir, err := rootless.RuntimeDir()
				if err != nil {
					return err
				}
				errs = append(errs, rootless.StopPause(dir))
			}
			return errors.Join(errs...)
		},
	}
}
