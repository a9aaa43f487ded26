package libengine

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/engine-oss/engine/pkg/libengine/define"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sirupsen/logrus"
	"go.podman.io/image/v5/directory"
	dockerarchive "go.podman.io/image/v5/docker/archive"
	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/oci/layout"
	"go.podman.io/image/v5/pkg/compression"
	"go.podman.io/image/v5/types"
)

// LoadOptions configure ImageLoad.
type LoadOptions struct {
	// Input is an archive file or a layout directory. When empty the
	// archive is read from Stdin.
	Input string
	Stdin io.Reader
	// ReportWriter receives progress; nil discards it.
	ReportWriter io.Writer
}

// Image formats ImageLoad recognises, as `save --format` names them.
const (
	FormatDockerArchive = "docker-archive"
	FormatOCIArchive    = "oci-archive"
	FormatOCIDir        = "oci-dir"
	FormatDockerDir     = "docker-dir"
)

// ImageLoad copies every image of a docker-archive, oci-archive, OCI layout
// directory or dir-transport directory into the store and returns, per
// image, its names or, for an image without any, "sha256:ID".
//
// Archives are read as archives: docker archives are looked up entry by
// entry and never extracted; OCI archives are extracted into a private
// temporary directory accepting only directories and regular files that
// stay inside it. Errors wrap define.ErrUnsupportedFormat when the input is
// none of those formats and define.ErrArchiveEscape when an entry would land
// outside the extraction directory.
func (e *Engine) ImageLoad(ctx context.Context, opts LoadOptions) ([]string, error) {
	input := opts.Input
	if input == "" {
		if opts.Stdin == nil {
			return nil, fmt.Errorf("no input: pass a file with --input or an archive on standard input: %w", define.ErrInvalidArg)
		}
		tmp, err := e.spoolToFile(opts.Stdin, "engine-load-")
		if err != nil {
			return nil, err
		}
		defer removeTemp(tmp)
		input = tmp
	}
	display := opts.Input
	if display == "" {
		display = "standard input"
	}
	format, err := detectFormat(input, display)
	if err != nil {
		return nil, err
	}
	sys, err := e.systemContext(RegistryOptions{})
	if err != nil {
		return nil, err
	}
	var loaded []loadedImage
	switch format {
	case FormatDockerArchive:
		var ref types.ImageReference
		if ref, err = dockerarchive.NewReference(input, nil); err == nil {
			loaded, err = e.loadDockerArchive(ctx, ref, sys, opts.ReportWriter)
		}
	case FormatOCIArchive:
		loaded, err = e.loadOCIArchive(ctx, input, "", true, sys, opts.ReportWriter)
	case FormatOCIDir:
		loaded, err = e.loadOCILayout(ctx, input, "", true, sys, opts.ReportWriter)
	case FormatDockerDir:
		var ref types.ImageReference
		if ref, err = directory.NewReference(input); err == nil {
			var id string
			id, err = e.copyIntoStore(ctx, ref, nil, sys, opts.ReportWriter)
			loaded = []loadedImage{{ID: id}}
		}
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range loaded {
		e.event(ctx, "image", "loadfromarchive", l.ID, display, nil)
		if len(l.Names) == 0 {
			out = append(out, "sha256:"+l.ID)
		}
		out = append(out, l.Names...)
	}
	return out, nil
}

// tmpDir is where large temporary files go: engine.conf's tmpdir, $TMPDIR,
// then /var/tmp as containers/image does.
func (e *Engine) tmpDir() string {
	return firstNonEmpty(e.cfg.Engine.TmpDir, os.Getenv("TMPDIR"), "/var/tmp")
}

// spoolToFile copies r into a new temporary file and returns its path.
func (e *Engine) spoolToFile(r io.Reader, prefix string) (path string, err error) {
	f, err := os.CreateTemp(e.tmpDir(), prefix)
	if err != nil {
		return "", fmt.Errorf("create temporary file: %w (point --tmpdir at a writable directory)", err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = cerr
		}
		if err != nil {
			removeTemp(f.Name())
		}
	}()
	if _, err := io.Copy(f, r); err != nil {
		return "", fmt.Errorf("read standard input into %s: %w", f.Name(), err)
	}
	return f.Name(), nil
}

// detectFormat tells which image format input holds by its content, not by
// its name. A tar holding manifest.json is a docker archive even when it
// also carries an OCI index (as Docker 25 and later write them).
// display names the input in errors.
func detectFormat(input, display string) (string, error) {
	fi, err := os.Stat(input)
	if err != nil {
		return "", fmt.Errorf("input %s: %w", display, err)
	}
	if fi.IsDir() {
		switch {
		case fileExists(filepath.Join(input, imgspecv1.ImageIndexFile)):
			return FormatOCIDir, nil
		case fileExists(filepath.Join(input, "manifest.json")):
			return FormatDockerDir, nil
		}
		return "", unsupportedFormat(display)
	}
	f, err := os.Open(input)
	if err != nil {
		return "", fmt.Errorf("input %s: %w", display, err)
	}
	defer closeQuietly(f)
	tr, closeTar, err := openTar(f)
	if err != nil {
		return "", unsupportedFormat(display)
	}
	defer closeTar()
	oci := false
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if oci {
				return "", fmt.Errorf("%s: %w", display, err)
			}
			return "", unsupportedFormat(display)
		}
		switch path.Clean(strings.TrimPrefix(hdr.Name, "/")) {
		case "manifest.json":
			return FormatDockerArchive, nil
		case imgspecv1.ImageIndexFile:
			oci = true
		}
	}
	if oci {
		return FormatOCIArchive, nil
	}
	return "", unsupportedFormat(display)
}

