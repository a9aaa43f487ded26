package oci_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/libengine/oci"
	"github.com/engine-oss/engine/pkg/libengine/oci/ocitest"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// newContainer starts a container running args, as the monitor does, with
// a private runtime state directory, deleted when the test ends.
func newContainer(t *testing.T, args ...string) (*oci.Runtime, string) {
	t.Helper()
	ocitest.RequireRunc(t)
	ctx := context.Background()
	rt, err := oci.Find(ctx, "runc", nil, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	id := ocitest.ID(t)
	bundle := ocitest.Bundle(t, args)
	// The container's init inherits runc's stdio, so it gets /dev/null and
	// runc's messages go to a log file.
	logPath := filepath.Join(t.TempDir(), "runc.log")
	cmd := exec.Command(rt.Path, "--root", rt.StateDir, "--log", logPath, "--log-format", "json", "run", "--detach", "--bundle", bundle, id)
	if err := cmd.Run(); err != nil {
		out, _ := os.ReadFile(logPath)
		t.Fatalf("runc run: %v: %s", err, oci.ErrorMessage(out))
	}
	t.Cleanup(func() {
		if err := rt.Delete(ctx, id, true); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return rt, id
}

func waitStatus(t *testing.T, rt *oci.Runtime, id string, want specs.ContainerState) *specs.State {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := rt.State(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if st.Status == want {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s is %s, want %s", id, st.Status, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	rt, id := newContainer(t, "sleep", "1000")
	ctx := context.Background()

	st := waitStatus(t, rt, id, specs.StateRunning)
	if st.ID != id || st.Pid <= 0 || st.Bundle == "" {
		t.Fatalf("state = %+v", st)
	}

	pids, err := rt.Ps(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(pids, st.Pid) {
		t.Errorf("ps = %v, want it to contain init pid %d", pids, st.Pid)
	}

	if err := rt.Pause(ctx, id); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, rt, id, oci.StatePaused)
	if err := rt.Resume(ctx, id); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, rt, id, specs.StateRunning)

	if err := rt.Kill(ctx, id, syscall.SIGKILL, false); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, rt, id, specs.StateStopped)

	// The runtime's message and the command line make the error.
	err = rt.Kill(ctx, id, syscall.SIGTERM, false)
	if want := "runc kill " + id + " SIGTERM: container not running"; err == nil || err.Error() != want {
		t.Errorf("kill of a stopped container: %v, want %q", err, want)
	}
	if !oci.NotRunning(err) {
		t.Errorf("NotRunning(%v) = false", err)
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		t.Errorf("kill error %v does not unwrap to *exec.ExitError", err)
	}

	if err := rt.Delete(ctx, id, false); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.State(ctx, id); !errors.Is(err, define.ErrNoSuchContainer) {
		t.Errorf("state after delete: %v, want ErrNoSuchContainer", err)
	}
	if err := rt.Delete(ctx, id, false); err != nil {
		t.Errorf("delete of a deleted container: %v", err)
	}
	if err := rt.Delete(ctx, id, true); err != nil {
		t.Errorf("forced delete of a deleted container: %v", err)
	}
}

func TestDeleteForceRunning(t *testing.T) {
	t.Parallel()
	rt, id := newContainer(t, "sleep", "1000")
	ctx := context.Background()
	if err := rt.Delete(ctx, id, false); err == nil {
		t.Fatal("delete of a running container without force succeeded")
	}
	if err := rt.Delete(ctx, id, true); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.State(ctx, id); !errors.Is(err, define.ErrNoSuchContainer) {
		t.Errorf("state after delete: %v, want ErrNoSuchContainer", err)
	}
}

func TestKillAll(t *testing.T) {
	t.Parallel()
	rt, id := newContainer(t, "sh", "-c", "sleep 1000 & sleep 1000")
	ctx := context.Background()
	waitStatus(t, rt, id, specs.StateRunning)
	if err := rt.Kill(ctx, id, syscall.SIGKILL, true); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, rt, id, specs.StateStopped)
}

func TestExecCmd(t *testing.T) {
	t.Parallel()
	rt, id := newContainer(t, "sleep", "1000")
	ctx := context.Background()
	proc := &specs.Process{
		Args: []string{"sh", "-c", "echo $GREETING from $(pwd); exit 7"},
		Env:  []string{"PATH=/bin", "GREETING=hello"},
		Cwd:  "/bin",
	}
	cmd, err := rt.ExecCmd(ctx, id, oci.ExecOptions{Process: proc, ProcessFile: filepath.Join(t.TempDir(), "process.json")})
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.Output()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 7 {
		t.Fatalf("exec: %v, want exit status 7", err)
	}
	if got := strings.TrimSpace(string(out)); got != "hello from /bin" {
		t.Errorf("exec output %q", got)
	}
	if _, err := rt.ExecCmd(ctx, id, oci.ExecOptions{Process: &specs.Process{}, ProcessFile: "x"}); !errors.Is(err, define.ErrInvalidArg) {
		t.Errorf("exec without args: %v, want ErrInvalidArg", err)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	ocitest.RequireRunc(t)
	rt, err := oci.Find(context.Background(), "", []string{"runc"}, os.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	v, err := rt.Version(context.Background())
	if err != nil || !strings.HasPrefix(v, "runc version ") {
		t.Fatalf("Version() = %q, %v", v, err)
	}
}
