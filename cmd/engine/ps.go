package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/docker/go-units"
	"github.com/engine-oss/engine/cmd/engine/internal/format"
	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/spf13/cobra"
)

type psOptions struct {
	libengine.ContainerListOptions
	latest    bool
	quiet     bool
	noTrunc   bool
	format    string
	noHeading bool
	pod       bool
}

func newPsCommand(g *globalOptions, use string, aliases ...string) *cobra.Command {
	o := &psOptions{}
	cmd := &cobra.Command{
		Use:     use + " [options]",
		Aliases: aliases,
		Short:   "List containers",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.latest {
				o.Last = 1
			}
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				rows, err := e.ContainerList(cmd.Context(), o.ContainerListOptions)
				if err != nil {
					return err
				}
				return printContainers(cmd.OutOrStdout(), rows, o, time.Now())
			})
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&o.All, "all", "a", false, "show all containers, not only running ones")
	fl.IntVarP(&o.Last, "last", "n", 0, "show the n last created containers (includes all states)")
	fl.BoolVarP(&o.latest, "latest", "l", false, "show the latest created container")
	fl.BoolVarP(&o.quiet, "quiet", "q", false, "print only the container IDs")
	fl.BoolVar(&o.noTrunc, "no-trunc", false, "do not truncate the output")
	fl.BoolVarP(&o.Size, "size", "s", false, "display the total file sizes")
	fl.StringArrayVarP(&o.Filters, "filter", "f", nil, "filter output (id, name, label, status, ancestor, exited, before, since)")
	fl.StringVar(&o.format, "format", "", "format output: table, json, or a Go template")
	fl.BoolVar(&o.noHeading, "noheading", false, "do not print the column headings")
	fl.BoolVarP(&o.pod, "pod", "p", false, "show the pod ID and name of each container")
	return cmd
}

// ctrRow adds the table columns podman prints to a summary.
type ctrRow struct {
	libengine.ContainerSummary
	noTrunc bool
	now     time.Time
}

// ID is the 12-character ID unless --no-trunc.
func (r ctrRow) ID() string {
	if r.noTrunc {
		return r.ContainerSummary.ID
	}
	return shortID(r.ContainerSummary.ID)
}

// Command is the command line, quoted and cut as podman does.
func (r ctrRow) Command() string {
	c := strings.Join(r.ContainerSummary.Command, " ")
	if !r.noTrunc && len(c) > 17 {
		c = c[:17] + "..."
	}
	return c
}

// Created is how long ago the container was created.
func (r ctrRow) Created() string { return humanAgo(r.ContainerSummary.Created, r.now) }

// CreatedAt is the creation time.
func (r ctrRow) CreatedAt() string { return r.ContainerSummary.Created.String() }

// Status is "Up 3 minutes", "Up 5 seconds (healthy)", "Exited (0) 2 seconds
// ago", "Created", ...
func (r ctrRow) Status() string {
	switch r.State {
	case "running":
		up := "Up " + units.HumanDuration(r.now.Sub(time.Unix(r.StartedAt, 0)))
		if h := r.ContainerSummary.Status; h != "" {
			up += " (" + h + ")" // the health check's verdict
		}
		return up
	case "paused":
		return "Paused"
	case "exited":
		return fmt.Sprintf("Exited (%d) %s", r.ExitCode, humanAgo(time.Unix(r.ExitedAt, 0), r.now))
	case "created":
		return "Created"
	}
	return strings.ToUpper(r.State[:1]) + r.State[1:]
}

// PodID is the 12-character ID of the container's pod unless --no-trunc.
func (r ctrRow) PodID() string {
	if r.noTrunc {
		return r.Pod
	}
	return shortID(r.Pod)
}

// Size is podman's SIZE column: "12.3 kB (virtual 4.5 MB)".
func (r ctrRow) Size() string {
	if r.ContainerSummary.Size == nil {
		return ""
	}
	return fmt.Sprintf("%s (virtual %s)", humanSize(r.ContainerSummary.Size.RwSize), humanSize(r.ContainerSummary.Size.RootFsSize))
}

// Names is the container's name.
func (r ctrRow) Names() string { return strings.Join(r.ContainerSummary.Names, ",") }

// Ports are the published ports.
func (r ctrRow) Ports() string { return strings.Join(r.ContainerSummary.Ports, ", ") }

// Labels are KEY=VALUE pairs.
func (r ctrRow) Labels() string {
	var out []string
	for k, v := range r.ContainerSummary.Labels {
		out = append(out, k+"="+v)
	}
	return strings.Join(out, ",")
}

const psTable = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.Created}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"

func printContainers(w io.Writer, rows []libengine.ContainerSummary, o *psOptions, now time.Time) error {
	switch {
	case o.format == format.JSON:
		return format.PrintJSON(w, rows)
	case o.quiet:
		for _, r := range rows {
			if _, err := fmt.Fprintln(w, ctrRow{ContainerSummary: r, noTrunc: o.noTrunc}.ID()); err != nil {
				return err
			}
		}
		return nil
	}
	out := make([]ctrRow, len(rows))
	for i, r := range rows {
		out[i] = ctrRow{ContainerSummary: r, noTrunc: o.noTrunc, now: now}
	}
	table := psTable
	if o.Size {
		table += "\t{{.Size}}"
	}
	if o.pod {
		table += "\t{{.PodID}}\t{{.PodName}}"
	}
	return printTable(w, o.format, table, out, map[string]string{"ID": "CONTAINER ID", "PodID": "POD ID", "PodName": "PODNAME"}, o.noHeading)
}
