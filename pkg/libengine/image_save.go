package libengine

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/directory"
	dockerarchive "go.podman.io/image/v5/docker/archive"
	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/manifest"
	"go.podman.io/image/v5/oci/layout"
	istorage "go.podman.io/image/v5/storage"
	"go.podman.io/image/v5/types"
	"go.podman.io/storage"
	"go.podman.io/storage/pkg/archive"
)

// SaveOptions configure ImageSave.
type SaveOptions struct {
	// Format is docker-archive (the default), oci-archive, oci-dir or docker-dir.
	Format string
	// Path is the archive file or, for the directory formats, the directory
	// to write. When empty an archive is written to Output.
	Path   string
	Output io.Writer
	// MultiImageArchive makes every name an image of its own; otherwise
	// names after the first are extra tags for the first image. docker-dir
	// holds one image only.
	MultiImageArchive bool
	// Compress compresses layers of a docker-dir.
	Compress bool
	// ReportWriter receives progress; nil discards it.
	ReportWriter io.Writer
}

// saveItem is one local image and the names it is saved under; a single nil
// name saves it without one (the user named it by ID).
type saveItem struct {
	src  types.ImageReference
	tags []reference.NamedTagged
}

// ImageSave writes local images to an archive or a layout directory. An
// archive file is written under a temporary name and renamed into place, so
// a failed save leaves no partial archive behind.
//
// Errors wrap define.ErrNoSuchImage for unknown names and
// define.ErrInvalidArg for option combinations the format cannot hold.
func (e *Engine) ImageSave(ctx context.Context, names []string, opts SaveOptions) (retErr error) {
	defer func() {
		if retErr == nil {
			e.imageEvents(ctx, "save", "", names)
		}
	}()
	format := firstNonEmpty(opts.Format, FormatDockerArchive)
	switch format {
	case FormatDockerArchive, FormatOCIArchive:
		if opts.Path == "" && opts.Output == nil {
			return fmt.Errorf("no output for the %s: %w", format, define.ErrInvalidArg)
		}
	case FormatOCIDir, FormatDockerDir:
		if opts.Path == "" {
			return fmt.Errorf("--format %s writes a directory: name it with --output: %w", format, define.ErrInvalidArg)
		}
	default:
		return fmt.Errorf("unknown format %q: use docker-archive, oci-archive, oci-dir or docker-dir: %w", format, define.ErrInvalidArg)
	}
	if opts.Compress && format != FormatDockerDir {
		return fmt.Errorf("--compress can only be used with --format docker-dir: %w", define.ErrInvalidArg)
	}
	items, err := e.saveItems(names, opts.MultiImageArchive)
	if err != nil {
		return err
	}
	sys, err := e.systemContext(RegistryOptions{})
	if err != nil {
		return err
	}
	copyOpts := copy.Options{ReportWriter: opts.ReportWriter}
	switch format {
	case FormatDockerArchive:
		return e.writeArchive(opts, func(path string) error {
			return e.saveDockerArchive(ctx, items, path, sys, copyOpts)
		})
	case FormatOCIArchive:
		return e.writeArchive(opts, func(path string) error {
			dir, err := os.MkdirTemp(e.tmpDir(), "engine-oci-")
			if err != nil {
				return fmt.Errorf("create temporary directory: %w (point --tmpdir at a writable directory)", err)
			}
			defer removeTemp(dir)
			if err := e.saveOCILayout(ctx, items, dir, sys, copyOpts); err != nil {
				return err
			}
			return tarDirectory(dir, path)
		})
	case FormatOCIDir:
		return e.saveOCILayout(ctx, items, opts.Path, sys, copyOpts)
	default: // FormatDockerDir
		if len(items) != 1 || len(items[0].tags) > 1 {
			return fmt.Errorf("--format docker-dir holds one image with one name, not %d: %w", len(names), define.ErrInvalidArg)
		}
		dest, err := directory.NewReference(opts.Path)
		if err != nil {
			return fmt.Errorf("--output %s: %w", opts.Path, err)
		}
		destSys := *sys
		destSys.DirForceCompress = opts.Compress
		copyOpts.ForceManifestMIMEType = manifest.DockerV2Schema2MediaType
		if _, err := e.copyImage(ctx, items[0].src, dest, sys, &destSys, copyOpts); err != nil {
			return fmt.Errorf("save %s to %s: %w", names[0], opts.Path, err)
		}
		return nil
	}
}

// saveItems looks up the images to save and the names to save them under.
func (e *Engine) saveItems(names []string, multi bool) ([]saveItem, error) {
	if len(names) == 0 {
		return nil, fmt.Errorf("no image to save: %w", define.ErrInvalidArg)
	}
	var items []saveItem
	seen := map[string]int{} // image ID -> index in items
	for i, name := range names {
		if i > 0 && !multi {
			named, err := NormalizeName(name)
			if err != nil {
				return nil, fmt.Errorf("extra tag %q: %w: %w", name, define.ErrInvalidArg, err)
			}
			tagged, ok := named.(reference.NamedTagged)
			if !ok {
				return nil, fmt.Errorf("extra tag %q must be NAME[:TAG], not a digest: %w", name, define.ErrInvalidArg)
			}
			items[0].tags = append(items[0].tags, tagged)
			continue
		}
		img, err := e.LookupImage(name)
		if err != nil {
			return nil, err
		}
		src, err := istorage.Transport.NewStoreReference(e.store, nil, img.ID)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", name, err)
		}
		tag := resolvedName(name, img)
		if i, ok := seen[img.ID]; ok {
			if tag != nil {
				items[i].tags = append(items[i].tags, tag)
			}
			continue
		}
		seen[img.ID] = len(items)
		items = append(items, saveItem{src: src, tags: []reference.NamedTagged{tag}})
	}
	for i := range items {
		if len(items[i].tags) > 1 && items[i].tags[0] == nil {
			items[i].tags = items[i].tags[1:]
		}
	}
	return items, nil
}

