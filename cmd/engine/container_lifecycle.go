package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/libengine/monitor"
	"github.com/engine-oss/engine/pkg/specgen"
	"github.com/spf13/cobra"
)

// needNames checks that either container names or --all was given.
func needNames(cmd *cobra.Command, args []string, all bool) error {
	return needArgs(cmd, args, all, "container")
}

// needArgs checks that either names of kind (container, pod) or --all
// was given, not both.
func needArgs(cmd *cobra.Command, args []string, all bool, kind string) error {
	if len(args) == 0 && !all {
		return fmt.Errorf("%s needs at least one %s name or ID (or --all): %w", cmd.CommandPath(), kind, define.ErrInvalidArg)
	}
	if len(args) > 0 && all {
		return fmt.Errorf("%s: --all and %s names cannot be used together: %w", cmd.CommandPath(), kind, define.ErrInvalidArg)
	}
	return nil
}

func newStartCommand(g *globalOptions) *cobra.Command {
	var attach, interactive, all, sigProxy bool
	var detachKeys string
	cmd := &cobra.Command{
		Use:   "start [options] CONTAINER [CONTAINER...]",
		Short: "Start one or more containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := needNames(cmd, args, all); err != nil {
				return err
			}
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				ctx := cmd.Context()
				if !attach {
					reps, err := e.ContainerStart(ctx, args, libengine.ContainerStartOptions{All: all})
					if err != nil {
						return err
					}
					base := make([]libengine.ContainerReport, 0, len(reps))
					for _, r := range reps {
						base = append(base, r.ContainerReport)
					}
					return printReports(cmd.OutOrStdout(), base, 0)
				}
				tty, err := hasTerminal(ctx, e, args[0])
				if err != nil {
					return err
				}
				// Signals go to the container, not to this process's context.
				ctx = context.WithoutCancel(ctx)
				rep, err := runAttached(tty, interactive, detachKeys, sigProxy, func(streams monitor.AttachStreams, sigs <-chan os.Signal) (*libengine.ContainerRunReport, error) {
					reps, err := e.ContainerStart(ctx, args, libengine.ContainerStartOptions{Attach: true, Streams: streams, Signals: sigs})
					if err != nil {
						return nil, err
					}
					if reps[0].Err != nil {
						return nil, reps[0].Err
					}
					return &libengine.ContainerRunReport{ID: reps[0].ID, ExitCode: reps[0].ExitCode, Detached: reps[0].Detached}, nil
				})
				if err != nil {
					return err
				}
				return exitWith(rep.ExitCode)
			})
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&attach, "attach", "a", false, "attach to the container's output")
	fl.BoolVarP(&interactive, "interactive", "i", false, "attach the container's stdin")
	fl.BoolVar(&all, "all", false, "start all containers")
	fl.BoolVar(&sigProxy, "sig-proxy", true, "forward signals to the container when attached")
	fl.StringVar(&detachKeys, "detach-keys", "ctrl-p,ctrl-q", "key sequence that detaches from the container")
	return cmd
}

// reportsCommand builds a command acting on named containers (or --all)
// that prints one report per container: act runs after prepare has turned
// the flags into options.
func reportsCommand(g *globalOptions, use, short string, all *bool, stateCode int,
	prepare func(*cobra.Command) error,
	act func(context.Context, *libengine.Engine, []string) ([]libengine.ContainerReport, error)) *cobra.Command {
	return namedCommand(g, use, short, "container", all, prepare, act, func(w io.Writer, reps []libengine.ContainerReport) error {
		return printReports(w, reps, stateCode)
	})
}

// namedCommand builds a command acting on named objects of kind (or
// --all): act runs after prepare has turned the flags into options, and
// print shows what act reports.
func namedCommand[R any](g *globalOptions, use, short, kind string, all *bool,
	prepare func(*cobra.Command) error,
	act func(context.Context, *libengine.Engine, []string) ([]R, error),
	print func(io.Writer, []R) error) *cobra.Command {
	arg := strings.ToUpper(kind)
	return &cobra.Command{
		Use:   use + " [options] " + arg + " [" + arg + "...]",
		Short: short,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := needArgs(cmd, args, *all, kind); err != nil {
				return err
			}
			if prepare != nil {
				if err := prepare(cmd); err != nil {
					return err
				}
			}
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				reps, err := act(cmd.Context(), e, args)
				if err != nil {
					return err
				}
				return print(cmd.OutOrStdout(), reps)
			})
		},
	}
}

func newStopCommand(g *globalOptions) *cobra.Command {
	var opts libengine.ContainerStopOptions
	var timeout uint
	cmd := reportsCommand(g, "stop", "Stop one or more running containers", &opts.All, 0,
		func(cmd *cobra.Command) error {
			timeoutFlag(cmd, timeout, &opts.Timeout)
			return nil
		},
		func(ctx context.Context, e *libengine.Engine, names []string) ([]libengine.ContainerReport, error) {
			return e.ContainerStop(ctx, names, opts)
		})
	fl := cmd.Flags()
	fl.UintVarP(&timeout, "time", "t", 10, "seconds to wait before killing the container")
	fl.BoolVarP(&opts.All, "all", "a", false, "stop all running containers")
	fl.BoolVarP(&opts.Ignore, "ignore", "i", false, "ignore containers that do not exist")
	return withCIDFiles(cmd, &opts.Ignore)
}

