package main

import (
	"io"
	"strconv"
	"time"

	"github.com/engine-oss/engine/cmd/engine/internal/format"
	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/spf13/cobra"
)

type historyOptions struct {
	human   bool
	noTrunc bool
	quiet   bool
	format  string
}

// newHistoryCommand builds `history` and `image history`.
func newHistoryCommand(g *globalOptions) *cobra.Command {
	o := &historyOptions{}
	cmd := &cobra.Command{
		Use:   "history [options] IMAGE",
		Short: "Show the history of an image",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withEngine(cmd, func(eng *libengine.Engine) error {
				entries, err := eng.ImageHistory(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				return printHistory(cmd.OutOrStdout(), entries, o, time.Now())
			})
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.human, "human", "H", true, "print sizes and dates for humans (false: bytes and RFC 3339)")
	f.BoolVar(&o.noTrunc, "no-trunc", false, "do not truncate IDs and commands")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "print IDs only")
	f.StringVar(&o.format, "format", "", "format output: json, a Go template, or table TEMPLATE")
	return cmd
}

// historyRow adds the table's text columns to an entry; its methods shadow
// the entry's fields in templates.
type historyRow struct {
	libengine.HistoryEntry
	o   *historyOptions
	now time.Time
}

// ID is the 12-character ID unless --no-trunc; "<missing>" stays as is.
func (r historyRow) ID() string {
	if r.o.noTrunc {
		return r.HistoryEntry.ID
	}
	return shortID(r.HistoryEntry.ID)
}

// Created is the step's age, or its time under --human=false.
func (r historyRow) Created() string {
	if r.o.human {
		return humanAgo(r.HistoryEntry.Created, r.now)
	}
	return r.CreatedAt()
}

// CreatedAt is the step's time in RFC 3339.
func (r historyRow) CreatedAt() string { return r.HistoryEntry.Created.Format(time.RFC3339) }

// CreatedSince is the step's age.
func (r historyRow) CreatedSince() string { return humanAgo(r.HistoryEntry.Created, r.now) }

// CreatedBy is the step's command, cut to 45 characters unless --no-trunc.
func (r historyRow) CreatedBy() string {
	s := r.HistoryEntry.CreatedBy
	if !r.o.noTrunc && len(s) > 45 {
		return s[:42] + "..."
	}
	return s
}

// Size is the layer's size, in bytes under --human=false.
func (r historyRow) Size() string {
	if r.o.human {
		return humanSize(r.HistoryEntry.Size)
	}
	return strconv.FormatInt(r.HistoryEntry.Size, 10)
}

func printHistory(w io.Writer, entries []libengine.HistoryEntry, o *historyOptions, now time.Time) error {
	if o.format == format.JSON {
		return format.PrintJSON(w, entries)
	}
	rows := make([]historyRow, len(entries))
	for i, e := range entries {
		rows[i] = historyRow{HistoryEntry: e, o: o, now: now}
	}
	fmtFlag := o.format
	if o.quiet {
		fmtFlag = "{{.ID}}"
	}
	return format.Print(w, fmtFlag, "table {{.ID}}\t{{.Created}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}", rows, nil)
}
