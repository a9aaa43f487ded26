package libengine

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/docker/distribution/registry/api/errcode"
	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/sirupsen/logrus"
	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/docker"
	dockerarchive "go.podman.io/image/v5/docker/archive"
	"go.podman.io/image/v5/docker/reference"
	_ "go.podman.io/image/v5/oci/archive" // registers oci-archive: for parsing; archives are read by loadOCIArchive
	"go.podman.io/image/v5/pkg/shortnames"
	"go.podman.io/image/v5/signature"
	istorage "go.podman.io/image/v5/storage"
	imagetransports "go.podman.io/image/v5/transports"
	"go.podman.io/image/v5/types"
	"go.podman.io/storage"
	"go.podman.io/storage/pkg/configfile"
	"go.podman.io/storage/pkg/lockfile"
)

// PullOptions configure ImagePull.
type PullOptions struct {
	RegistryOptions
	// AllTags pulls every tag of a registry repository named without a tag.
	AllTags bool
	// ReportWriter receives progress; nil discards it. containers/image
	// draws progress bars when it is a terminal and prints one line per
	// blob otherwise.
	ReportWriter io.Writer
	// Retries is how many times a registry pull that failed for a
	// transient reason (see transientPullError) is tried again; nil means
	// DefaultPullRetries. RetryDelay is the wait before each retry; 0
	// means 2 s, doubled at each retry, as podman.
	Retries    *uint
	RetryDelay time.Duration
}

// Transport names as users type them before the colon.
const (
	transportDocker        = "docker"
	transportDockerArchive = "docker-archive"
	transportOCI           = "oci"
	transportOCIArchive    = "oci-archive"
	transportDir           = "dir"
	transportStorage       = "containers-storage"
)

// ImagePull copies an image into the store and returns the IDs of the images
// stored, in order and without duplicates.
//
// name is a transport reference (docker://, oci:, oci-archive:,
// docker-archive:, dir:, containers-storage:) or, without a transport, a
// registry image. Short registry names are resolved with registries.conf:
// aliases first, then each unqualified-search registry in turn.
//
// Registry images are stored under their fully qualified name. Archive and
// layout images keep the names recorded in them; images without one are
// stored without a name. A copy that fails leaves no image and no layer behind.
//
// Errors wrap define.ErrNoSuchImage when the source has no such image, tag or
// platform, define.ErrNotAuthenticated when the registry refuses the
// credentials, and define.ErrInvalidArg for malformed names or options.
func (e *Engine) ImagePull(ctx context.Context, name string, opts PullOptions) (pulled []string, retErr error) {
	defer func() {
		for _, id := range pulled {
			e.event(ctx, "image", "pull", id, name, nil)
		}
	}()
	sys, err := e.systemContext(opts.RegistryOptions)
	if err != nil {
		return nil, err
	}
	ref, shortName, err := e.parseSourceReference(name)
	if err != nil {
		return nil, err
	}
	transport := ref.Transport().Name()
	if opts.AllTags && transport != transportDocker {
		return nil, fmt.Errorf("--all-tags needs a registry image, not %s: %w", refString(ref), define.ErrInvalidArg)
	}
	var loaded []loadedImage
	switch transport {
	case transportDocker:
		return e.pullFromRegistry(ctx, name, ref, shortName, sys, opts)
	case transportDockerArchive:
		loaded, err = e.loadDockerArchive(ctx, ref, sys, opts.ReportWriter)
	case transportOCIArchive:
		path, image, _ := strings.Cut(ref.StringWithinTransport(), ":")
		loaded, err = e.loadOCIArchive(ctx, path, image, false, sys, opts.ReportWriter)
	case transportOCI:
		dir, image, _ := strings.Cut(ref.StringWithinTransport(), ":")
		loaded, err = e.loadOCILayout(ctx, dir, image, false, sys, opts.ReportWriter)
	default: // dir:, containers-storage: and any other source c/image reads.
		var names []reference.Named
		if transport == transportStorage && ref.DockerReference() != nil {
			names = append(names, ref.DockerReference())
		}
		var id string
		id, err = e.copyIntoStore(ctx, ref, names, sys, opts.ReportWriter)
		loaded = []loadedImage{{ID: id}}
	}
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(loaded))
	for _, l := range loaded {
		if !slices.Contains(ids, l.ID) {
			ids = append(ids, l.ID)
		}
	}
	return ids, nil
}

