package rootless

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// pauseArg is the pause process's argv[1], by which a pid file's process
// is recognised as one (PAUSE_ARG in join_cgo.go).
const pauseArg = "rootless-pause"

// Enter makes the process run in the user's namespace. It returns nil
// without doing anything for root and for a process already inside, as
// one the constructor of join_cgo.go joined to a live pause process as it
// started; otherwise it never returns on success: it re-executes the binary
// (/proc/self/exe, same arguments) joined to the namespaces of the pause
// process, starting one first when none runs. The child has
// XDG_RUNTIME_DIR set (see RuntimeDir) and the variables that make Enabled,
// UID and GID, and containers/storage, know it is rootless.
//
// Errors say what to fix: a runtime directory that cannot be used, a
// malformed /etc/subuid or /etc/subgid, newuidmap or newgidmap missing or
// not setuid (package uidmap), a pause process that cannot be joined. A
// user without subordinate ranges gets a namespace mapping only their own
// id, and a warning.
func Enter() error {
	if os.Geteuid() == 0 {
		return nil
	}
	if !joinSupported {
		return errors.New("this engine was built without cgo, which running rootless needs: rebuild it with CGO_ENABLED=1, or run it as root")
	}
	joinErr := joinError()
	dir, err := RuntimeDir()
	if err != nil {
		return err
	}
	pidFile := PausePidFile(dir)
	if err := os.MkdirAll(filepath.Dir(pidFile), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(pidFile), err)
	}
	pid := livePause(pidFile)
	if pid == 0 {
		if pid, err = startPauseLocked(pidFile); err != nil {
			return err
		}
	} else if joinErr != "" {
		return fmt.Errorf("cannot %s (from %s): end it with `kill %d`, and the next command starts a new one", joinErr, pidFile, pid)
	}
	env := withEnv(os.Environ(), map[string]string{
		"XDG_RUNTIME_DIR":   dir,
		envJoinPid:          strconv.Itoa(pid),
		envUsernsConfigured: "done",
		envRootlessUID:      strconv.Itoa(os.Getuid()),
		envRootlessGID:      strconv.Itoa(os.Getgid()),
	})
	if err := syscall.Exec("/proc/self/exe", os.Args, env); err != nil {
		return fmt.Errorf("re-execute the engine in its user namespace: %w", err)
	}
	return nil
}

// withEnv returns env with the variables of set replaced or added.
func withEnv(env []string, set map[string]string) []string {
	out := make([]string, 0, len(env)+len(set))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := set[k]; !ok {
			out = append(out, kv)
		}
	}
	for k, v := range set {
		out = append(out, k+"="+v)
	}
	return out
}

// livePause returns the pid in pidFile if it is the user's pause process,
// else 0: no file, or a stale one naming a process that is gone or is not
// a pause process of this user. The constructor of join_cgo.go has a copy
// (live_pause), which TestLivePauseMatchesC holds to the same answers.
func livePause(pidFile string) int {
	data, err := os.ReadFile(pidFile)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0
	}
	proc := "/proc/" + strconv.Itoa(pid)
	var st unix.Stat_t
	if unix.Stat(proc, &st) != nil || int(st.Uid) != os.Getuid() {
		return 0
	}
	cmdline, err := os.ReadFile(proc + "/cmdline")
	if err != nil {
		return 0
	}
	args := bytes.Split(cmdline, []byte{0})
	if len(args) < 2 || string(args[1]) != pauseArg {
		return 0
	}
	return pid
}

// startPauseLocked starts a pause process unless another invocation did
// while this one waited for the lock, and returns its pid.
func startPauseLocked(pidFile string) (int, error) {
	lockPath := filepath.Join(filepath.Dir(pidFile), "pause.lock")
	lock, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", lockPath, err)
	}
	defer func() { _ = lock.Close() }() // also releases the lock
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return 0, fmt.Errorf("lock %s: %w", lockPath, err)
	}
	if pid := livePause(pidFile); pid != 0 {
		return pid, nil
	}
	return startPause(pidFile)
}

