package libengine

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/engine-oss/engine/pkg/libengine/define"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/tarball"
)

// ImportOptions configure ImageImport.
type ImportOptions struct {
	// Reference names the image; a short name becomes localhost/NAME:latest.
	// Empty leaves the image without a name.
	Reference string
	// Changes are Dockerfile-style instructions applied to the config; see
	// ApplyChanges.
	Changes []string
	// Message is the comment of the image's history entry.
	Message string
	// OS, Arch and Variant default to the host's.
	OS, Arch, Variant string
	// Stdin is read when the source is "-".
	Stdin io.Reader
	// ReportWriter receives progress; nil discards it.
	ReportWriter io.Writer
}

// ImageImport creates a one-layer image from a tarball of a root filesystem
// (uncompressed, gzip, zstd, bzip2 or xz) and returns its ID. source is a
// file path or "-" for opts.Stdin. Nothing is extracted on the host: the
// tarball is applied as a layer by the store, which confines every entry to
// the layer.
//
// Errors wrap define.ErrInvalidArg for a bad name or change.
func (e *Engine) ImageImport(ctx context.Context, source string, opts ImportOptions) (string, error) {
	cfg := imgspecv1.ImageConfig{}
	if err := ApplyChanges(&cfg, opts.Changes); err != nil {
		return "", err
	}
	var names []reference.Named
	if opts.Reference != "" {
		named, err := NormalizeName(opts.Reference)
		if err != nil {
			return "", fmt.Errorf("%w: %w", define.ErrInvalidArg, err)
		}
		names = append(names, named)
	}
	if strings.HasPrefix(source, "http://") || strings.HasPrefix(source, "https://") {
		return "", fmt.Errorf("import from %s: URLs are not supported: download the tarball and import the file: %w", source, define.ErrNotImplemented)
	}
	path := source
	if source == "-" {
		if opts.Stdin == nil {
			return "", fmt.Errorf("import from standard input: no input: %w", define.ErrInvalidArg)
		}
		tmp, err := e.spoolToFile(opts.Stdin, "engine-import-")
		if err != nil {
			return "", err
		}
		defer removeTemp(tmp)
		path = tmp
	}
	display := source
	if source == "-" {
		display = "standard input"
	}
	if err := checkTarball(path, display); err != nil {
		return "", err
	}
	now := time.Now().UTC()
	image := imgspecv1.Image{
		Created: &now,
		Platform: imgspecv1.Platform{
			OS:           firstNonEmpty(opts.OS, runtime.GOOS),
			Architecture: firstNonEmpty(opts.Arch, runtime.GOARCH),
			Variant:      opts.Variant,
		},
		Config:  cfg,
		History: []imgspecv1.History{{Created: &now, Comment: opts.Message}},
	}
	id, err := e.imageFromTarball(ctx, path, image, names, opts.ReportWriter)
	if err != nil {
		return "", fmt.Errorf("import %s: %w", source, err)
	}
	e.event(ctx, "image", "import", id, display, nil)
	return id, nil
}

// imageFromTarball stores a one-layer image: the root filesystem in the
// tarball at path, with image's config and history, named names. It
// returns the image's ID.
func (e *Engine) imageFromTarball(ctx context.Context, path string, image imgspecv1.Image, names []reference.Named, report io.Writer) (string, error) {
	src, err := tarball.NewReference([]string{path}, nil)
	if err != nil {
		return "", err
	}
	updater, ok := src.(tarball.ConfigUpdater)
	if !ok {
		return "", fmt.Errorf("tarball reference cannot take a config: %w", define.ErrNotImplemented)
	}
	if err := updater.ConfigUpdate(image, nil); err != nil {
		return "", err
	}
	sys, err := e.systemContext(RegistryOptions{})
	if err != nil {
		return "", err
	}
	return e.copyIntoStore(ctx, src, names, sys, report)
}

// checkTarball fails unless path starts with a tar header, possibly
// compressed, so that a wrong file gets a clear error instead of a failed
// layer. display names the source in errors.
func checkTarball(path, display string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("import %s: %w", display, err)
	}
	defer closeQuietly(f)
	tr, closeTar, err := openTar(f)
	if err == nil {
		defer closeTar()
		_, err = tr.Next()
	}
	if err != nil {
		return fmt.Errorf("import %s: not a tar archive (plain or compressed): %w: %w", display, define.ErrUnsupportedFormat, err)
	}
	return nil
}
