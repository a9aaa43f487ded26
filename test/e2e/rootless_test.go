package e2e

// Rootless tests run the engine as an unprivileged user, as a login would:
// its own HOME and XDG_RUNTIME_DIR=/run/user/UID, the store under HOME.
// They need root to create the users and to switch to them. The user's
// engines share one user namespace (held by the pause process in
// /run/user/UID/engine/pause.pid), so these tests do not run in parallel;
// each ends the user's containers and pause process when it ends.
// Containers run with --network=none: networking is not what these tests
// are about.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/engine-oss/engine/test/testimage"
)

const (
	// rootlessUser has the subordinate ids 200000-265535, rootlessUserNoIDs none.
	rootlessUser      = "enginetest"
	rootlessUserNoIDs = "enginetest2"
	subIDStart        = 200000
	subIDCount        = 65536
	// userPath is a PATH with newuidmap (/usr/bin) and runc (/usr/sbin).
	userPath = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"
)

// account is an unprivileged user the tests run the engine as.
type account struct {
	name     string
	uid, gid int
	home     string
}

var accountsMu sync.Mutex

// requireRootlessUser makes sure the user exists with exactly the
// subordinate ranges wanted (200000-265535, or none), that it can run the
// engine binary, and returns it. It skips the test unless it runs as root.
func requireRootlessUser(t *testing.T, name string, subIDs bool) *account {
	t.Helper()
	requireRoot(t)
	accountsMu.Lock()
	defer accountsMu.Unlock()
	if _, err := user.Lookup(name); err != nil {
		mustRun(t, "useradd", "-m", "-s", "/bin/sh", name)
	}
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	// useradd may have given ranges of its own: keep only ours. (usermod
	// refuses while the user has processes, such as a pause process.)
	for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
		setSubIDs(t, f, name, u.Uid, subIDs)
	}
	a := &account{name: name, home: u.HomeDir}
	a.uid, _ = strconv.Atoi(u.Uid)
	a.gid, _ = strconv.Atoi(u.Gid)
	// The harness builds the binary into a private temporary directory.
	binDir := filepath.Dir(engineBinary)
	if fi, err := os.Stat(binDir); err == nil && fi.Mode().Perm()&0o005 != 0o005 {
		if err := os.Chmod(binDir, fi.Mode().Perm()|0o005); err != nil {
			t.Fatal(err)
		}
	}
	for dir := filepath.Dir(binDir); dir != "/"; dir = filepath.Dir(dir) {
		if fi, err := os.Stat(dir); err == nil && fi.Mode().Perm()&0o001 == 0 {
			t.Skipf("%s cannot reach the engine binary: %s is private (set ENGINE_BINARY to a binary elsewhere)", name, dir)
		}
	}
	return a
}

// setSubIDs rewrites file so that it gives user (name or uid) the range
// 200000-265535, or none.
func setSubIDs(t *testing.T, file, name, uid string, want bool) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if l != "" && !strings.HasPrefix(l, name+":") && !strings.HasPrefix(l, uid+":") {
			lines = append(lines, l)
		}
	}
	if want {
		lines = append(lines, fmt.Sprintf("%s:%d:%d", name, subIDStart, subIDCount))
	}
	out := strings.Join(lines, "\n") + "\n"
	if out == string(data) {
		return
	}
	if err := os.WriteFile(file+".e2e", []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(file+".e2e", file); err != nil {
		t.Fatal(err)
	}
}

