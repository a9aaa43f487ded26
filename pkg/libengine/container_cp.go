package libengine

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/cyphar/filepath-securejoin"
	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/specgen"
	"github.com/sirupsen/logrus"
	"go.podman.io/storage/pkg/idtools"
)

// CopyLocation is one side of a copy: a path in a container, or on the
// host when Container is empty. On the host, Path "-" is a tar stream on
// standard input (as the source) or output (as the destination).
type CopyLocation struct {
	Container string
	Path      string
}

// ParseCopyLocation splits a cp argument as podman and docker do:
// "CONTAINER:PATH" is a path in a container, unless the argument is an
// absolute path or starts with "." (write ./a:b for a local file named
// "a:b").
func ParseCopyLocation(arg string) CopyLocation {
	if filepath.IsAbs(arg) {
		return CopyLocation{Path: arg}
	}
	ctr, p, ok := strings.Cut(arg, ":")
	if !ok || ctr == "" || strings.HasPrefix(ctr, ".") {
		return CopyLocation{Path: arg}
	}
	return CopyLocation{Container: ctr, Path: p}
}

// CopyOptions configure ContainerCopy.
type CopyOptions struct {
	// Chown gives what is copied the destination's owner: the container's
	// user (usually root) when copying into a container, the calling user
	// when copying out (podman's --archive, its default). Otherwise files
	// keep the source's UID and GID.
	Chown bool
	// FollowLink copies what a symbolic link SRC points to, not the link.
	FollowLink bool
	// Overwrite lets a directory replace a non-directory and the reverse.
	Overwrite bool
	// Stdin is read when the source is "-"; Stdout written when the
	// destination is "-".
	Stdin  io.Reader
	Stdout io.Writer
}

// ContainerCopy copies a file or directory between a container, running or
// not, and the host, as `docker cp` does: a file onto a file replaces it;
// into a directory it keeps its name; to a missing path it takes that name.
// A directory to a missing path becomes that path; into an existing
// directory it becomes a subdirectory, or with SRC ending in "/." its
// content is merged. A "-" source is a tar stream extracted into the
// destination directory; a "-" destination receives a tar of the source.
//
// Paths in the container are resolved as if its root were "/": symbolic
// links in it, absolute or with "..", never lead outside it, and what is
// copied out never lands outside the destination. A path under one of the
// container's volume, bind, image or tmpfs mounts is that mount's content,
// each mount a root of its own for the links in it (see ctrFS). Errors
// wrap define.ErrNoSuchContainer, define.ErrInvalidArg (neither or both
// sides in a container, a directory onto a file, a read-only mount as the
// destination), define.ErrCtrStateInvalid (a tmpfs mount of a container
// that is not running), define.ErrArchiveEscape and fs.ErrNotExist.
func (e *Engine) ContainerCopy(ctx context.Context, src, dst CopyLocation, opts CopyOptions) error {
	if (src.Container == "") == (dst.Container == "") {
		return fmt.Errorf("exactly one of SRC and DEST must be a container path (CONTAINER:PATH): %w", define.ErrInvalidArg)
	}
	if src.Path == "" || dst.Path == "" {
		return fmt.Errorf("empty path: give CONTAINER:/PATH: %w", define.ErrInvalidArg)
	}
	if src.Container != "" && src.Path == "-" || dst.Container != "" && dst.Path == "-" {
		return fmt.Errorf(`"-" stands for standard input or output, not a path in a container: %w`, define.ErrInvalidArg)
	}
	return e.withCtr(ctx, src.Container+dst.Container, func(c *ctr) error {
		return e.withMounted(c, func(mnt string, ids *idtools.IDMappings) error {
			cfs := e.newCtrFS(ctx, c, mnt)
			defer cfs.close()
			return e.copyLocked(c, cfs, ids, src, dst, opts)
		})
	})
}

// withMounted mounts the container's root filesystem (again, when it runs:
// the store counts mounts) for fn, with the container's ID mappings (empty
// without a user namespace).
func (e *Engine) withMounted(c *ctr, fn func(mnt string, ids *idtools.IDMappings) error) error {
	sc, err := e.store.Container(c.ID)
	if err != nil {
		return fmt.Errorf("container %s: %w", c.Name, err)
	}
	mnt, err := e.store.Mount(c.ID, "")
	if err != nil {
		return fmt.Errorf("container %s: mount root filesystem: %w", c.Name, err)
	}
	defer func() {
		if _, err := e.store.Unmount(c.ID, false); err != nil {
			logrus.Warnf("unmount %s: %v", c.Name, err)
		}
	}()
	var uids, gids []idtools.IDMap // nil, not empty, maps IDs to themselves
	if len(sc.UIDMap) > 0 || len(sc.GIDMap) > 0 {
		uids, gids = sc.UIDMap, sc.GIDMap
	}
	return fn(filepath.Clean(mnt), idtools.NewIDMappingsFromMaps(uids, gids))
}

