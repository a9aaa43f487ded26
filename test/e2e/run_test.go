package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/engine-oss/engine/test/testimage"
)

// ctrImage pulls a busybox test image into e for container tests and
// returns its reference. Its ExtraFiles give a non-executable file to test
// exit code 126.
func ctrImage(t *testing.T, e *Engine) string {
	t.Helper()
	ref, _ := pulledImage(t, e, "ctr", testimage.Options{
		ExtraFiles: map[string][]byte{"/notexec": []byte("echo hi\n")},
		Env:        []string{"FROM_IMAGE=yes"},
	})
	return ref
}

type psRow struct {
	ID       string `json:"Id"`
	Names    []string
	State    string
	ExitCode int
	Pid      int
	Restarts int
}

func psAll(t *testing.T, e *Engine) []psRow {
	t.Helper()
	var rows []psRow
	if err := json.Unmarshal([]byte(e.Must("ps", "-a", "--format", "json")), &rows); err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestRunForeground(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	r := e.Run("run", "--rm", img, "sh", "-c", "echo out; echo err >&2; echo $FROM_IMAGE; exit 3")
	if r.ExitCode != 3 {
		t.Fatalf("exit code %d, want 3 (stderr %q)", r.ExitCode, r.Stderr)
	}
	if r.Stdout != "out\nyes\n" || !strings.Contains(r.Stderr, "err\n") {
		t.Fatalf("stdout %q stderr %q", r.Stdout, r.Stderr)
	}
	if rows := psAll(t, e); len(rows) != 0 {
		t.Fatalf("--rm left containers: %+v", rows)
	}
	if out := e.Must("run", "--rm", img, "true"); out != "" {
		t.Fatalf("true printed %q", out)
	}
}

func TestRunStdin(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	r := e.RunStdin(strings.NewReader("hello\nworld\n"), "run", "--rm", "-i", img, "sh", "-c", "wc -l")
	if r.ExitCode != 0 || strings.TrimSpace(r.Stdout) != "2" {
		t.Fatalf("wc -l through stdin: %+v", r)
	}
}

func TestRunCommandErrors(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	r := e.MustFail(127, "run", "--rm", img, "no-such-command")
	if !strings.Contains(r.Stderr, "no-such-command") {
		t.Errorf("127 message does not name the command: %q", r.Stderr)
	}
	r = e.MustFail(126, "run", "--rm", img, "/notexec")
	if !strings.Contains(r.Stderr, "/notexec") {
		t.Errorf("126 message does not name the file: %q", r.Stderr)
	}
	if rows := psAll(t, e); len(rows) != 0 {
		t.Fatalf("failed --rm runs left containers: %+v", rows)
	}
}

func TestRunBadInputCreatesNothing(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	for _, args := range [][]string{
		{"--memory", "12x"},
		{"--ulimit", "x"},
		{"-p", "bad"},
		{"-p", "8080:80", "--network", "none"},
		{"--network", "no-such-network"},
		{"--restart", "sometimes"},
		{"--bogus-flag"},
		{"-v", "relative/path:/x"},
		{"--security-opt", "nonsense"},
	} {
		r := e.MustFail(125, append(append([]string{"run", "--rm"}, args...), img, "true")...)
		if strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
			t.Errorf("%v: error is not one line: %q", args, r.Stderr)
		}
	}
	if rows := psAll(t, e); len(rows) != 0 {
		t.Fatalf("bad input left containers: %+v", rows)
	}
}

func TestRunDetachedLifecycle(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	name := uniqueName(t)
	id := strings.TrimSpace(e.Must("run", "-d", "--name", name, img, "sh", "-c", "echo started; exec sleep 1000"))
	if len(id) != 64 {
		t.Fatalf("run -d printed %q, want an ID", id)
	}
	rows := psAll(t, e)
	if len(rows) != 1 || rows[0].State != "running" || rows[0].Names[0] != name || rows[0].Pid == 0 {
		t.Fatalf("ps after run -d: %+v", rows)
	}
	if out := e.Must("ps", "-q"); strings.TrimSpace(out) != id[:12] {
		t.Fatalf("ps -q = %q", out)
	}
	waitFor(t, func() bool { return strings.Contains(e.Must("logs", name), "started") })
	e.MustFail(2, "rm", name)
	e.MustFail(125, "run", "--name", name, img, "true") // name conflict
	if out := e.Must("stop", "-t", "1", name); strings.TrimSpace(out) != name {
		t.Fatalf("stop printed %q", out)
	}
	rows = psAll(t, e)
	if rows[0].State != "exited" || rows[0].ExitCode != 137 {
		t.Fatalf("after stop: %+v (sleep as PID 1 ignores SIGTERM, so it is killed)", rows)
	}
	if out := e.Must("ps"); strings.Contains(out, name) {
		t.Fatalf("ps without -a lists an exited container: %q", out)
	}
	e.Must("start", name)
	if rows = psAll(t, e); rows[0].State != "running" {
		t.Fatalf("after start: %+v", rows)
	}
	e.Must("rm", "-f", "-t", "0", name)
	if rows = psAll(t, e); len(rows) != 0 {
		t.Fatalf("after rm -f: %+v", rows)
	}
	e.MustFail(1, "rm", name)
}