func newKillCommand(g *globalOptions) *cobra.Command {
	var opts libengine.ContainerKillOptions
	var signal string
	cmd := reportsCommand(g, "kill", "Send a signal to one or more running containers", &opts.All, 0,
		parseSignalFlag(&signal, &opts.Signal),
		func(ctx context.Context, e *libengine.Engine, names []string) ([]libengine.ContainerReport, error) {
			return e.ContainerKill(ctx, names, opts)
		})
	fl := cmd.Flags()
	fl.StringVarP(&signal, "signal", "s", "KILL", "signal to send")
	fl.BoolVarP(&opts.All, "all", "a", false, "signal all running containers")
	return cmd
}

// parseSignalFlag is the setup step of kill and pod kill: --signal's value
// into *dst.
func parseSignalFlag(signal *string, dst *syscall.Signal) func(*cobra.Command) error {
	return func(*cobra.Command) error {
		sig, err := specgen.ParseSignal(*signal)
		if err != nil {
			return fmt.Errorf("--signal %w", err)
		}
		*dst = sig
		return nil
	}
}

// newPauseCommand builds pause or unpause.
func newPauseCommand(g *globalOptions, pause bool) *cobra.Command {
	var all bool
	use, short := "pause", "Pause all the processes in one or more containers"
	if !pause {
		use, short = "unpause", "Unpause the processes in one or more containers"
	}
	cmd := reportsCommand(g, use, short, &all, 0, nil,
		func(ctx context.Context, e *libengine.Engine, names []string) ([]libengine.ContainerReport, error) {
			if pause {
				return e.ContainerPause(ctx, names, all)
			}
			return e.ContainerUnpause(ctx, names, all)
		})
	cmd.Flags().BoolVarP(&all, "all", "a", false, "act on all containers")
	return cmd
}

func newRmCommand(g *globalOptions) *cobra.Command {
	var opts libengine.ContainerRemoveOptions
	var timeout uint
	cmd := reportsCommand(g, "rm", "Remove one or more containers", &opts.All, 2,
		func(cmd *cobra.Command) error {
			if cmd.Flags().Changed("time") {
				opts.Timeout = &timeout
			}
			return nil
		},
		func(ctx context.Context, e *libengine.Engine, names []string) ([]libengine.ContainerReport, error) {
			return e.ContainerRemove(ctx, names, opts)
		})
	fl := cmd.Flags()
	fl.BoolVarP(&opts.Force, "force", "f", false, "stop and remove running containers")
	fl.BoolVarP(&opts.All, "all", "a", false, "remove all containers")
	fl.BoolVarP(&opts.Ignore, "ignore", "i", false, "ignore containers that do not exist")
	fl.BoolVarP(&opts.Volumes, "volumes", "v", false, "remove the container's anonymous volumes")
	fl.UintVarP(&timeout, "time", "t", 10, "seconds to wait for stop before killing the container")
	return withCIDFiles(cmd, &opts.Ignore)
}

func newWaitCommand(g *globalOptions) *cobra.Command {
	var opts libengine.ContainerWaitOptions
	cmd := &cobra.Command{
		Use:   "wait [options] CONTAINER [CONTAINER...]",
		Short: "Block until one or more containers stop, then print their exit codes",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				reps, err := e.ContainerWait(cmd.Context(), args, opts)
				if err != nil {
					return err
				}
				var last error
				for _, r := range reps {
					if r.Err != nil {
						if last != nil {
							fmt.Fprintln(os.Stderr, "Error:", last)
						}
						last = r.Err
						continue
					}
					if _, err := fmt.Fprintln(cmd.OutOrStdout(), r.ExitCode); err != nil {
						return err
					}
				}
				return last
			})
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&opts.Conditions, "condition", nil, "condition to wait on: created, running, paused, exited, stopped (default)")
	fl.DurationVarP(&opts.Interval, "interval", "i", 0, "time between checks (default 50ms)")
	return cmd
}

func newAttachCommand(g *globalOptions) *cobra.Command {
	var noStdin, sigProxy bool
	var detachKeys string
	cmd := &cobra.Command{
		Use:   "attach [options] CONTAINER",
		Short: "Attach to a running container",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				tty, err := hasTerminal(cmd.Context(), e, args[0])
				if err != nil {
					return err
				}
				ctx := context.WithoutCancel(cmd.Context())
				rep, err := runAttached(tty, !noStdin, detachKeys, sigProxy, func(streams monitor.AttachStreams, sigs <-chan os.Signal) (*libengine.ContainerRunReport, error) {
					return e.ContainerAttach(ctx, args[0], libengine.ContainerAttachOptions{Streams: streams, Signals: sigs})
				})
				if err != nil {
					return err
				}
				return exitWith(rep.ExitCode)
			})
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&noStdin, "no-stdin", false, "do not attach stdin")
	fl.BoolVar(&sigProxy, "sig-proxy", true, "forward signals to the container")
	fl.StringVar(&detachKeys, "detach-keys", "ctrl-p,ctrl-q", "key sequence that detaches from the container")
	return cmd
}

// hasTerminal reports whether a container was created with -t, which decides
// whether the user's terminal goes raw and who delivers ctrl-c.
func hasTerminal(ctx context.Context, e *libengine.Engine, name string) (bool, error) {
	info, err := e.ContainerInspect(ctx, []string{name}, libengine.ContainerInspectOptions{})
	if err != nil {
		return false, err
	}
	return len(info) == 1 && info[0].Config.Tty, nil
}

// newCleanupCommand is what each container's monitor runs after the
// container exits; users never need it.
func newCleanupCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:    "cleanup CONTAINER",
		Short:  "Record a container's exit and release its resources",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				return e.ContainerCleanup(cmd.Context(), args[0])
			})
		},
	}
}