// copySide is one side of a copy: the container's file system, or the
// host's when ctr is nil.
type copySide struct {
	ctr     *ctrFS
	path    string // as the user wrote it, for messages and trailing slashes
	display string // where it is, for messages
}

// resolve finds p on the host: the directory it stays under ("/" on the
// host, where nothing confines it) and its host path. Symbolic links are
// followed, the last one only with follow. With write, p must be writable
// in the container.
func (s copySide) resolve(p string, follow, write bool) (root, host string, err error) {
	if s.ctr != nil {
		return s.ctr.resolve(p, follow, write)
	}
	if follow || filepath.Clean(p) == "/" {
		host, err = resolveHost(p)
		return "/", host, err
	}
	parent, err := resolveHost(filepath.Dir(filepath.Clean(p)))
	return "/", filepath.Join(parent, filepath.Base(p)), err
}

// copyLocked copies for ContainerCopy. Tar streams carry the container's
// IDs: ids translates them from and to the host's.
func (e *Engine) copyLocked(c *ctr, cfs *ctrFS, ids *idtools.IDMappings, src, dst CopyLocation, opts CopyOptions) error {
	side := func(l CopyLocation) (copySide, error) {
		if l.Container != "" {
			p := l.Path
			if !strings.HasPrefix(p, "/") {
				p = "/" + p
			}
			return copySide{ctr: cfs, path: p, display: "container " + c.Name}, nil
		}
		if l.Path == "-" {
			return copySide{path: "-"}, nil
		}
		abs, err := filepath.Abs(l.Path)
		if err != nil {
			return copySide{}, err
		}
		// Abs cleans away the trailing "/" or "/." that says "a directory".
		switch {
		case strings.HasSuffix(l.Path, "/.") || l.Path == ".":
			abs = strings.TrimSuffix(abs, "/") + "/."
		case strings.HasSuffix(l.Path, "/") && abs != "/":
			abs += "/"
		}
		return copySide{path: abs, display: "the host"}, nil
	}
	from, err := side(src)
	if err != nil {
		return err
	}
	to, err := side(dst)
	if err != nil {
		return err
	}
	var owner func(h *tar.Header) (int, int, bool)
	switch {
	case dst.Container == "" && opts.Chown:
		owner = func(*tar.Header) (int, int, bool) { return 0, 0, false }
	case dst.Container == "":
		owner = func(h *tar.Header) (int, int, bool) { return h.Uid, h.Gid, true }
	default:
		fixed := func(h *tar.Header) (int, int) { return h.Uid, h.Gid }
		if opts.Chown {
			user := firstNonEmpty(c.cfg.Spec.User, c.cfg.ImageConfig.User)
			u, _, err := specgen.ResolveUser("the container's user", user,
				readContainerFile(cfs.rootfs, "/etc/passwd"), readContainerFile(cfs.rootfs, "/etc/group"))
			if err != nil {
				return err
			}
			fixed = func(*tar.Header) (int, int) { return int(u.UID), int(u.GID) }
		}
		owner = func(h *tar.Header) (int, int, bool) {
			uid, gid := fixed(h)
			host, err := ids.ToHost(idtools.IDPair{UID: uid, GID: gid})
			if err != nil {
				// Unmapped in the container's namespace: its overflow IDs.
				host, _ = ids.ToHostOverflow(idtools.IDPair{UID: uid, GID: gid})
			}
			return host.UID, host.GID, true
		}
	}

	if from.path == "-" {
		if opts.Stdin == nil {
			return fmt.Errorf("copy from standard input: no input: %w", define.ErrInvalidArg)
		}
		root, dir, err := to.resolve(to.path, true, true)
		if err != nil {
			return err
		}
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return fmt.Errorf("%q on %s: the destination of a tar stream must be an existing directory: %w", to.path, to.display, define.ErrInvalidArg)
		}
		return extractInto(opts.Stdin, root, dir, owner, opts.Overwrite)
	}

	var toCtr *idtools.IDMappings // translates what is read in the container
	if src.Container != "" {
		toCtr = ids
	}
	srcPath, srcInfo, err := resolveSource(from, opts.FollowLink)
	if err != nil {
		return err
	}
	// The copy is named as the user named the source, not as a link
	// followed with FollowLink names it; "dir/." and "/" copy the content.
	top := filepath.Base(filepath.Clean(from.path))
	if strings.HasSuffix(from.path, "/.") || top == "/" {
		top = ""
	}
	if to.path == "-" {
		if opts.Stdout == nil {
			return fmt.Errorf("copy to standard output: no output: %w", define.ErrInvalidArg)
		}
		return writeTree(opts.Stdout, srcPath, srcInfo, top, toCtr)
	}
	root, dir, name, err := copyDestination(to, srcInfo.IsDir(), top)
	if err != nil {
		return err
	}
	pr, pw := io.Pipe()
	written := make(chan error, 1)
	go func() {
		err := writeTree(pw, srcPath, srcInfo, name, toCtr)
		pw.CloseWithError(err)
		written <- err
	}()
	err = extractInto(pr, root, dir, owner, opts.Overwrite)
	if err == nil {
		// The reader stops at the end marker; let the writer finish.
		_, _ = io.Copy(io.Discard, pr)
	}
	pr.CloseWithError(errors.New("extraction ended"))
	if werr := <-written; err == nil && werr != nil {
		err = werr
	}
	return err
}