func TestWaitAndLogs(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	name := uniqueName(t)
	e.Must("run", "-d", "--name", name, img, "sh", "-c", "echo one; echo two >&2; echo three; exit 5")
	if out := e.Must("wait", name); strings.TrimSpace(out) != "5" {
		t.Fatalf("wait printed %q, want 5", out)
	}
	r := e.Run("logs", name)
	if r.Stdout != "one\nthree\n" || r.Stderr != "two\n" {
		t.Fatalf("logs: stdout %q stderr %q", r.Stdout, r.Stderr)
	}
	// The monitor reads stdout and stderr from separate pipes, so the last
	// line logged is either stream's.
	if r := e.Run("logs", "--tail", "1", name); r.Stdout+r.Stderr != "three\n" && r.Stdout+r.Stderr != "two\n" {
		t.Fatalf("logs --tail 1: stdout %q stderr %q", r.Stdout, r.Stderr)
	}
	ts := e.Must("logs", "-t", name)
	if !strings.Contains(ts, time.Now().Format("2006-01-02")) {
		t.Fatalf("logs -t has no timestamps: %q", ts)
	}
	e.Must("rm", name)
}

func TestKillPauseUnpause(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	name := uniqueName(t)
	e.Must("run", "-d", "--name", name, img, "sleep", "1000")
	e.Must("pause", name)
	if rows := psAll(t, e); rows[0].State != "paused" {
		t.Fatalf("after pause: %+v", rows)
	}
	e.Must("unpause", name)
	e.Must("kill", "-s", "TERM", name) // PID 1 without a handler ignores it
	time.Sleep(200 * time.Millisecond)
	if rows := psAll(t, e); rows[0].State != "running" {
		t.Fatalf("SIGTERM stopped a PID 1 that has no handler: %+v", rows)
	}
	e.Must("kill", name)
	if out := e.Must("wait", name); strings.TrimSpace(out) != "137" {
		t.Fatalf("wait after kill = %q, want 137", out)
	}
	e.MustFail(125, "kill", name)
}

// TestMonitorKilled checks that a container whose monitor was SIGKILLed is
// still handled by ps, rm -f and start.
func TestMonitorKilled(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	name := uniqueName(t)
	id := strings.TrimSpace(e.Must("run", "-d", "--name", name, img, "sleep", "1000"))
	out, err := exec.Command("pgrep", "-f", "engine-monitor .*"+id).Output()
	if err != nil {
		t.Fatalf("find the monitor of %s: %v", id, err)
	}
	var pid int
	if _, err := fmt.Sscan(string(out), &pid); err != nil {
		t.Fatal(err)
	}
	p, _ := os.FindProcess(pid)
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return !procAlive(pid) })
	rows := psAll(t, e)
	if len(rows) != 1 {
		t.Fatalf("ps after monitor kill: %+v", rows)
	}
	e.Must("rm", "-f", "-t", "0", name)
	if rows := psAll(t, e); len(rows) != 0 {
		t.Fatalf("rm -f left %+v", rows)
	}
}

func TestParallelRuns(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	const n = 10
	var wg sync.WaitGroup
	results := make([]Result, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = e.Run("run", "-d", "--name", fmt.Sprintf("par%d", i), img, "sleep", "1000")
		}(i)
	}
	wg.Wait()
	for i, r := range results {
		if r.ExitCode != 0 {
			t.Errorf("run %d: exit %d: %s", i, r.ExitCode, r.Stderr)
		}
	}
	rows := psAll(t, e)
	running := 0
	for _, r := range rows {
		if r.State == "running" {
			running++
		}
	}
	if len(rows) != n || running != n {
		t.Fatalf("%d containers, %d running; want %d running", len(rows), running, n)
	}
	e.Must("rm", "-a", "-f", "-t", "0")
}