// refString prints a reference the way users type it.
func refString(ref types.ImageReference) string {
	return ref.Transport().Name() + ":" + ref.StringWithinTransport()
}

// parseSourceReference parses a user's image name as podman does: a known
// transport prefix wins; anything else is a registry image, and shortName
// is set when it still needs short-name resolution. containers-storage
// references without a [store] specifier refer to the engine's own store.
func (e *Engine) parseSourceReference(name string) (types.ImageReference, string, error) {
	if name == "" {
		return nil, "", fmt.Errorf("empty image name: %w", define.ErrInvalidArg)
	}
	if rest, ok := strings.CutPrefix(name, transportStorage+":"); ok {
		if strings.HasPrefix(rest, "[") {
			ref, err := istorage.Transport.ParseReference(rest)
			if err != nil {
				return nil, "", fmt.Errorf("image %q: %w: %w", name, define.ErrInvalidArg, err)
			}
			return ref, "", nil
		}
		ref, err := istorage.Transport.ParseStoreReference(e.store, rest)
		if err != nil {
			return nil, "", fmt.Errorf("image %q: %w: %w", name, define.ErrInvalidArg, err)
		}
		return ref, "", nil
	}
	if tname, rest, ok := strings.Cut(name, ":"); ok {
		// "docker:latest" names an image, not the docker transport.
		if t := imagetransports.Get(tname); t != nil {
			ref, err := t.ParseReference(rest)
			if err == nil {
				return ref, "", nil
			}
			if tname != transportDocker {
				return nil, "", fmt.Errorf("image %q: %w: %w", name, define.ErrInvalidArg, err)
			}
		}
	}
	ref, err := docker.ParseReference("//" + name)
	if err != nil {
		return nil, "", fmt.Errorf("image name %q: %w: %w", name, define.ErrInvalidArg, err)
	}
	short := ""
	if shortnames.IsShortName(name) {
		short = name
	}
	return ref, short, nil
}

// pullFromRegistry pulls one registry image, trying each short-name
// candidate in turn, or every tag of the repository with AllTags.
func (e *Engine) pullFromRegistry(ctx context.Context, name string, ref types.ImageReference, shortName string, sys *types.SystemContext, opts PullOptions) ([]string, error) {
	candidates := []reference.Named{ref.DockerReference()}
	var resolved *shortnames.Resolved
	if shortName != "" {
		var err error
		resolved, err = shortnames.Resolve(sys, shortName)
		if err != nil {
			return nil, fmt.Errorf("resolve short name %q: %w (use a fully qualified name such as docker.io/library/%s)", shortName, err, shortName)
		}
		if d := resolved.Description(); d != "" {
			progress(opts.ReportWriter, "%s\n", d)
		}
		candidates = candidates[:0]
		for _, c := range resolved.PullCandidates {
			candidates = append(candidates, c.Value)
		}
	}
	if opts.AllTags {
		return e.pullAllTags(ctx, name, candidates, sys, opts)
	}
	var errs []error
	for i, cand := range candidates {
		id, err := e.pullRegistryImage(ctx, cand, sys, opts)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if resolved != nil {
			if err := resolved.PullCandidates[i].Record(); err != nil {
				logrus.Warnf("%v", err)
			}
		}
		return []string{id}, nil
	}
	if resolved == nil {
		return nil, errs[0]
	}
	return nil, resolved.FormatPullErrors(errs)
}

