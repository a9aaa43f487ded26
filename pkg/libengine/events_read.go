package libengine

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/libengine/state"
)

// Attributes the engine records with an event that podman reports as
// fields of their own.
const (
	eventAttrImage    = "image"
	eventAttrExitCode = "containerExitCode"
)

// eventPollInterval is how often a stream looks for new events.
const eventPollInterval = 200 * time.Millisecond

// imageEvents records one image event per name, or one without a name.
func (e *Engine) imageEvents(ctx context.Context, action, id string, names []string) {
	if len(names) == 0 {
		names = []string{""}
	}
	for _, n := range names {
		e.event(ctx, "image", action, id, n, nil)
	}
}

// Event is one entry of the event log, as podman reports it.
type Event struct {
	Time time.Time
	// Type is container or image.
	Type string
	// Status is what happened: create, start, oom, died, stop, kill, pause,
	// unpause, restart, rename, remove for containers; pull, push, tag,
	// untag, remove, save, loadfromarchive, import for images.
	Status string
	// ID is the container's or image's ID; image events of a pull, push or
	// save of several names may have none.
	ID string
	// Name is the container's name, or the image reference, path or tag
	// the image event is about.
	Name string
	// Image is a container event's image name.
	Image string
	// ContainerExitCode is set on a container's died event.
	ContainerExitCode *int
	// Attributes are a container's labels and the event's details (the
	// signal of a kill, the old name of a rename).
	Attributes map[string]string
}

// EventsOptions select the events Events reports.
type EventsOptions struct {
	// Filters are podman's: type=, event= (alias status=), container=,
	// image=, label=KEY[=VALUE], pod=, volume=, network=. Filters of one key
	// are alternatives; different keys must all match.
	Filters []string
	// Since and Until bound the events' times; zero means unbounded.
	Since, Until time.Time
	// Stream keeps reporting new events until ctx ends or Until passes.
	// A stream without Since starts with the events recorded after the call.
	Stream bool
}

// Events calls fn with each event opts select, oldest first. Streaming, it
// polls the log every 200 ms and returns nil once ctx ends or Until has
// passed. Bad filters return define.ErrInvalidArg; an error from fn stops
// the reading and is returned.
func (e *Engine) Events(ctx context.Context, opts EventsOptions, fn func(Event) error) error {
	match, err := parseEventFilters(opts.Filters)
	if err != nil {
		return err
	}
	f := state.EventFilter{Since: opts.Since, Until: opts.Until}
	if opts.Stream && f.Since.IsZero() {
		f.Since = time.Now()
	}
	for {
		evs, seqs, err := e.db.Events(ctx, f)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		for i, rec := range evs {
			f.AfterSeq = seqs[i]
			if ev := eventFromRecord(rec); match(&ev) {
				if err := fn(ev); err != nil {
					return err
				}
			}
		}
		if !opts.Stream || (!opts.Until.IsZero() && time.Now().After(opts.Until)) {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(eventPollInterval):
		}
	}
}

// eventFromRecord lifts the attributes podman reports as fields.
func eventFromRecord(r state.Event) Event {
	ev := Event{Time: r.Time, Type: r.Type, Status: r.Action, ID: r.ID, Name: r.Name}
	attrs := maps.Clone(r.Attributes)
	if img, ok := attrs[eventAttrImage]; ok {
		ev.Image = img
		delete(attrs, eventAttrImage)
	}
	if s, ok := attrs[eventAttrExitCode]; ok {
		if code, err := strconv.Atoi(s); err == nil {
			ev.ContainerExitCode = &code
			delete(attrs, eventAttrExitCode)
		}
	}
	if len(attrs) > 0 {
		ev.Attributes = attrs
	}
	return ev
}

// eventFilterKeys are the filter keys Events accepts.
var eventFilterKeys = []string{"container", "event", "image", "label", "network", "pod", "status", "type", "volume"}

// parseEventFilters turns key=value filters into one predicate.
func parseEventFilters(filters []string) (func(*Event) bool, error) {
	byKey := map[string][]string{}
	for _, f := range filters {
		k, v, ok := strings.Cut(f, "=")
		k = strings.ToLower(k)
		if !ok || v == "" {
			return nil, fmt.Errorf("--filter %q: use KEY=VALUE: %w", f, define.ErrInvalidArg)
		}
		if !slices.Contains(eventFilterKeys, k) {
			return nil, fmt.Errorf("--filter %q: unknown key %q (use %s): %w", f, k, strings.Join(eventFilterKeys, ", "), define.ErrInvalidArg)
		}
		if k == "status" {
			k = "event"
		}
		if k == "event" && v == "die" {
			v = "died"
		}
		byKey[k] = append(byKey[k], v)
	}
	return func(ev *Event) bool {
		for k, vals := range byKey {
			if !slices.ContainsFunc(vals, func(v string) bool { return matchEvent(k, v, ev) }) {
				return false
			}
		}
		return true
	}, nil
}

func matchEvent(key, val string, ev *Event) bool {
	switch key {
	case "type":
		return ev.Type == val
	case "event":
		return ev.Status == val
	case "label":
		k, v, hasValue := strings.Cut(val, "=")
		got, ok := ev.Attributes[k]
		return ok && (!hasValue || got == v)
	case "image":
		if ev.Type == "image" && (matchesObject(val, ev) || referenceMatches(val, ev.Name)) {
			return true
		}
		return ev.Type == "container" && (ev.Image == val || referenceMatches(val, ev.Image))
	default: // container, pod, volume, network
		return ev.Type == key && matchesObject(val, ev)
	}
}

// matchesObject reports whether val names the event's object: its name,
// ID, or an ID prefix of at least 3 characters.
func matchesObject(val string, ev *Event) bool {
	id := strings.TrimPrefix(val, "sha256:")
	return ev.Name == val || (ev.ID != "" && (ev.ID == id || (len(id) >= 3 && strings.HasPrefix(ev.ID, id))))
}
