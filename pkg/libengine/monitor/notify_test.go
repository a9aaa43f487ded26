package monitor

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// recvDatagram reads one datagram from fd, waiting at most a second.
func recvDatagram(t *testing.T, fd int) string {
	t.Helper()
	tv := unix.NsecToTimeval(time.Second.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, maxNotifyMessage)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		t.Fatalf("recvfrom: %v", err)
	}
	return string(buf[:n])
}

// TestSdNotify sends to a path (also one too long for sockaddr_un) and to
// an abstract socket.
func TestSdNotify(t *testing.T) {
	t.Parallel()
	long := filepath.Join(t.TempDir(), strings.Repeat("d", 100))
	if err := os.Mkdir(long, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{
		filepath.Join(t.TempDir(), "n.sock"),
		filepath.Join(long, "n.sock"),
		"@engine-notify-test-" + strconv.Itoa(os.Getpid()),
	} {
		var fd int
		if addr[0] == '@' {
			var err error
			if fd, err = unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0); err != nil {
				t.Fatal(err)
			}
			if err := unix.Bind(fd, &unix.SockaddrUnix{Name: addr}); err != nil {
				t.Fatal(err)
			}
		} else {
			f, err := listenUnixgram(addr)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = f.Close() }()
			fi, err := os.Stat(addr)
			if err != nil || fi.Mode().Perm() != 0o777 {
				t.Fatalf("proxy socket mode %v, %v; want 0777 for any container user", fi.Mode(), err)
			}
			fd = int(f.Fd())
			_ = unix.SetNonblock(fd, false)
		}
		if err := sdNotify(addr, []byte("READY=1")); err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		if got := recvDatagram(t, fd); got != "READY=1" {
			t.Errorf("%s: got %q", addr, got)
		}
		if addr[0] == '@' {
			_ = unix.Close(fd)
		}
	}
	if err := sdNotify(filepath.Join(t.TempDir(), "none"), []byte("READY=1")); err == nil {
		t.Error("sending to a missing socket succeeded")
	}
}
