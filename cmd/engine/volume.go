package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/engine-oss/engine/cmd/engine/internal/format"
	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/spf13/cobra"
)

func newVolumeCreateCommand(g *globalOptions) *cobra.Command {
	var opts libengine.VolumeCreateOptions
	var driverOpts, labels []string
	cmd := &cobra.Command{
		Use:   "create [options] [NAME]",
		Short: "Create a volume and print its name",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				opts.Name = args[0]
			}
			var err error
			if opts.Options, err = keyValues("--opt", driverOpts); err != nil {
				return err
			}
			if opts.Labels, err = keyValues("--label", labels); err != nil {
				return err
			}
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				name, err := e.VolumeCreate(cmd.Context(), opts)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(cmd.OutOrStdout(), name)
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Driver, "driver", "d", libengine.LocalDriver, "volume driver (only local)")
	f.StringArrayVarP(&driverOpts, "opt", "o", nil, "driver option: type=, device=, o=, uid=, gid=, size= (tmpfs), nocopy")
	f.StringArrayVarP(&labels, "label", "l", nil, "set metadata on the volume (KEY=VALUE)")
	f.BoolVar(&opts.IgnoreIfExists, "ignore", false, "if the volume exists, print its name instead of failing")
	return cmd
}

const volumesTable = "table {{.Driver}}\t{{.Name}}"

func newVolumeListCommand(g *globalOptions) *cobra.Command {
	var opts libengine.VolumeListOptions
	var fmtFlag string
	var quiet, noHeading bool
	cmd := &cobra.Command{
		Use:     "ls [options]",
		Aliases: []string{"list"},
		Short:   "List volumes",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				vols, err := e.VolumeList(cmd.Context(), opts)
				if err != nil {
					return err
				}
				w := cmd.OutOrStdout()
				switch {
				case fmtFlag == format.JSON:
					return format.PrintJSON(w, vols)
				case quiet:
					for _, v := range vols {
						if _, err := fmt.Fprintln(w, v.Name); err != nil {
							return err
						}
					}
					return nil
				}
				return printTable(w, fmtFlag, volumesTable, vols, map[string]string{"Name": "VOLUME NAME"}, noHeading)
			})
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&opts.Filters, "filter", "f", nil, "filter output: name=REGEXP, label=KEY[=VALUE], label!=…, driver=, dangling=true|false, until=TIME (repeatable)")
	f.StringVar(&fmtFlag, "format", "", "format output: json, a Go template, or table TEMPLATE")
	f.BoolVarP(&quiet, "quiet", "q", false, "print volume names only")
	f.BoolVarP(&noHeading, "noheading", "n", false, "do not print column headings")
	return cmd
}

func newVolumeInspectCommand(g *globalOptions) *cobra.Command {
	var fmtFlag string
	var all bool
	cmd := &cobra.Command{
		Use:   "inspect [options] VOLUME [VOLUME...]",
		Short: "Show volumes' details",
		RunE: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 0) == !all {
				return fmt.Errorf("%s: name volumes or use --all, not both: %w", cmd.CommandPath(), define.ErrInvalidArg)
			}
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				var objs []any
				var errs []error
				if all {
					vols, err := e.VolumeList(cmd.Context(), libengine.VolumeListOptions{})
					if err != nil {
						return err
					}
					for _, v := range vols {
						objs = append(objs, v)
					}
				}
				for _, name := range args {
					v, err := e.VolumeInspect(cmd.Context(), name)
					if err != nil {
						errs = append(errs, err)
						continue
					}
					objs = append(objs, v)
				}
				return printInspected(cmd.OutOrStdout(), fmtFlag, objs, errors.Join(errs...))
			})
		},
	}
	cmd.Flags().StringVarP(&fmtFlag, "format", "f", format.JSON, "format output: json or a Go template applied to each volume")
	cmd.Flags().BoolVarP(&all, "all", "a", false, "inspect every volume")
	return cmd
}

