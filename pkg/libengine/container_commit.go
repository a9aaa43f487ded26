package libengine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/specgen"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sirupsen/logrus"
	"go.podman.io/image/v5/manifest"
	"go.podman.io/storage"
	"go.podman.io/storage/pkg/archive"
	"golang.org/x/sys/unix"
)

// Image formats commit writes.
const (
	FormatOCI    = "oci"
	FormatDocker = "docker"
)

// CommitOptions configure ContainerCommit.
type CommitOptions struct {
	// Reference names the image; a short name becomes localhost/NAME:latest.
	// Empty leaves the image without a name.
	Reference string
	// Author is recorded in the config and the new history entry.
	Author string
	// Message is the comment of the new history entry.
	Message string
	// Changes are Dockerfile-style instructions applied to the config last;
	// see ApplyChanges.
	Changes []string
	// Pause freezes a running container while its layer is read.
	Pause bool
	// Format is FormatOCI (the default) or FormatDocker.
	Format string
}

// ContainerCommit makes an image of a container: its image's layers plus one
// holding the container's changes, and its image's config updated with the
// container's environment, command, entrypoint, working directory, user,
// labels and stop signal, then with opts.Changes. It returns the new image's
// ID. Errors wrap define.ErrNoSuchContainer, define.ErrNoSuchImage when the
// container's image is gone, and define.ErrInvalidArg for a bad name,
// format or change.
func (e *Engine) ContainerCommit(ctx context.Context, name string, opts CommitOptions) (string, error) {
	if opts.Format == "" {
		opts.Format = FormatOCI
	}
	if opts.Format != FormatOCI && opts.Format != FormatDocker {
		return "", fmt.Errorf("--format %q: use oci or docker: %w", opts.Format, define.ErrInvalidArg)
	}
	var names []string
	if opts.Reference != "" {
		named, err := NormalizeName(opts.Reference)
		if err != nil {
			return "", fmt.Errorf("%w: %w", define.ErrInvalidArg, err)
		}
		names = append(names, named.String())
	}
	var id string
	err := e.withCtr(ctx, name, func(c *ctr) error {
		if opts.Pause && c.State.Status == define.StatusRunning {
			if err := e.setPaused(ctx, c, true, false); err != nil {
				return err
			}
			defer func() {
				if err := e.setPaused(context.WithoutCancel(ctx), c, false, false); err != nil {
					logrus.Warnf("unpause %s after commit: %v", c.Name, err)
				}
			}()
		}
		var err error
		if id, err = e.commitLocked(ctx, c, opts); err != nil {
			return err
		}
		if len(names) > 0 {
			if err := e.store.AddNames(id, names); err != nil {
				return fmt.Errorf("name image %s: %w", shortID(id), err)
			}
		}
		e.ctrEvent(ctx, c.Container, "commit", nil)
		return nil
	})
	return id, err
}

func (e *Engine) commitLocked(ctx context.Context, c *ctr, opts CommitOptions) (string, error) {
	img, err := e.store.Image(c.ImageID)
	if err != nil {
		return "", fmt.Errorf("image %s of container %s: %w", shortID(c.ImageID), c.Name, define.ErrNoSuchImage)
	}
	base, err := e.readImageConfig(ctx, img)
	if err != nil {
		return "", err
	}
	cfg := commitConfig(base.Config, c.cfg.Spec)
	if err := ApplyChanges(&cfg, opts.Changes); err != nil {
		return "", err
	}
	sc, err := e.store.Container(c.ID)
	if err != nil {
		return "", fmt.Errorf("container %s: %w", c.Name, err)
	}
	now := time.Now().UTC()
	out := &imageConfig{Image: base.Image}
	out.Created, out.Author, out.Config = &now, opts.Author, cfg
	out.History = append(slices.Clone(base.History), imgspecv1.History{
		Created: &now, CreatedBy: strings.Join(c.Command, " "), Author: opts.Author, Comment: opts.Message,
	})
	if opts.Format == FormatDocker {
		out.Comment = opts.Message
	}
	id, err := e.commitLayer(sc.LayerID, img.TopLayer, newImage{Config: out, Format: opts.Format, Created: now})
	if err != nil {
		return "", fmt.Errorf("commit %s: %w", c.Name, err)
	}
	return id, nil
}

