package libengine

import (
	"context"
	"time"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/storage"
)

// HistoryEntry is one step of an image's history, newest first.
type HistoryEntry struct {
	// ID is the ID of a local image whose top layer this step made, each
	// image given once, or "<missing>" as podman and docker print it.
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
	layer := snap.layers[img.TopLayer]
	out := make([]HistoryEntry, 0, len(steps))
	for i := len(steps) - 1; i >= 0; i-- {
		h := steps[i]
		entry := HistoryEntry{ID: "<missing>", CreatedBy: h.CreatedBy, Comment: h.Comment}
		if h.Created != nil {
			entry.Created = *h.Created
		}
		if layer != nil {
			if id := imageOfLayer(snap, img, layer.ID, used); id != "" {
				entry.ID = id
			}
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