// startPause starts the pause process in a new user and mount namespace,
// maps the user's ids into it and records its pid.
func startPause(pidFile string) (_ int, retErr error) {
	uid, gid := os.Getuid(), os.Getgid()
	name := strconv.Itoa(uid)
	if u, err := user.LookupId(name); err == nil {
		name = u.Username
	}
	subUIDs, err := SubIDRanges(SubUIDFile, name, uid)
	if err != nil {
		return 0, err
	}
	subGIDs, err := SubIDRanges(SubGIDFile, name, uid)
	if err != nil {
		return 0, err
	}
	for _, c := range []struct {
		file   string
		id     int
		ranges []IDRange
	}{{SubUIDFile, uid, subUIDs}, {SubGIDFile, gid, subGIDs}} {
		for _, r := range c.ranges {
			if uint64(c.id) >= uint64(r.Start) && uint64(c.id) < r.end() {
				return 0, fmt.Errorf("%s: the range %d-%d of %s holds the user's own id %d: give %s a range that does not (usermod --del-subuids/--del-subgids, then --add-subuids/--add-subgids)",
					c.file, r.Start, r.end()-1, name, c.id, name)
			}
		}
	}
	cmd := &exec.Cmd{
		Path: "/proc/self/exe",
		Args: []string{"engine", pauseArg},
		Env:  []string{envPause + "=1"},
		Dir:  "/",
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags: syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
			Setsid:     true,
		},
	}
	var newuidmap, newgidmap string
	if len(subUIDs) == 0 || len(subGIDs) == 0 {
		logrus.Warnf("no subordinate ids for %s in %s and %s: the user namespace maps only your own uid and gid, so images with files owned by other users cannot be pulled and containers run only as root. Ask an administrator to run: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 %s, then run `engine system migrate`",
			name, SubUIDFile, SubGIDFile, name)
		// One's own id needs no helper: the kernel lets the parent write it.
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: uid, Size: 1}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: gid, Size: 1}}
		subUIDs, subGIDs = nil, nil
	} else {
		if newuidmap, err = idMapTool("newuidmap"); err != nil {
			return 0, err
		}
		if newgidmap, err = idMapTool("newgidmap"); err != nil {
			return 0, err
		}
	}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start the pause process in a new user namespace: %w (check that unprivileged user namespaces are enabled: sysctl user.max_user_namespaces)", err)
	}
	pid := cmd.Process.Pid
	defer func() {
		if retErr != nil {
			_ = cmd.Process.Kill()
			_, _ = cmd.Process.Wait()
		}
	}()
	if newuidmap != "" {
		if err := writeMap(newuidmap, pid, NamespaceMap(uid, subUIDs)); err != nil {
			return 0, err
		}
		if err := writeMap(newgidmap, pid, NamespaceMap(gid, subGIDs)); err != nil {
			return 0, err
		}
	}
	tmp := pidFile + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(pid)), 0o600); err != nil {
		return 0, fmt.Errorf("write the pause pid file: %w", err)
	}
	if err := os.Rename(tmp, pidFile); err != nil {
		return 0, fmt.Errorf("write the pause pid file: %w", err)
	}
	logrus.Debugf("rootless: started pause process %d", pid)
	return pid, cmd.Process.Release()
}

// idMapTool finds newuidmap or newgidmap in $PATH and checks that it can
// do its job: setuid root, or holding file capabilities.
func idMapTool(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s not found in $PATH: install the uidmap package (apt-get install uidmap; dnf install shadow-utils), which maps your subordinate ids into the user namespace", name)
	}
	fi, err := os.Stat(p)
	if err != nil {
		return "", fmt.Errorf("%s: %w", p, err)
	}
	if fi.Mode()&fs.ModeSetuid != 0 {
		return p, nil
	}
	if sz, err := unix.Getxattr(p, "security.capability", nil); err == nil && sz > 0 {
		return p, nil
	}
	return "", fmt.Errorf("%s is neither setuid root nor has file capabilities, so it cannot map your subordinate ids: reinstall the uidmap package (apt-get install --reinstall uidmap) or run chmod u+s %s as root", p, p)
}

// writeMap runs newuidmap or newgidmap for pid.
func writeMap(tool string, pid int, m []specs.LinuxIDMapping) error {
	args := []string{strconv.Itoa(pid)}
	for _, r := range m {
		args = append(args, strconv.FormatUint(uint64(r.ContainerID), 10), strconv.FormatUint(uint64(r.HostID), 10), strconv.FormatUint(uint64(r.Size), 10))
	}
	out, err := exec.Command(tool, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s (check your ranges in %s and %s)", tool, strings.Join(args, " "), err, bytes.TrimSpace(out), SubUIDFile, SubGIDFile)
	}
	return nil
}

// StopPause ends the user's pause process, if one runs, and removes its
// pid file, so that the next invocation creates a new user namespace with
// the current subordinate ranges. Processes still inside the old namespace
// keep it alive until they exit.
func StopPause(runtimeDir string) error {
	pidFile := PausePidFile(runtimeDir)
	if pid := livePause(pidFile); pid != 0 {
		if err := unix.Kill(pid, unix.SIGKILL); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("stop pause process %d: %w", pid, err)
		}
	}
	if err := os.Remove(pidFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", pidFile, err)
	}
	return nil
}
