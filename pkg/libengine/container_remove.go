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
	// inPodRemoval allows removing a pod's infra container.
	inPodRemoval bool
}

// ContainerRemove deletes containers: record, root filesystem, logs and run
// files. A running container needs Force. A pod's infra container goes
// only with its pod: All removes every pod first (see PodRemove), and a
// named infra container gives define.ErrInvalidArg. Errors per container
// wrap define.ErrNoSuchContainer or define.ErrCtrStateInvalid.
func (e *Engine) ContainerRemove(ctx context.Context, names []string, opts ContainerRemoveOptions) ([]ContainerReport, error) {
	var out []ContainerReport
	if opts.All {
		// As podman's rm --all, pods go too: members before their infra.
		pods, err := e.PodRemove(ctx, nil, PodRemoveOptions{All: true, Force: opts.Force, Timeout: opts.Timeout})
		if err != nil {
			return nil, err
		}
		for _, p := range pods {
			out = append(out, p.Containers...)
			if p.Err != nil && ctrErrors(p.Containers) == nil {
				out = append(out, ContainerReport{RawInput: p.Name, Err: p.Err})
			}
		}
	}
	reps, err := e.eachCtr(ctx, names, opts.All, opts.Ignore, func(c *ctr) error {
		return e.removeLocked(ctx, c, opts)
	})
	return append(out, reps...), err
}

// removeLocked removes one container; the caller holds its lock.
func (e *Engine) removeLocked(ctx context.Context, c *ctr, opts ContainerRemoveOptions) error {
	if c.cfg.Infra && !opts.inPodRemoval {
		return fmt.Errorf("container %s is the infra container of pod %s: remove the pod with engine pod rm %s: %w", c.Name, shortID(c.Pod), shortID(c.Pod), define.ErrInvalidArg)
	}
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
	e.releasePodNamespaces(c)
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
