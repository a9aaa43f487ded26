package monitor_test

// These tests run real containers with runc under a freshly built
// engine-monitor. They need root, runc and /bin/busybox (see ocitest).

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/engine-oss/engine/pkg/libengine/monitor"
	"github.com/engine-oss/engine/pkg/libengine/oci"
	"github.com/engine-oss/engine/pkg/libengine/oci/ocitest"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "engine-monitor-test-")
	if err != nil {
		panic(err)
	}
	binDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

var build struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// monitorBinary builds cmd/engine-monitor once per test binary.
func monitorBinary(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		build.path = filepath.Join(binDir, "engine-monitor")
		build.out, build.err = exec.Command("go", "build", "-o", build.path, "github.com/engine-oss/engine/cmd/engine-monitor").CombinedOutput()
	})
	if build.err != nil {
		t.Fatalf("go build engine-monitor: %v: %s", build.err, build.out)
	}
	return build.path
}

// fixture is one container under a monitor, cleaned up with the test.
type fixture struct {
	t          *testing.T
	cfg        *monitor.Config
	dir        string
	configPath string
	rt         *oci.Runtime
	pid        int // container init
	monitorPid int
}

// newFixture prepares a bundle running args and a monitor config, adjusted
// by setCfg and specOpts; spawn starts the monitor.
func newFixture(t *testing.T, args []string, setCfg func(*monitor.Config), specOpts ...func(*specs.Spec)) *fixture {
	t.Helper()
	runc := ocitest.RequireRunc(t)
	bin := monitorBinary(t)
	_ = bin
	dir := t.TempDir()
	f := &fixture{t: t, dir: dir, configPath: filepath.Join(dir, "monitor.json")}
	f.cfg = &monitor.Config{
		ID:              ocitest.ID(t),
		Bundle:          ocitest.Bundle(t, args, specOpts...),
		RuntimePath:     runc,
		RuntimeStateDir: filepath.Join(dir, "runc"),
		LogPath:         filepath.Join(dir, "ctr.log"),
		AttachSocket:    filepath.Join(dir, "attach"),
		ExitFile:        filepath.Join(dir, "exit"),
		PidFile:         filepath.Join(dir, "pid"),
	}
	if setCfg != nil {
		setCfg(f.cfg)
	}
	f.rt = &oci.Runtime{Name: "runc", Path: runc, StateDir: f.cfg.RuntimeStateDir}
	t.Cleanup(f.cleanup)
	return f
}

func (f *fixture) spawn(opts monitor.SpawnOptions) (*monitor.Spawned, error) {
	f.t.Helper()
	if err := f.cfg.WriteFile(f.configPath); err != nil {
		f.t.Fatal(err)
	}
	sp, err := monitor.Spawn(context.Background(), monitorBinary(f.t), f.configPath, opts)
	if err == nil {
		f.pid, f.monitorPid = sp.Pid, sp.MonitorPid
	}
	return sp, err
}

func (f *fixture) mustSpawn() {
	f.t.Helper()
	f.mustSpawnWith(monitor.SpawnOptions{})
}

func (f *fixture) mustSpawnWith(opts monitor.SpawnOptions) *monitor.Spawned {
	f.t.Helper()
	sp, err := f.spawn(opts)
	if err != nil {
		f.t.Fatal(err)
	}
	if f.pid <= 0 || f.monitorPid <= 0 {
		f.t.Fatalf("Spawn returned pids %d, %d", f.pid, f.monitorPid)
	}
	return sp
}

// spawnAttached spawns with streams attached from the container's first
// byte of output, as `run` without -d does.
func (f *fixture) spawnAttached(streams monitor.AttachStreams) <-chan error {
	f.t.Helper()
	sp := f.mustSpawnWith(monitor.SpawnOptions{Attach: &streams, AttachSocket: f.cfg.AttachSocket})
	if sp.Attached == nil {
		f.t.Fatal("Spawn with Attach returned no session")
	}
	return sp.Attached
}

// monitorAlive reports whether our monitor still runs, checking its command
// line so a reused pid is never mistaken for it.
func (f *fixture) monitorAlive() bool {
	if f.monitorPid <= 0 {
		return false
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(f.monitorPid) + "/cmdline")
	return err == nil && bytes.Contains(cmdline, []byte(f.configPath))
}