// resolvedName is the name of img that the user's input refers to: the
// fully qualified name a short name resolved to. It is nil when the input is
// an ID or a digest, or matches none of the image's tagged names.
func resolvedName(input string, img *storage.Image) reference.NamedTagged {
	if id := strings.TrimPrefix(input, "sha256:"); isHexPrefix(id) && strings.HasPrefix(img.ID, id) {
		return nil
	}
	named, err := reference.ParseNormalizedNamed(strings.TrimPrefix(input, "docker://"))
	if err != nil {
		return nil
	}
	if _, ok := named.(reference.Digested); ok {
		return nil
	}
	tag := "latest"
	if t, ok := named.(reference.Tagged); ok {
		tag = t.Tag()
	}
	qualified := hasDomain(strings.TrimPrefix(input, "docker://"))
	suffix := "/" + strings.TrimPrefix(reference.Path(named), "library/")
	for _, n := range img.Names {
		nn, err := reference.ParseNormalizedNamed(n)
		if err != nil {
			continue
		}
		tagged, ok := nn.(reference.NamedTagged)
		if !ok || tagged.Tag() != tag {
			continue
		}
		if nn.Name() == named.Name() || (!qualified && strings.HasSuffix(nn.Name(), suffix)) {
			return tagged
		}
	}
	return nil
}

// writeArchive runs write on a temporary file and moves the result to
// opts.Path, or copies it to opts.Output (also when Path is a pipe or a
// device such as /dev/stdout, which must not be replaced).
func (e *Engine) writeArchive(opts SaveOptions, write func(path string) error) error {
	dir, out := e.tmpDir(), opts.Output
	if opts.Path != "" {
		if fi, err := os.Stat(opts.Path); err == nil && !fi.Mode().IsRegular() {
			if fi.IsDir() {
				return fmt.Errorf("--output %s is a directory: name a file, or use --format oci-dir or docker-dir: %w", opts.Path, define.ErrInvalidArg)
			}
			f, err := os.OpenFile(opts.Path, os.O_WRONLY, 0)
			if err != nil {
				return fmt.Errorf("open %s: %w", opts.Path, err)
			}
			defer closeQuietly(f)
			out = f
		} else {
			dir, out = filepath.Dir(opts.Path), nil
		}
	}
	tmp, err := os.CreateTemp(dir, ".engine-save-*.tar")
	if err != nil {
		return fmt.Errorf("create archive: %w", err)
	}
	tmpPath := tmp.Name()
	defer removeTemp(tmpPath)
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("create archive %s: %w", tmpPath, err)
	}
	if err := write(tmpPath); err != nil {
		return err
	}
	if out == nil {
		if err := os.Chmod(tmpPath, 0o644); err != nil {
			return fmt.Errorf("archive %s: %w", tmpPath, err)
		}
		if err := os.Rename(tmpPath, opts.Path); err != nil {
			return fmt.Errorf("write %s: %w", opts.Path, err)
		}
		return nil
	}
	f, err := os.Open(tmpPath)
	if err != nil {
		return fmt.Errorf("read archive %s: %w", tmpPath, err)
	}
	defer closeQuietly(f)
	if _, err := io.Copy(out, f); err != nil {
		return fmt.Errorf("write archive: %w", err)
	}
	return nil
}

// saveDockerArchive writes each image once, with all its names: the
// archive writer cannot add a second name to an image it already holds.
func (e *Engine) saveDockerArchive(ctx context.Context, items []saveItem, path string, sys *types.SystemContext, opts copy.Options) (err error) {
	w, err := dockerarchive.NewWriter(sys, path)
	if err != nil {
		return fmt.Errorf("create docker archive: %w", err)
	}
	defer func() {
		if cerr := w.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("finish docker archive: %w", cerr)
		}
	}()
	for _, it := range items {
		dest, err := w.NewReference(nil)
		if err != nil {
			return fmt.Errorf("archive entry for %s: %w", refString(it.src), err)
		}
		destSys := *sys
		for _, tag := range it.tags {
			if tag != nil {
				destSys.DockerArchiveAdditionalTags = append(destSys.DockerArchiveAdditionalTags, tag)
			}
		}
		if _, err := e.copyImage(ctx, it.src, dest, sys, &destSys, opts); err != nil {
			return fmt.Errorf("save %s: %w", refString(it.src), err)
		}
	}
	return nil
}

// saveOCILayout adds each image to the OCI layout in dir, one index entry per
// name, the name (fully qualified) in org.opencontainers.image.ref.name.
func (e *Engine) saveOCILayout(ctx context.Context, items []saveItem, dir string, sys *types.SystemContext, opts copy.Options) error {
	for _, it := range items {
		for _, tag := range it.tags {
			name := ""
			if tag != nil {
				name = tag.String()
			}
			dest, err := layout.NewReference(dir, name)
			if err != nil {
				return fmt.Errorf("layout entry %q in %s: %w", name, dir, err)
			}
			if _, err := e.copyImage(ctx, it.src, dest, sys, sys, opts); err != nil {
				return fmt.Errorf("save %s: %w", refString(it.src), err)
			}
		}
	}
	return nil
}

// tarDirectory writes the contents of dir as an uncompressed tar to path.
func tarDirectory(dir, path string) (err error) {
	rc, err := archive.TarWithOptions(dir, &archive.TarOptions{Compression: archive.Uncompressed})
	if err != nil {
		return fmt.Errorf("archive %s: %w", dir, err)
	}
	defer closeQuietly(rc)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	if _, err := io.Copy(f, rc); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