func mustRun(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// userEngine runs the binary as an account with a store of its own under
// the account's home.
type userEngine struct {
	a                  *account
	Dir, Root, RunRoot string
	RuntimeDir         string
	Env                []string
	t                  *testing.T
}

// newUserEngine gives the test a store in ~/e2e/TESTNAME and the
// environment a login gives the user, plus the harness's registries.conf
// without search registries. When the test ends, the user's containers
// and pause process are ended and the directory removed.
func newUserEngine(t *testing.T, a *account) *userEngine {
	t.Helper()
	dir := filepath.Join(a.home, "e2e", uniqueName(t))
	_ = os.RemoveAll(dir)
	e := &userEngine{a: a, Dir: dir, Root: filepath.Join(dir, "root"), RunRoot: filepath.Join(dir, "runroot"),
		RuntimeDir: fmt.Sprintf("/run/user/%d", a.uid), t: t}
	for _, d := range []string{filepath.Dir(dir), dir, filepath.Join(dir, "config")} {
		e.mkdirOwned(d, 0o700)
	}
	e.mkdirOwned(e.RuntimeDir, 0o700)
	conf := filepath.Join(dir, "registries.conf")
	if err := os.WriteFile(conf, []byte("unqualified-search-registries = []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.Env = []string{
		"HOME=" + a.home, "USER=" + a.name, "LOGNAME=" + a.name, "PATH=" + userPath,
		"XDG_RUNTIME_DIR=" + e.RuntimeDir,
		"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
		"CONTAINERS_REGISTRIES_CONF=" + conf,
		"REGISTRY_AUTH_FILE=" + filepath.Join(dir, "auth.json"),
	}
	e.stopUserNamespace() // a previous run's, if any
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(e.Root, "engine.db")); err == nil {
			e.Run("rm", "-a", "-f", "-t", "0")
		}
		e.stopUserNamespace()
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("remove %s: %v", dir, err)
		}
	})
	return e
}

func (e *userEngine) mkdirOwned(dir string, mode os.FileMode) {
	e.t.Helper()
	if err := os.MkdirAll(dir, mode); err != nil {
		e.t.Fatal(err)
	}
	if err := os.Chown(dir, e.a.uid, e.a.gid); err != nil {
		e.t.Fatal(err)
	}
	if err := os.Chmod(dir, mode); err != nil {
		e.t.Fatal(err)
	}
}

// stopUserNamespace kills the user's pause process, and with it the user
// namespace once the processes inside have exited.
func (e *userEngine) stopUserNamespace() {
	if pid := e.pausePid(); pid > 0 {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	_ = os.Remove(e.pidFile())
}

func (e *userEngine) pidFile() string { return filepath.Join(e.RuntimeDir, "engine", "pause.pid") }

// pausePid is the pid in the pause pid file, 0 when there is none.
func (e *userEngine) pausePid() int {
	data, err := os.ReadFile(e.pidFile())
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	return pid
}

// Run runs the engine as the user with --root and --runroot.
func (e *userEngine) Run(args ...string) Result {
	e.t.Helper()
	return e.RunEnv(e.Env, append([]string{"--root", e.Root, "--runroot", e.RunRoot}, args...)...)
}

// RunEnv runs the engine as the user with env and exactly args.
func (e *userEngine) RunEnv(env []string, args ...string) Result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, engineBinary, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env, cmd.Dir = env, e.Dir
	cmd.WaitDelay = stdioWaitDelay
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(e.a.uid), Gid: uint32(e.a.gid)}}
	start := time.Now()
	err := cmd.Run()
	line := e.a.name + "$ engine " + strings.Join(args, " ")
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
		e.t.Fatalf("%s: a process it started kept its stdout/stderr open", line)
	case err != nil && !errors.As(err, &exitErr):
		e.t.Fatalf("%s: %v", line, err)
	}
	return r
}

// Must runs the engine and fails the test unless it exits 0; it returns stdout.
func (e *userEngine) Must(args ...string) string {
	e.t.Helper()
	r := e.Run(args...)
	if r.ExitCode != 0 {
		e.t.Fatalf("engine %s: exit code %d, want 0\nstderr: %s\nstdout: %s", strings.Join(args, " "), r.ExitCode, r.Stderr, r.Stdout)
	}
	return r.Stdout
}

