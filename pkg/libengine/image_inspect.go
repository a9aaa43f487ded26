package libengine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/engine-oss/engine/pkg/libengine/define"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/storage"
)

// ImageInspect is podman's `image inspect` document for one image.
type ImageInspect struct {
	ID           string `json:"Id"`
	Digest       string
	RepoTags     []string
	RepoDigests  []string
	Parent       string
	Comment      string
	Created      *time.Time
	Config       *imgspecv1.ImageConfig
	Version      string
	Author       string
	Architecture string
	Os           string
	Size         int64
	VirtualSize  int64
	GraphDriver  GraphDriverData
	RootFS       RootFS
	Labels       map[string]string
	Annotations  map[string]string
	ManifestType string
	User         string
	History      []imgspecv1.History
	NamesHistory []string
}

// GraphDriverData names the storage driver and where the image's layers live.
type GraphDriverData struct {
	Name string
	Data map[string]string
}

// RootFS lists the image's layers by diff ID, base first.
type RootFS struct {
	Type   string
	Layers []string
}

// ImageInspect returns the inspect document of each named image, in order.
// Names that match no image are skipped and their define.ErrNoSuchImage
// errors joined into the returned error, so callers can print what was found.
func (e *Engine) ImageInspect(ctx context.Context, names []string) ([]ImageInspect, error) {
	snap, err := e.snapshot()
	if err != nil {
		return nil, err
	}
	var out []ImageInspect
	var errs []error
	for _, name := range names {
		img, err := e.LookupImage(name)
		if err == nil {
			var doc *ImageInspect
			if doc, err = e.inspectImage(ctx, snap, img); err == nil {
				out = append(out, *doc)
				continue
			}
		}
		errs = append(errs, err)
	}
	return out, errors.Join(errs...)
}

func (e *Engine) inspectImage(ctx context.Context, snap *storeSnapshot, img *storage.Image) (*ImageInspect, error) {
	cfg, err := e.readImageConfig(ctx, img)
	if err != nil {
		return nil, err
	}
	man, err := e.readImageManifest(img)
	if err != nil {
		return nil, err
	}
	size, err := e.imageSize(snap, img)
	if err != nil {
		return nil, err
	}
	gd, err := e.graphDriverData(img.TopLayer)
	if err != nil {
		return nil, err
	}
	doc := &ImageInspect{
		ID:           img.ID,
		Digest:       img.Digest.String(),
		RepoTags:     repoTags(img.Names),
		RepoDigests:  repoDigests(img),
		Parent:       snap.parent(img),
		Comment:      cfg.Comment,
		Created:      cfg.Created,
		Config:       &cfg.Config,
		Version:      cfg.DockerVersion,
		Author:       cfg.Author,
		Architecture: cfg.Architecture,
		Os:           cfg.OS,
		Size:         size,
		VirtualSize:  size,
		GraphDriver:  gd,
		RootFS:       RootFS{Type: cfg.RootFS.Type},
		Labels:       cfg.Config.Labels,
		Annotations:  man.Annotations,
		ManifestType: man.MediaType,
		User:         cfg.Config.User,
		History:      cfg.History,
		NamesHistory: img.NamesHistory,
	}
	if doc.Created == nil {
		doc.Created = &img.Created
	}
	for _, d := range cfg.RootFS.DiffIDs {
		doc.RootFS.Layers = append(doc.RootFS.Layers, d.String())
	}
	return doc, nil
}

// graphDriverData asks the driver where a layer's files are (for overlay:
// LowerDir, UpperDir, WorkDir).
func (e *Engine) graphDriverData(layerID string) (GraphDriverData, error) {
	gd := GraphDriverData{Name: e.store.GraphDriverName(), Data: map[string]string{}}
	if layerID == "" {
		return gd, nil
	}
	drv, err := e.store.GraphDriver()
	if err != nil {
		return gd, fmt.Errorf("open storage driver: %w", err)
	}
	data, err := drv.Metadata(layerID)
	if err != nil {
		return gd, fmt.Errorf("storage driver data of layer %s: %w", layerID, err)
	}
	for k, v := range data {
		if k != "MergedDir" {
			gd.Data[k] = v
		}
	}
	return gd, nil
}

// ImageExists reports whether name matches a local image. Only lookups
// that fail for another reason than define.ErrNoSuchImage (an ambiguous
// short ID, say) return an error.
func (e *Engine) ImageExists(_ context.Context, name string) (bool, error) {
	_, err := e.LookupImage(name)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, define.ErrNoSuchImage):
		return false, nil
	}
	return false, err
}
