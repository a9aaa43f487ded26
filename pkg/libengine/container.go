package libengine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"

	"github.com/engine-oss/engine/pkg/libengine/lock"
	"github.com/engine-oss/engine/pkg/libengine/oci"
	"github.com/engine-oss/engine/pkg/libengine/state"
	"github.com/engine-oss/engine/pkg/specgen"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// containerConfig is what the state database keeps, as JSON, about how a
// container was asked for: enough to start it again without its image.
type containerConfig struct {
	Spec *specgen.SpecGenerator `json:"spec"`
	// ImageConfig is the image's config when the container was created.
	ImageConfig imgspecv1.ImageConfig `json:"imageConfig"`
	// CreateCommand is the command line that created the container.
	CreateCommand []string `json:"createCommand,omitempty"`
	// CIDFile is the --cidfile written at creation; removing the container
	// removes it, so that a systemd unit can create the next one.
	CIDFile string `json:"cidFile,omitempty"`
	// ConmonPidFile is where each start writes the monitor's pid.
	ConmonPidFile string `json:"conmonPidFile,omitempty"`
	// Infra marks the infra container of a pod (see pod.go).
	Infra bool `json:"infra,omitempty"`
}

// ctr is a container record with its decoded configuration.
type ctr struct {
	*state.Container
	cfg containerConfig
}

// Names of the files in a container's run directory.
const (
	bundleConfig  = "config.json"
	monitorConfig = "monitor.json"
	exitFile      = "exit"
	pidFile       = "pid"
	attachSocket  = "attach"
	logFile       = "ctr.log"
	// cleanupClaimFile is monitor.Config.CleanupClaim's.
	cleanupClaimFile = "cleanup-claim"
)

// defaultStopTimeout is the seconds stop waits before SIGKILL, as podman.
const defaultStopTimeout = 10

func decodeCtr(c *state.Container) (*ctr, error) {
	out := &ctr{Container: c}
	if err := json.Unmarshal(c.Config, &out.cfg); err != nil {
		return nil, fmt.Errorf("container %s: decode stored config: %w", c.Name, err)
	}
	if out.cfg.Spec == nil {
		return nil, fmt.Errorf("container %s: stored config has no spec", c.Name)
	}
	out.cfg.Spec.Name = c.Name // the record's name wins: rename changes only the record
	return out, nil
}

// lookupCtr finds a container by name, ID or ID prefix.
func (e *Engine) lookupCtr(ctx context.Context, nameOrID string) (*ctr, error) {
	c, err := e.db.Container(ctx, nameOrID)
	if err != nil {
		return nil, err
	}
	return decodeCtr(c)
}

// reload reads the record again, as another process may have changed it
// before the caller took the lock.
func (e *Engine) reload(ctx context.Context, c *ctr) (*ctr, error) {
	return e.lookupCtr(ctx, c.ID)
}

// lockCtr takes the container's inter-process lock.
func (e *Engine) lockCtr(id string) (*lock.File, error) {
	return lock.Acquire(filepath.Join(e.store.RunRoot(), "locks", "ctr-"+id))
}

// runDir holds a container's transient files: bundle, sockets, exit file.
func (e *Engine) runDir(id string) string {
	return filepath.Join(e.store.RunRoot(), "containers", id)
}

// staticDir holds a container's files that survive a reboot: its log.
func (e *Engine) staticDir(id string) string {
	return filepath.Join(e.store.GraphRoot(), "containers", id)
}

func (c *ctr) logPath(e *Engine) string {
	if p := c.cfg.Spec.LogOpts["path"]; p != "" {
		return p
	}
	return filepath.Join(e.staticDir(c.ID), logFile)
}

func (c *ctr) stopTimeout() uint {
	if c.cfg.Spec.StopTimeout != nil {
		return *c.cfg.Spec.StopTimeout
	}
	return defaultStopTimeout
}

// runtimeOnce finds the OCI runtime the first time a command needs one.
type runtimeOnce struct {
	once sync.Once
	rt   *oci.Runtime
	err  error
}

func (e *Engine) runtime(ctx context.Context) (*oci.Runtime, error) {
	e.rtOnce.once.Do(func() {
		e.rtOnce.rt, e.rtOnce.err = oci.Find(ctx, e.cfg.Engine.Runtime, e.cfg.Engine.RuntimeSearch,
			filepath.Join(e.store.RunRoot(), "runtime"))
	})
	return e.rtOnce.rt, e.rtOnce.err
}

// monitorPath finds the engine-monitor binary: beside this executable (a
// build tree or an install prefix), then the libexec directories, then PATH.
func monitorPath() (string, error) {
	var candidates []string
	if self, err := os.Executable(); err == nil {
		dir := filepath.Dir(self)
		candidates = append(candidates, filepath.Join(dir, "engine-monitor"),
			filepath.Join(dir, "..", "libexec", "engine", "engine-monitor"))
	}
	candidates = append(candidates, "/usr/local/libexec/engine/engine-monitor", "/usr/libexec/engine/engine-monitor")
	for _, c := range candidates {
		if fi, err := os.Stat(c); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return c, nil
		}
	}
	if p, err := exec.LookPath("engine-monitor"); err == nil {
		return p, nil
	}
	return "", errors.New("engine-monitor not found beside the engine binary, in /usr/local/libexec/engine or in $PATH: reinstall engine (make install)")
}

// globalArgs are the flags that make a child `engine` invocation use this
// invocation's store and configuration.
func (e *Engine) globalArgs() []string {
	args := []string{"--root", e.store.GraphRoot(), "--runroot", e.store.RunRoot(),
		"--storage-driver", e.store.GraphDriverName()}
	for _, o := range e.store.GraphOptions() {
		args = append(args, "--storage-opt", o)
	}
	if e.configFile != "" {
		args = append(args, "--config", e.configFile)
	}
	return args
}
