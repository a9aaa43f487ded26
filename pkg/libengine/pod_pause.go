package libengine

import (
	"archive/tar"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"time"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/libengine/lock"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/docker/reference"
)

// catatonitPaths are where distributions install catatonit, the pause
// process of the pause image (the paths podman looks at, in its order).
var catatonitPaths = []string{"/usr/libexec/podman/catatonit", "/usr/bin/catatonit", "/usr/libexec/catatonit/catatonit", "/usr/local/bin/catatonit"}

var notTagChars = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// PauseImageName is the image infra containers run unless pod create
// says otherwise: one layer holding a static catatonit at /catatonit,
// with the entrypoint ["/catatonit", "-P"]. The engine builds it locally
// the first time a pod needs it, so pods need no registry.
func PauseImageName() string { return pauseImageName(Version) }

// pauseImageName tags the pause image with the engine's version, made a
// valid tag.
func pauseImageName(version string) string {
	tag := notTagChars.ReplaceAllString(version, "-")
	if tag == "" || tag[0] == '.' || tag[0] == '-' {
		tag = "v" + tag
	}
	return "localhost/engine-pause:" + tag
}

// pauseImage returns the ID of the pause image, building it if it is
// missing. A lock keeps concurrent invocations from building it twice.
func (e *Engine) pauseImage(ctx context.Context) (string, error) {
	name := PauseImageName()
	img, err := e.LookupImage(name)
	if err == nil {
		return img.ID, nil
	}
	if !errors.Is(err, define.ErrNoSuchImage) {
		return "", err
	}
	l, err := lock.Acquire(filepath.Join(e.store.RunRoot(), "locks", "pause-image"))
	if err != nil {
		return "", err
	}
	defer l.Release()
	if img, err := e.LookupImage(name); err == nil {
		return img.ID, nil
	}
	bin, err := findStaticCatatonit()
	if err != nil {
		return "", err
	}
	layer, err := e.pauseLayer(bin)
	if err != nil {
		return "", err
	}
	defer removeTemp(layer)
	named, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return "", fmt.Errorf("pause image name %s: %w", name, err)
	}
	now := time.Now().UTC()
	image := imgspecv1.Image{
		Created:  &now,
		Platform: imgspecv1.Platform{OS: runtime.GOOS, Architecture: runtime.GOARCH},
		Config:   imgspecv1.ImageConfig{Entrypoint: []string{"/catatonit", "-P"}},
		History:  []imgspecv1.History{{Created: &now, CreatedBy: "engine: catatonit from " + bin, Comment: "pause image of pod infra containers"}},
	}
	id, err := e.imageFromTarball(ctx, layer, image, []reference.Named{named}, nil)
	if err != nil {
		return "", fmt.Errorf("build the pause image %s: %w", name, err)
	}
	e.event(ctx, "image", "build", id, name, nil)
	return id, nil
}

// findStaticCatatonit returns the first catatonit installed that needs no
// shared libraries, as it runs alone in the pause image.
func findStaticCatatonit() (string, error) {
	dynamic := ""
	for _, p := range catatonitPaths {
		f, err := elf.Open(p)
		if err != nil {
			continue
		}
		static := true
		for _, prog := range f.Progs {
			if prog.Type == elf.PT_INTERP {
				static = false
			}
		}
		_ = f.Close()
		if static {
			return p, nil
		}
		dynamic = p
	}
	if dynamic != "" {
		return "", fmt.Errorf("%s is linked dynamically and cannot run alone in the pause image: install a static catatonit (Debian's catatonit package is one), or give pod create --infra-image: %w", dynamic, define.ErrNotImplemented)
	}
	return "", fmt.Errorf("catatonit, the pause process of pods, is not installed (looked in %v): install it (apt-get install catatonit), or give pod create --infra-image: %w", catatonitPaths, define.ErrNotImplemented)
}

// pauseLayer writes a temporary tarball holding bin as /catatonit and
// returns its path.
func (e *Engine) pauseLayer(bin string) (path string, err error) {
	data, err := os.ReadFile(bin)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", bin, err)
	}
	f, err := os.CreateTemp(e.tmpDir(), "engine-pause-")
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
	tw := tar.NewWriter(f)
	hdr := &tar.Header{Name: "catatonit", Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}
	if err := tw.WriteHeader(hdr); err != nil {
		return "", fmt.Errorf("pause layer: %w", err)
	}
	if _, err := tw.Write(data); err != nil {
		return "", fmt.Errorf("pause layer: %w", err)
	}
	if err := tw.Close(); err != nil {
		return "", fmt.Errorf("pause layer: %w", err)
	}
	return f.Name(), nil
}
