// Package e2e drives the built engine binary like a user. This file is the
// harness every e2e test codes against: the binary (built once), a fresh
// store per test (Engine), the shared registries and test images.
package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/engine-oss/engine/test/registry"
	"github.com/engine-oss/engine/test/testimage"
	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

const (
	// runTimeout bounds one engine invocation.
	runTimeout = 2 * time.Minute
	// stdioWaitDelay is how long Run waits, after the engine exits, for
	// processes it started to close its stdout and stderr.
	stdioWaitDelay = 10 * time.Second
	// authUser and authPassword are the credentials of authRegistry.
	authUser     = "tester"
	authPassword = "engine-test-password"
)

// engineBinary is the absolute path of the binary under test, set by TestMain.
var engineBinary string

// The shared registries, started by the first test that asks.
var (
	sharedPlain = &lazyRegistry{}
	sharedAuth  = &lazyRegistry{opts: registry.Options{TLS: true, Htpasswd: map[string]string{authUser: authPassword}}}
)

// TestMain builds the engine (unless ENGINE_BINARY names one), runs the
// tests, and stops the shared registries.
func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	bin, cleanup, err := engineUnderTest()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer cleanup()
	engineBinary = bin
	defer sharedPlain.stop()
	defer sharedAuth.stop()
	return m.Run()
}

// engineUnderTest returns $ENGINE_BINARY, or builds ./cmd/engine of this
// tree into a temporary directory that cleanup removes.
func engineUnderTest() (bin string, cleanup func(), err error) {
	if b := os.Getenv("ENGINE_BINARY"); b != "" {
		bin, err = filepath.Abs(b)
		if err == nil {
			_, err = os.Stat(bin)
		}
		return bin, func() {}, err
	}
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return "", nil, err
	}
	if _, err := os.Stat(filepath.Join(repo, "cmd", "engine")); err != nil {
		return "", nil, fmt.Errorf("repository root not found from the working directory: %w", err)
	}
	dir, err := os.MkdirTemp("", "engine-e2e-bin-")
	if err != nil {
		return "", nil, err
	}
	cleanup = func() { _ = os.RemoveAll(dir) }
	bin = filepath.Join(dir, "engine")
	// The engine finds its container monitor beside its own binary.
	cmd := exec.Command("go", "build", "-o", dir+"/", "./cmd/engine", "./cmd/engine-monitor")
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("go build ./cmd/engine ./cmd/engine-monitor: %w\n%s", err, out)
	}
	return bin, cleanup, nil
}

// Engine runs the binary against a store of its own.
type Engine struct {
	// Root and RunRoot are passed as --root and --runroot on every call.
	Root, RunRoot string
	// TmpDir is the engine's TMPDIR and free for the test's own files.
	TmpDir string
	// Env is the engine's environment; append "KEY=value" to override
	// (the last value of a key wins).
	Env []string
	t   *testing.T
}

// Result is what one engine invocation did. ExitCode is -1 if a signal
// killed the engine.
type Result struct {
	Stdout, Stderr string
	ExitCode       int
}

