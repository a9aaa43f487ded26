package libengine

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/specgen"
	"github.com/sirupsen/logrus"
)

// maxCopyLinks bounds the symbolic links one path may follow, as
// securejoin does.
const maxCopyLinks = 255

// cpMount is a mount of a container that cp follows instead of the
// directory under it in the root filesystem.
type cpMount struct {
	dest     string // clean container path
	typ      string // specgen.MountType*
	source   string // bind: host path; volume: name; image: ID
	readOnly bool
	host     string // its host directory (or file, for a bind mount of one), once opened
}

// ctrFS finds container paths on the host as the container sees them
// through its volume, bind, image and tmpfs mounts. Each mount is a root
// of its own, as podman resolves them: a symbolic link in a mount,
// absolute or climbing with "..", stays in that mount.
type ctrFS struct {
	rootfs string
	mounts map[string]*cpMount // by destination
	// running says a bind mount of a file is in place: replacing the file
	// on the host would not change what the container sees.
	running bool
	// open returns a mount's host directory, mounting it if needed.
	open    func(*cpMount) (string, error)
	release []func()
}

// newCtrFS returns the file system cp sees in c, whose root filesystem is
// mounted on rootfs. Its mounts are opened on first use; close releases
// them.
func (e *Engine) newCtrFS(ctx context.Context, c *ctr, rootfs string) *ctrFS {
	s := c.cfg.Spec
	f := &ctrFS{rootfs: rootfs, mounts: map[string]*cpMount{},
		running: c.State.Status == define.StatusRunning || c.State.Status == define.StatusPaused}
	add := func(typ, dest, source string, opts []string) {
		f.mounts[path.Clean(dest)] = &cpMount{dest: path.Clean(dest), typ: typ, source: source,
			readOnly: typ == specgen.MountTypeImage || slices.Contains(opts, "ro")}
	}
	// In the order the runtime mounts them: a later one on the same
	// destination wins.
	for _, dest := range s.Security.ReadOnlyTmpfsDirs() {
		add(specgen.MountTypeTmpfs, dest, "", nil)
	}
	for dest, opts := range s.Tmpfs {
		add(specgen.MountTypeTmpfs, dest, "", strings.Split(opts, ","))
	}
	for _, m := range s.Mounts {
		add(m.Type, m.Destination, m.Source, m.Options)
	}
	f.open = func(m *cpMount) (string, error) { return e.openCpMount(ctx, c, f, m) }
	return f
}

// openCpMount returns the host directory of one of c's mounts. A volume
// with a device and an image are mounted until f is closed; a tmpfs is
// reached through the running container's mount namespace.
func (e *Engine) openCpMount(ctx context.Context, c *ctr, f *ctrFS, m *cpMount) (string, error) {
	switch m.typ {
	case specgen.MountTypeBind:
		// The runtime follows links in the source, which the host chose.
		dir, err := filepath.EvalSymlinks(m.source)
		if err != nil {
			return "", fmt.Errorf("bind mount on %s: %w", m.dest, err)
		}
		return dir, nil
	case specgen.MountTypeVolume:
		v, err := e.exactVolume(ctx, m.source)
		if err != nil {
			return "", fmt.Errorf("volume %s on %s: %w", m.source, m.dest, err)
		}
		// A tmpfs volume holds its content only while mounted: mounting it
		// for the copy alone would lose what is copied.
		if lo, err := parseLocalOptions(v.Options); err == nil && lo.fsType == "tmpfs" && v.State.MountCount == 0 {
			return "", fmt.Errorf("volume %s on %s is a tmpfs that no container has mounted, so it is empty and a copy into it would be lost: start container %s first: %w",
				m.source, m.dest, c.Name, define.ErrCtrStateInvalid)
		}
		// Any other volume with a device is mounted for the copy.
		if v, err = e.acquireVolume(ctx, m.source); err != nil {
			return "", fmt.Errorf("volume %s on %s: %w", m.source, m.dest, err)
		}
		f.release = append(f.release, func() {
			if err := e.releaseVolume(context.WithoutCancel(ctx), m.source, false); err != nil {
				logrus.Warnf("container %s: release volume %s: %v", c.Name, m.source, err)
			}
		})
		return v.Mountpoint, nil
	case specgen.MountTypeImage:
		dir, err := e.store.MountImage(m.source, nil, "")
		if err != nil {
			return "", fmt.Errorf("mount image %s on %s: %w", shortID(m.source), m.dest, err)
		}
		f.release = append(f.release, func() {
			if _, err := e.store.UnmountImage(m.source, false); err != nil {
				logrus.Warnf("container %s: unmount image %s: %v", c.Name, shortID(m.source), err)
			}
		})
		return dir, nil
	case specgen.MountTypeTmpfs:
		if !f.running || c.State.Pid <= 0 {
			return "", fmt.Errorf("container %s is not running: %s is a tmpfs mount, which exists only while it runs: start it first: %w",
				c.Name, m.dest, define.ErrCtrStateInvalid)
		}
		// The tmpfs is only in the container's mount namespace, which
		// /proc/PID/root leads into; securejoin keeps the links on the
		// way in the container.
		dir, err := securejoin.SecureJoin(fmt.Sprintf("/proc/%d/root", c.State.Pid), m.dest)
		if err != nil {
			return "", fmt.Errorf("tmpfs mount on %s: %w", m.dest, err)
		}
		return dir, nil
	}
	return "", fmt.Errorf("%s mount on %s: %w", m.typ, m.dest, define.ErrNotImplemented)
}

