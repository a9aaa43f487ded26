package libengine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/engine-oss/engine/pkg/libengine/define"
)

// ContainerWaitOptions configure ContainerWait.
type ContainerWaitOptions struct {
	// Conditions are states to wait for: created, running, paused, exited
	// or stopped (the default), removing.
	Conditions []string
	// Interval between checks; zero means 50 ms.
	Interval time.Duration
}

// WaitReport is the exit code of one waited-on container, or its error.
type WaitReport struct {
	RawInput string
	ExitCode int
	Err      error
}

// ContainerWait blocks until each container reaches one of the conditions
// and returns its exit code.
func (e *Engine) ContainerWait(ctx context.Context, names []string, opts ContainerWaitOptions) ([]WaitReport, error) {
	conds := opts.Conditions
	if len(conds) == 0 {
		conds = []string{"stopped"}
	}
	for _, c := range conds {
		if !slices.Contains([]string{"created", "configured", "running", "paused", "exited", "stopped", "removing", "stopping"}, c) {
			return nil, fmt.Errorf("--condition %q: use created, running, paused, exited, stopped or removing: %w", c, define.ErrInvalidArg)
		}
	}
	interval := opts.Interval
	if interval <= 0 {
		interval = 50 * time.Millisecond
	}
	reports := make([]WaitReport, 0, len(names))
	for _, name := range names {
		code, err := e.waitOne(ctx, name, conds, interval)
		reports = append(reports, WaitReport{RawInput: name, ExitCode: code, Err: err})
	}
	return reports, nil
}

func (e *Engine) waitOne(ctx context.Context, name string, conds []string, interval time.Duration) (int, error) {
	c, err := e.lookupCtr(ctx, name)
	if err != nil {
		return -1, err
	}
	for {
		if c, err = e.reload(ctx, c); err != nil {
			return -1, err
		}
		c = e.refreshStale(ctx, c)
		status := string(c.State.Status)
		for _, cond := range conds {
			if cond == status || (cond == "stopped" && c.State.Status == define.StatusExited) ||
				(cond == "configured" && c.State.Status == define.StatusCreated) {
				return c.State.ExitCode, nil
			}
		}
		// The process may have ended with its cleanup still queued behind a lock.
		if _, done := e.readExit(c); done && c.State.Status == define.StatusRunning {
			if err := e.ContainerCleanup(ctx, c.ID); err != nil && !errors.Is(err, define.ErrNoSuchContainer) {
				return -1, err
			}
			continue
		}
		select {
		case <-ctx.Done():
			return -1, ctx.Err()
		case <-time.After(interval):
		}
	}
}
