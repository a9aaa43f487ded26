package main

import (
	"context"
	"io"

	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/spf13/cobra"
)

// podReportsCommand builds a command acting on named pods (or --all) that
// prints one report per pod: act runs after prepare has turned the flags
// into options.
func podReportsCommand(g *globalOptions, use, short string, all *bool, missingCode, stateCode int,
	prepare func(*cobra.Command) error,
	act func(context.Context, *libengine.Engine, []string) ([]libengine.PodReport, error)) *cobra.Command {
	return namedCommand(g, use, short, "pod", all, prepare, act, func(w io.Writer, reps []libengine.PodReport) error {
		return printPodReports(w, reps, missingCode, stateCode)
	})
}

// timeoutFlag sets *dst to the -t value when the user gave one.
func timeoutFlag(cmd *cobra.Command, value uint, dst **uint) {
	if cmd.Flags().Changed("time") {
		*dst = &value
	}
}

func newPodStartCommand(g *globalOptions) *cobra.Command {
	var opts libengine.PodStartOptions
	cmd := podReportsCommand(g, "start", "Start one or more pods", &opts.All, 0, 0, nil,
		func(ctx context.Context, e *libengine.Engine, names []string) ([]libengine.PodReport, error) {
			return e.PodStart(ctx, names, opts)
		})
	cmd.Flags().BoolVarP(&opts.All, "all", "a", false, "start all pods")
	return cmd
}

func newPodStopCommand(g *globalOptions) *cobra.Command {
	var opts libengine.PodStopOptions
	var timeout uint
	cmd := podReportsCommand(g, "stop", "Stop one or more pods", &opts.All, 0, 0,
		func(cmd *cobra.Command) error {
			timeoutFlag(cmd, timeout, &opts.Timeout)
			return nil
		},
		func(ctx context.Context, e *libengine.Engine, names []string) ([]libengine.PodReport, error) {
			return e.PodStop(ctx, names, opts)
		})
	fl := cmd.Flags()
	fl.UintVarP(&timeout, "time", "t", 10, "seconds to wait for each container to stop before killing it")
	fl.BoolVarP(&opts.All, "all", "a", false, "stop all pods")
	fl.BoolVarP(&opts.Ignore, "ignore", "i", false, "ignore pods that do not exist")
	return cmd
}

func newPodRestartCommand(g *globalOptions) *cobra.Command {
	var opts libengine.PodRestartOptions
	var timeout uint
	cmd := podReportsCommand(g, "restart", "Restart one or more pods", &opts.All, 0, 0,
		func(cmd *cobra.Command) error {
			timeoutFlag(cmd, timeout, &opts.Timeout)
			return nil
		},
		func(ctx context.Context, e *libengine.Engine, names []string) ([]libengine.PodReport, error) {
			return e.PodRestart(ctx, names, opts)
		})
	fl := cmd.Flags()
	fl.UintVarP(&timeout, "time", "t", 10, "seconds to wait for each container to stop before killing it")
	fl.BoolVarP(&opts.All, "all", "a", false, "restart all pods")
	return cmd
}

func newPodKillCommand(g *globalOptions) *cobra.Command {
	var opts libengine.PodKillOptions
	var signal string
	cmd := podReportsCommand(g, "kill", "Send a signal to the containers of one or more pods", &opts.All, 0, 0,
		parseSignalFlag(&signal, &opts.Signal),
		func(ctx context.Context, e *libengine.Engine, names []string) ([]libengine.PodReport, error) {
			return e.PodKill(ctx, names, opts)
		})
	fl := cmd.Flags()
	fl.StringVarP(&signal, "signal", "s", "KILL", "signal to send")
	fl.BoolVarP(&opts.All, "all", "a", false, "signal all pods")
	return cmd
}

// newPodPauseCommand builds pod pause or pod unpause.
func newPodPauseCommand(g *globalOptions, pause bool) *cobra.Command {
	var all bool
	use, short := "pause", "Pause the containers of one or more pods"
	if !pause {
		use, short = "unpause", "Unpause the containers of one or more pods"
	}
	cmd := podReportsCommand(g, use, short, &all, 0, 0, nil,
		func(ctx context.Context, e *libengine.Engine, names []string) ([]libengine.PodReport, error) {
			if pause {
				return e.PodPause(ctx, names, all)
			}
			return e.PodUnpause(ctx, names, all)
		})
	cmd.Flags().BoolVarP(&all, "all", "a", false, "act on all pods")
	return cmd
}

func newPodRmCommand(g *globalOptions) *cobra.Command {
	var opts libengine.PodRemoveOptions
	var timeout uint
	cmd := podReportsCommand(g, "rm", "Remove one or more pods and their containers", &opts.All, 1, 2,
		func(cmd *cobra.Command) error {
			timeoutFlag(cmd, timeout, &opts.Timeout)
			return nil
		},
		func(ctx context.Context, e *libengine.Engine, names []string) ([]libengine.PodReport, error) {
			return e.PodRemove(ctx, names, opts)
		})
	fl := cmd.Flags()
	fl.BoolVarP(&opts.Force, "force", "f", false, "stop and remove running pods")
	fl.BoolVarP(&opts.All, "all", "a", false, "remove all pods")
	fl.BoolVarP(&opts.Ignore, "ignore", "i", false, "ignore pods that do not exist")
	fl.UintVarP(&timeout, "time", "t", 10, "seconds to wait for each container to stop before killing it, with --force")
	return cmd
}

func newPodPruneCommand(g *globalOptions) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "prune [options]",
		Short: "Remove all stopped pods and their containers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !force {
				ok, err := confirm(cmd.InOrStdin(), cmd.OutOrStdout(), "WARNING! This will remove all stopped/exited pods..")
				if err != nil || !ok {
					return err
				}
			}
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				reps, err := e.PodPrune(cmd.Context())
				if err != nil {
					return err
				}
				return printPodReports(cmd.OutOrStdout(), reps, 0, 0)
			})
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "do not ask for confirmation")
	return cmd
}