// resolveHost resolves p (absolute) on the host, following every symbolic
// link; a missing part is taken as written.
func resolveHost(p string) (string, error) {
	// securejoin on "/" is the plain resolution, which also copes with
	// missing parts; EvalSymlinks is its quicker path.
	if resolved, err := filepath.EvalSymlinks(p); err == nil {
		return resolved, nil
	}
	resolved, err := securejoin.SecureJoin("/", p)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", p, err)
	}
	return resolved, nil
}

// resolveSource finds the source on the host: a final symbolic link is
// followed only with follow (or a trailing slash).
func resolveSource(s copySide, follow bool) (string, os.FileInfo, error) {
	trailing := strings.HasSuffix(s.path, "/")
	_, resolved, err := s.resolve(s.path, follow || trailing || strings.HasSuffix(s.path, "/."), false)
	if err != nil {
		return "", nil, err
	}
	fi, err := os.Lstat(resolved)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", nil, fmt.Errorf("%q could not be found on %s: %w", s.path, s.display, fs.ErrNotExist)
		}
		return "", nil, fmt.Errorf("%q on %s: %w", s.path, s.display, err)
	}
	if (trailing || strings.HasSuffix(s.path, "/.")) && !fi.IsDir() {
		return "", nil, fmt.Errorf("%q on %s is not a directory: %w", s.path, s.display, define.ErrInvalidArg)
	}
	return resolved, fi, nil
}

// copyDestination decides, as docker cp, the directory the source goes
// into and the name it takes there ("" to merge a directory's content),
// and the root the copy stays under. srcName is the source's name ("" when
// only its content is copied).
func copyDestination(d copySide, srcIsDir bool, srcName string) (root, dir, name string, err error) {
	root, resolved, err := d.resolve(d.path, true, true)
	if err != nil {
		return "", "", "", err
	}
	fi, err := os.Stat(resolved)
	switch {
	case err == nil && fi.IsDir():
		return root, resolved, srcName, nil
	case err == nil:
		if srcIsDir {
			return "", "", "", fmt.Errorf("cannot copy a directory onto the file %q on %s: %w", d.path, d.display, define.ErrInvalidArg)
		}
		return root, filepath.Dir(resolved), filepath.Base(resolved), nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", "", "", fmt.Errorf("%q on %s: %w", d.path, d.display, err)
	}
	if strings.HasSuffix(d.path, "/") && !srcIsDir {
		return "", "", "", fmt.Errorf("directory %q does not exist on %s: %w", d.path, d.display, fs.ErrNotExist)
	}
	parent := filepath.Dir(resolved)
	if fi, err := os.Stat(parent); err != nil || !fi.IsDir() {
		return "", "", "", fmt.Errorf("the parent directory of %q does not exist on %s: create it first: %w", d.path, d.display, fs.ErrNotExist)
	}
	return root, parent, filepath.Base(resolved), nil
}

