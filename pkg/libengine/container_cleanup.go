package libengine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/libengine/monitor"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// readExit returns the exit status, or ok=false while the process runs.
// A container whose monitor died without writing one is reported as killed
// (137) once the runtime no longer sees it running.
func (e *Engine) readExit(c *ctr) (monitor.ExitStatus, bool) {
	if st, err := monitor.ReadExitFile(filepath.Join(e.runDir(c.ID), exitFile)); err == nil {
		return *st, true
	}
	if c.State.MonitorPid > 0 && processAlive(c.State.MonitorPid) {
		return monitor.ExitStatus{}, false
	}
	if c.State.Pid > 0 && processAlive(c.State.Pid) {
		return monitor.ExitStatus{}, false
	}
	return monitor.ExitStatus{ExitCode: 128 + int(unix.SIGKILL), FinishedAt: time.Now()}, true
}

// processAlive reports whether pid exists and is not a zombie.
func processAlive(pid int) bool {
	if err := unix.Kill(pid, 0); err != nil && !errors.Is(err, unix.EPERM) {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state letter follows the command name in parentheses.
	for i := len(b) - 1; i > 0; i-- {
		if b[i] == ')' {
			return i+2 < len(b) && b[i+2] != 'Z' && b[i+2] != 'X'
		}
	}
	return true
}

// ContainerCleanup is run by a container's monitor after the process exits
// (and by the CLI waiting on a foreground container): it records the exit,
// releases the runtime state and the root filesystem, then applies --rm or
// the restart policy and, for a pod's member, the pod's exit policy (see
// stopPodIfDone). Running it again does nothing.
func (e *Engine) ContainerCleanup(ctx context.Context, nameOrID string) error {
	c, err := e.lookupCtr(ctx, nameOrID)
	if err != nil {
		return err
	}
	l, err := e.lockCtr(c.ID)
	if err != nil {
		return err
	}
	if c, err = e.reload(ctx, c); err != nil {
		l.Release()
		if errors.Is(err, define.ErrNoSuchContainer) {
			return nil // removed meanwhile, as --rm does
		}
		return err
	}
	var removeErr error
	restart, err := e.cleanupLocked(ctx, c, false, func() {
		if c.cfg.Spec.Remove {
			removeErr = e.removeLocked(ctx, c, ContainerRemoveOptions{Volumes: true})
		}
	})
	l.Release()
	if err != nil {
		return errors.Join(err, removeErr)
	}
	if !restart {
		return errors.Join(removeErr, e.stopPodIfDone(ctx, c))
	}
	return e.restartWithBackoff(ctx, c)
}

// cleanupLocked moves a container whose process ended to exited. It returns
// whether the restart policy asks for another run; when it does not, andThen
// (if set) runs last, while the runtime may still be releasing the
// container's state. It runs too for a container that was exited already
// (cleaned up by `engine stop`, say). The caller holds the lock.
func (e *Engine) cleanupLocked(ctx context.Context, c *ctr, byUser bool, andThen func()) (restart bool, err error) {
	switch c.State.Status {
	case define.StatusRunning, define.StatusPaused, define.StatusStopping:
	case define.StatusExited:
		if andThen != nil {
			andThen()
		}
		return false, nil
	default:
		return false, nil
	}
	st, done := e.readExit(c)
	if !done {
		return false, nil
	}
	deleted := e.deleteRuntimeState(ctx, c)
	defer deleted()
	if _, err := e.store.Unmount(c.ID, false); err != nil && !errors.Is(err, fs.ErrNotExist) {
		logrus.Warnf("unmount root filesystem of %s: %v", c.Name, err)
	}
	e.unmountCtrVolumes(ctx, c)
	e.releasePodNamespaces(c)
	if err := e.teardownNetwork(ctx, c); err != nil {
		logrus.Warnf("tear down the network of %s: %v", c.Name, err)
	}
	s := c.State
	s.Status, s.ExitCode, s.FinishedAt, s.Pid, s.MonitorPid = define.StatusExited, st.ExitCode, st.FinishedAt, 0, 0
	s.OOMKilled = st.OOMKilled
	if byUser {
		s.StoppedByUser = true
	}
	if err := e.db.UpdateState(ctx, c.ID, s); err != nil {
		return false, err
	}
	c.State = s
	if st.OOMKilled {
		e.ctrEvent(ctx, c.Container, "oom", nil)
	}
	e.ctrEvent(ctx, c.Container, "died", map[string]string{"containerExitCode": fmt.Sprint(st.ExitCode)})
	restart = !s.StoppedByUser && e.wantsRestart(c)
	if !restart && andThen != nil {
		andThen()
	}
	return restart, nil
}

// deleteRuntimeState has the runtime forget an exited container and
// returns a function that waits for it. In a PID namespace of its own every
// process died with the init, and nothing else cleanup does needs the
// runtime: its delete (a runtime process, some 10 ms) runs alongside. In a
// shared one, processes may remain that the delete kills, so it runs first.
func (e *Engine) deleteRuntimeState(ctx context.Context, c *ctr) (wait func()) {
	rt, err := e.runtime(ctx)
	if err != nil {
		return func() {}
	}
	del := func() {
		if err := rt.Delete(ctx, c.ID, true); err != nil {
			logrus.Debugf("delete runtime state of %s: %v", c.Name, err)
		}
	}
	if pid := c.cfg.Spec.Namespaces.PID; pid != "" && pid != "private" {
		del()
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		del()
	}()
	return func() { <-done }
}

// wantsRestart applies the restart policy to an exited container.
func (e *Engine) wantsRestart(c *ctr) bool {
	s := c.cfg.Spec
	switch s.RestartPolicy {
	case "always", "unless-stopped":
		return true
	case "on-failure":
		return c.State.ExitCode != 0 && (s.RestartRetries == nil || uint(c.State.RestartCount) < *s.RestartRetries)
	}
	return false
}

// restartWithBackoff waits 100 ms doubling with each restart (at most a
// minute), then starts the container again unless someone changed it
// meanwhile: stopped, removed, or already started it.
func (e *Engine) restartWithBackoff(ctx context.Context, c *ctr) error {
	delay := 100 * time.Millisecond << min(c.State.RestartCount, 10)
	delay = min(delay, time.Minute)
	// A container that ran long enough is healthy again: reset the backoff.
	if c.State.FinishedAt.Sub(c.State.StartedAt) > 10*time.Second {
		delay = 100 * time.Millisecond
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(delay):
	}
	l, err := e.lockCtr(c.ID)
	if err != nil {
		return err
	}
	defer l.Release()
	fresh, err := e.reload(ctx, c)
	if err != nil {
		if errors.Is(err, define.ErrNoSuchContainer) {
			return nil
		}
		return err
	}
	if fresh.State.Status != define.StatusExited || fresh.State.StoppedByUser || !fresh.State.FinishedAt.Equal(c.State.FinishedAt) {
		return nil
	}
	fresh.State.RestartCount++
	if _, err := e.startLocked(ctx, fresh, nil); err != nil {
		return fmt.Errorf("restart %s: %w", fresh.Name, err)
	}
	e.ctrEvent(ctx, fresh.Container, "restart", nil)
	return nil
}
