package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/spf13/cobra"
)

// latestContainer is the ID of the container created last (--latest).
func latestContainer(ctx context.Context, e *libengine.Engine) (string, error) {
	rows, err := e.ContainerList(ctx, libengine.ContainerListOptions{Last: 1})
	if err != nil {
		return "", err
	}
	if len(rows) == 0 {
		return "", fmt.Errorf("--latest: there are no containers: %w", define.ErrNoSuchContainer)
	}
	return rows[0].ID, nil
}

// needNameOrLatest checks that either names or --latest was given.
func needNameOrLatest(cmd *cobra.Command, args []string, latest bool) error {
	if len(args) == 0 && !latest {
		return fmt.Errorf("%s needs at least one name or ID (or --latest): %w", cmd.CommandPath(), define.ErrInvalidArg)
	}
	if len(args) > 0 && latest {
		return fmt.Errorf("%s: --latest and names cannot be used together: %w", cmd.CommandPath(), define.ErrInvalidArg)
	}
	return nil
}

func newRenameCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "rename CONTAINER NEW-NAME",
		Short: "Rename an existing container",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				return e.ContainerRename(cmd.Context(), args[0], args[1])
			})
		},
	}
}

// newContainerExistsCommand builds `container exists`: exit 0 when the
// container exists, 1 silently when not, 125 on other errors.
func newContainerExistsCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "exists CONTAINER",
		Short: "Check whether a container exists",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				ok, err := e.ContainerExists(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if !ok {
					return &define.ExitError{Code: 1, Silent: true}
				}
				return nil
			})
		},
	}
}

func newPortCommand(g *globalOptions) *cobra.Command {
	var all, latest bool
	cmd := &cobra.Command{
		Use:   "port [options] CONTAINER [PRIVATE-PORT[/PROTO]]",
		Short: "List the published ports of a container",
		Args:  cobra.MaximumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, port := "", ""
			switch {
			case all || latest:
				if all && latest {
					return fmt.Errorf("--all and --latest cannot be used together: %w", define.ErrInvalidArg)
				}
				if len(args) > 0 {
					return fmt.Errorf("--all and --latest take no container name: %w", define.ErrInvalidArg)
				}
			case len(args) == 0:
				return fmt.Errorf("port needs a container name or ID (or --all, --latest): %w", define.ErrInvalidArg)
			default:
				name = args[0]
				if len(args) == 2 {
					port = args[1]
				}
			}
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				if latest {
					id, err := latestContainer(cmd.Context(), e)
					if err != nil {
						return err
					}
					name = id
				}
				reps, err := e.ContainerPort(cmd.Context(), name, all)
				if err != nil {
					return err
				}
				return printPorts(cmd.OutOrStdout(), reps, port, all)
			})
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "list the port mappings of all containers")
	cmd.Flags().BoolVarP(&latest, "latest", "l", false, "act on the latest container created")
	return cmd
}

// printPorts prints podman's "80/tcp -> 0.0.0.0:8080" lines, prefixed by
// the short ID with --all, or with a PORT the host addresses it is
// published on; a PORT no mapping has is an error.
func printPorts(w io.Writer, reps []libengine.ContainerPortReport, port string, all bool) error {
	want, proto := uint64(0), "tcp"
	if port != "" {
		p, pr, hasProto := strings.Cut(port, "/")
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 {
			return fmt.Errorf("port %q: use PORT or PORT/PROTOCOL, e.g. 80/tcp: %w", port, define.ErrInvalidArg)
		}
		want = n
		if hasProto {
			proto = pr
		}
	}
	found := false
	for _, r := range reps {
		prefix := ""
		if all {
			prefix = shortID(r.ID) + "\t"
		}
		for _, m := range r.Ports {
			ip := m.HostIP
			if ip == "" {
				ip = "0.0.0.0"
			}
			for _, pr := range strings.Split(m.Protocol, ",") {
				for i := uint64(0); i < uint64(m.Range); i++ {
					ctrPort, hostPort := uint64(m.ContainerPort)+i, uint64(m.HostPort)+i
					var err error
					switch {
					case want == 0:
						_, err = fmt.Fprintf(w, "%s%d/%s -> %s:%d\n", prefix, ctrPort, pr, ip, hostPort)
					case want == ctrPort && proto == pr:
						found = true
						_, err = fmt.Fprintf(w, "%s:%d\n", ip, hostPort)
					}
					if err != nil {
						return err
					}
				}
			}
		}
	}
	if want != 0 && !found {
		return fmt.Errorf("failed to find published port %q", port)
	}
	return nil
}

func newContainerPruneCommand(g *globalOptions) *cobra.Command {
	var opts libengine.ContainerPruneOptions
	var force bool
	cmd := &cobra.Command{
		Use:   "prune [options]",
		Short: "Remove all containers that are not running",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !force {
				ok, err := confirm(cmd.InOrStdin(), cmd.OutOrStdout(), "WARNING! This will remove all non running containers.")
				if err != nil || !ok {
					return err
				}
			}
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				reps, err := e.ContainerPrune(cmd.Context(), opts)
				if err != nil {
					return err
				}
				return printReports(cmd.OutOrStdout(), reps, 0)
			})
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "do not ask for confirmation")
	cmd.Flags().StringArrayVar(&opts.Filters, "filter", nil, "prune only containers matching label=KEY[=VALUE], label!=…, until=TIME (repeatable)")
	return cmd
}

// confirm prints a warning and podman's question, and reads one answer
// line, from a terminal or not; only an answer starting with y proceeds.
func confirm(in io.Reader, out io.Writer, warning string) (bool, error) {
	if _, err := fmt.Fprintf(out, "%s\nAre you sure you want to continue? [y/N] ", warning); err != nil {
		return false, err
	}
	answer, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && (!errors.Is(err, io.EOF) || answer == "") {
		return false, fmt.Errorf("no answer on standard input (%w): pass --force to prune without asking: %w", err, define.ErrInvalidArg)
	}
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(answer)), "y"), nil
}

func newRestartCommand(g *globalOptions) *cobra.Command {
	var opts libengine.ContainerRestartOptions
	var timeout uint
	var latest bool
	cmd := &cobra.Command{
		Use:   "restart [options] CONTAINER [CONTAINER...]",
		Short: "Restart one or more containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Running {
				opts.All = true
			}
			if !latest {
				if err := needNames(cmd, args, opts.All); err != nil {
					return err
				}
			} else if len(args) > 0 || opts.All {
				return fmt.Errorf("--latest cannot be used with names or --all: %w", define.ErrInvalidArg)
			}
			if cmd.Flags().Changed("time") {
				opts.Timeout = &timeout
			}
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				if latest {
					id, err := latestContainer(cmd.Context(), e)
					if err != nil {
						return err
					}
					args = []string{id}
				}
				reps, err := e.ContainerRestart(cmd.Context(), args, opts)
				if err != nil {
					return err
				}
				return printReports(cmd.OutOrStdout(), reps, 0)
			})
		},
	}
	fl := cmd.Flags()
	fl.UintVarP(&timeout, "time", "t", 10, "seconds to wait for stop before killing the container")
	fl.BoolVarP(&opts.All, "all", "a", false, "restart all containers")
	fl.BoolVar(&opts.Running, "running", false, "restart only the running containers (implies --all)")
	fl.BoolVarP(&latest, "latest", "l", false, "act on the latest container created")
	return cmd
}
