package libengine

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"go.podman.io/storage/pkg/archive"
	"go.podman.io/storage/pkg/idtools"
)

// FileChange is one difference between a container's filesystem and its
// image's.
type FileChange struct {
	Path string
	// Kind is "A" (added), "C" (changed) or "D" (deleted).
	Kind string
}

// runtimeInodes are the paths the runtime creates as mount points in every
// container; diff leaves them out, as podman.
var runtimeInodes = map[string]bool{
	"/dev": true, "/etc/hostname": true, "/etc/hosts": true, "/etc/resolv.conf": true,
	"/etc/mtab": true, "/proc": true, "/run": true, "/run/.containerenv": true,
	"/run/notify": true, "/run/secrets": true, "/sys": true,
}

// ContainerDiff lists the files the container added, changed or deleted
// relative to its image, by path, leaving out the mount points the runtime
// and the container's own mounts created. Errors wrap
// define.ErrNoSuchContainer.
func (e *Engine) ContainerDiff(ctx context.Context, name string) ([]FileChange, error) {
	c, err := e.lookupCtr(ctx, name)
	if err != nil {
		return nil, err
	}
	skip := map[string]bool{}
	for _, m := range c.cfg.Spec.Mounts {
		skip[m.Destination] = true
	}
	sc, err := e.store.Container(c.ID)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", c.Name, err)
	}
	changes, err := e.store.Changes("", sc.LayerID)
	if err != nil {
		return nil, fmt.Errorf("container %s: compare with its image: %w", c.Name, err)
	}
	out := make([]FileChange, 0, len(changes))
	for _, ch := range changes {
		if runtimeInodes[ch.Path] || skip[ch.Path] {
			continue
		}
		kind := "C"
		switch ch.Kind {
		case archive.ChangeAdd:
			kind = "A"
		case archive.ChangeDelete:
			kind = "D"
		}
		out = append(out, FileChange{Path: ch.Path, Kind: kind})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// ContainerExport writes the container's whole root filesystem to w as an
// uncompressed tar stream, entries named relative to its root and owned by
// the IDs the container sees. Errors wrap
// define.ErrNoSuchContainer.
func (e *Engine) ContainerExport(ctx context.Context, name string, w io.Writer) error {
	return e.withCtr(ctx, name, func(c *ctr) error {
		return e.withMounted(c, func(mnt string, ids *idtools.IDMappings) error {
			fi, err := os.Lstat(mnt)
			if err != nil {
				return err
			}
			if err := writeTree(w, mnt, fi, "", ids); err != nil {
				return fmt.Errorf("export %s: %w", c.Name, err)
			}
			return nil
		})
	})
}

// MountReport is one container's mount: its report and mount point.
type MountReport struct {
	ContainerReport
	Path string
}

// ContainerMount mounts each container's root filesystem and returns where.
// A mount lasts until ContainerUnmount, across the container's runs (each
// run mounts and unmounts once more); mounting again counts, as the store
// does.
func (e *Engine) ContainerMount(ctx context.Context, names []string) ([]MountReport, error) {
	paths := map[string]string{}
	reps, err := e.eachCtr(ctx, names, false, false, func(c *ctr) error {
		p, err := e.store.Mount(c.ID, "")
		if err != nil {
			return fmt.Errorf("container %s: mount root filesystem: %w", c.Name, err)
		}
		paths[c.ID] = p
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]MountReport, len(reps))
	for i, r := range reps {
		out[i] = MountReport{ContainerReport: r, Path: paths[r.ID]}
	}
	return out, nil
}

// MountedContainer is a container whose root filesystem is mounted, by a
// user or because it runs.
type MountedContainer struct {
	ID         string   `json:"id"`
	Names      []string `json:"names"`
	Mountpoint string   `json:"mountpoint"`
}

// ContainerMounts lists the containers whose root filesystem is mounted.
func (e *Engine) ContainerMounts(ctx context.Context) ([]MountedContainer, error) {
	recs, err := e.db.Containers(ctx)
	if err != nil {
		return nil, err
	}
	var out []MountedContainer
	for _, r := range recs {
		if n, err := e.store.Mounted(r.ID); err != nil || n == 0 {
			continue
		}
		sc, err := e.store.Container(r.ID)
		if err != nil {
			continue
		}
		l, err := e.store.Layer(sc.LayerID)
		if err != nil || l.MountPoint == "" {
			continue
		}
		out = append(out, MountedContainer{ID: r.ID, Names: []string{r.Name}, Mountpoint: l.MountPoint})
	}
	return out, nil
}

// ContainerUnmountOptions configure ContainerUnmount.
type ContainerUnmountOptions struct {
	// All unmounts every mounted container; names are ignored.
	All bool
	// Force drops every mount a user made, not one.
	Force bool
}

// ContainerUnmount undoes ContainerMount: it drops one mount (all the
// users' with Force) and unmounts the root filesystem when none is left.
// Unmounting a container that is not mounted succeeds. A running
// container keeps the runtime's mount: unmounting one that no user
// mounted fails with define.ErrCtrStateInvalid. All acts on the
// containers a user mounted.
func (e *Engine) ContainerUnmount(ctx context.Context, names []string, opts ContainerUnmountOptions) ([]ContainerReport, error) {
	if opts.All {
		recs, err := e.db.Containers(ctx)
		if err != nil {
			return nil, err
		}
		names = names[:0]
		for _, r := range recs {
			if n, err := e.store.Mounted(r.ID); err == nil && n > runtimeMounts(r.State.Status) {
				names = append(names, r.ID)
			}
		}
	}
	reps, err := e.eachCtr(ctx, names, false, false, func(c *ctr) error {
		n, err := e.store.Mounted(c.ID)
		if err != nil {
			return fmt.Errorf("container %s: %w", c.Name, err)
		}
		keep := runtimeMounts(c.State.Status)
		if n <= keep {
			if keep == 0 {
				return nil
			}
			return fmt.Errorf("cannot unmount running container %s: only its runtime mounts it: %w", c.Name, define.ErrCtrStateInvalid)
		}
		drop := 1
		if opts.Force {
			drop = n - keep
		}
		for range drop {
			if _, err := e.store.Unmount(c.ID, false); err != nil {
				return fmt.Errorf("container %s: unmount: %w", c.Name, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return reps, nil
}

// runtimeMounts is how many of a container's mounts its runtime holds.
func runtimeMounts(s define.ContainerStatus) int {
	if s == define.StatusRunning || s == define.StatusPaused || s == define.StatusStopping {
		return 1
	}
	return 0
}
