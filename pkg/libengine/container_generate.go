package libengine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/systemd/generate"
)

// GenerateSystemd writes the systemd units that run a container, or a pod
// and its containers (see package generate): opts.Executable defaults to
// this engine binary, and the header names this engine's version. A --rm
// container needs New, as stopping it would remove it for good; a pod
// needs an infra container, which its unit starts, and cannot be New yet
// (`engine pod create` has no --pod-id-file).
//
// Errors wrap define.ErrNoSuchContainer when the name is neither a
// container nor a pod, define.ErrInvalidArg for bad options, and
// define.ErrNotImplemented for --new on a pod.
func (e *Engine) GenerateSystemd(ctx context.Context, nameOrID string, opts generate.Options) ([]generate.Unit, error) {
	if opts.Executable == "" {
		var err error
		if opts.Executable, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("locate the engine binary for the units: %w", err)
		}
	}
	opts.Version, opts.Time = Version, time.Now()
	c, err := e.lookupCtr(ctx, nameOrID)
	if errors.Is(err, define.ErrNoSuchContainer) {
		return e.generatePodSystemd(ctx, nameOrID, opts)
	}
	if err != nil {
		return nil, err
	}
	gc, err := e.generateContainer(c, opts)
	if err != nil {
		return nil, err
	}
	u, err := generate.ContainerUnit(gc, opts)
	if err != nil {
		return nil, err
	}
	return []generate.Unit{u}, nil
}

// generateContainer describes a container for package generate.
func (e *Engine) generateContainer(c *ctr, opts generate.Options) (generate.Container, error) {
	if c.cfg.Spec.Remove && !opts.New {
		return generate.Container{}, fmt.Errorf("container %s is removed when it exits (--rm), so a unit could start it only once: use --new: %w", c.Name, define.ErrInvalidArg)
	}
	return generate.Container{
		ID: c.ID, Name: c.Name, CreateCommand: c.cfg.CreateCommand, StopTimeout: c.stopTimeout(),
		SdNotifyMode: c.cfg.Spec.SdNotifyMode, RunRoot: e.store.RunRoot(),
	}, nil
}

// generatePodSystemd writes the units of a pod: one starting its infra
// container, one per member.
func (e *Engine) generatePodSystemd(ctx context.Context, nameOrID string, opts generate.Options) ([]generate.Unit, error) {
	p, err := e.lookupPod(ctx, nameOrID)
	if errors.Is(err, define.ErrNoSuchPod) {
		return nil, fmt.Errorf("no container or pod %q: %w", nameOrID, define.ErrNoSuchContainer)
	}
	if err != nil {
		return nil, err
	}
	if opts.New {
		return nil, fmt.Errorf("pod %s: --new is not supported for pods yet: generate its units without it: %w", p.Name, define.ErrNotImplemented)
	}
	if p.InfraID == "" {
		return nil, fmt.Errorf("pod %s has no infra container for its unit to start: create the pod with one: %w", p.Name, define.ErrInvalidArg)
	}
	ids, err := e.db.PodContainers(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	gp := generate.Pod{ID: p.ID, Name: p.Name, CreateCommand: p.cfg.CreateCommand, StopTimeout: defaultStopTimeout, RunRoot: e.store.RunRoot()}
	for _, id := range ids {
		c, err := e.lookupCtr(ctx, id)
		if err != nil {
			return nil, err
		}
		if c.ID == p.InfraID {
			gp.InfraName = c.Name
			continue
		}
		gc, err := e.generateContainer(c, opts)
		if err != nil {
			return nil, err
		}
		gp.Containers = append(gp.Containers, gc)
	}
	return generate.PodUnits(gp, opts)
}
