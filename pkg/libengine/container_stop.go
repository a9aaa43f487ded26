package libengine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/libengine/oci"
	"github.com/engine-oss/engine/pkg/specgen"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// ContainerReport is the outcome for one container of a command acting on
// many: the ID on success, or the error.
type ContainerReport struct {
	ID   string
	Name string
	// RawInput is the name or ID as the user gave it.
	RawInput string
	Err      error
}

// ContainerStopOptions configure ContainerStop.
type ContainerStopOptions struct {
	// Timeout is the seconds to wait after the stop signal before SIGKILL;
	// nil uses each container's stop timeout.
	Timeout *uint
	// All stops every running container; names are ignored.
	All bool
	// Ignore treats a missing container as success.
	Ignore bool
}

// eachCtr runs fn on each named container under its lock, collecting one
// report per name. With all set, it acts on every container instead.
func (e *Engine) eachCtr(ctx context.Context, names []string, all, ignore bool, fn func(*ctr) error) ([]ContainerReport, error) {
	if all {
		recs, err := e.db.Containers(ctx)
		if err != nil {
			return nil, err
		}
		names = names[:0]
		for _, r := range recs {
			names = append(names, r.ID)
		}
	}
	reports := make([]ContainerReport, 0, len(names))
	for _, name := range names {
		rep := ContainerReport{RawInput: name}
		rep.Err = e.withCtr(ctx, name, func(c *ctr) error {
			rep.ID, rep.Name = c.ID, c.Name
			return fn(c)
		})
		if ignore && errors.Is(rep.Err, define.ErrNoSuchContainer) {
			continue
		}
		reports = append(reports, rep)
	}
	return reports, nil
}

// withCtr looks a container up, locks it, reloads it and calls fn.
func (e *Engine) withCtr(ctx context.Context, nameOrID string, fn func(*ctr) error) error {
	c, err := e.lookupCtr(ctx, nameOrID)
	if err != nil {
		return err
	}
	l, err := e.lockCtr(c.ID)
	if err != nil {
		return err
	}
	defer l.Release()
	if c, err = e.reload(ctx, c); err != nil {
		return err
	}
	return fn(c)
}

// ContainerStop sends each container its stop signal, waits up to the
// timeout for it to exit, then kills it, and records the exit. Stopping a
// container that is not running succeeds, as in podman.
func (e *Engine) ContainerStop(ctx context.Context, names []string, opts ContainerStopOptions) ([]ContainerReport, error) {
	return e.eachCtr(ctx, names, opts.All, opts.Ignore, func(c *ctr) error {
		timeout := c.stopTimeout()
		if opts.Timeout != nil {
			timeout = *opts.Timeout
		}
		return e.stopLocked(ctx, c, timeout)
	})
}

// stopLocked stops a running or paused container; the caller holds its lock.
func (e *Engine) stopLocked(ctx context.Context, c *ctr, timeout uint) error {
	switch c.State.Status {
	case define.StatusRunning, define.StatusPaused, define.StatusStopping:
	default:
		if !c.State.StoppedByUser {
			c.State.StoppedByUser = true
			return e.db.UpdateState(ctx, c.ID, c.State)
		}
		return nil
	}
	rt, err := e.runtime(ctx)
	if err != nil {
		return err
	}
	sig := c.stopSignal()
	if timeout > 0 {
		if err := rt.Kill(ctx, c.ID, sig, false); err != nil && !gone(err) {
			return fmt.Errorf("stop %s: %w", c.Name, err)
		}
		if c.State.Status == define.StatusPaused {
			// A frozen process cannot act on the signal.
			_ = rt.Resume(ctx, c.ID)
		}
	}
	if !e.waitExit(ctx, c, time.Duration(timeout)*time.Second) {
		if timeout > 0 {
			logrus.Infof("container %s did not stop within %ds of %s: killing it", c.Name, timeout, unix.SignalName(sig))
		}
		// Killing the init of a PID namespace kills all of it; --all, for a
		// container sharing the host's or its pod's, needs the container's
		// cgroup, which rootless ones on cgroup v1 lack.
		pidNS := c.cfg.Spec.Namespaces.PID
		if err := rt.Kill(ctx, c.ID, unix.SIGKILL, pidNS == "host" || strings.HasPrefix(pidNS, "container:")); err != nil && !gone(err) {
			return fmt.Errorf("kill %s: %w", c.Name, err)
		}
		if c.State.Status == define.StatusPaused {
			_ = rt.Resume(ctx, c.ID)
		}
		if !e.waitExit(ctx, c, 30*time.Second) {
			return fmt.Errorf("container %s did not exit after SIGKILL", c.Name)
		}
	}
	if _, err := e.cleanupLocked(ctx, c, true, nil); err != nil {
		return err
	}
	e.ctrEvent(ctx, c.Container, "stop", nil)
	return nil
}

