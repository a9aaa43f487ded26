package libengine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/specgen"
)

// ContainerRename gives a container, running or not, a new name. Errors
// wrap define.ErrInvalidArg for a name that is not valid,
// define.ErrCtrExists for one another container has, and
// define.ErrNoSuchContainer.
func (e *Engine) ContainerRename(ctx context.Context, nameOrID, newName string) error {
	if !validName.MatchString(newName) {
		return fmt.Errorf("new name %q: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: %w", newName, define.ErrInvalidArg)
	}
	return e.withCtr(ctx, nameOrID, func(c *ctr) error {
		old := c.Name
		if err := e.db.Rename(ctx, c.ID, newName); err != nil {
			if errors.Is(err, define.ErrCtrExists) {
				return fmt.Errorf("cannot rename %s: the name %q is already in use: remove or rename that container first: %w", old, newName, define.ErrCtrExists)
			}
			return err
		}
		c.Name = newName
		e.ctrEvent(ctx, c.Container, "rename", map[string]string{"oldName": old})
		return nil
	})
}

// ContainerExists reports whether nameOrID names a container. Only
// lookups that fail for another reason than define.ErrNoSuchContainer (an
// ambiguous ID prefix, say) return an error.
func (e *Engine) ContainerExists(ctx context.Context, nameOrID string) (bool, error) {
	_, err := e.db.Container(ctx, nameOrID)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, define.ErrNoSuchContainer):
		return false, nil
	}
	return false, err
}

// ContainerPortReport lists one running container's published ports.
type ContainerPortReport struct {
	ID    string
	Name  string
	Ports []specgen.PortMapping
}

// ContainerPort returns the published ports of the named container, or
// of every container with all, with the host ports picked at random
// resolved. As podman's, only running containers with ports are reported.
// Errors wrap define.ErrNoSuchContainer.
func (e *Engine) ContainerPort(ctx context.Context, nameOrID string, all bool) ([]ContainerPortReport, error) {
	var ctrs []*ctr
	if all {
		recs, err := e.db.Containers(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			c, err := decodeCtr(r)
			if err != nil {
				return nil, err
			}
			ctrs = append(ctrs, c)
		}
	} else {
		c, err := e.lookupCtr(ctx, nameOrID)
		if err != nil {
			return nil, err
		}
		ctrs = []*ctr{c}
	}
	out := []ContainerPortReport{}
	for _, c := range ctrs {
		if !e.refreshStale(ctx, c).running() {
			continue
		}
		st, err := e.readNetStatus(c.ID)
		if err != nil || len(st.Ports) == 0 {
			continue
		}
		rep := ContainerPortReport{ID: c.ID, Name: c.Name}
		for _, p := range st.Ports {
			pm := specgen.PortMapping{HostPort: p.HostPort, ContainerPort: p.ContainerPort, Range: p.Range, Protocol: p.Protocol}
			if p.HostIP.IsValid() {
				pm.HostIP = p.HostIP.String()
			}
			rep.Ports = append(rep.Ports, pm)
		}
		out = append(out, rep)
	}
	return out, nil
}

// ContainerPruneOptions select the containers ContainerPrune removes.
type ContainerPruneOptions struct {
	// Filters narrow the candidates: label=KEY[=VALUE], label!=KEY[=VALUE]
	// and until=TIME (created before TIME: a duration ago, a Unix time or
	// an RFC 3339 time). Every filter must match.
	Filters []string
}

// ContainerPrune removes every container that is not running or paused
// (created and exited ones) and matches the filters. It returns a report
// per container it tried; containers started or removed meanwhile are left
// out. Bad filters return define.ErrInvalidArg.
func (e *Engine) ContainerPrune(ctx context.Context, opts ContainerPruneOptions) ([]ContainerReport, error) {
	match, err := parsePruneFilters(opts.Filters, time.Now())
	if err != nil {
		return nil, err
	}
	recs, err := e.db.Containers(ctx)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, r := range recs {
		if prunable(r.State.Status) && match(r.Labels, r.Created) {
			ids = append(ids, r.ID)
		}
	}
	errBusy := errors.New("started meanwhile")
	reps, err := e.eachCtr(ctx, ids, false, true, func(c *ctr) error {
		if !prunable(c.State.Status) || c.cfg.Infra { // pod prune removes infra containers
			return errBusy
		}
		return e.removeLocked(ctx, c, ContainerRemoveOptions{})
	})
	out := reps[:0]
	for _, r := range reps {
		if !errors.Is(r.Err, errBusy) {
			out = append(out, r)
		}
	}
	return out, err
}

func prunable(s define.ContainerStatus) bool {
	return s == define.StatusCreated || s == define.StatusExited
}

// parsePruneFilters turns container prune filters into one predicate.
func parsePruneFilters(filters []string, now time.Time) (func(labels map[string]string, created time.Time) bool, error) {
	type pred func(map[string]string, time.Time) bool
	var preds []pred
	for _, f := range filters {
		key, value, ok := strings.Cut(f, "=")
		if !ok || value == "" {
			return nil, fmt.Errorf("--filter %q: use KEY=VALUE: %w", f, define.ErrInvalidArg)
		}
		switch key {
		case "label", "label!":
			k, v, hasValue := strings.Cut(value, "=")
			want := key == "label"
			preds = append(preds, func(labels map[string]string, _ time.Time) bool {
				got, ok := labels[k]
				return (ok && (!hasValue || got == v)) == want
			})
		case "until":
			t, err := parseUntil(value, now)
			if err != nil {
				return nil, err
			}
			preds = append(preds, func(_ map[string]string, created time.Time) bool { return created.Before(t) })
		default:
			return nil, fmt.Errorf("--filter %q: unknown key %q (use label, label! or until): %w", f, key, define.ErrInvalidArg)
		}
	}
	return func(labels map[string]string, created time.Time) bool {
		for _, p := range preds {
			if !p(labels, created) {
				return false
			}
		}
		return true
	}, nil
}

// ContainerRestartOptions configure ContainerRestart.
type ContainerRestartOptions struct {
	// Timeout is the seconds stop waits before SIGKILL; nil uses each
	// container's stop timeout.
	Timeout *uint
	// All restarts every container; Running only those running (or paused).
	All     bool
	Running bool
}

// ContainerRestart stops each container that runs, then starts it. A
// user's restart is not a restart policy's: RestartCount is unchanged.
// Each container gets a report; errors wrap define.ErrNoSuchContainer.
func (e *Engine) ContainerRestart(ctx context.Context, names []string, opts ContainerRestartOptions) ([]ContainerReport, error) {
	all := opts.All
	if opts.Running {
		recs, err := e.db.Containers(ctx)
		if err != nil {
			return nil, err
		}
		names, all = names[:0], false
		for _, r := range recs {
			if r.State.Status == define.StatusRunning || r.State.Status == define.StatusPaused {
				names = append(names, r.ID)
			}
		}
	}
	return e.eachCtr(ctx, names, all, false, func(c *ctr) error {
		if c.running() || c.State.Status == define.StatusStopping {
			timeout := c.stopTimeout()
			if opts.Timeout != nil {
				timeout = *opts.Timeout
			}
			if err := e.stopLocked(ctx, c, timeout); err != nil {
				return err
			}
		}
		if _, err := e.startLocked(ctx, c, nil); err != nil {
			return err
		}
		e.ctrEvent(ctx, c.Container, "restart", nil)
		return nil
	})
}
