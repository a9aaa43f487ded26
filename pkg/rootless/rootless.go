// Package rootless owns the user namespace the engine runs in for
// unprivileged users: detection, /etc/subuid and /etc/subgid parsing,
// newuidmap/newgidmap, the pause process. It does not know about containers
// or stores.
//
// An unprivileged engine runs inside a user namespace and a mount
// namespace, where it is root (uid 0 is the user, 1..N the user's
// subordinate ids). The namespaces are held by a pause process, so every
// invocation of the user, and every container they start, shares them; its
// pid is in $XDG_RUNTIME_DIR/engine/pause.pid. When that process runs, the
// C constructor of join_cgo.go joins it as the binary starts, for commands
// not in StaysOutside; otherwise Enter, called first thing, starts one if
// needed and re-executes the binary joined to it. StopPause ends it, so
// that the next invocation creates namespaces with the current subordinate
// ranges.
package rootless

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// Environment variables between the engine, its re-executed self and the
// constructor of join_cgo.go. The _CONTAINERS_ ones are those
// containers/storage reads to know that it runs rootless, and for whom.
const (
	envJoinPid          = "_ENGINE_JOIN_PID"
	envJoinError        = "_ENGINE_JOIN_ERROR"
	envPause            = "_ENGINE_PAUSE"
	envUsernsConfigured = "_CONTAINERS_USERNS_CONFIGURED"
	envRootlessUID      = "_CONTAINERS_ROOTLESS_UID"
	envRootlessGID      = "_CONTAINERS_ROOTLESS_GID"
)

// Enabled reports whether the engine runs for an unprivileged user: before
// Enter (not root) or after it (root in the user's namespace).
func Enabled() bool {
	return os.Geteuid() != 0 || os.Getenv(envUsernsConfigured) != ""
}

// UID is the user's uid outside the user namespace: the real one before
// Enter, the one Enter recorded after it.
func UID() int { return idFromEnv(envRootlessUID, os.Getuid()) }

// GID is the user's gid outside the user namespace, as UID.
func GID() int { return idFromEnv(envRootlessGID, os.Getgid()) }

func idFromEnv(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && os.Getenv(envUsernsConfigured) != "" {
		return v
	}
	return def
}

// outsideCommands are the top-level commands (names and aliases) an
// unprivileged user's engine runs outside the user namespace: they touch
// no store. help and completion are cobra's. The constructor of
// join_cgo.go has a copy, which TestOutsideCommandsMatchC keeps equal.
var outsideCommands = []string{"version", "quadlet", "help", "completion", "__complete", "__completeNoDesc"}

// StaysOutside reports whether the top-level command name runs outside the
// user namespace, where Enter is not called. The constructor of
// join_cgo.go never joins the pause process for those.
func StaysOutside(name string) bool {
	return slices.Contains(outsideCommands, name)
}

// FallbackRuntimeDir is the runtime directory of a user without
// $XDG_RUNTIME_DIR. It is under /tmp, not $TMPDIR, so that it does not
// change between invocations.
func FallbackRuntimeDir() string {
	return fmt.Sprintf("/tmp/engine-run-%d", UID())
}

// runtimeDirPath is the runtime directory, unchecked: $XDG_RUNTIME_DIR, or
// FallbackRuntimeDir (fallback true) when it is unset or empty. This rule,
// with PausePidFile, is where every invocation finds the pause process: the
// constructor of join_cgo.go has a copy (runtime_dir), which
// TestPausePidFileMatchesC keeps equal: change both.
func runtimeDirPath() (dir string, fallback bool) {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return d, false
	}
	return FallbackRuntimeDir(), true
}

// RuntimeDir returns $XDG_RUNTIME_DIR after checking that the user can
// write to it, or, when it is unset, FallbackRuntimeDir, created if missing
// (mode 0700) and checked to be a directory of the user's that no one else
// can enter.
func RuntimeDir() (string, error) {
	d, fallback := runtimeDirPath()
	if !fallback {
		if err := unix.Access(d, unix.W_OK|unix.X_OK); err != nil {
			return "", fmt.Errorf("XDG_RUNTIME_DIR=%s is not a directory uid %d can write to (%w): log in through a session that creates it (pam_systemd), fix its owner, or unset XDG_RUNTIME_DIR to use %s",
				d, UID(), err, FallbackRuntimeDir())
		}
		return d, nil
	}
	if err := os.Mkdir(d, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("XDG_RUNTIME_DIR is unset and %s cannot be created: %w (set XDG_RUNTIME_DIR to a directory of yours)", d, err)
	}
	if err := checkPrivateDir(d, UID()); err != nil {
		return "", fmt.Errorf("XDG_RUNTIME_DIR is unset and %w: remove it, or set XDG_RUNTIME_DIR to a directory of yours", err)
	}
	return d, nil
}

// checkPrivateDir checks that dir is a directory (not a symbolic link)
// owned by uid with no access for others, as a runtime directory in a
// world-writable /tmp must be.
func checkPrivateDir(dir string, uid int) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	owner := -1
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		owner = int(st.Uid)
	}
	switch {
	case !fi.IsDir():
		return fmt.Errorf("%s is not a directory", dir)
	case owner != uid:
		return fmt.Errorf("%s belongs to uid %d, not to uid %d", dir, owner, uid)
	case fi.Mode().Perm()&0o077 != 0:
		return fmt.Errorf("%s has mode %o: others may use it, it must be 0700", dir, fi.Mode().Perm())
	}
	return nil
}

// PausePidFile is where the pause process's pid is kept, under the
// runtime directory (see runtimeDirPath for the copy in C).
func PausePidFile(runtimeDir string) string {
	return filepath.Join(runtimeDir, "engine", "pause.pid")
}