func (f *fixture) cleanup() {
	if err := f.rt.Delete(context.Background(), f.cfg.ID, true); err != nil {
		f.t.Errorf("cleanup: %v", err)
	}
	// Deleting the container ends the monitor; kill it if it lingers.
	deadline := time.Now().Add(5 * time.Second)
	for f.monitorAlive() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if f.monitorAlive() {
		f.t.Errorf("monitor %d still running after the container was deleted: killing it", f.monitorPid)
		_ = syscall.Kill(f.monitorPid, syscall.SIGKILL)
	}
}

// waitExit waits for the exit file.
func (f *fixture) waitExit() *monitor.ExitStatus {
	f.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := monitor.ReadExitFile(f.cfg.ExitFile)
		if err == nil {
			return st
		}
		if !errors.Is(err, os.ErrNotExist) {
			f.t.Fatal(err)
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("no exit file after 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitMonitorExit waits for the monitor process to end.
func (f *fixture) waitMonitorExit() {
	f.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for f.monitorAlive() {
		if time.Now().After(deadline) {
			f.t.Fatalf("monitor %d still running", f.monitorPid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a poller.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls until cond holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// attach runs Attach in the background, once the monitor registered the
// client; the returned channel yields its result.
func attach(t *testing.T, socket string, streams monitor.AttachStreams) <-chan error {
	t.Helper()
	ready := make(chan struct{})
	streams.Ready = ready
	ch := make(chan error, 1)
	go func() { ch <- monitor.Attach(context.Background(), socket, streams) }()
	select {
	case <-ready:
	case err := <-ch:
		t.Fatalf("Attach ended before the monitor registered it: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the monitor did not register the attach client")
	}
	return ch
}

func waitAttach(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("Attach did not return")
		return nil
	}
}

func TestExitCodeLogAndExitCommand(t *testing.T) {
	t.Parallel()
	for _, driver := range []string{monitor.LogDriverK8sFile, monitor.LogDriverJSONFile} {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			var done string
			f := newFixture(t, []string{"sh", "-c", "echo hello; echo err >&2; exit 3"}, func(c *monitor.Config) {
				c.LogDriver = driver
				done = filepath.Join(filepath.Dir(c.LogPath), "exit-command-ran")
				c.ExitCommand = []string{"/bin/sh", "-c", "echo done > " + done}
			})
			var attOut, attErr syncBuffer
			ch := f.spawnAttached(monitor.AttachStreams{Stdout: &attOut, Stderr: &attErr})
			if err := waitAttach(t, ch); err != nil {
				t.Fatal(err)
			}
			if attOut.String() != "hello\n" || attErr.String() != "err\n" {
				t.Errorf("attached: stdout %q, stderr %q", attOut.String(), attErr.String())
			}
			// The exit file is written before attach clients are let go.
			st, err := monitor.ReadExitFile(f.cfg.ExitFile)
			if err != nil {
				t.Fatal(err)
			}
			if st.ExitCode != 3 || st.FinishedAt.IsZero() || st.OOMKilled {
				t.Errorf("exit status %+v, want code 3", st)
			}
			f.waitMonitorExit()
			if data, err := os.ReadFile(done); err != nil || string(data) != "done\n" {
				t.Errorf("exit command: %q, %v", data, err)
			}
			if _, err := os.Stat(f.cfg.AttachSocket); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("attach socket left behind: %v", err)
			}

			data, err := os.ReadFile(f.cfg.LogPath)
			if err != nil {
				t.Fatal(err)
			}
			log := string(data)
			for _, want := range map[string][]string{
				monitor.LogDriverK8sFile:  {" stdout F hello\n", " stderr F err\n"},
				monitor.LogDriverJSONFile: {`{"log":"hello\n","stream":"stdout","time":"`, `{"log":"err\n","stream":"stderr","time":"`},
			}[driver] {
				if !strings.Contains(log, want) {
					t.Errorf("log %q lacks %q", log, want)
				}
			}
			var stdout, stderr bytes.Buffer
			if err := monitor.ReadLog(context.Background(), f.cfg.LogPath, monitor.LogReadOptions{Tail: -1}, &stdout, &stderr); err != nil {
				t.Fatal(err)
			}
			if stdout.String() != "hello\n" || stderr.String() != "err\n" {
				t.Errorf("ReadLog: stdout %q, stderr %q", stdout.String(), stderr.String())
			}
		})
	}
}

func TestAttachStdin(t *testing.T) {
	t.Parallel()
	f := newFixture(t, []string{"cat"}, func(c *monitor.Config) { c.Stdin = true })
	inR, inW := io.Pipe()
	var outA, outB syncBuffer
	a := f.spawnAttached(monitor.AttachStreams{Stdin: inR, Stdout: &outA})
	b := attach(t, f.cfg.AttachSocket, monitor.AttachStreams{Stdout: &outB})
	if _, err := inW.Write([]byte("ping\n")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "output on both clients", func() bool {
		return outA.String() == "ping\n" && outB.String() == "ping\n"
	})
	// End of stdin closes the container's stdin: cat exits 0 and both
	// clients see the end of the output.
	_ = inW.Close()
	if err := waitAttach(t, a); err != nil {
		t.Errorf("client A: %v", err)
	}
	if err := waitAttach(t, b); err != nil {
		t.Errorf("client B: %v", err)
	}
	if st := f.waitExit(); st.ExitCode != 0 {
		t.Errorf("exit code %d, want 0", st.ExitCode)
	}
	if outA.String() != "ping\n" || outB.String() != "ping\n" {
		t.Errorf("clients got %q and %q", outA.String(), outB.String())
	}
}

func TestTerminal(t *testing.T) {
	t.Parallel()
	// The pty starts with the spec's size; the shell then waits for the
	// attach client's resize before it reports.
	script := `stty size; while [ "$(stty size)" = "10 20" ]; do sleep 0.05; done; tty; stty size`
	f := newFixture(t, []string{"sh", "-c", script},
		func(c *monitor.Config) { c.Terminal = true },
		func(s *specs.Spec) {
			s.Process.Terminal = true
			s.Process.ConsoleSize = &specs.Box{Height: 10, Width: 20}
		})
	resize := make(chan monitor.TerminalSize, 1)
	var out syncBuffer
	ch := f.spawnAttached(monitor.AttachStreams{Stdout: &out, Resize: resize})
	waitFor(t, "the first size", func() bool { return strings.HasPrefix(out.String(), "10 20") })
	resize <- monitor.TerminalSize{Width: 100, Height: 40}
	if err := waitAttach(t, ch); err != nil {
		t.Fatal(err)
	}
	const want = "10 20\r\n/dev/pts/0\r\n40 100\r\n"
	if got := out.String(); got != want {
		t.Errorf("terminal output %q, want %q", got, want)
	}
	if st := f.waitExit(); st.ExitCode != 0 {
		t.Errorf("exit code %d", st.ExitCode)
	}
	var logged bytes.Buffer
	if err := monitor.ReadLog(context.Background(), f.cfg.LogPath, monitor.LogReadOptions{Tail: -1}, &logged, nil); err != nil {
		t.Fatal(err)
	}
	if got := logged.String(); got != want {
		t.Errorf("logged %q", got)
	}
}

func TestDetachKeys(t *testing.T) {
	t.Parallel()
	f := newFixture(t, []string{"cat"}, func(c *monitor.Config) {
		c.Stdin = true
		// Longer than a socket address holds: reached through /proc/self/fd.
		long := filepath.Join(filepath.Dir(c.AttachSocket), strings.Repeat("d", 60), strings.Repeat("e", 60))
		if err := os.MkdirAll(long, 0o755); err != nil {
			t.Fatal(err)
		}
		c.AttachSocket = filepath.Join(long, "attach")
	})
	f.mustSpawn()

	keys, err := monitor.ParseDetachKeys("ctrl-x,y")
	if err != nil {
		t.Fatal(err)
	}
	inR, inW := io.Pipe()
	var out syncBuffer
	ch := attach(t, f.cfg.AttachSocket, monitor.AttachStreams{Stdin: inR, Stdout: &out, DetachKeys: keys})
	if _, err := inW.Write([]byte("one\n")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "echo of the first line", func() bool { return out.String() == "one\n" })
	// A lone ctrl-x is held back until the next key shows it starts no
	// sequence, then passed on.
	if _, err := inW.Write([]byte("two\x18")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if _, err := inW.Write([]byte("z\n")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the held-back key", func() bool { return out.String() == "one\ntwo\x18z\n" })
	for _, b := range []string{"\x18", "y"} {
		if _, err := inW.Write([]byte(b)); err != nil {
			t.Fatal(err)
		}
	}
	if err := waitAttach(t, ch); !errors.Is(err, monitor.ErrDetached) {
		t.Fatalf("Attach = %v, want ErrDetached", err)
	}

	// The container keeps running; a new client can talk to it.
	st, err := f.rt.State(context.Background(), f.cfg.ID)
	if err != nil || st.Status != specs.StateRunning {
		t.Fatalf("after detaching the container is %v, %v", st, err)
	}
	var out2 syncBuffer
	ch = attach(t, f.cfg.AttachSocket, monitor.AttachStreams{Stdin: strings.NewReader("three\n"), Stdout: &out2})
	if err := waitAttach(t, ch); err != nil {
		t.Fatal(err)
	}
	if got := out2.String(); got != "three\n" {
		t.Errorf("second client got %q", got)
	}
	f.waitExit()
}

func TestSignals(t *testing.T) {
	t.Parallel()
	t.Run("kill", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, []string{"sleep", "1000"}, nil)
		f.mustSpawn()
		if err := f.rt.Kill(context.Background(), f.cfg.ID, syscall.SIGKILL, false); err != nil {
			t.Fatal(err)
		}
		if st := f.waitExit(); st.ExitCode != 137 {
			t.Errorf("exit code %d, want 137", st.ExitCode)
		}
	})
	t.Run("forwarded", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, []string{"sh", "-c", `trap "exit 42" TERM; echo ready; while true; do sleep 0.05; done`}, nil)
		f.mustSpawn()
		waitFor(t, "the trap", func() bool {
			data, _ := os.ReadFile(f.cfg.LogPath)
			return bytes.Contains(data, []byte("ready"))
		})
		if err := syscall.Kill(f.monitorPid, syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if st := f.waitExit(); st.ExitCode != 42 {
			t.Errorf("exit code %d, want 42", st.ExitCode)
		}
	})
	t.Run("deleted under it", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, []string{"sleep", "1000"}, nil)
		f.mustSpawn()
		if err := f.rt.Delete(context.Background(), f.cfg.ID, true); err != nil {
			t.Fatal(err)
		}
		if st := f.waitExit(); st.ExitCode != 137 {
			t.Errorf("exit code %d, want 137", st.ExitCode)
		}
		f.waitMonitorExit()
	})
}

