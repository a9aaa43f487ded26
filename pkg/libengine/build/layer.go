package build

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/engine-oss/engine/pkg/libengine/define"
	"go.podman.io/storage/pkg/archive"
)

// Digest returns a digest of what the selection copies: each file's path
// below its source, type, mode, size, link target and content (not its
// time, as Docker's cache ignores it), and the owners when keepOwners
// (the source's owners end up in the layer). It is part of the layer
// cache's key.
func (s *Selection) Digest(keepOwners bool) (string, error) {
	root, err := os.OpenRoot(s.tree.Root)
	if err != nil {
		return "", fmt.Errorf("open %s: %w", s.tree.What, err)
	}
	defer func() { _ = root.Close() }()
	h := sha256.New()
	buf := make([]byte, 64<<10)
	for _, src := range s.sources {
		if src.data != nil {
			_, _ = fmt.Fprintf(h, "content %q %d\n", src.name, len(*src.data))
			_, _ = io.WriteString(h, *src.data)
			continue
		}
		_, _ = fmt.Fprintf(h, "source %q\n", src.name)
		err := s.walk(root, src, func(rel string, info fs.FileInfo) error {
			_, _ = fmt.Fprintf(h, "%q %o %d", rel, info.Mode(), info.Size())
			if keepOwners {
				if st, ok := info.Sys().(*syscall.Stat_t); ok {
					_, _ = fmt.Fprintf(h, " %d:%d", st.Uid, st.Gid)
				}
			}
			switch {
			case info.Mode()&fs.ModeSymlink != 0:
				link, err := root.Readlink(rel)
				if err != nil {
					return err
				}
				_, _ = fmt.Fprintf(h, " -> %q", link)
			case info.Mode().IsRegular():
				if err := hashFile(h, root, rel, buf); err != nil {
					return err
				}
			}
			_, _ = io.WriteString(h, "\n")
			return nil
		})
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func hashFile(h hash.Hash, root *os.Root, rel string, buf []byte) error {
	f, err := root.Open(rel)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	fh := sha256.New()
	if _, err := io.CopyBuffer(fh, f, buf); err != nil {
		return err
	}
	_, err = h.Write(fh.Sum(nil))
	return err
}

// walk calls fn for a source and, for a directory, everything below it
// that the tree does not ignore, parents first. rel is relative to Root.
func (s *Selection) walk(root *os.Root, src source, fn func(rel string, info fs.FileInfo) error) error {
	if !src.info.IsDir() {
		return fn(src.rel, src.info)
	}
	return fs.WalkDir(root.FS(), src.rel, func(rel string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if rel != src.rel && s.tree.ignored(rel) {
			if d.IsDir() && (s.tree.ignore == nil || !s.tree.ignore.Exclusions()) {
				return fs.SkipDir
			}
			return nil
		}
		info, err := root.Lstat(rel)
		if err != nil {
			return err
		}
		return fn(rel, info)
	})
}

// Owner is a numeric owner for copied files.
type Owner struct{ UID, GID int }

// Placement says where and how a selection lands in the image.
type Placement struct {
	// Dest is the absolute destination; a trailing "/" makes it a directory.
	Dest string
	// ImageRoot is the parent image's root filesystem on the host (mounted
	// read-only), or "" when there is none (FROM scratch). The destination
	// is resolved in it, and directories that exist there keep their
	// owner and mode in the layer.
	ImageRoot string
	// Owner, when set, owns everything copied and the directories made;
	// otherwise files keep the source's owners.
	Owner *Owner
	// Mode, when set, replaces the permission bits of what is copied.
	Mode *fs.FileMode
	// Extract unpacks local tar archives (plain or compressed) into the
	// destination instead of copying them, as ADD does.
	Extract bool
}

// WriteLayer writes the selection as a layer's tar stream, as Docker's
// COPY places files: a directory's content goes into the destination; a
// file goes into it when it is a directory (it exists as one, ends with
// "/", or several sources are copied), else becomes it. Errors wrap
// define.ErrInvalidArg for a destination that cannot take the copy.
func (s *Selection) WriteLayer(w io.Writer, p Placement) error {
	root, err := os.OpenRoot(s.tree.Root)
	if err != nil {
		return fmt.Errorf("open %s: %w", s.tree.What, err)
	}
	defer func() { _ = root.Close() }()
	lw := &layerWriter{tw: tar.NewWriter(w), p: p, dirs: map[string]bool{}, links: map[[2]uint64]string{}, now: time.Now()}
	dest, destIsDir, err := lw.destination(len(s.sources) > 1 || (len(s.sources) == 1 && s.sources[0].info != nil && s.sources[0].info.IsDir()))
	if err != nil {
		return err
	}
	if destIsDir {
		if err := lw.dir(dest, nil); err != nil {
			return err
		}
	} else if err := lw.dir(path.Dir(dest), nil); err != nil {
		return err
	}
	for _, src := range s.sources {
		target := dest
		if destIsDir {
			target = path.Join(dest, src.name)
		}
		switch {
		case src.data != nil:
			hdr := &tar.Header{Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(*src.data)), ModTime: lw.now}
			if err := lw.write(target, hdr, strings.NewReader(*src.data)); err != nil {
				return err
			}
		case src.info.IsDir():
			err = s.walk(root, src, func(rel string, info fs.FileInfo) error {
				below := strings.TrimPrefix(strings.TrimPrefix(rel, src.rel), "/")
				return lw.entry(root, rel, path.Join(dest, below), info)
			})
		case p.Extract && src.info.Mode().IsRegular():
			var extracted bool
			if extracted, err = lw.extract(root, src.rel, dest); err == nil && !extracted {
				err = lw.entry(root, src.rel, target, src.info)
			}
		default:
			err = lw.entry(root, src.rel, target, src.info)
		}
		if err != nil {
			return fmt.Errorf("copy %s: %w", src.name, err)
		}
	}
	return lw.tw.Close()
}

type layerWriter struct {
	tw    *tar.Writer
	p     Placement
	dirs  map[string]bool      // directories written (layer paths)
	links map[[2]uint64]string // first layer path of each multiply-linked file
	now   time.Time
}

// destination resolves the destination in the image (symbolic links in
// the image followed inside it) and says whether it is a directory.
func (lw *layerWriter) destination(many bool) (string, bool, error) {
	dest := path.Clean(lw.p.Dest)
	isDir := many || strings.HasSuffix(lw.p.Dest, "/") || dest == "/"
	if lw.p.ImageRoot == "" {
		return dest, isDir, nil
	}
	full, err := securejoin.SecureJoin(lw.p.ImageRoot, dest)
	if err != nil {
		return "", false, err
	}
	rel, err := filepath.Rel(lw.p.ImageRoot, full)
	if err != nil {
		return "", false, err
	}
	resolved := path.Join("/", filepath.ToSlash(rel))
	if fi, err := os.Lstat(full); err == nil {
		if fi.IsDir() {
			isDir = true
		} else if isDir {
			return "", false, fmt.Errorf("destination %s exists in the image and is not a directory: %w", lw.p.Dest, define.ErrInvalidArg)
		}
	}
	return resolved, isDir, nil
}

// dir writes a directory and its missing parents. Directories the image
// has keep their owner, mode and time (a layer's directory entry replaces
// them); new ones are 0755 and owned by the placement's owner or root,
// unless from (the source directory) gives their mode.
func (lw *layerWriter) dir(p string, from fs.FileInfo) error {
	p = path.Clean("/" + p)
	if p == "/" || lw.dirs[p] {
		return nil
	}
	if err := lw.dir(path.Dir(p), nil); err != nil {
		return err
	}
	hdr := &tar.Header{Typeflag: tar.TypeDir, Mode: 0o755, ModTime: lw.now}
	if existing := lw.imageInfo(p); existing != nil {
		if !existing.IsDir() {
			return fmt.Errorf("%s exists in the image and is not a directory: %w", p, define.ErrInvalidArg)
		}
		h, err := tar.FileInfoHeader(existing, "")
		if err != nil {
			return err
		}
		h.Uname, h.Gname, h.AccessTime, h.ChangeTime = "", "", time.Time{}, time.Time{}
		hdr = h
	} else {
		if from != nil {
			hdr.Mode = int64(from.Mode().Perm())
		}
		if lw.p.Owner != nil {
			hdr.Uid, hdr.Gid = lw.p.Owner.UID, lw.p.Owner.GID
		}
	}
	hdr.Name = strings.TrimPrefix(p, "/") + "/"
	lw.dirs[p] = true
	return lw.tw.WriteHeader(hdr)
}

// imageInfo returns what the image has at p (not following a final
// symbolic link), or nil.
func (lw *layerWriter) imageInfo(p string) fs.FileInfo {
	if lw.p.ImageRoot == "" {
		return nil
	}
	fi, err := os.Lstat(filepath.Join(lw.p.ImageRoot, p))
	if err != nil {
		return nil
	}
	return fi
}

// entry writes one file, directory or link read from root at rel as
// target (a layer path).
func (lw *layerWriter) entry(root *os.Root, rel, target string, info fs.FileInfo) error {
	if info.Mode()&fs.ModeSocket != 0 {
		return nil
	}
	if info.IsDir() {
		if lw.imageInfo(target) == nil {
			return lw.dir(target, info)
		}
		return lw.dir(target, nil)
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
	hdr.Uname, hdr.Gname, hdr.AccessTime, hdr.ChangeTime = "", "", time.Time{}, time.Time{}
	if st, ok := info.Sys().(*syscall.Stat_t); ok && info.Mode().IsRegular() && st.Nlink > 1 {
		key := [2]uint64{uint64(st.Dev), st.Ino}
		if first, ok := lw.links[key]; ok {
			hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
			return lw.write(target, hdr, nil)
		}
		lw.links[key] = strings.TrimPrefix(path.Clean("/"+target), "/")
	}
	if hdr.Typeflag != tar.TypeReg {
		return lw.write(target, hdr, nil)
	}
	f, err := root.Open(rel)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	return lw.write(target, hdr, f)
}

// write writes a non-directory entry at target with the placement's
// owner and mode, after its parent directories.
func (lw *layerWriter) write(target string, hdr *tar.Header, content io.Reader) error {
	target = path.Clean("/" + target)
	if err := lw.dir(path.Dir(target), nil); err != nil {
		return err
	}
	hdr.Name = strings.TrimPrefix(target, "/")
	if hdr.Typeflag == tar.TypeLink {
		return lw.tw.WriteHeader(hdr)
	}
	if lw.p.Owner != nil {
		hdr.Uid, hdr.Gid = lw.p.Owner.UID, lw.p.Owner.GID
	}
	if lw.p.Mode != nil && hdr.Typeflag != tar.TypeSymlink {
		hdr.Mode = hdr.Mode&^0o7777 | int64(*lw.p.Mode&(fs.ModePerm))
	}
	if err := lw.tw.WriteHeader(hdr); err != nil {
		return err
	}
	if content != nil && hdr.Typeflag == tar.TypeReg {
		n, err := io.Copy(lw.tw, content)
		if err != nil {
			return err
		}
		if n != hdr.Size {
			return fmt.Errorf("%s changed size while it was copied", hdr.Name)
		}
	}
	return nil
}

// extract writes the entries of the tar archive at rel (plain or
// compressed) below dest and reports false when the file is no archive.
// Names leading out of dest fail with define.ErrArchiveEscape.
func (lw *layerWriter) extract(root *os.Root, rel, dest string) (bool, error) {
	f, err := root.Open(rel)
	if err != nil {
		return false, err
	}
	defer func() { _ = f.Close() }()
	br := bufio.NewReader(f)
	rc, err := archive.DecompressStream(br)
	if err != nil {
		return false, nil
	}
	defer func() { _ = rc.Close() }()
	tr := tar.NewReader(rc)
	hdr, err := tr.Next()
	if err != nil {
		return false, nil // not a tar archive: ADD copies it as a file
	}
	if err := lw.dir(dest, nil); err != nil {
		return true, err
	}
	for ; err == nil; hdr, err = tr.Next() {
		name := path.Clean(hdr.Name)
		if path.IsAbs(hdr.Name) || name == ".." || strings.HasPrefix(name, "../") {
			return true, fmt.Errorf("%s: entry %q: %w", rel, hdr.Name, define.ErrArchiveEscape)
		}
		if name == "." || hdr.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		target := path.Join(dest, name)
		switch hdr.Typeflag {
		case tar.TypeDir:
			if lw.dirs[target] || lw.imageInfo(target) != nil {
				continue
			}
			if err := lw.dir(path.Dir(target), nil); err != nil {
				return true, err
			}
			lw.dirs[target] = true
			hdr.Name = strings.TrimPrefix(target, "/") + "/"
			if lw.p.Owner != nil {
				hdr.Uid, hdr.Gid = lw.p.Owner.UID, lw.p.Owner.GID
			}
			if err := lw.tw.WriteHeader(hdr); err != nil {
				return true, err
			}
			continue
		case tar.TypeLink:
			old := path.Clean(hdr.Linkname)
			if path.IsAbs(hdr.Linkname) || old == ".." || strings.HasPrefix(old, "../") {
				return true, fmt.Errorf("%s: link %q: %w", rel, hdr.Linkname, define.ErrArchiveEscape)
			}
			hdr.Linkname = strings.TrimPrefix(path.Join(dest, old), "/")
		}
		if err := lw.write(target, hdr, tr); err != nil {
			return true, err
		}
	}
	if !errors.Is(err, io.EOF) {
		return true, fmt.Errorf("read archive %s: %w", rel, err)
	}
	return true, nil
}

// WriteDirLayer writes a layer holding the directory dir and the parents
// the image (at imageRoot, "" for none) lacks, as WORKDIR creates them:
// 0755, owned by root.
func WriteDirLayer(w io.Writer, imageRoot, dir string) error {
	lw := &layerWriter{tw: tar.NewWriter(w), p: Placement{ImageRoot: imageRoot}, dirs: map[string]bool{}, now: time.Now()}
	if err := lw.dir(dir, nil); err != nil {
		return err
	}
	return lw.tw.Close()
}
