package libengine

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/sirupsen/logrus"
	"go.podman.io/storage"
)

// ImageListOptions select the images ImageList returns.
type ImageListOptions struct {
	// All includes intermediate images: untagged parents of other images.
	All bool
	// Filters are "key=value" or "key!=value" strings; see ParseImageFilters.
	Filters []string
}

// ImageSummary is one row of `images`: an image under one of its names.
// Its JSON is podman's. An image with two names gives two rows that differ
// only in Repository and Tag; an image without names gives one <none> row.
type ImageSummary struct {
	ID          string `json:"Id"`
	ParentID    string `json:"ParentId"`
	RepoTags    []string
	RepoDigests []string
	Size        int64
	SharedSize  int64
	VirtualSize int64
	Labels      map[string]string
	Containers  int
	Dangling    bool     `json:",omitempty"`
	Names       []string `json:",omitempty"`
	Digest      string   `json:",omitempty"`
	Digests     []string `json:",omitempty"`
	// History lists the names the image had, newest first.
	History []string `json:",omitempty"`
	// Created is in seconds since the epoch; CreatedAt is the same instant
	// in RFC 3339.
	Created   int64
	CreatedAt string
	// Repository and Tag are the row's name split as podman's table shows it:
	// "<none>" where the image has no name or was named by digest.
	Repository string `json:"-"`
	Tag        string `json:"-"`
	// name is the stored name behind Repository and Tag ("" for <none>).
	name string
	// intermediate marks an untagged parent of another image.
	intermediate bool
}

// ImageList returns one summary per image and name, filtered. It reads the
// store once (images, layers, containers) and each image's config blob,
// never opening images through containers/image, so listing stays fast
// with hundreds of images. Invalid filters return define.ErrInvalidArg.
func (e *Engine) ImageList(ctx context.Context, opts ImageListOptions) ([]ImageSummary, error) {
	snap, err := e.snapshot()
	if err != nil {
		return nil, err
	}
	match, err := e.parseImageFilters(opts.Filters, imageListFilters)
	if err != nil {
		return nil, err
	}
	var rows []ImageSummary
	for i := range snap.images {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		img := &snap.images[i]
		sum, err := e.summarize(ctx, snap, img)
		if err != nil {
			return nil, err
		}
		if sum.intermediate && !opts.All {
			continue
		}
		for _, row := range imageRows(sum) {
			if match(&row) {
				rows = append(rows, row)
			}
		}
	}
	return rows, nil
}

// summarize fills an image's summary without its per-name columns. An
// image whose config cannot be read is still listed, without labels, so
// that the user can see and remove it.
func (e *Engine) summarize(ctx context.Context, snap *storeSnapshot, img *storage.Image) (ImageSummary, error) {
	cfg, err := e.readImageConfig(ctx, img)
	if err != nil {
		if ctx.Err() != nil {
			return ImageSummary{}, ctx.Err()
		}
		logrus.Warnf("%v (remove the image with: engine rmi %s)", err, shortID(img.ID))
		cfg = &imageConfig{}
	}
	created := img.Created
	if created.IsZero() && cfg.Created != nil {
		created = *cfg.Created
	}
	size, err := e.imageSize(snap, img)
	if err != nil {
		return ImageSummary{}, err
	}
	hasChildren := snap.hasChildren(img)
	sum := ImageSummary{
		ID:           img.ID,
		ParentID:     snap.parent(img),
		RepoTags:     repoTags(img.Names),
		RepoDigests:  repoDigests(img),
		Size:         size,
		VirtualSize:  size,
		Labels:       cfg.Config.Labels,
		Containers:   snap.users[img.ID],
		Dangling:     len(img.Names) == 0 && !hasChildren,
		Names:        img.Names,
		Digest:       img.Digest.String(),
		History:      img.NamesHistory,
		Created:      created.Unix(),
		CreatedAt:    created.UTC().Format(time.RFC3339),
		intermediate: len(img.Names) == 0 && hasChildren,
	}
	for _, d := range img.Digests {
		sum.Digests = append(sum.Digests, d.String())
	}
	return sum, nil
}

// repoTags keeps the names that carry a tag.
func repoTags(names []string) []string {
	tags := []string{}
	for _, n := range names {
		if _, tag := splitName(n); tag != "<none>" {
			tags = append(tags, n)
		}
	}
	return tags
}

// imageRows expands a summary into its table rows: one per tagged name, or
// one per digest-only name when the image has no tag, or one <none> row.
func imageRows(sum ImageSummary) []ImageSummary {
	var tagged, untagged []ImageSummary
	for _, n := range sum.Names {
		row := sum
		row.name = n
		row.Repository, row.Tag = splitName(n)
		if row.Tag == "<none>" {
			untagged = append(untagged, row)
		} else {
			tagged = append(tagged, row)
		}
	}
	switch {
	case len(tagged) > 0:
		return tagged
	case len(untagged) > 0:
		return untagged[:1]
	}
	sum.Repository, sum.Tag = "<none>", "<none>"
	return []ImageSummary{sum}
}

