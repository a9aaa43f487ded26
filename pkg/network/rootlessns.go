package network

import (
	"context"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// RootlessNetNS is where the user's rootless network namespace is mounted
// under stateDir: the namespace that holds a rootless user's bridges and
// firewall rules, as podman's rootless netns, connected to the host by a
// pasta of its own.
func RootlessNetNS(stateDir string) string { return filepath.Join(stateDir, "rootless-netns") }

// EnsureRootlessNetNS makes the manager's namespace (m.NetNS, see
// RootlessNetNS) and starts its pasta when either is missing. The caller
// holds the lock "rootless-netns" (Lock with a network of that Interface
// would do; LockRootless does it).
func (m *Manager) EnsureRootlessNetNS(ctx context.Context) error {
	pidFile := m.NetNS + ".pid"
	if isNetNS(m.NetNS) {
		if helperAlive(pidFile) {
			return nil
		}
	} else {
		if err := RemoveNetNS(m.NetNS); err != nil {
			return err
		}
		if err := NewNetNS(m.NetNS); err != nil {
			return err
		}
	}
	return StartPasta(ctx, UserModeOptions{NetNS: m.NetNS, PidFile: pidFile})
}

// LockRootless takes the lock that guards the rootless namespace's making.
func (m *Manager) LockRootless() (func(), error) {
	return m.Lock([]*Network{{Interface: "rootless-netns"}}, false)
}

// isNetNS reports whether path is a mounted network namespace.
func isNetNS(path string) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && st.Type == unix.NSFS_MAGIC
}
