package libengine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/libengine/state"
	"github.com/engine-oss/engine/pkg/specgen"
	"github.com/moby/sys/mountinfo"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"go.podman.io/storage/pkg/chrootarchive"
	"golang.org/x/sys/unix"
)

// VolumeMountReport is one volume's mount: its host directory, or why not.
type VolumeMountReport struct {
	Name       string
	Mountpoint string
	Err        error
}

// VolumeMount makes volumes' content available on the host and reports
// where. A volume with a device is mounted on the first use and counted;
// a plain volume is only its directory. Errors per volume wrap
// define.ErrNoSuchVolume.
func (e *Engine) VolumeMount(ctx context.Context, names []string) []VolumeMountReport {
	reports := make([]VolumeMountReport, 0, len(names))
	for _, n := range names {
		rep := VolumeMountReport{Name: n}
		v, err := e.db.Volume(ctx, n)
		if err == nil {
			rep.Name = v.Name
			v, err = e.acquireVolume(ctx, v.Name)
		}
		if err == nil {
			rep.Mountpoint = v.Mountpoint
		}
		rep.Err = err
		reports = append(reports, rep)
	}
	return reports
}

// VolumeUnmount undoes one VolumeMount of each volume: the device is
// unmounted when nothing else uses it. Unmounting a plain volume does
// nothing; a volume with a device that is not mounted gives an error
// wrapping define.ErrInvalidArg, a missing one define.ErrNoSuchVolume.
func (e *Engine) VolumeUnmount(ctx context.Context, names []string) []VolumeReport {
	reports := make([]VolumeReport, 0, len(names))
	for _, n := range names {
		rep := VolumeReport{Name: n}
		v, err := e.db.Volume(ctx, n)
		if err == nil {
			rep.Name = v.Name
			err = e.releaseVolume(ctx, v.Name, true)
		}
		rep.Err = err
		reports = append(reports, rep)
	}
	return reports
}

// acquireVolume counts one more user of a volume, mounting its device on
// the first, and returns the record.
func (e *Engine) acquireVolume(ctx context.Context, name string) (*state.Volume, error) {
	l, err := e.lockVolume(name)
	if err != nil {
		return nil, err
	}
	defer l.Release()
	v, err := e.exactVolume(ctx, name)
	if err != nil {
		return nil, err
	}
	lo, err := parseLocalOptions(v.Options)
	if err != nil {
		return nil, fmt.Errorf("volume %s: %w", name, err)
	}
	if !lo.mounted() {
		return v, nil
	}
	mounted, err := mountinfo.Mounted(v.Mountpoint)
	if err != nil {
		return nil, fmt.Errorf("volume %s: %w", name, err)
	}
	if !mounted {
		args := lo.mountArgs(v.Mountpoint)
		out, err := exec.CommandContext(ctx, "mount", args...).CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("volume %s: mount %s: %s: %w", name, strings.Join(args, " "), strings.TrimSpace(string(out)), err)
		}
	}
	v.State.MountCount++
	if err := e.db.UpdateVolumeState(ctx, name, v.State); err != nil {
		return nil, err
	}
	e.event(ctx, "volume", "mount", name, name, nil)
	return v, nil
}

// releaseVolume counts one user less of a volume, unmounting its device
// after the last. strict makes a volume that is not mounted an error.
func (e *Engine) releaseVolume(ctx context.Context, name string, strict bool) error {
	l, err := e.lockVolume(name)
	if err != nil {
		return err
	}
	defer l.Release()
	v, err := e.exactVolume(ctx, name)
	if err != nil {
		return err
	}
	lo, err := parseLocalOptions(v.Options)
	if err != nil {
		return fmt.Errorf("volume %s: %w", name, err)
	}
	if !lo.mounted() {
		return nil
	}
	if v.State.MountCount <= 0 {
		if strict {
			return fmt.Errorf("volume %s is not mounted: %w", name, define.ErrInvalidArg)
		}
		return nil
	}
	v.State.MountCount--
	if v.State.MountCount == 0 {
		if err := unmountVolumeDir(v.Mountpoint); err != nil {
			return fmt.Errorf("volume %s: unmount %s: %w", name, v.Mountpoint, err)
		}
	}
	if err := e.db.UpdateVolumeState(ctx, name, v.State); err != nil {
		return err
	}
	e.event(ctx, "volume", "unmount", name, name, nil)
	return nil
}

// exactVolume finds the volume of exactly that name.
func (e *Engine) exactVolume(ctx context.Context, name string) (*state.Volume, error) {
	v, err := e.db.Volume(ctx, name)
	if err == nil && v.Name != name {
		err = fmt.Errorf("%s: %w", name, define.ErrNoSuchVolume)
	}
	if errors.Is(err, define.ErrInvalidArg) {
		err = fmt.Errorf("%s: %w", name, define.ErrNoSuchVolume)
	}
	return v, err
}

// unmountVolumeDir detaches whatever is mounted on a volume's directory.
func unmountVolumeDir(dir string) error {
	for range 5 { // mounts may be stacked
		mounted, err := mountinfo.Mounted(dir)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if !mounted {
			return nil
		}
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
			return err
		}
	}
	return errors.New("still mounted after 5 unmounts")
}