// storeSnapshot is the store's images, layers and containers, read under
// one lock, with the indexes list, inspect, history and prune share.
type storeSnapshot struct {
	images []storage.Image
	layers map[string]*storage.Layer
	// users counts the storage containers of each image ID.
	users map[string]int
	// byTopLayer lists the images whose top layer is the key.
	byTopLayer map[string][]*storage.Image
	// parentLayers holds every layer that is the parent of an image's top layer.
	parentLayers map[string]bool
	// buildParents holds the images a build made another image from.
	buildParents map[string]bool
}

func (e *Engine) snapshot() (*storeSnapshot, error) {
	res, err := e.store.MultiList(storage.MultiListOptions{Images: true, Layers: true, Containers: true})
	if err != nil {
		return nil, fmt.Errorf("list store: %w", err)
	}
	s := &storeSnapshot{
		images:       res.Images,
		layers:       make(map[string]*storage.Layer, len(res.Layers)),
		users:        map[string]int{},
		byTopLayer:   map[string][]*storage.Image{},
		parentLayers: map[string]bool{},
		buildParents: map[string]bool{},
	}
	for i := range res.Layers {
		s.layers[res.Layers[i].ID] = &res.Layers[i]
	}
	for _, c := range res.Containers {
		s.users[c.ImageID]++
	}
	for i := range s.images {
		img := &s.images[i]
		if p := parseBuildMeta(img.Metadata).Parent; p != "" {
			s.buildParents[p] = true
		}
		if img.TopLayer == "" {
			continue
		}
		s.byTopLayer[img.TopLayer] = append(s.byTopLayer[img.TopLayer], img)
		if l := s.layers[img.TopLayer]; l != nil && l.Parent != "" {
			s.parentLayers[l.Parent] = true
		}
	}
	return s, nil
}

// hasChildren reports whether another image is built on img's top layer,
// or a build made another image from it (a step that changed only the
// config shares its parent's top layer).
func (s *storeSnapshot) hasChildren(img *storage.Image) bool {
	return img.TopLayer != "" && s.parentLayers[img.TopLayer] || s.buildParents[img.ID]
}

// parent is the ID of an image whose top layer is the parent of img's.
func (s *storeSnapshot) parent(img *storage.Image) string {
	l := s.layers[img.TopLayer]
	if l == nil || l.Parent == "" {
		return ""
	}
	if imgs := s.byTopLayer[l.Parent]; len(imgs) > 0 {
		return imgs[0].ID
	}
	return ""
}

// imageSize is what the image takes on disk, as the store's ImageSize
// counts it: its layers' uncompressed sizes plus its big-data items.
func (e *Engine) imageSize(s *storeSnapshot, img *storage.Image) (int64, error) {
	var size int64
	for id := img.TopLayer; id != ""; {
		l := s.layers[id]
		if l == nil {
			return 0, fmt.Errorf("image %s: layer %s is missing from the store (remove the image and pull it again)", img.ID, id)
		}
		n, err := e.layerSize(l)
		if err != nil {
			return 0, err
		}
		size += n
		id = l.Parent
	}
	for _, n := range img.BigDataSizes {
		size += n
	}
	return size, nil
}

// layerSize is a layer's uncompressed size, computed from its files when
// the store did not record it (layers created without a diff).
func (e *Engine) layerSize(l *storage.Layer) (int64, error) {
	if l.UncompressedDigest != "" && l.UncompressedSize >= 0 {
		return l.UncompressedSize, nil
	}
	n, err := e.store.DiffSize("", l.ID)
	if err != nil {
		return 0, fmt.Errorf("size of layer %s: %w", l.ID, err)
	}
	return n, nil
}

// filterSet names the filter keys a command accepts.
type filterSet map[string]bool

var (
	imageListFilters  = filterSet{"reference": true, "label": true, "dangling": true, "before": true, "since": true, "after": true, "id": true, "digest": true, "until": true, "intermediate": true}
	imagePruneFilters = filterSet{"label": true, "until": true}
)

// rowFilter decides whether a summary row is kept.
type rowFilter func(*ImageSummary) bool

