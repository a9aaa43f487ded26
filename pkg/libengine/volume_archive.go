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
	"slices"
	"strings"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/sirupsen/logrus"
	"go.podman.io/image/v5/pkg/compression"
	"go.podman.io/storage/pkg/archive"
	"golang.org/x/sys/unix"
)

// VolumeExport writes the content of a volume to w as an uncompressed tar
// archive, owners, modes, extended attributes and links kept. A volume with
// a device is mounted for the time it takes. Errors wrap
// define.ErrNoSuchVolume.
func (e *Engine) VolumeExport(ctx context.Context, nameOrPrefix string, w io.Writer) error {
	v, err := e.db.Volume(ctx, nameOrPrefix)
	if err != nil {
		return err
	}
	if v, err = e.acquireVolume(ctx, v.Name); err != nil {
		return err
	}
	defer e.releaseAfterUse(context.WithoutCancel(ctx), v.Name)
	rc, err := archive.TarWithOptions(v.Mountpoint, &archive.TarOptions{Compression: archive.Uncompressed})
	if err != nil {
		return fmt.Errorf("volume %s: %w", v.Name, err)
	}
	defer closeQuietly(rc)
	if _, err := io.Copy(w, rc); err != nil {
		return fmt.Errorf("export volume %s: %w", v.Name, err)
	}
	return nil
}

// VolumeImport unpacks a tar archive (optionally compressed) into a
// volume, over its content: entries replace what has their name. Input
// that is not a tar archive gives define.ErrUnsupportedFormat; an entry
// that would land outside the volume (an absolute name, "..", a hard link
// out, or a path through a symbolic link) define.ErrArchiveEscape, and
// the entries before it stay imported. Run as root, owners are kept.
func (e *Engine) VolumeImport(ctx context.Context, nameOrPrefix string, r io.Reader) error {
	v, err := e.db.Volume(ctx, nameOrPrefix)
	if err != nil {
		return err
	}
	if v, err = e.acquireVolume(ctx, v.Name); err != nil {
		return err
	}
	defer e.releaseAfterUse(context.WithoutCancel(ctx), v.Name)
	if err := extractVolumeTar(r, v.Mountpoint); err != nil {
		return fmt.Errorf("import into volume %s: %w", v.Name, err)
	}
	return nil
}

