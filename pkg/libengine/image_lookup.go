package libengine

import (
	"errors"
	"fmt"
	"strings"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/pkg/sysregistriesv2"
	"go.podman.io/storage"
)

// LookupImage finds a local image by full or short ID, by fully qualified
// name, or by short name the way podman resolves it locally: localhost/,
// then each unqualified-search registry, then any repository whose path
// ends in the short name. It returns define.ErrNoSuchImage when none match.
func (e *Engine) LookupImage(name string) (*storage.Image, error) {
	img, _, err := e.lookupImageName(name)
	return img, err
}

// lookupImageName is LookupImage that also says which of the image's names
// the user meant: empty when name was an ID, an ID prefix or a digest, so
// callers such as rmi can tell "remove this tag" from "remove this image".
func (e *Engine) lookupImageName(name string) (*storage.Image, string, error) {
	if name == "" {
		return nil, "", fmt.Errorf("empty image name: %w", define.ErrInvalidArg)
	}
	id := strings.TrimPrefix(name, "sha256:")
	if isHexPrefix(id) {
		if img, err := e.imageByIDPrefix(id); err == nil || !errors.Is(err, define.ErrNoSuchImage) {
			return img, "", err
		}
	}
	named, err := reference.ParseNormalizedNamed(strings.TrimPrefix(name, "docker://"))
	if err != nil {
		return nil, "", fmt.Errorf("image %q: %w", name, define.ErrNoSuchImage)
	}
	// localhost/ first: it needs no registries.conf, whose parsing costs
	// more than the lookups, and it is where locally built images live.
	for _, search := range []bool{false, true} {
		for _, cand := range e.localCandidates(name, named, search) {
			if img, err := e.imageByReference(cand); err == nil {
				if _, digested := cand.(reference.Digested); digested {
					return img, "", nil
				}
				return img, cand.String(), nil
			}
		}
	}
	if img, matched := e.imageBySuffix(name, named); img != nil {
		return img, matched, nil
	}
	return nil, "", fmt.Errorf("image %q: %w", name, define.ErrNoSuchImage)
}

// NormalizeName turns a user's image name into the fully qualified name the
// store records: short names become localhost/NAME, as podman does for
// tag, import and load.
func NormalizeName(name string) (reference.Named, error) {
	if !hasDomain(name) {
		name = "localhost/" + name
	}
	named, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return nil, fmt.Errorf("image name %q: %w", name, err)
	}
	return reference.TagNameOnly(named), nil
}

// hasDomain reports whether the first path component is a registry host.
func hasDomain(name string) bool {
	i := strings.IndexRune(name, '/')
	if i < 0 {
		return false
	}
	first := name[:i]
	return strings.ContainsAny(first, ".:") || first == "localhost" || strings.ToLower(first) != first
}

func isHexPrefix(s string) bool {
	if len(s) < 3 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}

func (e *Engine) imageByIDPrefix(prefix string) (*storage.Image, error) {
	if len(prefix) == 64 {
		img, err := e.store.Image(prefix)
		if err != nil {
			return nil, fmt.Errorf("image %q: %w", prefix, define.ErrNoSuchImage)
		}
		return img, nil
	}
	imgs, err := e.store.Images()
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	var found *storage.Image
	for i := range imgs {
		if strings.HasPrefix(imgs[i].ID, prefix) {
			if found != nil {
				return nil, fmt.Errorf("image %q: %w", prefix, define.ErrAmbiguousImage)
			}
			found = &imgs[i]
		}
	}
	if found == nil {
		return nil, fmt.Errorf("image %q: %w", prefix, define.ErrNoSuchImage)
	}
	return found, nil
}

// localCandidates lists fully qualified names to try for a user's name:
// the name itself when qualified, else localhost/NAME or, with search, the
// name under each unqualified-search registry.
func (e *Engine) localCandidates(raw string, named reference.Named, search bool) []reference.Named {
	if hasDomain(strings.TrimPrefix(raw, "docker://")) {
		if search {
			return nil
		}
		return []reference.Named{withDefaultTag(named)}
	}
	path := reference.Path(named)
	path = strings.TrimPrefix(path, "library/")
	if strings.Contains(raw, "library/") {
		path = reference.Path(named)
	}
	domains := []string{"localhost"}
	if search {
		domains = nil
		if regs, err := sysregistriesv2.UnqualifiedSearchRegistries(nil); err == nil {
			domains = regs
		}
	}
	var out []reference.Named
	for _, d := range domains {
		p := path
		if d == "docker.io" && !strings.Contains(p, "/") {
			p = "library/" + p
		}
		cand, err := reference.ParseNormalizedNamed(d + "/" + p)
		if err != nil {
			continue
		}
		out = append(out, withTagOrDigest(cand, named))
	}
	return out
}

func withDefaultTag(named reference.Named) reference.Named {
	return reference.TagNameOnly(named)
}

// withTagOrDigest copies named's tag or digest onto cand, defaulting to latest.
func withTagOrDigest(cand, named reference.Named) reference.Named {
	if d, ok := named.(reference.Digested); ok {
		if c, err := reference.WithDigest(cand, d.Digest()); err == nil {
			return c
		}
	}
	if t, ok := named.(reference.Tagged); ok {
		if c, err := reference.WithTag(cand, t.Tag()); err == nil {
			return c
		}
	}
	return reference.TagNameOnly(cand)
}

// imageByReference matches a tag against image names or a digest against
// the digests the store recorded for the repository.
func (e *Engine) imageByReference(ref reference.Named) (*storage.Image, error) {
	if d, ok := ref.(reference.Digested); ok {
		imgs, err := e.store.ImagesByDigest(d.Digest())
		if err != nil {
			return nil, fmt.Errorf("look up digest %s: %w", d.Digest(), err)
		}
		for _, img := range imgs {
			for _, n := range img.Names {
				if nn, err := reference.ParseNormalizedNamed(n); err == nil && nn.Name() == ref.Name() {
					return img, nil
				}
			}
		}
		return nil, fmt.Errorf("image %q: %w", ref.String(), define.ErrNoSuchImage)
	}
	img, err := e.store.Image(ref.String())
	if err != nil {
		return nil, fmt.Errorf("image %q: %w", ref.String(), define.ErrNoSuchImage)
	}
	return img, nil
}

// imageBySuffix finds an image of any registry whose repository ends with the
// short name, as podman does for images pulled by a qualified name. It
// returns the matching name too.
func (e *Engine) imageBySuffix(raw string, named reference.Named) (*storage.Image, string) {
	if hasDomain(raw) {
		return nil, ""
	}
	want := "/" + strings.TrimPrefix(reference.Path(named), "library/")
	tag := "latest"
	if t, ok := named.(reference.Tagged); ok {
		tag = t.Tag()
	}
	if _, ok := named.(reference.Digested); ok {
		return nil, ""
	}
	imgs, err := e.store.Images()
	if err != nil {
		return nil, ""
	}
	for i := range imgs {
		for _, n := range imgs[i].Names {
			nn, err := reference.ParseNormalizedNamed(n)
			if err != nil {
				continue
			}
			t, ok := nn.(reference.Tagged)
			if ok && t.Tag() == tag && strings.HasSuffix(strings.TrimPrefix(nn.Name(), "docker.io/library"), want) {
				return &imgs[i], n
			}
		}
	}
	return nil, ""
}