func TestOOMKilled(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/sys/fs/cgroup/memory"); err != nil {
		if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err != nil {
			t.Skip("no memory cgroup")
		}
	}
	limit := int64(16 << 20)
	f := newFixture(t, []string{"sh", "-c", `x=$(head -c 200000000 /dev/zero | tr '\0' a); echo survived`}, nil,
		func(s *specs.Spec) {
			s.Process.Args[2] = `x=$(yes aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa | head -c 200000000); echo survived`
			s.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit, Swap: &limit}}
		})
	f.mustSpawn()
	st := f.waitExit()
	if st.ExitCode != 137 || !st.OOMKilled {
		data, _ := os.ReadFile(f.cfg.LogPath)
		t.Errorf("exit status %+v, want 137 and oomKilled (log %q)", st, data)
	}
}

func TestMissingCommand(t *testing.T) {
	t.Parallel()
	f := newFixture(t, []string{"nosuchcmd"}, nil)
	_, err := f.spawn(monitor.SpawnOptions{})
	if err == nil {
		t.Fatal("Spawn of a missing command succeeded")
	}
	if !errors.Is(err, monitor.ErrCommandNotFound) || !strings.Contains(err.Error(), `exec: "nosuchcmd": executable file not found in $PATH`) {
		t.Errorf("Spawn error %q: want runc's message, wrapping ErrCommandNotFound", err)
	}
	if _, err := os.Stat(f.cfg.ExitFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("exit file after a failed create: %v", err)
	}
}

