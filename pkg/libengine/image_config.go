package libengine

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/manifest"
	istorage "go.podman.io/image/v5/storage"
	"go.podman.io/storage"
)

// imageConfig is an image's config blob: the OCI fields plus the two that
// only Docker's format carries and podman reports.
type imageConfig struct {
	imgspecv1.Image
	Comment       string `json:"comment,omitempty"`
	DockerVersion string `json:"docker_version,omitempty"`
}

// manifestKey is the big-data key under which the storage transport keeps a
// manifest, and manifestFallbackKey the one older writers used.
const manifestFallbackKey = storage.ImageDigestBigDataKey

func manifestKey(d digest.Digest) string { return "manifest-" + d.String() }

// configKey returns the big-data key holding the image's config blob. The
// storage transport files the config under its digest, the only key that
// parses as one; images without such a key (schema 1) return "".
func configKey(img *storage.Image) string {
	for _, name := range img.BigDataNames {
		if strings.HasPrefix(name, "sha256:") && digest.Digest(name).Validate() == nil {
			return name
		}
	}
	return ""
}

// readImageConfig returns the image's config. It reads the config blob from
// the store's big data, the fast path list takes for every image; images
// without one (Docker schema 1) are converted through containers/image.
func (e *Engine) readImageConfig(ctx context.Context, img *storage.Image) (*imageConfig, error) {
	key := configKey(img)
	if key == "" {
		return e.convertedImageConfig(ctx, img)
	}
	blob, err := e.store.ImageBigData(img.ID, key)
	if err != nil {
		return nil, fmt.Errorf("read config of image %s: %w", img.ID, err)
	}
	cfg := &imageConfig{}
	if err := json.Unmarshal(blob, cfg); err != nil {
		return nil, fmt.Errorf("parse config of image %s: %w", img.ID, err)
	}
	return cfg, nil
}

// convertedImageConfig builds an OCI config for a schema 1 image the slow
// way: opening it through the storage transport.
func (e *Engine) convertedImageConfig(ctx context.Context, img *storage.Image) (*imageConfig, error) {
	ref, err := istorage.Transport.NewStoreReference(e.store, nil, img.ID)
	if err != nil {
		return nil, fmt.Errorf("reference image %s: %w", img.ID, err)
	}
	sys, err := e.systemContext(RegistryOptions{})
	if err != nil {
		return nil, err
	}
	src, err := ref.NewImage(ctx, sys)
	if err != nil {
		return nil, fmt.Errorf("open image %s: %w", img.ID, err)
	}
	defer func() { _ = src.Close() }() // a read-only source has nothing to flush
	oci, err := src.OCIConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("read config of image %s: %w", img.ID, err)
	}
	return &imageConfig{Image: *oci}, nil
}

// imageManifest is the part of an image's manifest that inspect reports.
type imageManifest struct {
	MediaType   string
	Annotations map[string]string
}

// readImageManifest reads the manifest the image was stored with. Pulls of
// a list record the list too; the image's own manifest is the one under
// its Digest, or the legacy key when an old writer stored it.
func (e *Engine) readImageManifest(img *storage.Image) (*imageManifest, error) {
	var blob []byte
	var err error
	keys := []string{manifestFallbackKey}
	if img.Digest != "" {
		keys = []string{manifestKey(img.Digest), manifestFallbackKey}
	}
	for _, k := range keys {
		if blob, err = e.store.ImageBigData(img.ID, k); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("read manifest of image %s: %w", img.ID, err)
	}
	m := &imageManifest{MediaType: manifest.GuessMIMEType(blob)}
	var fields struct {
		Annotations map[string]string `json:"annotations"`
	}
	if err := json.Unmarshal(blob, &fields); err != nil {
		return nil, fmt.Errorf("parse manifest of image %s: %w", img.ID, err)
	}
	m.Annotations = fields.Annotations
	return m, nil
}

// repoDigests pairs each of the image's repositories with each digest it was
// stored under, as "repo@sha256:…", without duplicates.
func repoDigests(img *storage.Image) []string {
	digests := img.Digests
	if img.Digest != "" {
		digests = append([]digest.Digest{img.Digest}, digests...)
	}
	seen := map[string]bool{}
	out := []string{}
	for _, name := range img.Names {
		repo := repositoryOf(name)
		for _, d := range digests {
			rd := repo + "@" + d.String()
			if !seen[rd] {
				seen[rd] = true
				out = append(out, rd)
			}
		}
	}
	return out
}

// repositoryOf strips the tag or digest from a stored name.
func repositoryOf(name string) string {
	if i := strings.IndexByte(name, '@'); i >= 0 {
		name = name[:i]
	}
	if i := strings.LastIndexByte(name, ':'); i > strings.LastIndexByte(name, '/') {
		name = name[:i]
	}
	return name
}

// splitName splits a stored name into the repository and tag columns podman
// shows; a name stored by digest has tag "<none>".
func splitName(name string) (repo, tag string) {
	repo = repositoryOf(name)
	tag = "<none>"
	rest := strings.TrimPrefix(name, repo)
	if t, ok := strings.CutPrefix(rest, ":"); ok && t != "" {
		tag = t
	}
	return repo, tag
}
