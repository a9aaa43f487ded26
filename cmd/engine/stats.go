package main

import (
	"fmt"
	"io"
	"time"

	"github.com/docker/go-units"
	"github.com/engine-oss/engine/cmd/engine/internal/format"
	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/spf13/cobra"
)

type statsOptions struct {
	libengine.ContainerStatsOptions
	noStream, noReset, noTrunc, latest bool
	interval                           int
	format                             string
}

func newStatsCommand(g *globalOptions) *cobra.Command {
	o := &statsOptions{}
	cmd := &cobra.Command{
		Use:   "stats [options] [CONTAINER...]",
		Short: "Display a live stream of container resource usage statistics",
		RunE: func(cmd *cobra.Command, args []string) error {
			if n := countTrue(o.All, o.latest, len(args) > 0); n > 1 {
				return fmt.Errorf("--all, --latest and containers cannot be used together: %w", define.ErrInvalidArg)
			}
			if o.interval < 1 {
				return fmt.Errorf("--interval %d: must be at least 1 second: %w", o.interval, define.ErrInvalidArg)
			}
			o.Stream, o.Interval = !o.noStream, time.Duration(o.interval)*time.Second
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				if o.latest {
					id, err := latestContainer(cmd.Context(), e)
					if err != nil {
						return err
					}
					args = []string{id}
				}
				return e.ContainerStats(cmd.Context(), args, o.ContainerStatsOptions, func(st []libengine.ContainerStats) error {
					return printStats(cmd.OutOrStdout(), st, o)
				})
			})
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&o.All, "all", "a", false, "show all containers, not only running ones")
	fl.StringVar(&o.format, "format", "", "format output: table, json, or a Go template")
	fl.BoolVar(&o.noStream, "no-stream", false, "print one report and exit")
	fl.BoolVar(&o.noReset, "no-reset", false, "do not clear the screen between reports")
	fl.BoolVar(&o.noTrunc, "no-trunc", false, "do not truncate the IDs")
	fl.IntVarP(&o.interval, "interval", "i", 5, "seconds between reports")
	fl.BoolVarP(&o.latest, "latest", "l", false, "act on the latest container created")
	return cmd
}

func countTrue(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// statsRow adds podman's printed columns to a sample.
type statsRow struct {
	libengine.ContainerStats
	noTrunc bool
}

// ID is the 12-character ID unless --no-trunc.
func (r statsRow) ID() string {
	if r.noTrunc {
		return r.ContainerID
	}
	return shortID(r.ContainerID)
}

// CPUPerc is the CPU use since the last report.
func (r statsRow) CPUPerc() string { return percent(r.CPU) }

// AVGCPU is the CPU use since the container started.
func (r statsRow) AVGCPU() string { return percent(r.AvgCPU) }

// MemUsage is "USAGE / LIMIT".
func (r statsRow) MemUsage() string { return humanPair(r.ContainerStats.MemUsage, r.MemLimit) }

// MemPerc is the memory use in percent of the limit.
func (r statsRow) MemPerc() string { return percent(r.ContainerStats.MemPerc) }

// NetIO is "RECEIVED / SENT", or "-- / --" without a network.
func (r statsRow) NetIO() string {
	if !r.Network {
		return "-- / --"
	}
	return humanPair(r.NetInput, r.NetOutput)
}

// BlockIO is "READ / WRITTEN".
func (r statsRow) BlockIO() string { return humanPair(r.BlockInput, r.BlockOutput) }

// PIDS is the number of processes.
func (r statsRow) PIDS() string { return fmt.Sprint(r.PIDs) }

func percent(f float64) string { return fmt.Sprintf("%.2f%%", f) }

func humanPair(a, b uint64) string {
	return units.HumanSize(float64(a)) + " / " + units.HumanSize(float64(b))
}

// statsJSON is one element of podman's `stats --format json`.
type statsJSON struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	CPUTime  string `json:"cpu_time"`
	CPU      string `json:"cpu_percent"`
	AvgCPU   string `json:"avg_cpu"`
	MemUsage string `json:"mem_usage"`
	MemPerc  string `json:"mem_percent"`
	NetIO    string `json:"net_io"`
	BlockIO  string `json:"block_io"`
	PIDs     string `json:"pids"`
}

const statsTable = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDS}}\t{{.UpTime}}\t{{.AVGCPU}}"

var statsHeaders = map[string]string{
	"ID": "ID", "CPUPerc": "CPU %", "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET IO",
	"BlockIO": "BLOCK IO", "PIDS": "PIDS", "UpTime": "CPU TIME", "AVGCPU": "AVG CPU %",
}

// printStats prints one report; a stream clears the screen first unless
// --no-reset.
func printStats(w io.Writer, stats []libengine.ContainerStats, o *statsOptions) error {
	if o.Stream && !o.noReset {
		if _, err := io.WriteString(w, "\033[2J\033[H"); err != nil {
			return err
		}
	}
	rows := make([]statsRow, len(stats))
	for i, s := range stats {
		rows[i] = statsRow{ContainerStats: s, noTrunc: o.noTrunc}
	}
	if o.format != format.JSON {
		return printTable(w, o.format, statsTable, rows, statsHeaders, false)
	}
	out := make([]statsJSON, len(rows))
	for i, r := range rows {
		out[i] = statsJSON{ID: r.ID(), Name: r.Name, CPUTime: r.UpTime.String(), CPU: r.CPUPerc(), AvgCPU: r.AVGCPU(),
			MemUsage: r.MemUsage(), MemPerc: r.MemPerc(), NetIO: r.NetIO(), BlockIO: r.BlockIO(), PIDs: r.PIDS()}
	}
	return format.PrintJSON(w, out)
}
