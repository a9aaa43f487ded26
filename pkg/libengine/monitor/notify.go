package monitor

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// sd_notify (sd_notify(3)): a service manager started with Type=notify
// gives its service the path of a datagram socket in NOTIFY_SOCKET, and
// the service sends it newline-separated KEY=VALUE lines: MAINPID=N to say
// which process to follow, READY=1 once it is up. The monitor is the
// engine's long-lived process in the service, so it is the one that talks
// to the socket, once `runtime run` has started the container and before
// it reports to Spawn: the engine, the service's first main process, exits
// only after that.
//
// The writer is hand-written rather than coreos/go-systemd, which would
// link package net into the monitor.

// Notify modes, as --sdnotify names them.
const (
	NotifyConmon    = "conmon"    // MAINPID and READY=1 once started (the default)
	NotifyContainer = "container" // MAINPID once started; READY=1 and the rest from the container
	NotifyHealthy   = "healthy"   // MAINPID once started; READY=1 when the health command first passes
)

// maxNotifyMessage is the largest datagram relayed, systemd's own limit.
const maxNotifyMessage = 4096

// sdNotify sends msg to the datagram socket at addr: a path, or an
// abstract socket name starting with '@'.
func sdNotify(addr string, msg []byte) error {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	defer func() { _ = unix.Close(fd) }()
	send := func(sa *unix.SockaddrUnix) error {
		for {
			err := unix.Sendto(fd, msg, 0, sa)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return &os.PathError{Op: "sendto", Path: addr, Err: err}
			}
			return nil
		}
	}
	if len(addr) > 0 && addr[0] == '@' { // x/sys/unix makes the leading '@' a NUL
		return send(&unix.SockaddrUnix{Name: addr})
	}
	return withSockaddr(addr, send)
}

// listenUnixgram creates a datagram socket at path, replacing a stale one,
// that anyone may send to: the container's user is not known here.
func listenUnixgram(path string) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		_ = unix.Close(fd)
		return nil, err
	}
	err = withSockaddr(path, func(sa *unix.SockaddrUnix) error {
		if err := unix.Bind(fd, sa); err != nil {
			return &os.PathError{Op: "bind", Path: path, Err: err}
		}
		return nil
	})
	if err == nil {
		err = os.Chmod(path, 0o777)
	}
	if err != nil {
		_ = unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), path), nil
}

// notify sends lines to the service manager, prefixed with MAINPID so that
// systemd follows the monitor, whoever's message it carries. Failures are
// logged: the container runs on regardless, as podman's does.
func (m *monitor) notify(lines []byte) {
	msg := append(append([]byte("MAINPID="), strconv.Itoa(os.Getpid())...), '\n')
	msg = append(msg, lines...)
	if err := sdNotify(m.cfg.NotifySocket, bytes.TrimRight(msg, "\n")); err != nil {
		logf("sd_notify: " + err.Error())
	}
}

// started is called once `runtime run` has started the container.
func (m *monitor) started() {
	if m.cfg.NotifySocket == "" {
		return
	}
	if m.cfg.NotifyMode == NotifyConmon || m.cfg.NotifyMode == "" {
		m.notify([]byte("READY=1"))
		return
	}
	m.notify(nil)
}

// healthPassed is called in the main loop when a health command exits 0.
func (m *monitor) healthPassed() {
	if m.cfg.NotifyMode == NotifyHealthy && !m.readySent {
		m.readySent = true
		m.notify([]byte("READY=1"))
	}
}

// relayNotify forwards the container's messages on the proxy socket to the
// service manager until the socket is closed. MAINPID lines are dropped:
// the container's pids mean nothing outside its namespace.
func (m *monitor) relayNotify() {
	buf := make([]byte, maxNotifyMessage)
	for {
		n, err := m.notifyProxy.Read(buf)
		if err != nil && !errors.Is(err, io.EOF) {
			return // closed
		}
		var out []byte
		for _, line := range bytes.Split(buf[:n], []byte{'\n'}) {
			if len(line) > 0 && !bytes.HasPrefix(line, []byte("MAINPID=")) {
				out = append(append(out, line...), '\n')
			}
		}
		if len(out) > 0 {
			m.notify(out)
		}
	}
}
