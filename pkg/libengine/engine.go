// Package libengine is the engine's library: an Engine is opened once per
// invocation and owns the image and layer store, the registry settings and,
// later, containers, pods, volumes and their state. It never parses command
// lines nor prints for a user; callers pass options structs and get reports.
package libengine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/engine-oss/engine/pkg/libengine/config"
	"github.com/engine-oss/engine/pkg/libengine/state"
	"github.com/sirupsen/logrus"
	"go.podman.io/image/v5/types"
	"go.podman.io/storage"
	storagetypes "go.podman.io/storage/types"
)

// Options are the global settings of one invocation; empty fields take the
// configuration's values.
type Options struct {
	ConfigFile    string
	Root          string
	RunRoot       string
	StorageDriver string
	StorageOpts   []string
	TmpDir        string
	// NotifySocket is the sd_notify socket of the service manager that
	// started this invocation (systemd's NOTIFY_SOCKET, which the caller
	// should remove from the environment so the OCI runtime does not act
	// on it): containers this invocation starts report to it through their
	// monitor, as their --sdnotify mode says.
	NotifySocket string
}

// Engine is an opened store plus the settings every operation shares.
type Engine struct {
	cfg   *config.Config
	store storage.Store
	db    *state.DB
	// configFile is --config, passed on to the engine processes this one starts.
	configFile string
	rtOnce     runtimeOnce
	// storageConfSource says where the storage driver choice came from, for info.
	storageSource string
	// notifySocket is Options.NotifySocket.
	notifySocket string
}

// Open loads the configuration and opens the store. Close must be called.
func Open(ctx context.Context, opts Options) (*Engine, error) {
	cfg, err := config.Load(opts.ConfigFile)
	if err != nil {
		return nil, err
	}
	storeOpts, source, err := storeOptions(cfg, opts)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(storeOpts.RunRoot, 0o700); err != nil {
		return nil, fmt.Errorf("create run root %s: %w (pass --runroot to a writable directory)", storeOpts.RunRoot, err)
	}
	store, err := storage.GetStore(storeOpts)
	if err != nil {
		return nil, fmt.Errorf("open store at %s with driver %q: %w (pick another with --storage-driver)", storeOpts.GraphRoot, storeOpts.GraphDriverName, err)
	}
	if source == "auto-detected" && config.Rootless() {
		source = rootlessDriverSource(store)
	}
	if opts.TmpDir != "" {
		cfg.Engine.TmpDir = opts.TmpDir
	}
	logrus.Debugf("store opened: root=%s runroot=%s driver=%s (%s)", store.GraphRoot(), store.RunRoot(), store.GraphDriverName(), source)
	e := &Engine{cfg: cfg, store: store, storageSource: source, configFile: opts.ConfigFile, notifySocket: opts.NotifySocket}
	e.db, err = state.Open(ctx, filepath.Join(store.GraphRoot(), "engine.db"))
	if err != nil {
		_ = e.Close()
		return nil, err
	}
	if err := e.refreshAfterReboot(ctx); err != nil {
		_ = e.Close()
		return nil, err
	}
	return e, nil
}

// storeOptions merges, in rising priority, storage.conf, engine.conf and
// flags. The store's paths default to the engine's own, not podman's, so the
// two never fight over one store's locks and layouts.
func storeOptions(cfg *config.Config, opts Options) (storagetypes.StoreOptions, string, error) {
	so, err := storagetypes.DefaultStoreOptions()
	if err != nil {
		return so, "", fmt.Errorf("read storage.conf: %w", err)
	}
	source := "storage.conf"
	if so.GraphDriverName == "" {
		source = "auto-detected"
	}
	root, err := config.DefaultRoot()
	if err != nil {
		return so, "", err
	}
	so.GraphRoot = firstNonEmpty(opts.Root, cfg.Storage.Root, root)
	so.RunRoot = firstNonEmpty(opts.RunRoot, cfg.Storage.RunRoot, config.DefaultRunRoot())
	so.ImageStore = ""
	if cfg.Storage.Driver != "" {
		so.GraphDriverName, source = cfg.Storage.Driver, "engine.conf"
	}
	if opts.StorageDriver != "" {
		so.GraphDriverName, source = opts.StorageDriver, "--storage-driver"
	}
	if len(cfg.Storage.Options) > 0 {
		so.GraphDriverOptions = cfg.Storage.Options
	}
	if len(opts.StorageOpts) > 0 {
		so.GraphDriverOptions = opts.StorageOpts
	}
	// Driver options written for another driver in storage.conf would make
	// an explicitly chosen one refuse to start.
	if source == "--storage-driver" && len(opts.StorageOpts) == 0 {
		so.GraphDriverOptions = nil
	}
	for _, p := range []*string{&so.GraphRoot, &so.RunRoot} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return so, "", fmt.Errorf("store path %s: %w", *p, err)
		}
		*p = abs
	}
	return so, source, nil
}