func TestPassthrough(t *testing.T) {
	t.Parallel()
	f := newFixture(t, []string{"sh", "-c", "echo out; echo err >&2"}, func(c *monitor.Config) {
		c.LogDriver = monitor.LogDriverPassthrough
		c.LogPath = ""
	})
	out, err := os.Create(filepath.Join(f.dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = out.Close() }()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Close() }()
	if _, err := f.spawn(monitor.SpawnOptions{Stdio: &monitor.Stdio{Stdout: out, Stderr: w}}); err != nil {
		t.Fatal(err)
	}
	_ = w.Close()
	// The pipe ends when the container is done with it.
	errOut, err := io.ReadAll(r)
	if err != nil || string(errOut) != "err\n" {
		t.Errorf("stderr %q, %v", errOut, err)
	}
	f.waitExit()
	if data, err := os.ReadFile(out.Name()); err != nil || string(data) != "out\n" {
		t.Errorf("stdout %q, %v", data, err)
	}
}

func TestLogRotation(t *testing.T) {
	t.Parallel()
	const maxSize = 4096
	f := newFixture(t, []string{"sh", "-c", `i=0; while [ $i -lt 500 ]; do echo line-$i; i=$((i+1)); done`},
		func(c *monitor.Config) { c.LogMaxSize = maxSize })
	f.mustSpawn()
	f.waitExit()
	for _, p := range []string{f.cfg.LogPath, f.cfg.LogPath + ".1"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > maxSize {
			t.Errorf("%s is %d bytes, over %d", p, fi.Size(), maxSize)
		}
	}
	// What is kept is the end of the output, in order.
	var out bytes.Buffer
	if err := monitor.ReadLog(context.Background(), f.cfg.LogPath, monitor.LogReadOptions{Tail: -1}, &out, nil); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) < 50 || lines[len(lines)-1] != "line-499" {
		t.Fatalf("read %d lines ending %q", len(lines), lines[len(lines)-1])
	}
	first, err := strconv.Atoi(strings.TrimPrefix(lines[0], "line-"))
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range lines {
		if want := "line-" + strconv.Itoa(first+i); l != want {
			t.Fatalf("line %d is %q, want %q", i, l, want)
		}
	}
}