// pullAllTags pulls each tag of the first candidate repository whose tags
// can be listed. name must carry neither tag nor digest.
func (e *Engine) pullAllTags(ctx context.Context, name string, candidates []reference.Named, sys *types.SystemContext, opts PullOptions) ([]string, error) {
	if raw, err := reference.ParseNormalizedNamed(strings.TrimPrefix(name, "docker://")); err != nil || !reference.IsNameOnly(raw) {
		return nil, fmt.Errorf("image %q: --all-tags needs a repository without a tag or digest: %w", name, define.ErrInvalidArg)
	}
	var errs []error
	for _, cand := range candidates {
		repo := reference.TrimNamed(cand)
		repoRef, err := docker.NewReference(reference.TagNameOnly(repo))
		if err != nil {
			return nil, fmt.Errorf("image %q: %w: %w", repo.String(), define.ErrInvalidArg, err)
		}
		tags, err := docker.GetRepositoryTags(ctx, sys, repoRef)
		if err != nil {
			errs = append(errs, classifyRegistryError(repo.String(), err))
			continue
		}
		var ids []string
		for _, tag := range tags {
			tagged, err := reference.WithTag(repo, tag)
			if err != nil {
				return ids, fmt.Errorf("tag %q of %s: %w", tag, repo.String(), err)
			}
			id, err := e.pullRegistryImage(ctx, tagged, sys, opts)
			if err != nil {
				return ids, err
			}
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
		return ids, nil
	}
	return nil, errors.Join(errs...)
}

// pullRegistryImage copies one fully qualified registry image into the store.
func (e *Engine) pullRegistryImage(ctx context.Context, named reference.Named, sys *types.SystemContext, opts PullOptions) (string, error) {
	progress(opts.ReportWriter, "Trying to pull %s...\n", named.String())
	src, err := docker.NewReference(named)
	if err != nil {
		return "", fmt.Errorf("image %q: %w: %w", named.String(), define.ErrInvalidArg, err)
	}
	retries := uint(DefaultPullRetries)
	if opts.Retries != nil {
		retries = *opts.Retries
	}
	var id string
	err = retryTransient(ctx, retries, opts.RetryDelay, "pull "+named.String(), func() error {
		var err error
		id, err = e.copyIntoStore(ctx, src, []reference.Named{named}, sys, opts.ReportWriter)
		return err
	})
	if err != nil {
		return "", classifyRegistryError(named.String(), err)
	}
	return id, nil
}

// checkPlatform fails when the user asked for a platform (sys carries a
// choice) and src is a single image built for another one; a manifest list
// without a matching instance already fails inside containers/image. podman
// only warns here; Docker refuses, and a wrong-architecture image that
// "pulled fine" is the more confusing outcome.
func checkPlatform(ctx context.Context, src types.ImageReference, sys *types.SystemContext) error {
	if sys == nil || (sys.OSChoice == "" && sys.ArchitectureChoice == "" && sys.VariantChoice == "") {
		return nil
	}
	img, err := src.NewImage(ctx, sys)
	if err != nil {
		return err
	}
	defer closeQuietly(img)
	info, err := img.Inspect(ctx)
	if err != nil {
		return err
	}
	return platformMismatch(info.Os, info.Architecture, info.Variant, sys.OSChoice, sys.ArchitectureChoice, sys.VariantChoice)
}

// platformMismatch compares an image's platform with the requested one;
// empty requested fields match anything.
func platformMismatch(haveOS, haveArch, haveVariant, wantOS, wantArch, wantVariant string) error {
	if (wantOS == "" || wantOS == haveOS) && (wantArch == "" || wantArch == haveArch) && (wantVariant == "" || wantVariant == haveVariant) {
		return nil
	}
	return fmt.Errorf("built for %s, not the requested %s (pick another --platform, --arch or --os): %w",
		platformString(haveOS, haveArch, haveVariant),
		platformString(firstNonEmpty(wantOS, haveOS), firstNonEmpty(wantArch, haveArch), wantVariant),
		define.ErrNoSuchImage)
}

func platformString(os, arch, variant string) string {
	s := os + "/" + arch
	if variant != "" {
		s += "/" + variant
	}
	return s
}

// classifyRegistryError turns the registry failures users hit most into
// errors that say what to do, keeping the original error wrapped.
func classifyRegistryError(name string, err error) error {
	var unauthorized docker.ErrUnauthorizedForCredentials
	var coder errcode.ErrorCoder
	host := registryHost(name)
	switch {
	case errors.As(err, &unauthorized),
		errors.As(err, &coder) && coder.ErrorCode() == errcode.ErrorCodeUnauthorized:
		return fmt.Errorf("image %s: authentication failed (run `engine login %s` or pass --creds USER:PASSWORD): %w: %w",
			name, host, define.ErrNotAuthenticated, err)
	// The distribution spec's error codes, compared by their registered
	// names: the constants live in a package this module does not import.
	case errors.As(err, &coder) && (coder.ErrorCode().String() == "MANIFEST_UNKNOWN" || coder.ErrorCode().String() == "NAME_UNKNOWN"):
		return fmt.Errorf("image %s: %w: %w", name, define.ErrNoSuchImage, err)
	case errors.As(err, &coder) && coder.ErrorCode() == errcode.ErrorCodeDenied:
		return fmt.Errorf("image %s: access denied (run `engine login %s` or pass --creds USER:PASSWORD): %w: %w",
			name, host, define.ErrNotAuthenticated, err)
	}
	return fmt.Errorf("image %s: %w", name, withTLSHint(host, err))
}

// withTLSHint adds what to do to certificate and plain-HTTP failures and
// returns other errors unchanged.
func withTLSHint(host string, err error) error {
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var verify *tls.CertificateVerificationError
	switch {
	case errors.As(err, &unknownCA), errors.As(err, &hostname), errors.As(err, &verify):
		return fmt.Errorf("the TLS certificate of %s is not trusted (put its CA certificate in a directory and pass --cert-dir DIR, or pass --tls-verify=false for a registry you trust): %w",
			host, err)
	case errors.Is(err, http.ErrSchemeMismatch):
		return fmt.Errorf("%s serves plain HTTP (pass --tls-verify=false or list it as insecure in registries.conf): %w", host, err)
	}
	return err
}

// registryHost is the registry part of an image name, for messages.
func registryHost(name string) string {
	named, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return name
	}
	return reference.Domain(named)
}