// commitLayer stores the changes in the read-write layer rwLayer (a
// container's) as a new layer on top of parent ("" for none) and records
// an image of it; commit and build's RUN share it. Nothing is left behind
// when it fails.
func (e *Engine) commitLayer(rwLayer, parent string, img newImage) (string, error) {
	diff, err := e.spoolDiff(rwLayer)
	if err != nil {
		return "", fmt.Errorf("read the changes: %w", err)
	}
	defer removeTemp(diff.Name())
	defer closeQuietly(diff)
	return e.layerImage(parent, diff, img)
}

// layerImage applies diff, an uncompressed layer tar stream, as a new
// layer on top of parent ("" for none) and records an image of it. The
// layer is removed again when the image cannot be created.
func (e *Engine) layerImage(parent string, diff io.Reader, img newImage) (string, error) {
	// A failed pull removes the layers it added that no image uses: keep
	// it from taking ours before the image exists.
	lock, err := e.transferLock()
	if err != nil {
		return "", err
	}
	lock.RLock()
	defer lock.Unlock()
	layer, _, err := e.store.PutLayer("", parent, nil, "", false, nil, diff)
	if err != nil {
		return "", fmt.Errorf("store the changes as a layer: %w", err)
	}
	id, err := e.createImage(layer.ID, img)
	if err != nil {
		if derr := e.store.DeleteLayer(layer.ID); derr != nil {
			logrus.Warnf("remove layer %s of an image that could not be created: %v", shortID(layer.ID), derr)
		}
		return "", err
	}
	return id, nil
}

// spoolDiff writes a layer's changes to a temporary file, open at its
// start: the store stays locked while its diff is read, so it cannot take
// a new layer from it directly.
func (e *Engine) spoolDiff(layerID string) (_ *os.File, err error) {
	uncompressed := archive.Uncompressed
	rc, err := e.store.Diff("", layerID, &storage.DiffOptions{Compression: &uncompressed})
	if err != nil {
		return nil, err
	}
	defer closeQuietly(rc)
	f, err := os.CreateTemp(e.tmpDir(), "engine-commit-")
	if err != nil {
		return nil, fmt.Errorf("create temporary file: %w (point --tmpdir at a writable directory)", err)
	}
	if _, err = io.Copy(f, rc); err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		closeQuietly(f)
		removeTemp(f.Name())
		return nil, err
	}
	return f, nil
}

// commitConfig is an image's config updated with what the container was
// created with, as podman commits it.
func commitConfig(img imgspecv1.ImageConfig, s *specgen.SpecGenerator) imgspecv1.ImageConfig {
	cfg := img
	cfg.Env = slices.Clone(img.Env)
	for _, k := range slices.Sorted(maps.Keys(s.Env)) {
		cfg.Env = setEnv(cfg.Env, k, s.Env[k])
	}
	if s.Entrypoint != nil {
		cfg.Entrypoint = slices.Clone(*s.Entrypoint)
		if len(cfg.Entrypoint) == 1 && cfg.Entrypoint[0] == "" {
			cfg.Entrypoint = nil
		}
		cfg.Cmd = nil // as run: a new entrypoint drops the image's command
	}
	if len(s.Command) > 0 {
		cfg.Cmd = slices.Clone(s.Command)
	}
	cfg.WorkingDir = firstNonEmpty(s.WorkDir, img.WorkingDir)
	cfg.User = firstNonEmpty(s.User, img.User)
	if len(s.Labels) > 0 {
		cfg.Labels = maps.Clone(img.Labels)
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		maps.Copy(cfg.Labels, s.Labels)
	}
	if s.StopSignal != 0 {
		cfg.StopSignal = unix.SignalName(s.StopSignal)
	}
	return cfg
}

