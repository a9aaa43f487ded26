package libengine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/libengine/monitor"
)

// ContainerLogsOptions configure ContainerLogs.
type ContainerLogsOptions struct {
	monitor.LogReadOptions
	// Stdout and Stderr receive the streams.
	Stdout, Stderr io.Writer
}

// ContainerLogs writes the logs of each container; with Follow it keeps
// going until the containers exit or ctx ends.
func (e *Engine) ContainerLogs(ctx context.Context, names []string, opts ContainerLogsOptions) error {
	for _, name := range names {
		c, err := e.lookupCtr(ctx, name)
		if err != nil {
			return err
		}
		switch c.cfg.Spec.LogDriver {
		case monitor.LogDriverNone, monitor.LogDriverPassthrough:
			return fmt.Errorf("container %s uses the %s log driver, which keeps no logs: %w", c.Name, c.cfg.Spec.LogDriver, define.ErrInvalidArg)
		}
		ro := opts.LogReadOptions
		exit := filepath.Join(e.runDir(c.ID), exitFile)
		ro.FollowUntil = func() bool {
			if _, err := os.Stat(exit); err == nil {
				return true
			}
			fresh, err := e.lookupCtr(ctx, c.ID)
			return err != nil || (fresh.State.Status != define.StatusRunning && fresh.State.Status != define.StatusPaused)
		}
		err = monitor.ReadLog(ctx, c.logPath(e), ro, opts.Stdout, opts.Stderr)
		// A container that never ran has no log yet: it has written nothing.
		if errors.Is(err, fs.ErrNotExist) && c.State.StartedAt.IsZero() {
			continue
		}
		if err != nil {
			return fmt.Errorf("logs of %s: %w", c.Name, err)
		}
	}
	return nil
}
