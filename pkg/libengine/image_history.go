package libengine

import (
	"context"
	"time"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/storage"
)

// HistoryEntry is one step of an image's history, newest first.
type HistoryEntry struct {
	// ID is the ID of the local image this step made: for a build's steps
	// the image or kept step image built by it, for others an image whose
	// top layer the step made, each image given once; else "<missing>",
	// as podman and docker print it.
	ID        string    `json:"id"`
	Created   time.Time `json:"created"`
	CreatedBy string    `json:"CreatedBy"`
	// Size is the uncompressed size of the layer the step added, 0 for
	// steps that changed only the config.
	Size    int64  `json:"size"`
	Comment string `json:"comment,omitempty"`
}

// ImageHistory returns the history recorded in an image's config, newest
// first, matching the non-empty steps to the image's layers from the top.
// An image whose config records no history gets one entry per layer.
// Unknown names return define.ErrNoSuchImage.
func (e *Engine) ImageHistory(ctx context.Context, name string) ([]HistoryEntry, error) {
	img, err := e.LookupImage(name)
	if err != nil {
		return nil, err
	}
	snap, err := e.snapshot()
	if err != nil {
		return nil, err
	}
	cfg, err := e.readImageConfig(ctx, img)
	if err != nil {
		return nil, err
	}
	steps := cfg.History
	if len(steps) == 0 {
		steps = layerSteps(snap, img)
	}
	used := map[string]bool{}
	byStep := e.buildStepImages(ctx, img, len(steps))
	for _, id := range byStep {
		used[id] = true
	}
	layer := snap.layers[img.TopLayer]
	out := make([]HistoryEntry, 0, len(steps))
	for i := len(steps) - 1; i >= 0; i-- {
		h := steps[i]
		entry := HistoryEntry{ID: "<missing>", CreatedBy: h.CreatedBy, Comment: h.Comment}
		if h.Created != nil {
			entry.Created = *h.Created
		}
		if id, ok := byStep[i]; ok {
			entry.ID = id
		} else if layer != nil {
			if id := imageOfLayer(snap, img, layer.ID, used); id != "" {
				entry.ID = id
			}
		}
		if layer != nil {
			if !h.EmptyLayer {
				if entry.Size, err = e.layerSize(layer); err != nil {
					return nil, err
				}
				layer = snap.layers[layer.Parent]
			}
		}
		out = append(out, entry)
	}
	return out, nil
}

// buildStepImages maps steps of img's history (oldest first, n of them)
// to the images that ended with them: img and, down the chain of images a
// build made each from (its kept step images, then the FROM image), each
// image to the step its own history ends with, the newest image of a step
// winning (a build's label image adds none of its own).
func (e *Engine) buildStepImages(ctx context.Context, img *storage.Image, n int) map[int]string {
	out := map[int]string{}
	for cur := img; cur != nil; {
		cfg, err := e.readImageConfig(ctx, cur)
		if err != nil {
			break
		}
		if i := len(cfg.History) - 1; i >= 0 && i < n {
			if _, ok := out[i]; !ok {
				out[i] = cur.ID
			}
		}
		parent := parseBuildMeta(cur.Metadata).Parent
		if parent == "" {
			break
		}
		if cur, err = e.store.Image(parent); err != nil {
			break
		}
	}
	return out
}

// imageOfLayer returns the first image not yet used whose top layer is
// layerID, trying img itself first.
func imageOfLayer(snap *storeSnapshot, img *storage.Image, layerID string, used map[string]bool) string {
	cands := snap.byTopLayer[layerID]
	if layerID == img.TopLayer {
		cands = append([]*storage.Image{img}, cands...)
	}
	for _, c := range cands {
		if !used[c.ID] {
			used[c.ID] = true
			return c.ID
		}
	}
	return ""
}

// layerSteps invents one history step per layer, base first, dated when
// the image was stored.
func layerSteps(snap *storeSnapshot, img *storage.Image) []imgspecv1.History {
	var steps []imgspecv1.History
	created := img.Created
	for l := snap.layers[img.TopLayer]; l != nil; l = snap.layers[l.Parent] {
		steps = append([]imgspecv1.History{{Created: &created}}, steps...)
	}
	return steps
}
