package rootless

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestCheckPrivateDir(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	uid := os.Getuid()
	private := filepath.Join(base, "private")
	open := filepath.Join(base, "open")
	link := filepath.Join(base, "link")
	file := filepath.Join(base, "file")
	for _, d := range []struct {
		path string
		mode os.FileMode
	}{{private, 0o700}, {open, 0o755}} {
		if err := os.Mkdir(d.path, d.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d.path, d.mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(private, link); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, errPart string
		uid           int
	}{
		{private, "", uid},
		{open, "mode 755", uid},
		{link, "not a directory", uid},
		{file, "not a directory", uid},
		{private, fmt.Sprintf("belongs to uid %d, not to uid %d", uid, uid+1), uid + 1},
	} {
		err := checkPrivateDir(tc.path, tc.uid)
		switch {
		case tc.errPart == "" && err != nil:
			t.Errorf("%s: %v", tc.path, err)
		case tc.errPart != "" && (err == nil || !strings.Contains(err.Error(), tc.errPart)):
			t.Errorf("%s as uid %d: error %v, want one with %q", tc.path, tc.uid, err, tc.errPart)
		}
	}
}

func TestLivePauseAndStopPause(t *testing.T) {
	t.Parallel()
	runtimeDir := t.TempDir()
	pidFile := PausePidFile(runtimeDir)
	if err := os.MkdirAll(filepath.Dir(pidFile), 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(pidFile, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if pid := livePause(pidFile); pid != 0 {
		t.Fatalf("no pid file: got %d", pid)
	}
	for _, stale := range []string{"garbage", "-1", strconv.Itoa(os.Getpid())} {
		write(stale)
		if pid := livePause(pidFile); pid != 0 {
			t.Fatalf("pid file %q: got %d, want it stale", stale, pid)
		}
	}
	cmd := startPauseMode(t)
	write(strconv.Itoa(cmd.Process.Pid))
	if pid := livePause(pidFile); pid != cmd.Process.Pid {
		t.Fatalf("a pause process: got %d, want %d", pid, cmd.Process.Pid)
	}
	if err := StopPause(runtimeDir); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("StopPause did not kill the pause process")
	}
	if _, err := os.Stat(pidFile); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("pid file left: %v", err)
	}
	if err := StopPause(runtimeDir); err != nil {
		t.Fatalf("StopPause without a pause process: %v", err)
	}
}

// startPauseMode starts a process of ours whose argv[1] is the pause
// marker, which livePause counts as a pause process: the test binary, which
// carries the constructor, in pause mode. It skips the test without cgo.
func startPauseMode(t *testing.T) *exec.Cmd {
	t.Helper()
	if !joinSupported {
		t.Skip("built without cgo: no pause mode")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := &exec.Cmd{Path: self, Args: []string{"engine", pauseArg}, Env: []string{envPause + "=1"}}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

func TestExplainIDError(t *testing.T) {
	t.Setenv(envUsernsConfigured, "done")
	storeErr := errors.New(`writing blob: adding layer with blob "sha256:abc": processing tar file(potentially insufficient UIDs or GIDs available in user namespace (requested 70000:0 for /owned): Check /etc/subuid and /etc/subgid if configured locally and run "podman system migrate": lchown /owned: invalid argument): exit status 1`)
	err := ExplainIDError(fmt.Errorf("pull x: %w", storeErr))
	var ie *IDMapError
	if !errors.As(err, &ie) || !errors.Is(err, storeErr) {
		t.Fatalf("got %v, want an *IDMapError wrapping the store's error", err)
	}
	if ie.UID != 70000 || ie.GID != 0 || ie.Path != "/owned" {
		t.Fatalf("parsed %+v", ie)
	}
	ie.UIDs, ie.GIDs = 65537, 65537
	msg := ie.Error()
	for _, p := range []string{"pull x: writing blob", "/owned is owned by uid 70000,", "ids 0-65536", "at least 70000 ids", "engine system migrate"} {
		if !strings.Contains(msg, p) {
			t.Errorf("message %q lacks %q", msg, p)
		}
	}
	if strings.Contains(msg, "podman") {
		t.Errorf("message %q mentions podman", msg)
	}
	other := errors.New("other")
	if got := ExplainIDError(other); errors.As(got, &ie) || got.Error() != "other" {
		t.Fatalf("other errors must pass through, got %v", got)
	}
}
