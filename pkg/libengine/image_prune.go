package libengine

import (
	"context"
	"errors"
	"fmt"
)

// PruneOptions select the images ImagePrune removes.
type PruneOptions struct {
	// All removes every image no container uses, not only dangling ones.
	All bool
	// Filters narrow the candidates: label=, label!=, until=.
	Filters []string
}

// PruneReport names one removed image and the size it took.
type PruneReport struct {
	ID   string
	Size int64
}

// ImagePrune removes dangling images (no name, no child image), or with
// All every image no container uses. Removing a dangling image can leave
// its untagged parent dangling, so it repeats until nothing is left to
// remove, as podman does. Images that containers use, the engine's or
// another tool's, are never removed. It returns what it removed and the
// failures joined; bad filters return define.ErrInvalidArg.
func (e *Engine) ImagePrune(ctx context.Context, opts PruneOptions) ([]PruneReport, error) {
	match, err := e.parseImageFilters(opts.Filters, imagePruneFilters)
	if err != nil {
		return nil, err
	}
	var reports []PruneReport
	var errs []error
	failed := map[string]bool{}
	for {
		snap, err := e.snapshot()
		if err != nil {
			return reports, err
		}
		removed := 0
		for i := range snap.images {
			img := &snap.images[i]
			if failed[img.ID] || snap.users[img.ID] > 0 {
				continue
			}
			if !opts.All && (len(img.Names) > 0 || snap.hasChildren(img)) {
				continue
			}
			sum, err := e.summarize(ctx, snap, img)
			if err != nil {
				return reports, err
			}
			if !match(&sum) {
				continue
			}
			if _, err := e.store.DeleteImage(img.ID, true); err != nil {
				failed[img.ID] = true
				errs = append(errs, fmt.Errorf("prune image %s: %w", img.ID, err))
				continue
			}
			e.event(ctx, "image", "remove", img.ID, img.ID, nil)
			reports = append(reports, PruneReport{ID: img.ID, Size: sum.Size})
			removed++
		}
		if removed == 0 || opts.All {
			return reports, errors.Join(errs...)
		}
	}
}