func unsupportedFormat(input string) error {
	return fmt.Errorf("%s: payload does not match any of the supported image formats (docker-archive, oci-archive, oci-dir, docker-dir): %w",
		input, define.ErrUnsupportedFormat)
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// openTar returns a tar reader over f, decompressing it if needed. An
// uncompressed file is read directly so that skipping entries seeks.
func openTar(f *os.File) (*tar.Reader, func(), error) {
	algo, decompress, r, err := compression.DetectCompressionFormat(f)
	if err != nil {
		return nil, nil, err
	}
	if decompress == nil {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, nil, err
		}
		return tar.NewReader(f), func() {}, nil
	}
	rc, err := decompress(r)
	if err != nil {
		return nil, nil, fmt.Errorf("%s decompression: %w", algo.Name(), err)
	}
	return tar.NewReader(rc), func() { closeQuietly(rc) }, nil
}

// loadOCIArchive extracts an OCI archive and loads from the layout in it.
func (e *Engine) loadOCIArchive(ctx context.Context, archive, image string, all bool, sys *types.SystemContext, report io.Writer) ([]loadedImage, error) {
	dir, err := os.MkdirTemp(e.tmpDir(), "engine-oci-")
	if err != nil {
		return nil, fmt.Errorf("create temporary directory: %w (point --tmpdir at a writable directory)", err)
	}
	defer removeTemp(dir)
	if err := extractOCIArchive(archive, dir); err != nil {
		return nil, err
	}
	return e.loadOCILayout(ctx, dir, image, all, sys, report)
}

// extractOCIArchive unpacks the (possibly compressed) tar file archive into
// dir, an empty directory. An OCI layout needs only directories and regular
// files, so every other entry type is refused; entries naming a path outside
// dir fail with define.ErrArchiveEscape. Every write goes through an os.Root
// opened on dir, so confinement does not rest on the name checks alone.
func extractOCIArchive(archive, dir string) error {
	f, err := os.Open(archive)
	if err != nil {
		return fmt.Errorf("open %s: %w", archive, err)
	}
	defer closeQuietly(f)
	tr, closeTar, err := openTar(f)
	if err != nil {
		return fmt.Errorf("%s: %w", archive, err)
	}
	defer closeTar()
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer closeQuietly(root)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", archive, err)
		}
		name := path.Clean(hdr.Name)
		if path.IsAbs(hdr.Name) || name == ".." || strings.HasPrefix(name, "../") {
			return fmt.Errorf("%s: entry %q: %w", archive, hdr.Name, define.ErrArchiveEscape)
		}
		if name == "." {
			continue
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			err = root.MkdirAll(name, 0o755)
		case tar.TypeReg:
			err = writeRootFile(root, name, tr)
		default:
			return fmt.Errorf("%s: entry %q is a %s; an OCI archive holds only directories and regular files: %w",
				archive, hdr.Name, entryKind(hdr.Typeflag), define.ErrUnsupportedFormat)
		}
		if err != nil {
			return fmt.Errorf("%s: extract %q: %w", archive, hdr.Name, err)
		}
	}
}