// mustFail checks that r failed with code and that stderr says each of parts.
func mustFail(t *testing.T, r Result, code int, parts ...string) {
	t.Helper()
	if r.ExitCode != code {
		t.Fatalf("exit code %d, want %d\nstderr: %s\nstdout: %s", r.ExitCode, code, r.Stderr, r.Stdout)
	}
	for _, p := range parts {
		if !strings.Contains(r.Stderr, p) {
			t.Errorf("stderr lacks %q:\n%s", p, r.Stderr)
		}
	}
}

// pull pushes the test image opts describes and pulls it as the user.
func (e *userEngine) pull(tag string, opts testimage.Options) string {
	e.t.Helper()
	reg := plainRegistry(e.t)
	ref := pushTestImage(e.t, reg, uniqueName(e.t)+":"+tag, opts)
	e.Must(append(append([]string{"pull", "-q"}, registryFlags(reg)...), ref)...)
	return ref
}

// userDir makes a directory owned by the user in the test's directory.
func (e *userEngine) userDir(name string) string {
	e.t.Helper()
	d := filepath.Join(e.Dir, name)
	e.mkdirOwned(d, 0o755)
	return d
}

func owner(t *testing.T, path string) (uid, gid int) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return int(st.Uid), int(st.Gid)
}

func TestRootlessLifecycle(t *testing.T) {
	a := requireRootlessUser(t, rootlessUser, true)
	e := newUserEngine(t, a)
	img := e.pull("v1", testimage.Options{})
	pid := e.pausePid()
	if pid == 0 {
		t.Fatalf("no pause process after the first command (%s)", e.pidFile())
	}
	// The pause process holds a user namespace mapping the user and the
	// subordinate range.
	uidMap, err := os.ReadFile(fmt.Sprintf("/proc/%d/uid_map", pid))
	if err != nil {
		t.Fatal(err)
	}
	if f := strings.Fields(string(uidMap)); strings.Join(f, " ") != fmt.Sprintf("0 %d 1 1 %d %d", a.uid, subIDStart, subIDCount) {
		t.Fatalf("pause process uid_map %q", uidMap)
	}

	info := e.Must("info", "--format", "{{.Host.Rootless}} {{.Store.GraphDriverName}} {{.Store.GraphRoot}} {{.Store.GraphDriverSource}}")
	if !strings.HasPrefix(info, "true overlay "+e.Root+" auto-detected: native overlay") {
		t.Errorf("info: %q", info)
	}
	if out := e.Must("run", "--network=none", "--rm", img, "sh", "-c", "echo hello; id -u; cat /proc/self/uid_map"); !strings.HasPrefix(out, "hello\n0\n") ||
		!strings.Contains(out, strconv.Itoa(subIDStart)) {
		t.Errorf("run --rm printed %q", out)
	}
	name := "web"
	e.Must("run", "--network=none", "-d", "--name", name, img, "sh", "-c", "echo started; trap 'exit 0' TERM; while :; do sleep 0.1; done")
	if out := e.Must("ps", "--format", "{{.Names}} {{.Status}}"); !strings.HasPrefix(out, name+" Up") {
		t.Errorf("ps: %q", out)
	}
	waitFor(t, func() bool { return e.Must("logs", name) == "started\n" })
	if r := e.Run("exec", name, "sh", "-c", "echo in; id -u"); r.ExitCode != 0 || r.Stdout != "in\n0\n" {
		if strings.Contains(r.Stderr, "unknown command") {
			t.Log("exec is not implemented yet")
		} else {
			t.Errorf("exec: %+v", r)
		}
	}
	e.Must("stop", name)
	if out := e.Must("ps", "-a", "--format", "{{.Names}} {{.Status}}"); !strings.HasPrefix(out, name+" Exited (0)") {
		t.Errorf("ps -a after stop: %q", out)
	}
	e.Must("rm", name)
	e.Must("run", "--network=none", "-d", "--name", "killed", img, "sleep", "100")
	e.Must("rm", "-f", "-t", "0", "killed")
	if out := e.Must("ps", "-a", "-q"); out != "" {
		t.Errorf("containers left: %q", out)
	}
	// Every call joined the one pause process.
	if got := e.pausePid(); got != pid {
		t.Fatalf("pause pid changed from %d to %d", pid, got)
	}
	// Resource limits need cgroup v2 for rootless containers.
	if r := e.Run("run", "--network=none", "--rm", "--memory", "64m", img, "true"); cgroupV1() {
		mustFail(t, r, 125, "--memory", "cgroup v2")
	}
}

