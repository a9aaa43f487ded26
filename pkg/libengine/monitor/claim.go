package monitor

import (
	"errors"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// CleanupClaim is an attached caller's promise to clean up after the
// container itself (see Config.CleanupClaim). Take it before Spawn, then
// call Done once cleaned up, or Release to leave it to the monitor.
type CleanupClaim struct {
	path string
	f    *os.File
}

// ClaimCleanup creates the claim file at path, a new file even if an old
// one is there (a previous run's monitor may still hold that), and locks it.
func ClaimCleanup(path string) (*CleanupClaim, error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, wrap(err, "cleanup claim")
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, wrap(err, "cleanup claim")
	}
	if err := flock(f, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return nil, wrap(err, "cleanup claim "+path)
	}
	return &CleanupClaim{path: path, f: f}, nil
}

// Done tells the monitor the caller has cleaned up: it runs no exit command.
func (c *CleanupClaim) Done() {
	if c == nil {
		return
	}
	_ = os.Remove(c.path)
	_ = c.f.Close()
}

// Release gives the cleanup back to the monitor's exit command.
func (c *CleanupClaim) Release() {
	if c == nil {
		return
	}
	_ = c.f.Close()
}

// openClaim opens the claim file the caller created before starting the
// monitor; nil when there is none, and the exit command then runs.
func openClaim(path string) *os.File {
	if path == "" {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	return f
}

// cleanedUp waits until the claiming caller let go of the claim and
// reports whether it cleaned up (it unlinked the file first).
func cleanedUp(claim *os.File) bool {
	if claim == nil {
		return false
	}
	defer func() { _ = claim.Close() }()
	if err := flock(claim, unix.LOCK_EX); err != nil {
		logf("wait for the cleanup claim: " + err.Error())
		return false
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(claim.Fd()), &st); err != nil {
		return false
	}
	return st.Nlink == 0
}

func flock(f *os.File, how int) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) {
		for {
			if ferr = unix.Flock(int(fd), how); ferr != unix.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	return os.NewSyscallError("flock", ferr)
}
