package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/signal"

	"github.com/engine-oss/engine/cmd/engine/internal/terminal"
	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/libengine/monitor"
	"github.com/engine-oss/engine/pkg/specgen"
	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

// newExecCommand builds `exec` and `container exec`.
func newExecCommand(g *globalOptions) *cobra.Command {
	var (
		opts        libengine.ContainerExecOptions
		interactive bool
		env         []string
		envFiles    []string
		detachKeys  string
	)
	cmd := &cobra.Command{
		Use:   "exec [options] CONTAINER COMMAND [ARG...]",
		Short: "Run a process in a running container",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			// Asking for keys that would do nothing is refused; "" (no
			// detaching) is what an exec session has anyway.
			if cmd.Flags().Changed("detach-keys") && detachKeys != "" {
				if _, err := monitor.ParseDetachKeys(detachKeys); err != nil {
					return fmt.Errorf("--detach-keys %q: %w: %w", detachKeys, err, define.ErrInvalidArg)
				}
				return fmt.Errorf("--detach-keys %q: an exec session cannot be detached from: drop the flag or pass --detach-keys \"\" (run the command with --detach to leave it running): %w",
					detachKeys, define.ErrInvalidArg)
			}
			opts.Cmd = args[1:]
			opts.Env = map[string]string{}
			for _, f := range envFiles {
				vals, err := specgen.ParseEnvFile(f, os.Environ())
				if err != nil {
					return err
				}
				maps.Copy(opts.Env, vals)
			}
			vals, err := specgen.ParseEnv(env, os.Environ())
			if err != nil {
				return err
			}
			maps.Copy(opts.Env, vals)
			if opts.Tty && (opts.Detach || !terminal.IsTerminal(os.Stdin)) {
				// The runtime proxies a terminal only to its own, attached one.
				logrus.Warnf("--tty: standard input is not a terminal or --detach is set: running without a terminal")
				opts.Tty = false
			}
			if !opts.Detach {
				opts.Stdout, opts.Stderr = os.Stdout, os.Stderr
				if interactive || opts.Tty {
					opts.Stdin = os.Stdin
				}
				if opts.Tty {
					sess, err := terminal.Raw(os.Stdin, os.Stdout)
					if err != nil {
						return fmt.Errorf("set terminal to raw mode: %w", err)
					}
					defer sess.Restore()
				} else if !interactive || !terminal.IsTerminal(os.Stdin) {
					// Without a terminal in the way, signals sent to this
					// process reach the command.
					sigs := make(chan os.Signal, 4)
					signal.Notify(sigs, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2)
					defer signal.Stop(sigs)
					opts.Signals = sigs
				}
			}
			// Signals go to the command, not to this process's context.
			ctx := context.WithoutCancel(cmd.Context())
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				code, err := e.ContainerExec(ctx, args[0], opts)
				if err != nil {
					return err
				}
				return exitWith(code)
			})
		},
	}
	fl := cmd.Flags()
	fl.SetInterspersed(false) // flags after the container belong to the command
	fl.BoolVarP(&opts.Detach, "detach", "d", false, "run the command in the background")
	fl.StringVar(&detachKeys, "detach-keys", "", `only "" is accepted: an exec session cannot be detached from`)
	fl.StringArrayVarP(&env, "env", "e", nil, "set an environment variable (KEY=VALUE, KEY, PREFIX*)")
	fl.StringArrayVar(&envFiles, "env-file", nil, "read environment variables from a file")
	fl.BoolVarP(&interactive, "interactive", "i", false, "keep standard input open and pass it to the command")
	fl.BoolVar(&opts.Privileged, "privileged", false, "give the command every capability")
	fl.BoolVarP(&opts.Tty, "tty", "t", false, "run the command on a terminal")
	fl.StringVarP(&opts.User, "user", "u", "", "run as USER[:GROUP] (names or numbers)")
	fl.StringVarP(&opts.WorkDir, "workdir", "w", "", "working directory of the command")
	return cmd
}