// extractInto extracts a tar stream into dir, a directory under root (both
// resolved host paths). Inside a container (root is its root filesystem's
// or a mount's host directory) entries are confined to root; on the host
// (root "/"), to dir.
func extractInto(r io.Reader, root, dir string, owner func(*tar.Header) (int, int, bool), overwrite bool) error {
	rel := "."
	if root == "/" {
		root = dir
	} else {
		var err error
		if rel, err = filepath.Rel(root, dir); err != nil {
			return err
		}
	}
	return extractTar(r, root, rel, owner, overwrite)
}

// writeTree writes the file or directory at p (not followed if it is a
// symbolic link; fi is its Lstat) to w as a tar stream whose top entry is
// named top. With top "", a directory's entries are named relative to it
// and the directory itself is left out. Owners are translated with
// toCtr.ToContainer unless it is nil. Everything is read through an
// os.Root at the directory, so a symbolic link swapped in meanwhile cannot
// lead outside it.
func writeTree(w io.Writer, p string, fi os.FileInfo, top string, toCtr *idtools.IDMappings) error {
	dir := p
	if !fi.IsDir() {
		dir = filepath.Dir(p)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("open %s: %w", p, err)
	}
	defer closeQuietly(root)
	tw := tar.NewWriter(w)
	seen := map[[2]uint64]string{}
	if !fi.IsDir() {
		err = writeEntry(tw, root, filepath.Base(p), top, fi, seen, toCtr)
	} else {
		err = fs.WalkDir(root.FS(), ".", func(rel string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := path.Join(top, rel)
			if name == "." {
				return nil // top "": the directory itself is left out
			}
			info, err := root.Lstat(rel)
			if err != nil {
				return err
			}
			return writeEntry(tw, root, rel, name, info, seen, toCtr)
		})
	}
	if err != nil {
		return fmt.Errorf("archive %s: %w", p, err)
	}
	return tw.Close()
}

// writeEntry writes one file's header and content; a file with several
// links is stored once and then as hard links to that first name.
func writeEntry(tw *tar.Writer, root *os.Root, rel, name string, info os.FileInfo, seen map[[2]uint64]string, toCtr *idtools.IDMappings) error {
	if info.Mode()&fs.ModeSocket != 0 {
		return nil // tar cannot hold one, and a copy would not work anyway
	}
	var link string
	if info.Mode()&fs.ModeSymlink != 0 {
		var err error
		if link, err = root.Readlink(rel); err != nil {
			return err
		}
	}
	hdr, err := tar.FileInfoHeader(info, link)
	if err != nil {
		return err
	}
	hdr.Name = name
	if info.IsDir() {
		hdr.Name += "/"
	}
	// Names are the host's, not the container's; times other than the
	// modification time would only make every header a PAX one.
	hdr.Uname, hdr.Gname, hdr.AccessTime, hdr.ChangeTime = "", "", time.Time{}, time.Time{}
	if toCtr != nil && !toCtr.Empty() {
		if uid, gid, err := toCtr.ToContainer(idtools.IDPair{UID: hdr.Uid, GID: hdr.Gid}); err == nil {
			hdr.Uid, hdr.Gid = uid, gid
		}
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok && info.Mode().IsRegular() && st.Nlink > 1 {
		key := [2]uint64{uint64(st.Dev), st.Ino}
		if first, ok := seen[key]; ok {
			hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
		} else {
			seen[key] = name
		}
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if hdr.Typeflag != tar.TypeReg {
		return nil
	}
	f, err := root.Open(rel)
	if err != nil {
		return err
	}
	defer closeQuietly(f)
	_, err = io.CopyN(tw, f, hdr.Size)
	return err
}

// extractTar extracts the tar stream r into dir, a directory relative to
// root (a host path). The parent of each entry is resolved inside root with
// securejoin, so a symbolic link, from the archive or already there, is
// followed as if root were "/" and never leads outside it; every write then
// goes through an os.Root opened on root as a second fence. Names that are
// absolute or climb out with ".." fail with define.ErrArchiveEscape. owner
// returns the UID and GID an entry gets, or false to leave them to the
// extracting user. Without overwrite, a directory does not replace a
// non-directory nor the reverse.
func extractTar(r io.Reader, root, dir string, owner func(*tar.Header) (int, int, bool), overwrite bool) error {
	rt, err := os.OpenRoot(root)
	if err != nil {
		return fmt.Errorf("open %s: %w", root, err)
	}
	defer closeQuietly(rt)
	x := extractor{root: root, rt: rt, owner: owner, overwrite: overwrite}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read tar stream: %w", err)
		}
		if err := x.entry(tr, hdr, dir); err != nil {
			return fmt.Errorf("extract %q: %w", hdr.Name, err)
		}
	}
	// Directories get their mode and times last, children first, as
	// writing into them changed both.
	for i := len(x.dirs) - 1; i >= 0; i-- {
		if err := x.finish(x.dirs[i].hdr, x.dirs[i].target); err != nil {
			return fmt.Errorf("extract %q: %w", x.dirs[i].hdr.Name, err)
		}
	}
	return nil
}