func TestFollowLog(t *testing.T) {
	t.Parallel()
	f := newFixture(t, []string{"sh", "-c", `echo first; sleep 0.5; echo second; sleep 0.5; echo third`}, nil)
	f.mustSpawn()
	var out syncBuffer
	opts := monitor.LogReadOptions{Tail: -1, Follow: true, FollowUntil: func() bool {
		_, err := os.Stat(f.cfg.ExitFile)
		return err == nil
	}}
	if err := monitor.ReadLog(context.Background(), f.cfg.LogPath, opts, &out, nil); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "first\nsecond\nthird\n" {
		t.Errorf("followed %q", got)
	}
}

// TestIdleRSS measures the monitor of an idle detached container. The
// target is 3 MiB (conmon: 1.9 MiB on this kind of host).
func TestIdleRSS(t *testing.T) {
	t.Parallel()
	f := newFixture(t, []string{"sleep", "1000"}, nil)
	f.mustSpawn()
	time.Sleep(2 * time.Second)
	status, err := os.ReadFile("/proc/" + strconv.Itoa(f.monitorPid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	var rss, anon, file int
	for _, line := range strings.Split(string(status), "\n") {
		name, value, _ := strings.Cut(line, ":")
		kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(value), " kB"))
		switch name {
		case "VmRSS":
			rss = kb
		case "RssAnon":
			anon = kb
		case "RssFile":
			file = kb
		}
	}
	t.Logf("idle monitor: VmRSS %d kB (anon %d kB, file %d kB)", rss, anon, file)
	if rss == 0 || rss > 3072 {
		t.Errorf("idle monitor VmRSS %d kB, want at most 3072 kB", rss)
	}
	if err := f.rt.Kill(context.Background(), f.cfg.ID, syscall.SIGKILL, false); err != nil {
		t.Fatal(err)
	}
	f.waitExit()
}

func TestCleanupClaim(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		cleanedUp   bool
		wantCommand bool
	}{
		{"caller cleaned up", true, false},
		{"caller went away", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var ran string
			f := newFixture(t, []string{"true"}, func(c *monitor.Config) {
				ran = filepath.Join(filepath.Dir(c.LogPath), "exit-command-ran")
				c.ExitCommand = []string{"/bin/sh", "-c", "echo ran > " + ran}
				c.CleanupClaim = filepath.Join(filepath.Dir(c.LogPath), "claim")
			})
			claim, err := monitor.ClaimCleanup(f.cfg.CleanupClaim)
			if err != nil {
				t.Fatal(err)
			}
			f.mustSpawn()
			f.waitExit()
			// The monitor waits for the claim before deciding.
			time.Sleep(200 * time.Millisecond)
			if !f.monitorAlive() {
				t.Fatal("the monitor exited while the claim was held")
			}
			if tc.cleanedUp {
				claim.Done()
			} else {
				claim.Release()
			}
			f.waitMonitorExit()
			_, err = os.Stat(ran)
			if got := err == nil; got != tc.wantCommand {
				t.Errorf("exit command ran: %v, want %v", got, tc.wantCommand)
			}
		})
	}
}