func entryKind(t byte) string {
	switch t {
	case tar.TypeSymlink:
		return "symbolic link"
	case tar.TypeLink:
		return "hard link"
	case tar.TypeChar, tar.TypeBlock:
		return "device"
	case tar.TypeFifo:
		return "FIFO"
	}
	return fmt.Sprintf("tar entry of type %q", t)
}

func writeRootFile(root *os.Root, name string, r io.Reader) (err error) {
	if dir := path.Dir(name); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	_, err = io.Copy(f, r)
	return err
}

// loadOCILayout copies images of the OCI layout in dir into the store:
// all of them, the one whose ref.name annotation is image (or whose index
// is N when image is "@N"), or the only one.
// Names come from the annotations (io.containerd.image.name, then
// org.opencontainers.image.ref.name), normalised as for tag: a short name
// becomes localhost/NAME.
func (e *Engine) loadOCILayout(ctx context.Context, dir, image string, all bool, sys *types.SystemContext, report io.Writer) ([]loadedImage, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	defer closeQuietly(root)
	index, err := readIndex(root, dir)
	if err != nil {
		return nil, err
	}
	reader := layout.NewReaderWithRoot(root)
	var picks []int
	for i, m := range index.Manifests {
		if all || (image == "" && len(index.Manifests) == 1) || (image != "" && m.Annotations[imgspecv1.AnnotationRefName] == image) ||
			image == "@"+strconv.Itoa(i) {
			picks = append(picks, i)
		}
	}
	switch {
	case len(picks) == 0 && image != "":
		return nil, fmt.Errorf("image %q in %s: %w", image, dir, define.ErrNoSuchImage)
	case len(picks) == 0 && len(index.Manifests) == 0:
		return nil, fmt.Errorf("%s holds no image: %w", dir, define.ErrNoSuchImage)
	case len(picks) == 0:
		return nil, fmt.Errorf("%s holds %d images: name one as oci:%s:NAME: %w", dir, len(index.Manifests), dir, define.ErrInvalidArg)
	}
	var out []loadedImage
	for _, i := range picks {
		desc := index.Manifests[i]
		src, err := reader.NewIndexReference(dir, i)
		if err != nil {
			return out, fmt.Errorf("image %d of %s: %w", i, dir, err)
		}
		var names []reference.Named
		if n := nameFromAnnotations(desc.Annotations); n != "" {
			named, err := NormalizeName(n)
			if err != nil {
				return out, fmt.Errorf("image %d of %s: %w", i, dir, err)
			}
			names = append(names, named)
		}
		id, err := e.copyIntoStore(ctx, src, names, sys, report)
		if err != nil {
			return out, fmt.Errorf("load image %d of %s: %w", i, dir, err)
		}
		out = append(out, loadedImage{ID: id, Names: namesOf(names)})
	}
	return out, nil
}

// nameFromAnnotations prefers containerd's full name over the OCI ref name,
// which Docker and BuildKit set to the bare tag.
func nameFromAnnotations(a map[string]string) string {
	if n := a["io.containerd.image.name"]; n != "" {
		return n
	}
	return a[imgspecv1.AnnotationRefName]
}

func readIndex(root *os.Root, dir string) (*imgspecv1.Index, error) {
	p := filepath.Join(dir, imgspecv1.ImageIndexFile)
	data, err := root.ReadFile(imgspecv1.ImageIndexFile)
	if err != nil {
		return nil, fmt.Errorf("%s is not an OCI layout: %w", dir, err)
	}
	var index imgspecv1.Index
	if err := json.Unmarshal(data, &index); err != nil {
		return nil, fmt.Errorf("%s: %w: %w", p, define.ErrUnsupportedFormat, err)
	}
	return &index, nil
}

// closeQuietly closes what was only read from: its close error loses nothing.
func closeQuietly(c io.Closer) { _ = c.Close() }

// removeTemp deletes a temporary file or directory the engine made.
func removeTemp(path string) {
	if err := os.RemoveAll(path); err != nil {
		logrus.Warnf("remove temporary %s: %v", path, err)
	}
}