// loadedImage is one image copied into the store and the names it got.
type loadedImage struct {
	ID    string
	Names []string
}

// copyIntoStore copies src into the store under names (none: the image gets
// no name) and returns the image ID. When the copy fails, layers it created
// that no image or container uses are removed again: containers/image keeps
// layers it committed before the failure.
func (e *Engine) copyIntoStore(ctx context.Context, src types.ImageReference, names []reference.Named, sys *types.SystemContext, report io.Writer) (string, error) {
	var dest types.ImageReference
	var err error
	if len(names) > 0 {
		dest, err = istorage.Transport.NewStoreReference(e.store, names[0], "")
	} else {
		var id string
		if id, err = configDigest(ctx, src, sys); err == nil {
			dest, err = istorage.Transport.NewStoreReference(e.store, nil, id)
		}
	}
	if err != nil {
		return "", fmt.Errorf("destination for %s: %w", refString(src), err)
	}
	if err := checkPlatform(ctx, src, sys); err != nil {
		return "", err
	}

	lock, err := e.transferLock()
	if err != nil {
		return "", err
	}
	before, err := e.layerIDs()
	if err != nil {
		return "", err
	}
	lock.RLock()
	var resolved types.ImageReference
	_, err = e.copyImage(ctx, src, dest, sys, sys, copy.Options{ReportWriter: report, ReportResolvedReference: &resolved})
	lock.Unlock()
	if err != nil {
		if cerr := e.removeNewLayers(lock, before); cerr != nil {
			logrus.Warnf("removing layers of the failed copy of %s: %v", refString(src), cerr)
		}
		return "", err
	}
	_, img, err := istorage.ResolveReference(resolved)
	if err != nil {
		return "", fmt.Errorf("find the image copied from %s: %w", refString(src), err)
	}
	if len(names) > 1 {
		extra := make([]string, 0, len(names)-1)
		for _, n := range names[1:] {
			extra = append(extra, n.String())
		}
		if err := e.store.AddNames(img.ID, extra); err != nil {
			return "", fmt.Errorf("name image %s: %w", img.ID, err)
		}
	}
	return img.ID, nil
}