func cgroupV1() bool {
	var st syscall.Statfs_t
	return syscall.Statfs("/sys/fs/cgroup", &st) == nil && st.Type != 0x63677270
}

func TestRootlessFileOwners(t *testing.T) {
	a := requireRootlessUser(t, rootlessUser, true)
	e := newUserEngine(t, a)
	img := e.pull("v1", testimage.Options{CustomLayers: [][]testimage.Entry{{
		{Name: "owned", Content: []byte("x"), UID: 1000, GID: 1001},
	}}})
	if out := e.Must("run", "--network=none", "--rm", img, "ls", "-n", "/owned"); !regexp.MustCompile(`^\S+\s+1\s+1000\s+1001\s`).MatchString(out) {
		t.Errorf("ls -n /owned in the container: %q", out)
	}
	// On the host, the file belongs to the subordinate ids 1000 and 1001 map to.
	found := false
	err := filepath.WalkDir(e.Root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "owned" && strings.Contains(p, "/diff/") {
			uid, gid := owner(t, p)
			if uid != subIDStart+999 || gid != subIDStart+1000 {
				t.Errorf("%s belongs to %d:%d on the host, want %d:%d", p, uid, gid, subIDStart+999, subIDStart+1000)
			}
			found = true
		}
		return nil
	})
	if err != nil || !found {
		t.Fatalf("layer file /owned not found under %s: %v", e.Root, err)
	}

	// A file owned by an id beyond the range cannot be unpacked.
	reg := plainRegistry(t)
	big := pushTestImage(t, reg, uniqueName(t)+":big", testimage.Options{CustomLayers: [][]testimage.Entry{{
		{Name: "far", Content: []byte("x"), UID: 70000},
	}}})
	r := e.Run(append(append([]string{"pull", "-q"}, registryFlags(reg)...), big)...)
	mustFail(t, r, 125, "/far is owned by uid 70000", "ids 0-65536", "engine system migrate")
	if strings.Contains(r.Stderr, "podman") {
		t.Errorf("the error sends the user to podman: %s", r.Stderr)
	}
}

func TestRootlessKeepID(t *testing.T) {
	a := requireRootlessUser(t, rootlessUser, true)
	e := newUserEngine(t, a)
	img := e.pull("v1", testimage.Options{})
	data := e.userDir("data")
	out := e.Must("run", "--network=none", "--rm", "--userns=keep-id", "-v", data+":/data", img, "sh", "-c", "id -u; id -g; touch /data/f")
	if out != fmt.Sprintf("%d\n%d\n", a.uid, a.gid) {
		t.Errorf("keep-id runs as %q, want the user's ids", out)
	}
	if uid, gid := owner(t, filepath.Join(data, "f")); uid != a.uid || gid != a.gid {
		t.Errorf("file made with keep-id belongs to %d:%d, want the user's %d:%d", uid, gid, a.uid, a.gid)
	}
	// Other modes map other ranges.
	for _, tc := range []struct{ flags, uidMap string }{
		{"--userns=nomap", fmt.Sprintf("0 1 %d", subIDCount)},
		{"--userns=auto:size=2000", "0 1 2000"},
		{"--uidmap=0:1:5000", "0 1 5000"},
	} {
		got := strings.Join(strings.Fields(e.Must("run", "--network=none", "--rm", tc.flags, img, "cat", "/proc/self/uid_map")), " ")
		if got != tc.uidMap {
			t.Errorf("%s: uid_map %q, want %q", tc.flags, got, tc.uidMap)
		}
	}
	mustFail(t, e.Run("run", "--network=none", "--rm", "--uidmap=0:100000:10", img, "true"), 125, "--uidmap 0:100000:10", "IDs 0-65536 only")
	mustFail(t, e.Run("run", "--network=none", "--rm", "--userns=keep-id", "--uidmap=0:1:10", img, "true"), 125, "conflict")
	mustFail(t, e.Run("run", "--network=none", "--rm", "--userns=bogus", img, "true"), 125, "--userns \"bogus\"", "keep-id")
}