// newEngine gives the test a fresh store under t.TempDir() and an
// environment that reads no per-user configuration of the host: its own
// XDG_CONFIG_HOME, REGISTRY_AUTH_FILE and a registries.conf without search
// registries, so a short name never reaches the network. Mounts left under
// the store are detached before the directory is removed.
func newEngine(t *testing.T) *Engine {
	t.Helper()
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e := &Engine{
		Root:    filepath.Join(base, "root"),
		RunRoot: filepath.Join(base, "runroot"),
		TmpDir:  filepath.Join(base, "tmp"),
		t:       t,
	}
	t.Cleanup(func() {
		// Containers a test left behind: stop their processes and monitors
		// before their files go. Stores that never held one have no database.
		if _, err := os.Stat(filepath.Join(e.Root, "engine.db")); err == nil {
			cmd := exec.Command(engineBinary, "--root", e.Root, "--runroot", e.RunRoot, "rm", "-a", "-f", "-t", "0")
			cmd.Env = e.Env
			_ = cmd.Run()
			waitMonitorsGone(e.RunRoot)
		}
		unmountUnder(t, base)
	})
	configHome := filepath.Join(base, "config")
	registriesConf := filepath.Join(base, "registries.conf")
	for _, d := range []string{e.TmpDir, configHome} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(registriesConf, []byte("unqualified-search-registries = []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.Env = append(os.Environ(),
		"TMPDIR="+e.TmpDir,
		"XDG_CONFIG_HOME="+configHome,
		"REGISTRY_AUTH_FILE="+filepath.Join(base, "auth.json"),
		"CONTAINERS_REGISTRIES_CONF="+registriesConf,
	)
	return e
}

// waitMonitorsGone waits (up to 10s) for the container monitors of a
// store to exit: each runs its container's exit command, which opens the
// store, after the container is gone, and would recreate files under it
// while the test's directory is being removed.
func waitMonitorsGone(runRoot string) {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if exec.Command("pgrep", "-f", "engine-monitor "+runRoot+"/").Run() != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// unmountUnder detaches every mount at or below dir, deepest first.
func unmountUnder(t *testing.T, dir string) {
	t.Helper()
	for range 5 { // a mount point may carry stacked mounts
		mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
		if err != nil {
			t.Errorf("read mountinfo: %v", err)
			return
		}
		if len(mounts) == 0 {
			return
		}
		sort.Slice(mounts, func(i, j int) bool { return len(mounts[i].Mountpoint) > len(mounts[j].Mountpoint) })
		for _, m := range mounts {
			if err := unix.Unmount(m.Mountpoint, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
				t.Errorf("unmount %s: %v", m.Mountpoint, err)
			}
		}
	}
	t.Errorf("mounts remain under %s", dir)
}

// Run runs the engine with args and an empty stdin.
func (e *Engine) Run(args ...string) Result {
	e.t.Helper()
	return e.RunStdin(nil, args...)
}

// RunStdin runs the engine with args, reading stdin. It fails the test if
// the engine cannot start, runs past runTimeout, or leaves a process holding
// its stdout or stderr open after it exits.
func (e *Engine) RunStdin(stdin io.Reader, args ...string) Result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, engineBinary, append([]string{"--root", e.Root, "--runroot", e.RunRoot}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &stdout, &stderr
	cmd.Env = e.Env
	cmd.WaitDelay = stdioWaitDelay
	start := time.Now()
	err := cmd.Run()
	line := "engine " + strings.Join(args, " ")
	if cmd.ProcessState == nil {
		e.t.Fatalf("%s: %v", line, err)
	}
	r := Result{Stdout: stdout.String(), Stderr: stderr.String(), ExitCode: cmd.ProcessState.ExitCode()}
	e.t.Logf("%s: exit %d in %s", line, r.ExitCode, time.Since(start).Round(time.Millisecond))
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		e.t.Fatalf("%s: killed after %s\nstdout: %s\nstderr: %s", line, runTimeout, r.Stdout, r.Stderr)
	case errors.Is(err, exec.ErrWaitDelay):
		e.t.Fatalf("%s: exited, but a process it started kept its stdout/stderr open for %s (detach helpers from the caller's stdio)", line, stdioWaitDelay)
	case err != nil && !errors.As(err, &exitErr):
		e.t.Fatalf("%s: %v", line, err)
	}
	return r
}

// Must runs the engine and fails the test unless it exits 0; it returns stdout.
func (e *Engine) Must(args ...string) string {
	e.t.Helper()
	r := e.Run(args...)
	if r.ExitCode != 0 {
		e.t.Fatalf("engine %s: exit code %d, want 0\nstderr: %s\nstdout: %s", strings.Join(args, " "), r.ExitCode, r.Stderr, r.Stdout)
	}
	return r.Stdout
}

// MustFail runs the engine and fails the test unless it exits with code and
// says something on stderr.
func (e *Engine) MustFail(code int, args ...string) Result {
	e.t.Helper()
	r := e.Run(args...)
	if r.ExitCode != code {
		e.t.Fatalf("engine %s: exit code %d, want %d\nstderr: %s\nstdout: %s", strings.Join(args, " "), r.ExitCode, code, r.Stderr, r.Stdout)
	}
	if strings.TrimSpace(r.Stderr) == "" {
		e.t.Fatalf("engine %s: exit code %d with nothing on stderr", strings.Join(args, " "), code)
	}
	return r
}

// lazyRegistry is a registry shared by the whole run, started on first use.
type lazyRegistry struct {
	opts registry.Options
	once sync.Once
	dir  string
	reg  *registry.Registry
	err  error
}

func (l *lazyRegistry) get(t *testing.T) *registry.Registry {
	t.Helper()
	l.once.Do(func() {
		l.dir, l.err = os.MkdirTemp("", "engine-e2e-registry-")
		if l.err == nil {
			l.reg, l.err = registry.Start(context.Background(), l.dir, l.opts)
		}
	})
	if l.err != nil {
		t.Fatalf("shared registry: %v", l.err)
	}
	return l.reg
}

func (l *lazyRegistry) stop() {
	if l.reg != nil {
		l.reg.Stop()
	}
	if l.dir != "" {
		_ = os.RemoveAll(l.dir)
	}
}

// plainRegistry is the run's shared plain-HTTP registry without auth.
// Tests share it: name repositories after the test (uniqueName).
func plainRegistry(t *testing.T) *registry.Registry {
	t.Helper()
	return sharedPlain.get(t)
}

// authRegistry is the run's shared TLS registry requiring basic auth as
// reg.User/reg.Password; its CA is in reg.CertDir.
func authRegistry(t *testing.T) *registry.Registry {
	t.Helper()
	return sharedAuth.get(t)
}

// registryFlags are the pull/push flags that reach reg: --tls-verify=false
// for a plain one, --cert-dir and --creds for one with TLS and auth.
func registryFlags(reg *registry.Registry) []string {
	var flags []string
	if reg.CertDir == "" {
		flags = append(flags, "--tls-verify=false")
	} else {
		flags = append(flags, "--cert-dir", reg.CertDir)
	}
	if reg.User != "" {
		flags = append(flags, "--creds", reg.User+":"+reg.Password)
	}
	return flags
}

// pushOptions are reg's settings for testimage.Push.
func pushOptions(reg *registry.Registry) testimage.PushOptions {
	return testimage.PushOptions{Insecure: reg.CertDir == "", Username: reg.User, Password: reg.Password, CertDir: reg.CertDir}
}

// pushTestImage builds the image opts describes and pushes it to reg as
// repoTag ("name:tag"); it returns the full reference "ADDR/name:tag".
func pushTestImage(t *testing.T, reg *registry.Registry, repoTag string, opts testimage.Options) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := testimage.WriteOCILayout(dir, opts); err != nil {
		t.Fatal(err)
	}
	ref := reg.Addr + "/" + repoTag
	ctx, cancel := context.WithTimeout(t.Context(), runTimeout)
	defer cancel()
	if err := testimage.Push(ctx, dir, ref, pushOptions(reg)); err != nil {
		t.Fatal(err)
	}
	return ref
}

// uniqueName derives from the test's name a name fit for repositories,
// containers and volumes: lower case letters, digits and dashes.
func uniqueName(t *testing.T) string {
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '-'
	}, t.Name())
	return strings.Trim(name, "-")
}

// requireRoot skips the test unless it runs as root.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}