// newImage is an image for createImage to record.
type newImage struct {
	// Config is the image's config; createImage fills in its rootfs.
	Config *imageConfig
	// Docker holds the config fields only Docker's schema defines
	// (HEALTHCHECK, ONBUILD, SHELL). Build records them in either format,
	// as BuildKit does.
	Docker dockerspec.DockerOCIImageConfigExt
	// Format is FormatOCI or FormatDocker.
	Format  string
	Created time.Time
	// Annotations are written into an OCI manifest.
	Annotations map[string]string
	// Metadata is kept as the store's metadata of the image.
	Metadata string
}

// dockerImageConfig is an image config with Docker's extra config fields.
type dockerImageConfig struct {
	dockerspec.DockerOCIImage
	Comment       string `json:"comment,omitempty"`
	DockerVersion string `json:"docker_version,omitempty"`
}

// createImage records an image whose top layer is top ("" for an image
// without layers), with a manifest of img.Format listing the layers
// uncompressed, as the storage transport serves them. The image's ID is
// its config's digest.
func (e *Engine) createImage(top string, img newImage) (string, error) {
	var layers []*storage.Layer
	for id := top; id != ""; {
		l, err := e.store.Layer(id)
		if err != nil {
			return "", fmt.Errorf("layer %s: %w", id, err)
		}
		if l.UncompressedDigest == "" {
			return "", fmt.Errorf("layer %s has no recorded digest: %w", id, define.ErrUnsupportedFormat)
		}
		layers = append([]*storage.Layer{l}, layers...)
		id = l.Parent
	}
	cfg := img.Config
	cfg.RootFS = imgspecv1.RootFS{Type: "layers"}
	for _, l := range layers {
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, l.UncompressedDigest)
	}
	var cfgBlob []byte
	var err error
	if img.Docker.Healthcheck == nil && img.Docker.OnBuild == nil && img.Docker.Shell == nil {
		cfgBlob, err = json.Marshal(cfg)
	} else {
		full := dockerImageConfig{Comment: cfg.Comment, DockerVersion: cfg.DockerVersion}
		full.Image = cfg.Image
		full.Config = dockerspec.DockerOCIImageConfig{ImageConfig: cfg.Config, DockerOCIImageConfigExt: img.Docker}
		cfgBlob, err = json.Marshal(full)
	}
	if err != nil {
		return "", fmt.Errorf("encode image config: %w", err)
	}
	cfgDigest := digest.FromBytes(cfgBlob)
	var man []byte
	if img.Format == FormatDocker {
		descs := make([]manifest.Schema2Descriptor, len(layers))
		for i, l := range layers {
			descs[i] = manifest.Schema2Descriptor{MediaType: manifest.DockerV2SchemaLayerMediaTypeUncompressed, Digest: l.UncompressedDigest, Size: l.UncompressedSize}
		}
		man, err = manifest.Schema2FromComponents(manifest.Schema2Descriptor{
			MediaType: manifest.DockerV2Schema2ConfigMediaType, Digest: cfgDigest, Size: int64(len(cfgBlob)),
		}, descs).Serialize()
	} else {
		descs := make([]imgspecv1.Descriptor, len(layers))
		for i, l := range layers {
			descs[i] = imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageLayer, Digest: l.UncompressedDigest, Size: l.UncompressedSize}
		}
		oci := manifest.OCI1FromComponents(imgspecv1.Descriptor{
			MediaType: imgspecv1.MediaTypeImageConfig, Digest: cfgDigest, Size: int64(len(cfgBlob)),
		}, descs)
		oci.Annotations = img.Annotations
		man, err = oci.Serialize()
	}
	if err != nil {
		return "", fmt.Errorf("encode image manifest: %w", err)
	}
	manDigest := digest.FromBytes(man)
	stored, err := e.store.CreateImage(cfgDigest.Encoded(), nil, top, img.Metadata, &storage.ImageOptions{
		CreationDate: img.Created,
		Digest:       manDigest,
		BigData: []storage.ImageBigDataOption{
			{Key: cfgDigest.String(), Data: cfgBlob, Digest: cfgDigest},
			{Key: manifestKey(manDigest), Data: man, Digest: manDigest},
			{Key: manifestFallbackKey, Data: man, Digest: manDigest},
		},
	})
	if err != nil {
		return "", fmt.Errorf("create image: %w", err)
	}
	return stored.ID, nil
}
