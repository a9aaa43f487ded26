package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/engine-oss/engine/cmd/engine/internal/format"
	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/spf13/cobra"
)

func newPodInspectCommand(g *globalOptions) *cobra.Command {
	var fmtFlag string
	cmd := &cobra.Command{
		Use:   "inspect [options] POD [POD...]",
		Short: "Show low-level information on pods",
		Long: "Show low-level information on pods: one JSON object for one pod, as podman 4,\n" +
			"an array for several.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				docs, lookupErr := e.PodInspect(cmd.Context(), args)
				var err error
				switch {
				case fmtFlag != format.JSON && fmtFlag != "":
					for _, d := range docs {
						if err = templateObject(cmd.OutOrStdout(), fmtFlag, d); err != nil {
							break
						}
					}
				case len(docs) == 1:
					err = format.PrintJSON(cmd.OutOrStdout(), docs[0])
				default:
					err = format.PrintJSON(cmd.OutOrStdout(), docs)
				}
				if lookupErr != nil {
					return lookupErr
				}
				return err
			})
		},
	}
	cmd.Flags().StringVarP(&fmtFlag, "format", "f", format.JSON, "format output: json or a Go template applied to each pod")
	return cmd
}

func newPodTopCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "top [options] POD [FORMAT-DESCRIPTORS|PS-OPTIONS...]",
		Short: "Display the running processes of the containers of a pod",
		Long: `Display the running processes of the containers of a pod, in one table.

Descriptors and ps(1) options are those of engine top.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				lines, err := e.PodTop(cmd.Context(), args[0], args[1:])
				if err != nil {
					return err
				}
				return printTop(cmd.OutOrStdout(), lines)
			})
		},
	}
	// Options after the pod name belong to ps, not to top.
	cmd.Flags().SetInterspersed(false)
	return cmd
}

type podStatsOptions struct {
	libengine.PodStatsOptions
	all, noStream, noReset bool
	interval               int
	format                 string
}

func newPodStatsCommand(g *globalOptions) *cobra.Command {
	o := &podStatsOptions{}
	cmd := &cobra.Command{
		Use:   "stats [options] [POD...]",
		Short: "Display the resource usage of the containers of pods",
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.all && len(args) > 0 {
				return fmt.Errorf("--all and pod names cannot be used together: %w", define.ErrInvalidArg)
			}
			if o.interval < 1 {
				return fmt.Errorf("--interval %d: must be at least 1 second: %w", o.interval, define.ErrInvalidArg)
			}
			o.Stream, o.Interval = !o.noStream, time.Duration(o.interval)*time.Second
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				return e.PodStats(cmd.Context(), args, o.PodStatsOptions, func(st []libengine.PodStats) error {
					return printPodStats(cmd.OutOrStdout(), st, o)
				})
			})
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&o.all, "all", "a", false, "show every pod (the default without names)")
	fl.StringVar(&o.format, "format", "", "format output: table, json, or a Go template")
	fl.BoolVar(&o.noStream, "no-stream", false, "print one report and exit")
	fl.BoolVar(&o.noReset, "no-reset", false, "do not clear the screen between reports")
	fl.IntVarP(&o.interval, "interval", "i", 5, "seconds between reports")
	return cmd
}

// podStatsRow is a container's sample with its pod, with the fields of
// podman's pod stats templates.
type podStatsRow struct {
	statsRow
	pod string
}

// Pod is the pod's 12-character ID.
func (r podStatsRow) Pod() string { return shortID(r.pod) }

// CID is the container's 12-character ID.
func (r podStatsRow) CID() string { return r.ID() }

// CPU is the CPU use since the last report.
func (r podStatsRow) CPU() string { return r.CPUPerc() }

// Mem is the memory use in percent of the limit.
func (r podStatsRow) Mem() string { return r.MemPerc() }

// podStatsJSON is one element of podman's `pod stats --format json`.
type podStatsJSON struct {
	CPU, MemUsage, Mem, NetIO, BlockIO, PIDS, Pod, CID, Name string
}

const podStatsTable = "table {{.Pod}}\t{{.CID}}\t{{.Name}}\t{{.CPU}}\t{{.MemUsage}}\t{{.Mem}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDS}}"

var podStatsHeaders = map[string]string{
	"Pod": "POD", "CID": "CID", "CPU": "CPU %", "MemUsage": "MEM USAGE/ LIMIT", "Mem": "MEM %",
	"NetIO": "NET IO", "BlockIO": "BLOCK IO", "PIDS": "PIDS",
}

func printPodStats(w io.Writer, stats []libengine.PodStats, o *podStatsOptions) error {
	if o.Stream && !o.noReset {
		if _, err := io.WriteString(w, "\033[2J\033[H"); err != nil {
			return err
		}
	}
	rows := make([]podStatsRow, len(stats))
	for i, s := range stats {
		rows[i] = podStatsRow{statsRow: statsRow{ContainerStats: s.ContainerStats}, pod: s.Pod}
	}
	if o.format != format.JSON {
		return printTable(w, o.format, podStatsTable, rows, podStatsHeaders, false)
	}
	out := make([]podStatsJSON, len(rows))
	for i, r := range rows {
		out[i] = podStatsJSON{Pod: r.Pod(), CID: r.CID(), Name: r.Name, CPU: r.CPU(), MemUsage: r.MemUsage(),
			Mem: r.Mem(), NetIO: r.NetIO(), BlockIO: r.BlockIO(), PIDS: r.PIDS()}
	}
	return format.PrintJSON(w, out)
}

func newPodLogsCommand(g *globalOptions) *cobra.Command {
	var lf logsFlags
	opts := libengine.PodLogsOptions{}
	cmd := &cobra.Command{
		Use:   "logs [options] POD",
		Short: "Fetch the logs of the containers of a pod, each line prefixed with its container's ID or name",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := lf.apply(&opts.LogReadOptions); err != nil {
				return err
			}
			opts.Stdout, opts.Stderr = cmd.OutOrStdout(), os.Stderr
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				return e.PodLogs(cmd.Context(), args[0], opts)
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Container, "container", "c", "", "show only this container's log (name or ID)")
	lf.add(fl, &opts.LogReadOptions, "output the last N lines of each container (-1 for all)")
	fl.BoolVarP(&opts.Names, "names", "n", false, "prefix lines with container names instead of IDs")
	return cmd
}

// newPodExistsCommand builds `pod exists`: exit 0 when the pod exists, 1
// silently when not, 125 on other errors.
func newPodExistsCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "exists POD",
		Short: "Check whether a pod exists",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				ok, err := e.PodExists(cmd.Context(), args[0])
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
