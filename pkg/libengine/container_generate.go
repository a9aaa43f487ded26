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

// GenerateSystemd writes the systemd units that run a container (see
// package generate): opts.Executable defaults to this engine binary, and
// the header names this engine's version. A --rm container needs New, as
// stopping it would remove it for good.
//
// Pods will get their units from generate.PodUnits once the engine has
// pods; until then a name that is no container is define.ErrNoSuchContainer
// saying so. Bad options wrap define.ErrInvalidArg.
func (e *Engine) GenerateSystemd(ctx context.Context, nameOrID string, opts generate.Options) ([]generate.Unit, error) {
	c, err := e.lookupCtr(ctx, nameOrID)
	if errors.Is(err, define.ErrNoSuchContainer) {
		return nil, fmt.Errorf("%q is not a container (pods are not supported yet): %w", nameOrID, define.ErrNoSuchContainer)
	}
	if err != nil {
		return nil, err
	}
	if c.cfg.Spec.Remove && !opts.New {
		return nil, fmt.Errorf("container %s is removed when it exits (--rm), so a unit could start it only once: use --new: %w", c.Name, define.ErrInvalidArg)
	}
	if opts.Executable == "" {
		if opts.Executable, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("locate the engine binary for the units: %w", err)
		}
	}
	opts.Version, opts.Time = Version, time.Now()
	u, err := generate.ContainerUnit(generate.Container{
		ID: c.ID, Name: c.Name, CreateCommand: c.cfg.CreateCommand, StopTimeout: c.stopTimeout(),
		SdNotifyMode: c.cfg.Spec.SdNotifyMode, RunRoot: e.store.RunRoot(),
	}, opts)
	if err != nil {
		return nil, err
	}
	return []generate.Unit{u}, nil
}
