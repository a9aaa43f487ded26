package libengine

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/manifest"
	"go.podman.io/image/v5/pkg/compression"
	istorage "go.podman.io/image/v5/storage"
)

// PushOptions configure ImagePush.
type PushOptions struct {
	RegistryOptions
	// ReportWriter receives progress; nil discards it.
	ReportWriter io.Writer
	// DigestFile, when set, receives the digest of the pushed manifest.
	DigestFile string
	// ManifestType converts the manifest: oci, v2s2 or v2s1. Empty keeps
	// the image's own when the destination accepts it.
	ManifestType string
	// RemoveSignatures drops the image's signatures instead of copying them.
	RemoveSignatures bool
	// CompressionFormat (gzip, zstd, zstd:chunked) recompresses layers that
	// are not already in that format.
	CompressionFormat string
}

// manifestTypes maps --format values to manifest MIME types.
var manifestTypes = map[string]string{
	"oci":  imgspecv1.MediaTypeImageManifest,
	"v2s2": manifest.DockerV2Schema2MediaType,
	"v2s1": manifest.DockerV2Schema1SignedMediaType,
}

// ImagePush copies the local image src to dest, any transport ImagePull
// reads from (a registry when no transport is given). An empty dest pushes
// to the name src resolved to, as podman does. It returns the digest of
// the manifest written.
//
// Errors wrap define.ErrNoSuchImage for an unknown src, define.ErrInvalidArg
// for bad options, and define.ErrNotAuthenticated when the registry refuses
// the credentials.
func (e *Engine) ImagePush(ctx context.Context, src, dest string, opts PushOptions) (digest.Digest, error) {
	copyOpts := copy.Options{ReportWriter: opts.ReportWriter, RemoveSignatures: opts.RemoveSignatures}
	if opts.ManifestType != "" {
		mt, ok := manifestTypes[opts.ManifestType]
		if !ok {
			return "", fmt.Errorf("manifest format %q: use oci, v2s2 or v2s1: %w", opts.ManifestType, define.ErrInvalidArg)
		}
		copyOpts.ForceManifestMIMEType = mt
	}
	img, err := e.LookupImage(src)
	if err != nil {
		return "", err
	}
	if dest == "" {
		named := resolvedName(src, img)
		if named == nil {
			return "", fmt.Errorf("image %s has no name to push to: give a destination: %w", src, define.ErrInvalidArg)
		}
		dest = named.String()
	}
	srcRef, err := istorage.Transport.NewStoreReference(e.store, nil, img.ID)
	if err != nil {
		return "", fmt.Errorf("image %s: %w", src, err)
	}
	destRef, _, err := e.parseSourceReference(dest)
	if err != nil {
		return "", err
	}
	srcSys, err := e.systemContext(RegistryOptions{})
	if err != nil {
		return "", err
	}
	destSys, err := e.systemContext(opts.RegistryOptions)
	if err != nil {
		return "", err
	}
	if opts.CompressionFormat != "" {
		algo, err := compression.AlgorithmByName(opts.CompressionFormat)
		if err != nil {
			return "", fmt.Errorf("--compression-format %q: use gzip, zstd or zstd:chunked: %w: %w", opts.CompressionFormat, define.ErrInvalidArg, err)
		}
		destSys.CompressionFormat = &algo
		copyOpts.ForceCompressionFormat = true
	}
	m, err := e.copyImage(ctx, srcRef, destRef, srcSys, destSys, copyOpts)
	if err != nil {
		if destRef.Transport().Name() == transportDocker {
			return "", classifyRegistryError(destRef.DockerReference().String(), err)
		}
		return "", fmt.Errorf("push %s to %s: %w", src, dest, err)
	}
	d, err := manifest.Digest(m)
	if err != nil {
		return "", fmt.Errorf("digest of the manifest pushed to %s: %w", dest, err)
	}
	e.event(ctx, "image", "push", img.ID, dest, nil)
	if opts.DigestFile != "" {
		if err := os.WriteFile(opts.DigestFile, []byte(d.String()), 0o644); err != nil {
			return d, fmt.Errorf("--digestfile: %w", err)
		}
	}
	return d, nil
}