type extractor struct {
	root      string
	rt        *os.Root
	owner     func(*tar.Header) (int, int, bool)
	overwrite bool
	dirs      []struct {
		hdr    *tar.Header
		target string
	}
}

// target maps an archive name to a path relative to the root whose parent
// holds no symbolic link.
func (x *extractor) target(dir, name string) (string, error) {
	clean := path.Clean(name)
	if path.IsAbs(name) || clean == ".." || strings.HasPrefix(clean, "../") {
		return "", define.ErrArchiveEscape
	}
	full := path.Join(dir, clean)
	if full == "." {
		return ".", nil
	}
	parent, err := securejoin.SecureJoin(x.root, path.Dir(full))
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(x.root, parent)
	if err != nil {
		return "", err
	}
	return filepath.Join(rel, path.Base(full)), nil
}

func (x *extractor) entry(tr *tar.Reader, hdr *tar.Header, dir string) error {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil
	}
	target, err := x.target(dir, hdr.Name)
	if err != nil {
		return err
	}
	if target == "." || target == filepath.Clean(dir) && hdr.Typeflag == tar.TypeDir {
		return nil // the destination itself, which exists
	}
	if err := x.rt.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	isDir := hdr.Typeflag == tar.TypeDir
	if fi, err := x.rt.Lstat(target); err == nil {
		if fi.IsDir() != isDir && !x.overwrite {
			if isDir {
				return fmt.Errorf("cannot overwrite non-directory %q with a directory (use --overwrite): %w", hdr.Name, define.ErrInvalidArg)
			}
			return fmt.Errorf("cannot overwrite directory %q with a non-directory (use --overwrite): %w", hdr.Name, define.ErrInvalidArg)
		}
		if !fi.IsDir() || !isDir {
			// Replace, rather than write through, what is there.
			if err := x.rt.RemoveAll(target); err != nil {
				return err
			}
		} else {
			x.dirs = append(x.dirs, struct {
				hdr    *tar.Header
				target string
			}{hdr, target})
			return nil
		}
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := x.rt.Mkdir(target, 0o700); err != nil {
			return err
		}
		x.dirs = append(x.dirs, struct {
			hdr    *tar.Header
			target string
		}{hdr, target})
		return nil
	case tar.TypeReg, tar.TypeRegA: //nolint:staticcheck // old archives still use TypeRegA
		f, err := x.rt.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, tr)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	case tar.TypeSymlink:
		if err := x.rt.Symlink(hdr.Linkname, target); err != nil {
			return err
		}
	case tar.TypeLink:
		old, err := x.target(dir, hdr.Linkname)
		if err != nil {
			return err
		}
		if err := x.rt.Link(old, target); err != nil {
			return err
		}
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		if err := mknodEntry(x.rt, target, hdr); err != nil {
			return fmt.Errorf("mknod %s: %w", hdr.Name, err)
		}
	default:
		logrus.Warnf("skipping %q: tar entry type %q is not supported", hdr.Name, hdr.Typeflag)
		return nil
	}
	return x.finish(hdr, target)
}

// finish sets an entry's owner, then mode (a chown clears set-ID bits) and
// times; a symbolic link only gets its owner.
func (x *extractor) finish(hdr *tar.Header, target string) error {
	if uid, gid, ok := x.owner(hdr); ok {
		if err := x.rt.Lchown(target, uid, gid); err != nil {
			return err
		}
	}
	if hdr.Typeflag == tar.TypeSymlink {
		return nil
	}
	mode := hdr.FileInfo().Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
	if err := x.rt.Chmod(target, mode); err != nil {
		return err
	}
	atime := hdr.AccessTime
	if atime.IsZero() {
		atime = hdr.ModTime
	}
	return x.rt.Chtimes(target, atime, hdr.ModTime)
}