func newVolumeRemoveCommand(g *globalOptions) *cobra.Command {
	var opts libengine.VolumeRemoveOptions
	var timeout uint
	cmd := &cobra.Command{
		Use:     "rm [options] VOLUME [VOLUME...]",
		Aliases: []string{"remove"},
		Short:   "Remove volumes",
		RunE: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 0) == !opts.All {
				return fmt.Errorf("%s: name volumes or use --all, not both: %w", cmd.CommandPath(), define.ErrInvalidArg)
			}
			if cmd.Flags().Changed("time") {
				opts.Timeout = &timeout
			}
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				reps, err := e.VolumeRemove(cmd.Context(), args, opts)
				if err != nil {
					return err
				}
				return printVolumeReports(cmd.OutOrStdout(), reps)
			})
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.Force, "force", "f", false, "remove the containers using the volumes first")
	f.BoolVarP(&opts.All, "all", "a", false, "remove every volume")
	f.UintVarP(&timeout, "time", "t", 10, "with --force, seconds to wait for a container to stop before killing it")
	return cmd
}

// printVolumeReports prints, as podman does, the name of each volume acted
// on and an error line for each failure. The exit code is 2 when a volume
// was in use, 1 when every failure was a missing volume, 125 otherwise.
func printVolumeReports(w io.Writer, reports []libengine.VolumeReport) error {
	return printOutcomes(w, reports,
		func(r libengine.VolumeReport) (string, error) { return r.Name, r.Err },
		func(failed []error) int {
			switch {
			case anyIs(failed, define.ErrVolumeInUse):
				return 2
			case allAre(failed, define.ErrNoSuchVolume):
				return 1
			}
			return 0
		})
}

func anyIs(errs []error, target error) bool {
	for _, err := range errs {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

func newVolumePruneCommand(g *globalOptions) *cobra.Command {
	var opts libengine.VolumePruneOptions
	var force bool
	cmd := &cobra.Command{
		Use:   "prune [options]",
		Short: "Remove every volume no container uses",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				if !force {
					ok, err := confirmVolumePrune(cmd, e, opts.Filters)
					if err != nil || !ok {
						return err
					}
				}
				reps, err := e.VolumePrune(cmd.Context(), opts)
				if err != nil {
					return err
				}
				return printVolumeReports(cmd.OutOrStdout(), reps)
			})
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&force, "force", "f", false, "do not ask for confirmation")
	f.StringArrayVar(&opts.Filters, "filter", nil, "prune only volumes matching label=KEY[=VALUE], label!=…, until=TIME (repeatable)")
	return cmd
}

// confirmVolumePrune lists what prune would remove and asks podman's
// question, reading one answer line; only an answer starting with y
// proceeds.
func confirmVolumePrune(cmd *cobra.Command, e *libengine.Engine, filters []string) (bool, error) {
	out := cmd.OutOrStdout()
	if _, err := fmt.Fprintln(out, "WARNING! This will remove all volumes not used by at least one container. The following volumes will be removed:"); err != nil {
		return false, err
	}
	vols, err := e.VolumeList(cmd.Context(), libengine.VolumeListOptions{Filters: append(slices.Clone(filters), "dangling=true")})
	if err != nil {
		return false, err
	}
	if len(vols) == 0 {
		_, err := fmt.Fprintln(out, "No dangling volumes found")
		return false, err
	}
	for _, v := range vols {
		if _, err := fmt.Fprintln(out, v.Name); err != nil {
			return false, err
		}
	}
	if _, err := fmt.Fprint(out, "Are you sure you want to continue? [y/N] "); err != nil {
		return false, err
	}
	answer, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	if err != nil && (!errors.Is(err, io.EOF) || answer == "") {
		return false, fmt.Errorf("no answer on standard input (%w): pass --force to prune without asking: %w", err, define.ErrInvalidArg)
	}
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(answer)), "y"), nil
}

// newVolumeExistsCommand builds `volume exists`: exit 0 when the volume
// exists, 1 silently when not, 125 on other errors.
func newVolumeExistsCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "exists VOLUME",
		Short: "Check whether a volume exists",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				ok, err := e.VolumeExists(cmd.Context(), args[0])
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