func TestRootlessVolumeChown(t *testing.T) {
	a := requireRootlessUser(t, rootlessUser, true)
	e := newUserEngine(t, a)
	img := e.pull("v1", testimage.Options{})
	data := e.userDir("data")
	e.Must("run", "--network=none", "--rm", "--user", "1000:1000", "-v", data+":/data:U", img, "touch", "/data/f")
	for _, p := range []string{data, filepath.Join(data, "f")} {
		if uid, gid := owner(t, p); uid != subIDStart+999 || gid != subIDStart+999 {
			t.Errorf("%s belongs to %d:%d, want %d:%d (container 1000:1000)", p, uid, gid, subIDStart+999, subIDStart+999)
		}
	}
}

func TestRootlessNamespaceCommands(t *testing.T) {
	a := requireRootlessUser(t, rootlessUser, true)
	e := newUserEngine(t, a)
	// The first command starts the pause process and re-executes the engine
	// joined to it; later ones join it in the binary's C constructor,
	// without executing it again: the environment the engine started with,
	// which sh, its child, reads, then lacks _ENGINE_JOIN_PID.
	reexecuted := func() bool {
		t.Helper()
		out := e.Must("unshare", "sh", "-c", `tr '\0' '\n' </proc/$PPID/environ | grep -c '^_ENGINE_JOIN_PID=' || true`)
		return strings.TrimSpace(out) != "0"
	}
	if !reexecuted() {
		t.Error("the command that started the pause process did not re-execute the engine")
	}
	if reexecuted() {
		t.Error("with the pause process running, the engine was re-executed: the constructor did not join it")
	}
	out := e.Must("unshare", "sh", "-c", "id -u; echo $ENGINE_ROOT; echo $ENGINE_RUNROOT")
	if out != fmt.Sprintf("0\n%s\n%s\n", e.Root, e.RunRoot) {
		t.Errorf("unshare printed %q", out)
	}
	if r := e.Run("unshare", "sh", "-c", "exit 3"); r.ExitCode != 3 {
		t.Errorf("unshare exit code %d, want 3", r.ExitCode)
	}
	pid := e.pausePid()
	e.Must("system", "migrate")
	waitFor(t, func() bool { return !procAlive(pid) }) // the pause process ends
	e.Must("images")
	if got := e.pausePid(); got == 0 || got == pid {
		t.Errorf("after system migrate, pause pid %d (was %d), want a new one", got, pid)
	}
	// A stale pid file (a process that is not a pause process) is replaced.
	e.stopUserNamespace()
	if err := os.WriteFile(e.pidFile(), []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(e.pidFile(), a.uid, a.gid); err != nil {
		t.Fatal(err)
	}
	e.Must("images")
	if got := e.pausePid(); got == os.Getpid() || got == 0 {
		t.Errorf("stale pid file kept: %d", got)
	}
	// A pause process that cannot be joined (here: one in no namespace).
	e.stopUserNamespace()
	fake := &exec.Cmd{Path: engineBinary, Args: []string{"engine", "rootless-pause"}, Env: []string{"_ENGINE_PAUSE=1"},
		SysProcAttr: &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(a.uid), Gid: uint32(a.gid)}}}
	if err := fake.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fake.Process.Kill(); _ = fake.Wait() })
	if err := os.WriteFile(e.pidFile(), []byte(strconv.Itoa(fake.Process.Pid)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(e.pidFile(), a.uid, a.gid); err != nil {
		t.Fatal(err)
	}
	mustFail(t, e.Run("images"), 125, fmt.Sprintf("cannot join the user namespace of pause process %d", fake.Process.Pid),
		fmt.Sprintf("kill %d", fake.Process.Pid))
}

func TestRootlessEnvironmentErrors(t *testing.T) {
	a := requireRootlessUser(t, rootlessUser, true)
	e := newUserEngine(t, a)
	// env is the user's environment with KEY=VALUE set, or KEY= removed.
	env := func(kv string) []string {
		k, v, _ := strings.Cut(kv, "=")
		out := slices.DeleteFunc(slices.Clone(e.Env), func(x string) bool { return strings.HasPrefix(x, k+"=") })
		if v != "" {
			out = append(out, kv)
		}
		return out
	}
	args := []string{"--root", e.Root, "--runroot", e.RunRoot, "images"}

	// newuidmap is looked up in $PATH.
	mustFail(t, e.RunEnv(env("PATH=/usr/sbin:/sbin"), args...), 125, "newuidmap not found in $PATH", "uidmap package")

	// An XDG_RUNTIME_DIR the user cannot write to.
	notMine := filepath.Join(e.Dir, "not-mine")
	if err := os.Mkdir(notMine, 0o755); err != nil {
		t.Fatal(err)
	}
	mustFail(t, e.RunEnv(env("XDG_RUNTIME_DIR="+notMine), args...), 125, "XDG_RUNTIME_DIR="+notMine+" is not a directory uid", "unset XDG_RUNTIME_DIR")

	// Without XDG_RUNTIME_DIR, a private directory under /tmp.
	fallback := fmt.Sprintf("/tmp/engine-run-%d", a.uid)
	t.Cleanup(func() {
		if data, err := os.ReadFile(filepath.Join(fallback, "engine", "pause.pid")); err == nil {
			if pid, err := strconv.Atoi(string(data)); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		_ = os.RemoveAll(fallback)
	})
	_ = os.RemoveAll(fallback)
	if r := e.RunEnv(env("XDG_RUNTIME_DIR="), args...); r.ExitCode != 0 {
		t.Fatalf("without XDG_RUNTIME_DIR: %+v", r)
	}
	if fi, err := os.Stat(fallback); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("fallback runtime dir %s: %v %v", fallback, fi, err)
	}
	if uid, _ := owner(t, fallback); uid != a.uid {
		t.Errorf("%s belongs to %d", fallback, uid)
	}
	if err := os.Chmod(fallback, 0o777); err != nil {
		t.Fatal(err)
	}
	mustFail(t, e.RunEnv(env("XDG_RUNTIME_DIR="), args...), 125, fallback+" has mode 777")
}

func TestRootlessWithoutSubordinateIDs(t *testing.T) {
	a := requireRootlessUser(t, rootlessUserNoIDs, false)
	e := newUserEngine(t, a)
	reg := plainRegistry(t)
	img := pushTestImage(t, reg, uniqueName(t)+":v1", testimage.Options{})
	r := e.Run(append(append([]string{"pull", "-q"}, registryFlags(reg)...), img)...)
	if r.ExitCode != 0 {
		t.Fatalf("pull: %+v", r)
	}
	for _, want := range []string{"no subordinate ids for " + a.name, "maps only your own uid", "usermod --add-subuids 100000-165535 --add-subgids 100000-165535 " + a.name} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("warning lacks %q:\n%s", want, r.Stderr)
		}
	}
	if out := e.Must("run", "--network=none", "--rm", img, "sh", "-c", "echo ok; cat /proc/self/uid_map"); !strings.HasPrefix(out, "ok\n") ||
		strings.Join(strings.Fields(out), " ") != fmt.Sprintf("ok 0 %d 1", a.uid) {
		t.Errorf("run printed %q", out)
	}
	// The warning comes when the namespace is made, not on every call.
	if r := e.Run("images", "-q"); strings.Contains(r.Stderr, "subordinate") {
		t.Errorf("warning repeated: %s", r.Stderr)
	}
}
