package libengine

import (
	"context"
	"fmt"
	"slices"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"go.podman.io/image/v5/docker/reference"
)

// ImageTag adds names to the image name refers to. Short names become
// localhost/NAME and a missing tag becomes latest, as NormalizeName says;
// a name another image had moves to this one. Names with a digest return
// define.ErrInvalidArg, an unknown image define.ErrNoSuchImage.
func (e *Engine) ImageTag(ctx context.Context, name string, tags []string) error {
	if len(tags) == 0 {
		return fmt.Errorf("no new name for %s: %w", name, define.ErrInvalidArg)
	}
	img, err := e.LookupImage(name)
	if err != nil {
		return err
	}
	names, err := normalizeTags(tags)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := e.store.AddNames(img.ID, names); err != nil {
		return fmt.Errorf("tag image %s: %w", img.ID, err)
	}
	e.imageEvents(ctx, "tag", img.ID, names)
	return nil
}

// ImageUntag removes names from the image name refers to; no tags removes
// all of them, leaving the image as <none>. A tag the image does not have
// returns define.ErrNoSuchTag and removes nothing.
func (e *Engine) ImageUntag(ctx context.Context, name string, tags []string) error {
	img, err := e.LookupImage(name)
	if err != nil {
		return err
	}
	names := img.Names
	if len(tags) > 0 {
		if names, err = normalizeTags(tags); err != nil {
			return err
		}
		for _, n := range names {
			if !slices.Contains(img.Names, n) {
				return fmt.Errorf("%s: %w", n, define.ErrNoSuchTag)
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := e.store.RemoveNames(img.ID, names); err != nil {
		return fmt.Errorf("untag image %s: %w", img.ID, err)
	}
	e.imageEvents(ctx, "untag", img.ID, names)
	return nil
}

// normalizeTags turns user names into stored ones, refusing digests.
func normalizeTags(tags []string) ([]string, error) {
	names := make([]string, 0, len(tags))
	for _, t := range tags {
		named, err := NormalizeName(t)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", err, define.ErrInvalidArg)
		}
		if _, ok := named.(reference.Digested); ok {
			return nil, fmt.Errorf("%s: a tag cannot contain a digest: %w", t, define.ErrInvalidArg)
		}
		names = append(names, named.String())
	}
	return names, nil
}
