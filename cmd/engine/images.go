package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/docker/go-units"
	"github.com/engine-oss/engine/cmd/engine/internal/format"
	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/spf13/cobra"
)

type imagesOptions struct {
	all       bool
	quiet     bool
	digests   bool
	noTrunc   bool
	noHeading bool
	filters   []string
	sort      string
	format    string
}

var imageSortKeys = []string{"created", "id", "repository", "size", "tag"}

// newImagesCommand builds `images` and `image ls`, which differ only in name.
func newImagesCommand(g *globalOptions, use string, aliases ...string) *cobra.Command {
	o := &imagesOptions{}
	cmd := &cobra.Command{
		Use:     use + " [options] [IMAGE]",
		Aliases: aliases,
		Short:   "List images in local storage",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 && len(o.filters) > 0 {
				return fmt.Errorf("cannot specify an image and a filter: %w", define.ErrInvalidArg)
			}
			if !slices.Contains(imageSortKeys, o.sort) {
				return fmt.Errorf("--sort %q: choose from %s: %w", o.sort, strings.Join(imageSortKeys, ", "), define.ErrInvalidArg)
			}
			opts := libengine.ImageListOptions{All: o.all, Filters: o.filters}
			if len(args) > 0 {
				opts.Filters = []string{"reference=" + args[0]}
			}
			return g.withEngine(cmd, func(eng *libengine.Engine) error {
				rows, err := eng.ImageList(cmd.Context(), opts)
				if err != nil {
					return err
				}
				sortImageRows(rows, o.sort)
				return printImages(cmd.OutOrStdout(), rows, o, time.Now())
			})
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.all, "all", "a", false, "show all images, intermediate ones too")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "print image IDs only")
	f.BoolVar(&o.digests, "digests", false, "show digests")
	f.BoolVar(&o.noTrunc, "no-trunc", false, "do not truncate IDs")
	f.BoolVarP(&o.noHeading, "noheading", "n", false, "do not print column headings")
	f.StringArrayVarP(&o.filters, "filter", "f", nil, "filter output: reference=, label=, dangling=, before=, since=, id=, digest=, until= (repeatable)")
	f.StringVar(&o.sort, "sort", "created", "sort by "+strings.Join(imageSortKeys, ", "))
	f.StringVar(&o.format, "format", "", "format output: json, a Go template, or table TEMPLATE")
	return cmd
}

// imageRow adds the table's text columns to a summary. Its methods shadow
// the summary's fields of the same name in templates, as podman's do:
// {{.Created}} is "2 hours ago" and {{.Size}} is "4.3 MB".
type imageRow struct {
	libengine.ImageSummary
	noTrunc bool
	now     time.Time
}

// ID is the short ID, or the full one prefixed with sha256: under --no-trunc.
func (r imageRow) ID() string {
	if r.noTrunc {
		return "sha256:" + r.ImageSummary.ID
	}
	return shortID(r.ImageSummary.ID)
}

// Created is the image's age.
func (r imageRow) Created() string { return humanAgo(time.Unix(r.ImageSummary.Created, 0), r.now) }

// CreatedSince is Created under podman's other name.
func (r imageRow) CreatedSince() string { return r.Created() }

// CreatedAt is the creation time in UTC.
func (r imageRow) CreatedAt() string { return time.Unix(r.ImageSummary.Created, 0).UTC().String() }

// Size is the human-readable size.
func (r imageRow) Size() string { return humanSize(r.ImageSummary.Size) }

const imagesTable = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Created}}\t{{.Size}}"

func printImages(w io.Writer, rows []libengine.ImageSummary, o *imagesOptions, now time.Time) error {
	switch {
	case o.format == format.JSON:
		return format.PrintJSON(w, uniqueImages(rows))
	case o.quiet:
		seen := map[string]bool{}
		for _, r := range rows {
			id := imageRow{ImageSummary: r, noTrunc: o.noTrunc}.ID()
			if !seen[id] {
				seen[id] = true
				if _, err := fmt.Fprintln(w, id); err != nil {
					return err
				}
			}
		}
		return nil
	}
	table := imagesTable
	if o.digests {
		table = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.Created}}\t{{.Size}}"
	}
	out := make([]imageRow, len(rows))
	for i, r := range rows {
		out[i] = imageRow{ImageSummary: r, noTrunc: o.noTrunc, now: now}
	}
	return printTable(w, o.format, table, out, map[string]string{"ID": "IMAGE ID"}, o.noHeading)
}

// printTable is format.Print with podman's --noheading: the same aligned
// columns without the header line.
func printTable(w io.Writer, fmtFlag, table string, rows any, headers map[string]string, noHeading bool) error {
	if fmtFlag == "" {
		fmtFlag = table
	}
	body, isTable := strings.CutPrefix(fmtFlag, "table")
	if !noHeading || !isTable {
		return format.Print(w, fmtFlag, table, rows, headers)
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	if strings.TrimSpace(body) == "" {
		body = strings.TrimPrefix(table, "table")
	}
	if err := format.Print(tw, strings.TrimSpace(body), table, rows, headers); err != nil {
		return err
	}
	return tw.Flush()
}

// uniqueImages keeps the first row of each image: JSON lists images, not
// names (podman repeats an image once per name; its RepoTags say the rest).
func uniqueImages(rows []libengine.ImageSummary) []libengine.ImageSummary {
	seen := map[string]bool{}
	out := []libengine.ImageSummary{}
	for _, r := range rows {
		if !seen[r.ID] {
			seen[r.ID] = true
			out = append(out, r)
		}
	}
	return out
}

// sortImageRows orders rows by key; created is newest first, the others
// ascending. Ties keep a stable order by repository and tag.
func sortImageRows(rows []libengine.ImageSummary, key string) {
	slices.SortStableFunc(rows, func(a, b libengine.ImageSummary) int {
		var c int
		switch key {
		case "id":
			c = strings.Compare(a.ID, b.ID)
		case "repository":
			c = strings.Compare(a.Repository, b.Repository)
		case "size":
			c = cmpInt(a.Size, b.Size)
		case "tag":
			c = strings.Compare(a.Tag, b.Tag)
		default:
			c = cmpInt(b.Created, a.Created)
		}
		if c != 0 {
			return c
		}
		if c = strings.Compare(a.Repository, b.Repository); c != 0 {
			return c
		}
		return strings.Compare(a.Tag, b.Tag)
	})
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// shortID is the 12-character form of an image or layer ID.
func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// humanSize prints a size as podman does: SI units, three significant
// digits, a space before the unit ("1.99 MB").
func humanSize(n int64) string {
	s := units.HumanSizeWithPrecision(float64(n), 3)
	i := strings.LastIndexFunc(s, unicode.IsDigit)
	return s[:i+1] + " " + s[i+1:]
}

// humanAgo prints how long before now t was ("2 hours ago").
func humanAgo(t, now time.Time) string {
	return units.HumanDuration(now.Sub(t)) + " ago"
}