// rootlessDriverSource says which driver the store picked by itself for an
// unprivileged user, and why. In the user namespace the store tries native
// overlay (kernels since 5.11 mount it there), then overlay through
// fuse-overlayfs, then vfs; no ID map options are needed, as it sees the
// namespace's ids.
func rootlessDriverSource(store storage.Store) string {
	switch store.GraphDriverName() {
	case "overlay":
		for _, o := range store.GraphOptions() {
			if strings.Contains(o, "mount_program=") {
				return "auto-detected: overlay through the mount_program of the storage options"
			}
		}
		flag, _ := os.ReadFile(filepath.Join(store.GraphRoot(), "overlay", ".has-mount-program"))
		if strings.TrimSpace(string(flag)) == "true" {
			return "auto-detected: overlay through fuse-overlayfs, as the kernel refused a native overlay mount in the user namespace"
		}
		return "auto-detected: native overlay, which the kernel allows in the user namespace"
	case "vfs":
		return "auto-detected: vfs, as neither native overlay nor fuse-overlayfs works in the user namespace (install fuse-overlayfs for faster containers)"
	}
	return "auto-detected"
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// Close releases the state database.
func (e *Engine) Close() error {
	var errs []error
	if e.db != nil {
		if err := e.db.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close state database: %w", err))
		}
	}
	// The store is not shut down: Shutdown loads and write-locks the whole
	// layer store, tells every other process to reload its caches and
	// unmounts the driver's home, which costs each command tens of
	// milliseconds and serializes concurrent ones. Its locks are released
	// when the process exits, and mounts are meant to outlive it.
	return errors.Join(errs...)
}

// Store exposes the underlying store to the engine's own packages and tests.
func (e *Engine) Store() storage.Store { return e.store }

// Config returns the merged configuration.
func (e *Engine) Config() *config.Config { return e.cfg }

// RegistryOptions are the per-call registry settings every transfer accepts.
type RegistryOptions struct {
	// TLSVerify is nil when the user did not say; registries.conf decides then.
	TLSVerify *bool
	// Creds is "user[:password]".
	Creds    string
	AuthFile string
	CertDir  string
	OS       string
	Arch     string
	Variant  string
}

// systemContext builds the containers/image settings for one call.
func (e *Engine) systemContext(ro RegistryOptions) (*types.SystemContext, error) {
	sys := &types.SystemContext{
		BigFilesTemporaryDir:    e.cfg.Engine.TmpDir,
		AuthFilePath:            firstNonEmpty(ro.AuthFile, os.Getenv("REGISTRY_AUTH_FILE"), e.cfg.Registries.AuthFile),
		DockerCertPath:          ro.CertDir,
		OSChoice:                ro.OS,
		ArchitectureChoice:      ro.Arch,
		VariantChoice:           ro.Variant,
		DockerRegistryUserAgent: "engine/" + Version,
	}
	if ro.TLSVerify != nil {
		sys.DockerInsecureSkipTLSVerify = types.NewOptionalBool(!*ro.TLSVerify)
		sys.OCIInsecureSkipTLSVerify = !*ro.TLSVerify
		sys.DockerDaemonInsecureSkipTLSVerify = !*ro.TLSVerify
	}
	if ro.Creds != "" {
		user, pass, _ := strings.Cut(ro.Creds, ":")
		if user == "" {
			return nil, fmt.Errorf("--creds %q: user name is empty (use --creds USER:PASSWORD)", ro.Creds)
		}
		sys.DockerAuthConfig = &types.DockerAuthConfig{Username: user, Password: pass}
	}
	return sys, nil
}