// mountCtrVolumes prepares a starting container's volume and image mounts
// and returns each one's host directory by destination: a volume's
// directory, with its device mounted, or the image's mounted root. On
// failure it undoes what it did.
func (e *Engine) mountCtrVolumes(ctx context.Context, c *ctr) (_ map[string]string, retErr error) {
	sources := map[string]string{}
	var done []specgen.Mount
	defer func() {
		if retErr != nil {
			e.releaseMounts(context.WithoutCancel(ctx), c.Name, done)
		}
	}()
	for _, m := range c.cfg.Spec.Mounts {
		switch m.Type {
		case specgen.MountTypeVolume:
			v, err := e.acquireVolume(ctx, m.Source)
			if err != nil {
				return nil, fmt.Errorf("container %s: volume %s: %w", c.Name, m.Source, err)
			}
			sources[m.Destination] = v.Mountpoint
		case specgen.MountTypeImage:
			dir, err := e.store.MountImage(m.Source, nil, "")
			if err != nil {
				return nil, fmt.Errorf("container %s: mount image %s on %s: %w (pull it again, or remove the container)",
					c.Name, shortID(m.Source), m.Destination, err)
			}
			sources[m.Destination] = dir
		default:
			continue
		}
		done = append(done, m)
	}
	return sources, nil
}

// unmountCtrVolumes undoes mountCtrVolumes once the container stopped.
func (e *Engine) unmountCtrVolumes(ctx context.Context, c *ctr) {
	e.releaseMounts(ctx, c.Name, c.cfg.Spec.Mounts)
}

func (e *Engine) releaseMounts(ctx context.Context, ctrName string, mounts []specgen.Mount) {
	for _, m := range mounts {
		var err error
		switch m.Type {
		case specgen.MountTypeVolume:
			err = e.releaseVolume(ctx, m.Source, false)
		case specgen.MountTypeImage:
			_, err = e.store.UnmountImage(m.Source, false)
		}
		if err != nil && !errors.Is(err, define.ErrNoSuchVolume) {
			logrus.Warnf("container %s: release %s mount on %s: %v", ctrName, m.Type, m.Destination, err)
		}
	}
}

// fillCtrVolumes gives the volumes of a starting container what podman
// gives them. A volume used for the first time by a container whose image
// has content at the destination receives a copy of it (copy-up), owners,
// modes, extended attributes and symbolic links kept, unless the mount
// says nocopy; its root then takes the owner and mode of the image's
// directory, or the container user's when the image has none. A volume
// mounted with U is given, all of it, to the container's user on every
// start.
func (e *Engine) fillCtrVolumes(ctx context.Context, c *ctr, rootfs string, sources map[string]string, user specs.User) error {
	for _, m := range c.cfg.Spec.Mounts {
		if m.Type != specgen.MountTypeVolume {
			continue
		}
		if err := e.fillVolume(ctx, m, rootfs, sources[m.Destination], user); err != nil {
			return fmt.Errorf("container %s: volume %s: %w", c.Name, m.Source, err)
		}
	}
	return nil
}

func (e *Engine) fillVolume(ctx context.Context, m specgen.Mount, rootfs, dir string, user specs.User) error {
	l, err := e.lockVolume(m.Source)
	if err != nil {
		return err
	}
	defer l.Release()
	v, err := e.exactVolume(ctx, m.Source)
	if err != nil {
		return err
	}
	st := v.State
	imageDir, err := securejoin.SecureJoin(rootfs, m.Destination)
	if err != nil {
		return err
	}
	imageFI, statErr := os.Lstat(imageDir)
	if statErr != nil && !errors.Is(statErr, fs.ErrNotExist) {
		return statErr
	}
	if st.NeedsCopyUp && !specgen.NoCopy(m.Options) && statErr == nil && imageFI.IsDir() {
		copied, err := copyUp(imageDir, dir)
		if err != nil {
			return fmt.Errorf("copy %s of the image into the volume: %w", m.Destination, err)
		}
		st.NeedsCopyUp = !copied
	}
	if st.NeedsChown {
		st.NeedsChown = false
		uid, gid, mode := int(user.UID), int(user.GID), os.FileMode(0)
		if statErr == nil {
			if sys, ok := imageFI.Sys().(*syscall.Stat_t); ok {
				uid, gid, mode = int(sys.Uid), int(sys.Gid), imageFI.Mode()
			}
		}
		if err := os.Lchown(dir, uid, gid); err != nil {
			return fmt.Errorf("give the volume to %d:%d: %w", uid, gid, err)
		}
		if mode.IsDir() {
			if err := os.Chmod(dir, mode.Perm()|mode&(os.ModeSetuid|os.ModeSetgid|os.ModeSticky)); err != nil {
				return err
			}
		}
	}
	if specgen.Chown(m.Options) {
		if err := chownTree(dir, int(user.UID), int(user.GID)); err != nil {
			return fmt.Errorf("option U: give the volume to %d:%d: %w", user.UID, user.GID, err)
		}
	}
	if st != v.State {
		return e.db.UpdateVolumeState(ctx, v.Name, st)
	}
	return nil
}

// copyUp copies the content of src into dst when src has content and dst
// has none, and reports whether it did.
func copyUp(src, dst string) (bool, error) {
	for _, d := range []struct {
		dir  string
		want bool
	}{{src, true}, {dst, false}} {
		f, err := os.Open(d.dir)
		if err != nil {
			return false, err
		}
		names, err := f.Readdirnames(1)
		_ = f.Close()
		if err != nil && !errors.Is(err, io.EOF) {
			return false, err
		}
		if (len(names) > 0) != d.want {
			return false, nil
		}
	}
	// Unpacking in a chroot of dst keeps the copy inside the volume even if
	// a container sharing it swaps a directory for a symbolic link midway.
	if err := chrootarchive.NewArchiver(nil).TarUntar(src, dst); err != nil {
		return false, err
	}
	return true, nil
}

// chownTree gives every file under dir, dir included, to uid:gid without
// following symbolic links.
func chownTree(dir string, uid, gid int) error {
	return filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}
