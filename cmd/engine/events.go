package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/engine-oss/engine/cmd/engine/internal/format"
	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/spf13/cobra"
)

func newEventsCommand(g *globalOptions) *cobra.Command {
	var opts libengine.EventsOptions
	var since, until, fmtFlag string
	var noTrunc bool
	cmd := &cobra.Command{
		Use:   "events [options]",
		Short: "Show engine events",
		Long: `Show engine events: container and image life-cycle events from the event log.

By default, new events are printed as they happen until interrupted; --since
also prints earlier ones. With --stream=false the matching events are
printed and the command exits; with --until it exits once that time has
passed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			now := time.Now()
			var err error
			if opts.Since, err = parseTimeFlag("--since", since, now); err != nil {
				return err
			}
			if opts.Until, err = parseTimeFlag("--until", until, now); err != nil {
				return err
			}
			var emit func(libengine.Event) error
			w := cmd.OutOrStdout()
			switch fmtFlag {
			case "":
				emit = func(ev libengine.Event) error { return printEventLine(w, ev, !noTrunc) }
			case format.JSON:
				emit = func(ev libengine.Event) error { return printEventJSON(w, ev) }
			default:
				emit = func(ev libengine.Event) error { return format.Template(w, fmtFlag, []any{newEventJSON(ev)}) }
			}
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				return e.Events(cmd.Context(), opts, emit)
			})
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&opts.Filters, "filter", "f", nil, "filter events: type=, event=, container=, image=, label=KEY[=VALUE] (repeatable)")
	fl.StringVar(&fmtFlag, "format", "", "format output: json (one object per line) or a Go template")
	fl.StringVar(&since, "since", "", "show events since TIMESTAMP (RFC 3339, Unix time, or a duration such as 10m)")
	fl.StringVar(&until, "until", "", "show events until TIMESTAMP (RFC 3339, Unix time, or a duration such as 10m)")
	fl.BoolVar(&opts.Stream, "stream", true, "keep printing new events until interrupted")
	fl.BoolVar(&noTrunc, "no-trunc", true, "do not truncate IDs")
	return cmd
}

// eventTimeLayout is podman's time format (Go's time.Time.String) with the
// nanoseconds always printed, so lines align.
const eventTimeLayout = "2006-01-02 15:04:05.000000000 -0700 MST"

// printEventLine prints podman's human-readable line:
//
//	TIME container STATUS ID (image=IMAGE, name=NAME, KEY=VALUE...)
//	TIME image STATUS ID NAME
func printEventLine(w io.Writer, ev libengine.Event, truncate bool) error {
	id := ev.ID
	if truncate {
		id = shortID(id)
	}
	line := fmt.Sprintf("%s %s %s %s", ev.Time.Format(eventTimeLayout), ev.Type, ev.Status, id)
	if ev.Type == "container" {
		attrs := []string{"image=" + ev.Image, "name=" + ev.Name}
		if ev.ContainerExitCode != nil {
			attrs = append(attrs, fmt.Sprintf("containerExitCode=%d", *ev.ContainerExitCode))
		}
		for _, k := range slices.Sorted(maps.Keys(ev.Attributes)) {
			attrs = append(attrs, k+"="+ev.Attributes[k])
		}
		line += " (" + strings.Join(attrs, ", ") + ")"
	} else {
		line += " " + ev.Name
	}
	_, err := fmt.Fprintln(w, line)
	return err
}

// eventJSON is podman's JSON (and template) form of an event.
type eventJSON struct {
	ContainerExitCode *int              `json:",omitempty"`
	ID                string            `json:",omitempty"`
	Image             string            `json:",omitempty"`
	Name              string            `json:",omitempty"`
	Status            string            `json:"Status"`
	Time              int64             `json:"time"`
	TimeNano          int64             `json:"timeNano"`
	Type              string            `json:"Type"`
	Attributes        map[string]string `json:"Attributes,omitempty"`
}

func newEventJSON(ev libengine.Event) eventJSON {
	return eventJSON{ContainerExitCode: ev.ContainerExitCode, ID: ev.ID, Image: ev.Image, Name: ev.Name,
		Status: ev.Status, Time: ev.Time.Unix(), TimeNano: ev.Time.UnixNano(), Type: ev.Type, Attributes: ev.Attributes}
}

// printEventJSON prints one event as a line of JSON.
func printEventJSON(w io.Writer, ev libengine.Event) error {
	b, err := json.Marshal(newEventJSON(ev))
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}