// gone reports a runtime error meaning the container no longer runs.
func gone(err error) bool {
	return errors.Is(err, define.ErrNoSuchContainer) || errors.Is(err, define.ErrCtrStateInvalid) || oci.NotRunning(err)
}

// waitExit polls until the container's exit is known or the timeout passes.
func (e *Engine) waitExit(ctx context.Context, c *ctr, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for delay := time.Millisecond; ; delay = min(delay*2, 50*time.Millisecond) {
		if _, done := e.readExit(c); done {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(delay)
	}
}

func (c *ctr) stopSignal() syscall.Signal {
	if c.cfg.Spec.StopSignal != 0 {
		return c.cfg.Spec.StopSignal
	}
	if s := c.cfg.ImageConfig.StopSignal; s != "" {
		if sig, err := specgen.ParseSignal(s); err == nil {
			return sig
		}
	}
	return unix.SIGTERM
}

// ContainerKillOptions configure ContainerKill.
type ContainerKillOptions struct {
	Signal syscall.Signal
	All    bool
}

// ContainerKill sends a signal to each running container's process.
func (e *Engine) ContainerKill(ctx context.Context, names []string, opts ContainerKillOptions) ([]ContainerReport, error) {
	sig := opts.Signal
	if sig == 0 {
		sig = unix.SIGKILL
	}
	return e.eachCtr(ctx, names, opts.All, false, func(c *ctr) error {
		if c.State.Status != define.StatusRunning && c.State.Status != define.StatusPaused {
			if opts.All {
				return nil
			}
			return fmt.Errorf("can only kill running containers. %s is in state %s: %w", shortID(c.ID), c.State.Status, define.ErrCtrStateInvalid)
		}
		rt, err := e.runtime(ctx)
		if err != nil {
			return err
		}
		if err := rt.Kill(ctx, c.ID, sig, false); err != nil {
			return fmt.Errorf("kill %s: %w", c.Name, err)
		}
		e.ctrEvent(ctx, c.Container, "kill", map[string]string{"signal": unix.SignalName(sig)})
		return nil
	})
}

// ContainerPause freezes each running container.
func (e *Engine) ContainerPause(ctx context.Context, names []string, all bool) ([]ContainerReport, error) {
	return e.eachCtr(ctx, names, all, false, func(c *ctr) error {
		return e.setPaused(ctx, c, true, all)
	})
}

// ContainerUnpause thaws each paused container.
func (e *Engine) ContainerUnpause(ctx context.Context, names []string, all bool) ([]ContainerReport, error) {
	return e.eachCtr(ctx, names, all, false, func(c *ctr) error {
		return e.setPaused(ctx, c, false, all)
	})
}

func (e *Engine) setPaused(ctx context.Context, c *ctr, pause, skipOthers bool) error {
	from, to, verb := define.StatusRunning, define.StatusPaused, "pause"
	if !pause {
		from, to, verb = define.StatusPaused, define.StatusRunning, "unpause"
	}
	if c.State.Status != from {
		if skipOthers {
			return nil
		}
		return fmt.Errorf("%q is not %s, cannot %s it: %w", c.Name, from, verb, define.ErrCtrStateInvalid)
	}
	rt, err := e.runtime(ctx)
	if err != nil {
		return err
	}
	op := rt.Pause
	if !pause {
		op = rt.Resume
	}
	if err := op(ctx, c.ID); err != nil {
		return fmt.Errorf("%s %s: %w", verb, c.Name, err)
	}
	c.State.Status = to
	if err := e.db.UpdateState(ctx, c.ID, c.State); err != nil {
		return err
	}
	e.ctrEvent(ctx, c.Container, verb, nil)
	return nil
}