// releaseAfterUse releases a volume acquired for one operation.
func (e *Engine) releaseAfterUse(ctx context.Context, name string) {
	if err := e.releaseVolume(ctx, name, false); err != nil {
		logrus.Warnf("volume %s: %v", name, err)
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// extractVolumeTar unpacks a tar stream into dir as VolumeImport says.
// Every write goes through an os.Root on dir, so confinement does not rest
// on the name checks alone.
func extractVolumeTar(r io.Reader, dir string) error {
	in := &countingReader{r: r}
	_, decompress, rr, err := compression.DetectCompressionFormat(in)
	if err != nil {
		return fmt.Errorf("read archive: %w", err)
	}
	if decompress != nil {
		rc, err := decompress(rr)
		if err != nil {
			return fmt.Errorf("not a tar archive: %w: %w", define.ErrUnsupportedFormat, err)
		}
		defer closeQuietly(rc)
		rr = rc
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer closeQuietly(root)
	tr := tar.NewReader(rr)
	var dirs []*tar.Header
	for i := 0; ; i++ {
		hdr, err := tr.Next()
		switch {
		case errors.Is(err, io.EOF) && in.n == 0:
			return fmt.Errorf("the input is empty, not a tar archive: %w", define.ErrUnsupportedFormat)
		case errors.Is(err, io.EOF):
			return applyDirMetadata(root, dirs)
		case err != nil && i == 0:
			return fmt.Errorf("not a tar archive (%w): %w", err, define.ErrUnsupportedFormat)
		case err != nil:
			return fmt.Errorf("read archive: %w", err)
		}
		name, err := entryName(root, hdr)
		if err != nil {
			return err
		}
		if name == "" {
			continue
		}
		if err := extractEntry(root, name, hdr, tr); err != nil {
			return fmt.Errorf("entry %q: %w", hdr.Name, err)
		}
		if hdr.Typeflag == tar.TypeDir {
			dirs = append(dirs, hdr)
		}
	}
}

// entryName cleans an entry's name and refuses names that leave the root
// or pass through a symbolic link; "" means the entry is skipped.
func entryName(root *os.Root, hdr *tar.Header) (string, error) {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return "", nil
	}
	name := path.Clean(hdr.Name)
	if path.IsAbs(hdr.Name) || name == ".." || strings.HasPrefix(name, "../") {
		return "", fmt.Errorf("entry %q: %w", hdr.Name, define.ErrArchiveEscape)
	}
	for p := path.Dir(name); p != "."; p = path.Dir(p) {
		fi, err := root.Lstat(p)
		if err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return "", fmt.Errorf("entry %q would be written through the symbolic link %q: %w", hdr.Name, p, define.ErrArchiveEscape)
		}
	}
	return name, nil
}

func extractEntry(root *os.Root, name string, hdr *tar.Header, body io.Reader) error {
	if name == "." {
		if hdr.Typeflag != tar.TypeDir {
			return fmt.Errorf("the archive's root is not a directory: %w", define.ErrUnsupportedFormat)
		}
		return chownEntry(root, name, hdr)
	}
	if dir := path.Dir(name); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	existing, err := root.Lstat(name)
	if err == nil && (!existing.IsDir() || hdr.Typeflag != tar.TypeDir) {
		if err := root.RemoveAll(name); err != nil {
			return err
		}
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := root.Mkdir(name, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	case tar.TypeReg, tar.TypeRegA: //nolint:staticcheck // old archives still use TypeRegA
		if err := writeEntryFile(root, name, body); err != nil {
			return err
		}
	case tar.TypeSymlink:
		if err := root.Symlink(hdr.Linkname, name); err != nil {
			return err
		}
	case tar.TypeLink:
		target := path.Clean(hdr.Linkname)
		if path.IsAbs(hdr.Linkname) || target == ".." || strings.HasPrefix(target, "../") {
			return fmt.Errorf("hard link to %q: %w", hdr.Linkname, define.ErrArchiveEscape)
		}
		if err := root.Link(target, name); err != nil {
			return err
		}
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		if err := mknodEntry(root, name, hdr); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unsupported tar entry type %q: %w", hdr.Typeflag, define.ErrUnsupportedFormat)
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		return chownEntry(root, name, hdr) // modes and times once the content is in
	case tar.TypeLink:
		return nil // the file linked to has its own
	}
	return applyMetadata(root, name, hdr)
}

func writeEntryFile(root *os.Root, name string, body io.Reader) (err error) {
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	_, err = io.Copy(f, body)
	return err
}

// mknodEntry makes a device node or FIFO in its parent directory, opened
// through the root.
func mknodEntry(root *os.Root, name string, hdr *tar.Header) error {
	parent, err := root.Open(path.Dir(name))
	if err != nil {
		return err
	}
	defer closeQuietly(parent)
	mode := uint32(hdr.Mode & 0o7777)
	switch hdr.Typeflag {
	case tar.TypeChar:
		mode |= unix.S_IFCHR
	case tar.TypeBlock:
		mode |= unix.S_IFBLK
	default:
		mode |= unix.S_IFIFO
	}
	dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
	return unix.Mknodat(int(parent.Fd()), path.Base(name), mode, int(dev))
}

// chownEntry keeps the entry's owner when the engine runs as root; others
// get the files as their own, as tar(1) does.
func chownEntry(root *os.Root, name string, hdr *tar.Header) error {
	if os.Geteuid() != 0 {
		return nil
	}
	return root.Lchown(name, hdr.Uid, hdr.Gid)
}

// applyMetadata sets owner, mode, times and extended attributes; a
// symbolic link keeps only its owner.
func applyMetadata(root *os.Root, name string, hdr *tar.Header) error {
	if err := chownEntry(root, name, hdr); err != nil {
		return err
	}
	if hdr.Typeflag == tar.TypeSymlink {
		return nil
	}
	if err := root.Chmod(name, hdr.FileInfo().Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
		return err
	}
	if err := setXattrs(root, name, hdr); err != nil {
		return err
	}
	return root.Chtimes(name, hdr.AccessTime, hdr.ModTime)
}

// setXattrs applies the SCHILY.xattr records of regular files and
// directories; a filesystem or caller that cannot store one is noted in
// the debug log and skipped.
func setXattrs(root *os.Root, name string, hdr *tar.Header) error {
	if hdr.Typeflag != tar.TypeReg && hdr.Typeflag != tar.TypeDir && hdr.Typeflag != tar.TypeRegA { //nolint:staticcheck // see extractEntry
		return nil
	}
	var keys []string
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "SCHILY.xattr.") {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	f, err := root.Open(name)
	if err != nil {
		return err
	}
	defer closeQuietly(f)
	slices.Sort(keys)
	for _, k := range keys {
		attr := strings.TrimPrefix(k, "SCHILY.xattr.")
		if err := unix.Fsetxattr(int(f.Fd()), attr, []byte(hdr.PAXRecords[k]), 0); err != nil {
			if errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EPERM) {
				logrus.Debugf("import %s: skip extended attribute %s: %v", name, attr, err)
				continue
			}
			return fmt.Errorf("extended attribute %s: %w", attr, err)
		}
	}
	return nil
}

// applyDirMetadata sets directories' modes and times last, deepest first,
// so a read-only directory could still be filled and its time stays.
func applyDirMetadata(root *os.Root, dirs []*tar.Header) error {
	for i := len(dirs) - 1; i >= 0; i-- {
		name := path.Clean(dirs[i].Name)
		if err := applyMetadata(root, name, dirs[i]); err != nil {
			return fmt.Errorf("entry %q: %w", dirs[i].Name, err)
		}
	}
	return nil
}