// configDigest is the ID the store gives an image copied from src.
func configDigest(ctx context.Context, src types.ImageReference, sys *types.SystemContext) (string, error) {
	img, err := src.NewImage(ctx, sys)
	if err != nil {
		return "", err
	}
	defer closeQuietly(img)
	d := img.ConfigInfo().Digest
	if err := d.Validate(); err != nil {
		return "", fmt.Errorf("config digest of %s: %w", refString(src), err)
	}
	return d.Encoded(), nil
}

// copyImage runs one containers/image copy under the signature policy.
func (e *Engine) copyImage(ctx context.Context, src, dest types.ImageReference, srcSys, destSys *types.SystemContext, opts copy.Options) ([]byte, error) {
	policy, err := loadPolicy(srcSys)
	if err != nil {
		return nil, err
	}
	pc, err := signature.NewPolicyContext(policy)
	if err != nil {
		return nil, fmt.Errorf("signature policy: %w", err)
	}
	defer func() {
		if err := pc.Destroy(); err != nil {
			logrus.Debugf("release policy context: %v", err)
		}
	}()
	opts.SourceCtx, opts.DestinationCtx = srcSys, destSys
	return copy.Image(ctx, pc, dest, src, &opts)
}

// loadPolicy reads policy.json the way containers/image looks for it and
// accepts any image when no policy file exists, as a fresh host has none.
func loadPolicy(sys *types.SystemContext) (*signature.Policy, error) {
	policy, err := signature.DefaultPolicy(sys)
	if errors.Is(err, configfile.ErrConfigFileNotFound) {
		logrus.Debugf("no policy.json found (%v): accepting any image", err)
		return &signature.Policy{Default: signature.PolicyRequirements{signature.NewPRInsecureAcceptAnything()}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("signature policy: %w (fix the policy file)", err)
	}
	return policy, nil
}

// transferLock is held shared by every copy into the store and exclusively
// while a failed copy removes its layers, so that cleanup never removes a
// layer another engine process is still assembling an image from.
func (e *Engine) transferLock() (*lockfile.LockFile, error) {
	path := filepath.Join(e.store.RunRoot(), "engine-transfer.lock")
	lock, err := lockfile.GetLockFile(path)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	return lock, nil
}

func (e *Engine) layerIDs() (map[string]bool, error) {
	layers, err := e.store.Layers()
	if err != nil {
		return nil, fmt.Errorf("list layers: %w", err)
	}
	ids := make(map[string]bool, len(layers))
	for _, l := range layers {
		ids[l.ID] = true
	}
	return ids, nil
}

// removeNewLayers deletes layers absent from before that no image or
// container uses, children first.
func (e *Engine) removeNewLayers(lock *lockfile.LockFile, before map[string]bool) error {
	lock.Lock()
	defer lock.Unlock()
	layers, err := e.store.Layers()
	if err != nil {
		return fmt.Errorf("list layers: %w", err)
	}
	parent := make(map[string]string, len(layers))
	for _, l := range layers {
		parent[l.ID] = l.Parent
	}
	used := map[string]bool{}
	markUsed := func(id string) {
		for ; id != "" && !used[id]; id = parent[id] {
			used[id] = true
		}
	}
	imgs, err := e.store.Images()
	if err != nil {
		return fmt.Errorf("list images: %w", err)
	}
	for _, img := range imgs {
		markUsed(img.TopLayer)
		for _, m := range img.MappedTopLayers {
			markUsed(m)
		}
	}
	ctrs, err := e.store.Containers()
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	for _, c := range ctrs {
		markUsed(c.LayerID)
	}
	doomed := map[string]bool{}
	for _, l := range layers {
		if !before[l.ID] && !used[l.ID] {
			doomed[l.ID] = true
		}
	}
	for len(doomed) > 0 {
		isParent := map[string]bool{}
		for id := range doomed {
			isParent[parent[id]] = true
		}
		progress := false
		for id := range doomed {
			if isParent[id] {
				continue
			}
			if err := e.store.DeleteLayer(id); err != nil && !errors.Is(err, storage.ErrLayerUnknown) {
				return fmt.Errorf("delete layer %s: %w", id, err)
			}
			logrus.Debugf("removed layer %s left by a failed copy", id)
			delete(doomed, id)
			progress = true
		}
		if !progress {
			return fmt.Errorf("layers %v still have children", doomed)
		}
	}
	return nil
}

// loadDockerArchive copies every image of a docker-archive reference (or the
// one it names) into the store with the tags recorded in the archive.
func (e *Engine) loadDockerArchive(ctx context.Context, ref types.ImageReference, sys *types.SystemContext, report io.Writer) ([]loadedImage, error) {
	reader, readerRef, err := dockerarchive.NewReaderForReference(sys, ref)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", refString(ref), err)
	}
	defer closeQuietly(reader)
	var groups [][]types.ImageReference
	if ref.DockerReference() != nil || strings.Contains(ref.StringWithinTransport(), ":@") {
		groups = [][]types.ImageReference{{readerRef}}
	} else if groups, err = reader.List(); err != nil {
		return nil, fmt.Errorf("list images in %s: %w", refString(ref), err)
	}
	var out []loadedImage
	for _, refs := range groups {
		src := refs[0]
		names, err := archiveNames(reader, refs)
		if err != nil {
			return out, err
		}
		id, err := e.copyIntoStore(ctx, src, names, sys, report)
		if err != nil {
			return out, fmt.Errorf("load %s: %w", refString(src), err)
		}
		out = append(out, loadedImage{ID: id, Names: namesOf(names)})
	}
	return out, nil
}

// archiveNames lists the names of one image of a docker archive: those of
// its tagged references, or, for a reference by index, every tag the
// archive records for that image.
func archiveNames(reader *dockerarchive.Reader, refs []types.ImageReference) ([]reference.Named, error) {
	var names []reference.Named
	for _, r := range refs {
		if n := r.DockerReference(); n != nil {
			names = append(names, n)
		}
	}
	if len(names) > 0 {
		return names, nil
	}
	tags, err := reader.ManifestTagsForReference(refs[0])
	if err != nil {
		return nil, fmt.Errorf("tags of %s: %w", refString(refs[0]), err)
	}
	for _, t := range tags {
		named, err := reference.ParseNormalizedNamed(t)
		if err != nil {
			return nil, fmt.Errorf("tag %q in %s: %w", t, refString(refs[0]), err)
		}
		names = append(names, reference.TagNameOnly(named))
	}
	return names, nil
}

func namesOf(names []reference.Named) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		out = append(out, n.String())
	}
	return out
}

// progress writes a progress line to w, if any; a progress line that cannot
// be written is no reason to fail the transfer.
func progress(w io.Writer, format string, args ...any) {
	if w != nil {
		_, _ = fmt.Fprintf(w, format, args...)
	}
}
