package libengine

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/sirupsen/logrus"
	"go.podman.io/storage"
)

// ContainerRemoveOptions configure ContainerRemove.
type ContainerRemoveOptions struct {
	// Force stops running containers first.
	Force bool
	// Timeout overrides the stop timeout used with Force.
	Timeout *uint
	// Volumes also removes the anonymous volumes the container used that
	// no other container uses.
	Volumes bool
	All     bool
	// Ignore treats a missing container as success.
	Ignore bool
}

// ContainerRemove deletes containers: record, root filesystem, logs and run
// files. A running container needs Force. Errors per container wrap
// define.ErrNoSuchContainer or define.ErrCtrStateInvalid.
func (e *Engine) ContainerRemove(ctx context.Context, names []string, opts ContainerRemoveOptions) ([]ContainerReport, error) {
	return e.eachCtr(ctx, names, opts.All, opts.Ignore, func(c *ctr) error {
		return e.removeLocked(ctx, c, opts)
	})
}

// removeLocked removes one container; the caller holds its lock.
func (e *Engine) removeLocked(ctx context.Context, c *ctr, opts ContainerRemoveOptions) error {
	switch c.State.Status {
	case define.StatusRunning, define.StatusPaused, define.StatusStopping:
		if !opts.Force {
			return fmt.Errorf("cannot remove container %s as it is %s - running or paused containers cannot be removed without force: %w",
				shortID(c.ID), c.State.Status, define.ErrCtrStateInvalid)
		}
		timeout := c.stopTimeout()
		if opts.Timeout != nil {
			timeout = *opts.Timeout
		}
		if err := e.stopLocked(ctx, c, timeout); err != nil {
			return err
		}
	}
	// Cleanup after an exit already released the runtime state (and zeroed
	// the pid); only a container that never got there still has any.
	if c.State.Pid != 0 {
		if rt, err := e.runtime(ctx); err == nil {
			if err := rt.Delete(ctx, c.ID, true); err != nil {
				logrus.Debugf("delete runtime state of %s: %v", c.Name, err)
			}
		}
	}
	if n, err := e.store.Mounted(c.ID); err == nil && n > 0 {
		if _, err := e.store.Unmount(c.ID, true); err != nil {
			logrus.Debugf("unmount %s: %v", c.Name, err)
		}
	}
	if err := e.teardownNetwork(ctx, c); err != nil {
		logrus.Warnf("tear down the network of %s: %v", c.Name, err)
	}
	if err := e.store.DeleteContainer(c.ID); err != nil && !errors.Is(err, storage.ErrContainerUnknown) {
		return fmt.Errorf("remove root filesystem of %s: %w", c.Name, err)
	}
	for _, dir := range []string{e.runDir(c.ID), e.staticDir(c.ID)} {
		if err := os.RemoveAll(dir); err != nil {
			logrus.Warnf("remove %s: %v", dir, err)
		}
	}
	if err := e.db.RemoveContainer(ctx, c.ID); err != nil {
		return err
	}
	removeCIDFile(c)
	e.ctrEvent(ctx, c.Container, "remove", nil)
	if opts.Volumes {
		e.removeAnonymousVolumes(ctx, c.Volumes)
	}
	return nil
}