func TestRunCidfileAndReplace(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	cid := filepath.Join(t.TempDir(), "cid")
	id := strings.TrimSpace(e.Must("create", "--name", "c", "--cidfile", cid, img, "true"))
	got, err := os.ReadFile(cid)
	if err != nil || string(got) != id {
		t.Fatalf("cidfile holds %q (%v), want %s", got, err, id)
	}
	e.MustFail(125, "create", "--cidfile", cid, img, "true")
	id2 := strings.TrimSpace(e.Must("create", "--replace", "--name", "c", img, "true"))
	if rows := psAll(t, e); len(rows) != 1 || rows[0].ID != id2 {
		t.Fatalf("--replace: %+v", rows)
	}
	if r := e.Run("start", "-a", "c"); r.ExitCode != 0 {
		t.Fatalf("start -a: %+v", r)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func procAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return err == nil && !strings.Contains(string(b), ") Z ")
}

func TestRunWithoutRuntime(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	// A PATH without runc or crun: the engine must name the package to install.
	e.Env = append(e.Env, "PATH="+t.TempDir())
	r := e.MustFail(125, "run", "--rm", img, "true")
	if !strings.Contains(r.Stderr, "install the Debian package runc") {
		t.Errorf("missing runtime error does not say what to install: %q", r.Stderr)
	}
}

// TestCLIKilledDuringRun kills the foreground `engine run` itself; the
// container, its monitor and the state must stay usable.
func TestCLIKilledDuringRun(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	name := uniqueName(t)
	cmd := exec.Command(engineBinary, "--root", e.Root, "--runroot", e.RunRoot, "run", "--name", name, img, "sleep", "1000")
	cmd.Env = e.Env
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		rows := psAll(t, e)
		return len(rows) == 1 && rows[0].State == "running"
	})
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if rows := psAll(t, e); len(rows) != 1 || rows[0].State != "running" {
		t.Fatalf("after the CLI died: %+v, want the container still running", rows)
	}
	e.Must("stop", "-t", "0", name)
	e.Must("start", name)
	e.Must("rm", "-f", "-t", "0", name)
	if rows := psAll(t, e); len(rows) != 0 {
		t.Fatalf("rm -f left %+v", rows)
	}
}

// TestSigProxy sends SIGTERM to an attached `engine start -a` and `engine
// attach`: the container's trap must see it and decide the exit code.
func TestSigProxy(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	script := `trap "exit 7" TERM; echo ready; sleep 100 & wait`
	for _, verb := range []string{"start", "attach"} {
		name := uniqueName(t) + verb
		e.Must("create", "--name", name, img, "sh", "-c", script)
		if r := e.Run("logs", name); r.ExitCode != 0 || r.Stdout != "" {
			t.Fatalf("logs of a container that never ran: %+v, want nothing and exit 0", r)
		}
		args := []string{"--root", e.Root, "--runroot", e.RunRoot, "start", "-a", name}
		if verb == "attach" {
			e.Must("start", name)
			args = []string{"--root", e.Root, "--runroot", e.RunRoot, "attach", "--no-stdin", name}
		}
		if verb == "attach" {
			waitFor(t, func() bool { return strings.Contains(e.Must("logs", name), "ready") })
		}
		cmd := exec.Command(engineBinary, args...)
		cmd.Env = e.Env
		var out strings.Builder
		cmd.Stdout = &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool { return strings.Contains(e.Must("logs", name), "ready") })
		time.Sleep(300 * time.Millisecond) // the attach session and the trap are in place
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		err := cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 7 {
			t.Fatalf("%s: engine exited with %v, want the container's 7 from its TERM trap (output %q)", verb, err, out.String())
		}
	}
}

func TestPsSize(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	name := uniqueName(t)
	e.Must("run", "--name", name, img, "sh", "-c", "head -c 100000 /dev/zero > /big")
	var rows []struct {
		Size *struct{ RwSize, RootFsSize int64 }
	}
	if err := json.Unmarshal([]byte(e.Must("ps", "-a", "-s", "--format", "json")), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Size == nil || rows[0].Size.RwSize < 100000 || rows[0].Size.RootFsSize <= rows[0].Size.RwSize {
		t.Fatalf("ps -s sizes: %+v", rows)
	}
	if out := e.Must("ps", "-a", "-s"); !strings.Contains(out, "SIZE") || !strings.Contains(out, "(virtual ") {
		t.Fatalf("ps -s table: %q", out)
	}
}
