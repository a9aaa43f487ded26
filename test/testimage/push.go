package testimage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/oci/layout"
	"go.podman.io/image/v5/signature"
	"go.podman.io/image/v5/types"
)

// PushOptions say how to reach the destination registry.
type PushOptions struct {
	// Insecure allows plain HTTP and skips TLS verification.
	Insecure bool
	// Username and Password, if set, are sent as basic auth.
	Username, Password string
	// CertDir holds ca.crt (and optionally client *.cert/*.key pairs).
	CertDir string
}

// Push copies the single image of the layout at layoutDir to the registry
// reference dest ("HOST:PORT/name:tag") and returns the copy's error. It reads
// no registries.conf, auth file or signature policy of the host.
func Push(ctx context.Context, layoutDir, dest string, opts PushOptions) error {
	src, err := layout.NewReference(layoutDir, "")
	if err != nil {
		return fmt.Errorf("testimage: layout %s: %w", layoutDir, err)
	}
	dst, err := docker.ParseReference("//" + dest)
	if err != nil {
		return fmt.Errorf("testimage: push destination %q: %w", dest, err)
	}
	policy, err := signature.NewPolicyContext(&signature.Policy{
		Default: signature.PolicyRequirements{signature.NewPRInsecureAcceptAnything()},
	})
	if err != nil {
		return err
	}
	defer func() { _ = policy.Destroy() }()

	// A private, throw-away blob info cache and no host configuration keep
	// pushes independent of each other and of the machine.
	tmp, err := os.MkdirTemp("", "testimage-push-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	registriesConf := filepath.Join(tmp, "registries.conf")
	if err := os.WriteFile(registriesConf, nil, 0o644); err != nil {
		return err
	}
	sys := &types.SystemContext{
		SystemRegistriesConfPath:    registriesConf,
		SystemRegistriesConfDirPath: filepath.Join(tmp, "registries.conf.d"),
		AuthFilePath:                filepath.Join(tmp, "auth.json"),
		BlobInfoCacheDir:            tmp,
		DockerCertPath:              opts.CertDir,
		DockerInsecureSkipTLSVerify: types.NewOptionalBool(opts.Insecure),
	}
	if opts.Username != "" {
		sys.DockerAuthConfig = &types.DockerAuthConfig{Username: opts.Username, Password: opts.Password}
	}
	if _, err := copy.Image(ctx, policy, dst, src, &copy.Options{SourceCtx: sys, DestinationCtx: sys}); err != nil {
		return fmt.Errorf("testimage: push %s to %s: %w", layoutDir, dest, err)
	}
	return nil
}
