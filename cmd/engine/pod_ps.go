package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/engine-oss/engine/cmd/engine/internal/format"
	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/spf13/cobra"
)

type podPsOptions struct {
	libengine.PodListOptions
	ctrNames, ctrIDs, ctrStatus bool
	quiet, noTrunc, noHeading   bool
	format, sort                string
}

func newPodPsCommand(g *globalOptions) *cobra.Command {
	o := &podPsOptions{}
	cmd := &cobra.Command{
		Use:     "ps [options]",
		Aliases: []string{"ls", "list"},
		Short:   "List pods",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.quiet && o.format != "" {
				return fmt.Errorf("--quiet and --format cannot be used together: %w", define.ErrInvalidArg)
			}
			if !slices.Contains([]string{"created", "id", "name", "number", "status"}, o.sort) {
				return fmt.Errorf("--sort %q: use created, id, name, number or status: %w", o.sort, define.ErrInvalidArg)
			}
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				rows, err := e.PodList(cmd.Context(), o.PodListOptions)
				if err != nil {
					return err
				}
				sortPodRows(rows, o.sort)
				return printPods(cmd.OutOrStdout(), rows, o, time.Now())
			})
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&o.ctrNames, "ctr-names", false, "show the names of the pods' containers")
	fl.BoolVar(&o.ctrIDs, "ctr-ids", false, "show the IDs of the pods' containers")
	fl.BoolVar(&o.ctrStatus, "ctr-status", false, "show the states of the pods' containers")
	fl.StringArrayVarP(&o.Filters, "filter", "f", nil, "filter output (id, name, label, status, network, until, ctr-names, ctr-ids, ctr-status, ctr-number)")
	fl.StringVar(&o.format, "format", "", "format output: table, json, or a Go template")
	fl.BoolVarP(&o.noHeading, "noheading", "n", false, "do not print the column headings")
	fl.BoolVar(&o.noTrunc, "no-trunc", false, "do not truncate pod and container IDs")
	fl.BoolVarP(&o.quiet, "quiet", "q", false, "print only the pod IDs")
	fl.StringVar(&o.sort, "sort", "created", "sort by created, id, name, number or status")
	return cmd
}

// sortPodRows orders rows as podman: newest first, else ascending.
func sortPodRows(rows []libengine.PodSummary, key string) {
	slices.SortStableFunc(rows, func(a, b libengine.PodSummary) int {
		switch key {
		case "id":
			return strings.Compare(a.ID, b.ID)
		case "name":
			return strings.Compare(a.Name, b.Name)
		case "number":
			return len(a.Containers) - len(b.Containers)
		case "status":
			return strings.Compare(a.Status, b.Status)
		}
		return b.Created.Compare(a.Created)
	})
}

// podRow adds the columns podman prints to a summary.
type podRow struct {
	libengine.PodSummary
	noTrunc bool
	now     time.Time
}

func (r podRow) id(id string) string {
	if r.noTrunc {
		return id
	}
	return shortID(id)
}

// ID is the pod's 12-character ID unless --no-trunc.
func (r podRow) ID() string { return r.id(r.PodSummary.ID) }

// Id is ID, as podman's templates also spell it.
func (r podRow) Id() string { return r.ID() }

// InfraID is the infra container's ID, shortened unless --no-trunc.
func (r podRow) InfraID() string { return r.id(r.PodSummary.InfraID) }

// Created is how long ago the pod was created.
func (r podRow) Created() string { return humanAgo(r.PodSummary.Created, r.now) }

// NumberOfContainers counts the pod's containers, its infra included.
func (r podRow) NumberOfContainers() int { return len(r.Containers) }

func (r podRow) eachCtr(f func(libengine.PodContainerSummary) string) string {
	out := make([]string, len(r.Containers))
	for i, c := range r.Containers {
		out[i] = f(c)
	}
	return strings.Join(out, ",")
}

// ContainerIds lists the containers' IDs.
func (r podRow) ContainerIds() string {
	return r.eachCtr(func(c libengine.PodContainerSummary) string { return r.id(c.ID) })
}

// ContainerNames lists the containers' names.
func (r podRow) ContainerNames() string {
	return r.eachCtr(func(c libengine.PodContainerSummary) string { return c.Names })
}

// ContainerStatuses lists the containers' states.
func (r podRow) ContainerStatuses() string {
	return r.eachCtr(func(c libengine.PodContainerSummary) string { return c.Status })
}

// Networks lists the pod's networks.
func (r podRow) Networks() string { return strings.Join(r.PodSummary.Networks, ",") }

// Labels are KEY=VALUE pairs.
func (r podRow) Labels() string {
	var out []string
	for k, v := range r.PodSummary.Labels {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

// podPsTable is podman's default: the container columns asked for replace
// the container count.
func podPsTable(o *podPsOptions) string {
	cols := []string{"{{.ID}}", "{{.Name}}", "{{.Status}}", "{{.Created}}", "{{.InfraID}}"}
	if o.ctrIDs {
		cols = append(cols, "{{.ContainerIds}}")
	}
	if o.ctrNames {
		cols = append(cols, "{{.ContainerNames}}")
	}
	if o.ctrStatus {
		cols = append(cols, "{{.ContainerStatuses}}")
	}
	if !o.ctrIDs && !o.ctrNames && !o.ctrStatus {
		cols = append(cols, "{{.NumberOfContainers}}")
	}
	return "table " + strings.Join(cols, "\t")
}

var podPsHeaders = map[string]string{
	"ID": "POD ID", "Id": "POD ID", "InfraID": "INFRA ID", "NumberOfContainers": "# OF CONTAINERS",
	"ContainerIds": "IDS", "ContainerNames": "NAMES", "ContainerStatuses": "STATUS",
}

func printPods(w io.Writer, rows []libengine.PodSummary, o *podPsOptions, now time.Time) error {
	switch {
	case o.format == format.JSON:
		return format.PrintJSON(w, rows)
	case o.quiet:
		for _, r := range rows {
			if _, err := fmt.Fprintln(w, podRow{PodSummary: r, noTrunc: o.noTrunc}.ID()); err != nil {
				return err
			}
		}
		return nil
	}
	out := make([]podRow, len(rows))
	for i, r := range rows {
		out[i] = podRow{PodSummary: r, noTrunc: o.noTrunc, now: now}
	}
	return printTable(w, o.format, podPsTable(o), out, podPsHeaders, o.noHeading)
}
