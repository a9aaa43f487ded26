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
	"github.com/engine-oss/engine/pkg/libengine/lock"
	"github.com/sirupsen/logrus"
	"go.podman.io/storage"
)

// aliveMarker lives in the run root, which is on tmpfs on a normal host: when
// it is missing, the host rebooted (or the run root was wiped) since the
// last invocation, and no container the database calls running can be.
const aliveMarker = "engine-alive"

// refreshAfterReboot turns containers left running by a previous boot into
// exited ones, once per boot, whichever invocation comes first. A --rm
// container goes, with its root filesystem, which was volatile (not synced
// to disk, as podman's --rm ones) and so may not have survived anyway.
func (e *Engine) refreshAfterReboot(ctx context.Context) error {
	marker := filepath.Join(e.store.RunRoot(), aliveMarker)
	if _, err := os.Stat(marker); err == nil {
		return nil
	}
	l, err := lock.Acquire(filepath.Join(e.store.RunRoot(), "locks", "refresh"))
	if err != nil {
		return err
	}
	defer l.Release()
	if _, err := os.Stat(marker); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("check %s: %w", marker, err)
	}
	ctrs, err := e.db.Containers(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	for _, c := range ctrs {
		if dc, err := decodeCtr(c); err == nil && dc.cfg.Spec.Remove {
			if err := e.store.DeleteContainer(c.ID); err != nil && !errors.Is(err, storage.ErrContainerUnknown) {
				logrus.Warnf("remove the root filesystem of --rm container %s of the previous boot: %v", c.Name, err)
			}
			if err := e.db.RemoveContainer(ctx, c.ID); err != nil {
				return err
			}
			_ = os.RemoveAll(e.staticDir(c.ID))
			logrus.Debugf("--rm container %s was left by a previous boot: removed", c.Name)
			continue
		}
		switch c.State.Status {
		case define.StatusRunning, define.StatusPaused, define.StatusStopping:
			st := c.State
			st.Status, st.Pid, st.MonitorPid, st.FinishedAt = define.StatusExited, 0, 0, now
			if err := e.db.UpdateState(ctx, c.ID, st); err != nil {
				return err
			}
			logrus.Debugf("container %s was %s before a reboot: now exited", c.Name, c.State.Status)
		}
	}
	// No volume's device is mounted after a reboot.
	if err := e.db.ResetVolumeMounts(ctx); err != nil {
		return err
	}
	if err := os.WriteFile(marker, nil, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", marker, err)
	}
	return nil
}
