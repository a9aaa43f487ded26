package libengine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"go.podman.io/storage"
)

// RemoveOptions tune ImageRemove.
type RemoveOptions struct {
	// Force removes images used by containers, removing those containers,
	// and removes an image named by ID together with all its tags.
	Force bool
	// All removes every image; no names may be given.
	All bool
	// Ignore skips names that match no image instead of failing.
	Ignore bool
}

// RemoveReport says what ImageRemove did to one image: the names it took
// off and, when the last name went, the ID of the deleted image.
type RemoveReport struct {
	Untagged []string
	Deleted  string
}

// ImageRemove removes images the way podman's rmi does. A name of an image
// with several names only removes that name; the last name, an ID or a
// digest removes the image. It returns a report per image it changed and
// every failure joined: define.ErrNoSuchImage for unknown names,
// define.ErrImageInUse for images containers use (without Force), and
// define.ErrImageHasManyTags for an ID of an image with several names
// (without Force).
// Removing an image a build made also removes the step images it was built
// from that nothing else uses, as podman does.
func (e *Engine) ImageRemove(ctx context.Context, names []string, opts RemoveOptions) ([]RemoveReport, error) {
	switch {
	case opts.All && len(names) > 0:
		return nil, fmt.Errorf("--all removes every image: pass no image names or IDs with it: %w", define.ErrInvalidArg)
	case !opts.All && len(names) == 0:
		return nil, fmt.Errorf("image name or ID must be specified: %w", define.ErrInvalidArg)
	}
	if opts.All {
		imgs, err := e.store.Images()
		if err != nil {
			return nil, fmt.Errorf("list images: %w", err)
		}
		for _, img := range imgs {
			names = append(names, img.ID)
		}
	}
	var reports []RemoveReport
	var errs []error
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return reports, err
		}
		img, matched, err := e.lookupImageName(name)
		if err != nil {
			if !opts.Ignore || !errors.Is(err, define.ErrNoSuchImage) {
				errs = append(errs, err)
			}
			continue
		}
		r, err := e.removeImage(ctx, img, matched, opts)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		reports = append(reports, r)
		if r.Deleted != "" && !opts.All {
			reports = append(reports, e.removeBuildParents(ctx, img)...)
		}
	}
	return reports, errors.Join(errs...)
}

// removeImage removes one image, or only the name matched when the image
// has others. matched is "" when the user named the image by ID or digest;
// --all removes each image whole, whatever its names.
func (e *Engine) removeImage(ctx context.Context, img *storage.Image, matched string, opts RemoveOptions) (RemoveReport, error) {
	if len(img.Names) > 1 && !opts.All {
		if matched != "" {
			if err := e.store.RemoveNames(img.ID, []string{matched}); err != nil {
				return RemoveReport{}, fmt.Errorf("untag %s: %w", matched, err)
			}
			e.imageEvents(ctx, "untag", img.ID, []string{matched})
			return RemoveReport{Untagged: []string{matched}}, nil
		}
		if !opts.Force {
			return RemoveReport{}, fmt.Errorf("unable to delete image %q by ID: %w (%s): remove it with --force or remove its tags one by one",
				img.ID, define.ErrImageHasManyTags, strings.Join(img.Names, ", "))
		}
	}
	users, err := e.imageUsers(img.ID)
	if err != nil {
		return RemoveReport{}, err
	}
	if len(users) > 0 {
		if !opts.Force {
			return RemoveReport{}, fmt.Errorf("image %s is used by container %s: %w: remove the container first, or pass --force to remove both",
				shortID(img.ID), shortID(users[0]), define.ErrImageInUse)
		}
		if err := e.removeImageUsers(ctx, users); err != nil {
			return RemoveReport{}, err
		}
	}
	if _, err := e.store.DeleteImage(img.ID, true); err != nil {
		if errors.Is(err, storage.ErrImageUsedByContainer) {
			return RemoveReport{}, fmt.Errorf("image %s: %w: %w", shortID(img.ID), define.ErrImageInUse, err)
		}
		return RemoveReport{}, fmt.Errorf("delete image %s: %w", img.ID, err)
	}
	e.imageEvents(ctx, "untag", img.ID, img.Names)
	e.event(ctx, "image", "remove", img.ID, img.ID, nil)
	return RemoveReport{Untagged: img.Names, Deleted: img.ID}, nil
}

// imageUsers lists the IDs of the store's containers built on an image.
func (e *Engine) imageUsers(imageID string) ([]string, error) {
	ctrs, err := e.store.Containers()
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	var ids []string
	for _, c := range ctrs {
		if c.ImageID == imageID {
			ids = append(ids, c.ID)
		}
	}
	return ids, nil
}

// removeImageUsers deletes the containers built on an image, for a forced
// removal: the engine's own through their life cycle (stopped first), and
// other tools' (buildah's working containers, say) by their storage alone.
func (e *Engine) removeImageUsers(ctx context.Context, ids []string) error {
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := e.db.Container(ctx, id); err == nil {
			reps, err := e.ContainerRemove(ctx, []string{id}, ContainerRemoveOptions{Force: true})
			if err != nil {
				return err
			}
			if reps[0].Err != nil {
				return fmt.Errorf("remove container %s using the image: %w", shortID(id), reps[0].Err)
			}
			continue
		}
		if err := e.store.DeleteContainer(id); err != nil && !errors.Is(err, storage.ErrContainerUnknown) {
			return fmt.Errorf("remove container %s using the image: %w", shortID(id), err)
		}
	}
	return nil
}

// shortID is the 12-character form of an ID.
func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