// parseImageFilters turns "key=value" and "key!=value" filters into one
// predicate. Filters with the same key are alternatives (any may match);
// different keys, and every label filter, must all match, as podman's.
// An unknown key or bad value returns define.ErrInvalidArg; an unknown
// image in before= or since= returns define.ErrNoSuchImage.
func (e *Engine) parseImageFilters(filters []string, allowed filterSet) (rowFilter, error) {
	type group struct {
		all   bool
		preds []rowFilter
	}
	var order []string
	groups := map[string]*group{}
	for _, f := range filters {
		key, value, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("filter %q: want key=value: %w", f, define.ErrInvalidArg)
		}
		key, negate := strings.CutSuffix(key, "!")
		if !allowed[key] {
			return nil, fmt.Errorf("filter %q: unknown key %q (accepted: %s): %w", f, key, strings.Join(sortedKeys(allowed), ", "), define.ErrInvalidArg)
		}
		pred, err := e.imageFilter(key, value)
		if err != nil {
			return nil, fmt.Errorf("filter %q: %w", f, err)
		}
		if negate {
			inner := pred
			pred = func(r *ImageSummary) bool { return !inner(r) }
			key += "!"
		}
		g := groups[key]
		if g == nil {
			g = &group{all: key == "label" || negate}
			groups[key] = g
			order = append(order, key)
		}
		g.preds = append(g.preds, pred)
	}
	return func(r *ImageSummary) bool {
		for _, k := range order {
			g := groups[k]
			matches := func(p rowFilter) bool { return p(r) }
			if g.all && !all(g.preds, matches) || !g.all && !slices.ContainsFunc(g.preds, matches) {
				return false
			}
		}
		return true
	}, nil
}

func (e *Engine) imageFilter(key, value string) (rowFilter, error) {
	switch key {
	case "reference":
		return func(r *ImageSummary) bool { return referenceMatches(value, r.name) }, nil
	case "label":
		k, v, hasValue := strings.Cut(value, "=")
		return func(r *ImageSummary) bool {
			got, ok := r.Labels[k]
			return ok && (!hasValue || got == v)
		}, nil
	case "dangling", "intermediate":
		want, err := strconv.ParseBool(value)
		if err != nil {
			return nil, fmt.Errorf("%s must be true or false: %w", key, define.ErrInvalidArg)
		}
		if key == "dangling" {
			return func(r *ImageSummary) bool { return r.Dangling == want }, nil
		}
		return func(r *ImageSummary) bool { return r.intermediate == want }, nil
	case "before", "since", "after":
		img, err := e.LookupImage(value)
		if err != nil {
			return nil, err
		}
		ref := img.Created.Unix()
		if key == "before" {
			return func(r *ImageSummary) bool { return r.Created < ref }, nil
		}
		return func(r *ImageSummary) bool { return r.Created > ref }, nil
	case "until":
		t, err := parseUntil(value, time.Now())
		if err != nil {
			return nil, err
		}
		return func(r *ImageSummary) bool { return r.Created < t.Unix() }, nil
	case "id":
		id := strings.TrimPrefix(value, "sha256:")
		return func(r *ImageSummary) bool { return strings.HasPrefix(r.ID, id) }, nil
	case "digest":
		return func(r *ImageSummary) bool {
			if r.Digest == value {
				return true
			}
			for _, d := range r.Digests {
				if d == value {
					return true
				}
			}
			return false
		}, nil
	}
	return nil, fmt.Errorf("unknown filter %q: %w", key, define.ErrInvalidArg)
}

// referenceMatches applies a reference filter, a glob as path.Match reads
// it, to a stored name: the pattern may name the whole reference or drop
// leading components and the tag ("base" and "other/base:2" both match
// quay.io/other/base:2).
func referenceMatches(pattern, name string) bool {
	if name == "" {
		return false
	}
	for _, cand := range referenceCandidates(name) {
		if ok, _ := path.Match(pattern, cand); ok {
			return true
		}
	}
	return false
}

// referenceCandidates lists a name with and without its tag, each with
// leading path components dropped one by one.
func referenceCandidates(name string) []string {
	repo := repositoryOf(name)
	suffix := strings.TrimPrefix(name, repo)
	var out []string
	for {
		out = append(out, repo+suffix)
		if suffix != "" {
			out = append(out, repo)
		}
		i := strings.IndexByte(repo, '/')
		if i < 0 {
			return out
		}
		repo = repo[i+1:]
	}
}

// parseUntil reads an until= value: a Go duration before now, seconds
// since the epoch, or an RFC 3339 time or date.
func parseUntil(value string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(value); err == nil {
		return now.Add(-d), nil
	}
	if secs, err := strconv.ParseInt(value, 10, 64); err == nil {
		return time.Unix(secs, 0), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, value, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("until %q: want a duration (24h), a Unix time or an RFC 3339 time: %w", value, define.ErrInvalidArg)
}

func all[T any](xs []T, f func(T) bool) bool {
	return !slices.ContainsFunc(xs, func(x T) bool { return !f(x) })
}

func sortedKeys(m filterSet) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
