package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/engine-oss/engine/cmd/engine/internal/terminal"
	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/libengine/monitor"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

type runFlags struct {
	createFlags
	detach     bool
	detachKeys string
	sigProxy   bool
}

func newRunCommand(g *globalOptions) *cobra.Command {
	f := &runFlags{}
	cmd := &cobra.Command{
		Use:   "run [options] IMAGE [COMMAND [ARG...]]",
		Short: "Run a command in a new container",
		Args:  imageArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := f.spec(cmd, args)
			if err != nil {
				return err
			}
			copts, err := f.createOptions(cmd)
			if err != nil {
				return err
			}
			opts := libengine.ContainerRunOptions{Create: copts, Detach: f.detach}
			// Signals go to the container, not to this process's context.
			ctx := context.WithoutCancel(cmd.Context())
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				if f.detach {
					rep, err := e.ContainerRun(ctx, s, opts)
					if err != nil {
						return err
					}
					_, err = fmt.Fprintln(cmd.OutOrStdout(), rep.ID)
					return err
				}
				rep, err := runAttached(s.Terminal, s.Stdin, f.detachKeys, f.sigProxy, func(streams monitor.AttachStreams, sigs <-chan os.Signal) (*libengine.ContainerRunReport, error) {
					opts.Streams, opts.Signals = streams, sigs
					return e.ContainerRun(ctx, s, opts)
				})
				if err != nil {
					return err
				}
				return exitWith(rep.ExitCode)
			})
		},
	}
	addCreateFlags(cmd, &f.createFlags)
	fl := cmd.Flags()
	fl.BoolVarP(&f.detach, "detach", "d", false, "run the container in the background and print its ID")
	fl.StringVar(&f.detachKeys, "detach-keys", "ctrl-p,ctrl-q", "key sequence that detaches from the container")
	fl.BoolVar(&f.sigProxy, "sig-proxy", true, "forward signals received by this process to the container")
	return cmd
}

func (f *createFlags) createOptions(cmd *cobra.Command) (libengine.ContainerCreateOptions, error) {
	opts := libengine.ContainerCreateOptions{
		Pull:    libengine.PullOptions{RegistryOptions: f.registry.options(cmd)},
		Replace: f.replace, CIDFile: f.cidFile, CreateCommand: os.Args,
	}
	if !f.quiet {
		opts.Pull.ReportWriter = os.Stderr
	}
	if err := f.retry.apply(cmd.Flags(), &opts.Pull); err != nil {
		return opts, err
	}
	if f.platform != "" {
		var err error
		if opts.Pull.OS, opts.Pull.Arch, opts.Pull.Variant, err = parsePlatform(f.platform); err != nil {
			return opts, err
		}
	}
	return opts, nil
}

// runAttached wires the terminal and signals around an attached container
// session that attach runs, and returns its report.
func runAttached(tty, stdin bool, detachKeys string, sigProxy bool,
	attach func(monitor.AttachStreams, <-chan os.Signal) (*libengine.ContainerRunReport, error)) (*libengine.ContainerRunReport, error) {
	keys, err := monitor.ParseDetachKeys(detachKeys)
	if err != nil {
		return nil, fmt.Errorf("--detach-keys %q: %w: %w", detachKeys, err, define.ErrInvalidArg)
	}
	streams := monitor.AttachStreams{Stdout: os.Stdout, Stderr: os.Stderr, DetachKeys: keys}
	if stdin {
		streams.Stdin = os.Stdin
	}
	if tty && stdin && terminal.IsTerminal(os.Stdin) {
		sess, err := terminal.Raw(os.Stdin, os.Stdout)
		if err != nil {
			return nil, fmt.Errorf("set terminal to raw mode: %w", err)
		}
		defer sess.Restore()
		streams.Resize, streams.Size = sess.Resize(), sess.Size()
	}
	var sigs chan os.Signal
	// With a terminal, keys such as ctrl-c reach the container through it.
	if sigProxy && !tty {
		sigs = make(chan os.Signal, 4)
		signal.Notify(sigs, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2)
		defer signal.Stop(sigs)
	}
	return attach(streams, sigs)
}

// exitWith makes the process exit with a container's code, silently.
func exitWith(code int) error {
	if code == 0 {
		return nil
	}
	return &define.ExitError{Code: code, Silent: true}
}

func newCreateCommand(g *globalOptions) *cobra.Command {
	f := &createFlags{}
	cmd := &cobra.Command{
		Use:   "create [options] IMAGE [COMMAND [ARG...]]",
		Short: "Create but do not start a container",
		Args:  imageArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := f.spec(cmd, args)
			if err != nil {
				return err
			}
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				copts, err := f.createOptions(cmd)
				if err != nil {
					return err
				}
				rep, err := e.ContainerCreate(cmd.Context(), s, copts)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(cmd.OutOrStdout(), rep.ID)
				return err
			})
		},
	}
	addCreateFlags(cmd, f)
	return cmd
}