// close releases the mounts f mounted.
func (f *ctrFS) close() {
	for _, r := range f.release {
		r()
	}
	f.release = nil
}

// resolve finds the container path p on the host: the directory the path
// is confined to (the root filesystem's or a mount's) and the host path.
// Symbolic links are followed, the last one only with follow, each inside
// the root it is in. Where a component is a mount's destination, the walk
// goes on in that mount's host directory, even when a link of the root
// filesystem led there. With write, a path on a read-only mount is an
// error wrapping define.ErrInvalidArg.
func (f *ctrFS) resolve(p string, follow, write bool) (root, host string, err error) {
	var (
		cur   *cpMount // nil while in the root filesystem
		rel   string   // the resolved path under root, free of links
		links int
	)
	root = f.rootfs
	todo := path.Clean("/" + p)
	for todo != "" {
		var part string
		part, todo, _ = strings.Cut(strings.TrimLeft(todo, "/"), "/")
		switch part {
		case "", ".":
			continue
		case "..":
			// At a root, ".." stays there.
			rel = strings.TrimPrefix(path.Dir("/"+rel), "/")
			continue
		}
		next := path.Join(rel, part)
		base := "/"
		if cur != nil {
			base = cur.dest
		}
		if m := f.mounts[path.Join(base, next)]; m != nil {
			if m.host == "" {
				if m.host, err = f.open(m); err != nil {
					return "", "", err
				}
			}
			cur, root, rel = m, m.host, ""
			continue
		}
		if todo == "" && !follow {
			rel = next
			break
		}
		full := filepath.Join(root, next)
		fi, err := os.Lstat(full)
		if err != nil && !securejoin.IsNotExist(err) {
			return "", "", fmt.Errorf("resolve %s: %w", p, err)
		}
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			rel = next // a missing path is taken as it is written
			continue
		}
		if links++; links > maxCopyLinks {
			return "", "", fmt.Errorf("resolve %s: %w", p, syscall.ELOOP)
		}
		target, err := os.Readlink(full)
		if err != nil {
			return "", "", fmt.Errorf("resolve %s: %w", p, err)
		}
		if path.IsAbs(target) {
			rel = ""
		}
		todo = target + "/" + todo
	}
	host = filepath.Join(root, rel)
	if cur == nil {
		return root, host, nil
	}
	if write && cur.readOnly {
		return "", "", fmt.Errorf("%s is on the read-only %s mount on %s: %w", p, cur.typ, cur.dest, define.ErrInvalidArg)
	}
	if fi, err := os.Stat(root); err == nil && !fi.IsDir() {
		// A bind mount of a file: its directory on the host is the root,
		// and copies replace the file there.
		if write && f.running && rel == "" {
			return "", "", fmt.Errorf("%s is a bind mount of the host file %s, which the running container would go on seeing unchanged: copy to %s on the host instead: %w",
				cur.dest, root, root, define.ErrInvalidArg)
		}
		root = filepath.Dir(root)
	}
	return root, host, nil
}
