package monitor

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// Unix sockets on *os.File rather than package net: net would link the cgo
// resolver (and so libc) into the monitor whenever cgo is enabled, which
// doubles its resident size. Sockets made here are non-blocking, so the
// runtime poller serves their Reads and Writes, and deadlines work.

// maxSunPath is the room in sockaddr_un for a path and its NUL.
const maxSunPath = len(unix.RawSockaddrUnix{}.Path)

// withSockaddr calls fn with an address for path. A path too long for
// sockaddr_un is reached through /proc/self/fd/N/NAME, N being an O_PATH
// descriptor of its directory, open while fn runs.
func withSockaddr(path string, fn func(*unix.SockaddrUnix) error) error {
	if len(path) < maxSunPath {
		return fn(&unix.SockaddrUnix{Name: path})
	}
	dir, err := unix.Open(filepath.Dir(path), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: filepath.Dir(path), Err: err}
	}
	defer func() { _ = unix.Close(dir) }()
	short := "/proc/self/fd/" + strconv.Itoa(dir) + "/" + filepath.Base(path)
	if len(short) >= maxSunPath {
		return &os.PathError{Op: "bind", Path: path, Err: errors.New("socket file name too long")}
	}
	return fn(&unix.SockaddrUnix{Name: short})
}

// listenUnix listens on a stream socket at path, replacing a stale one.
func listenUnix(path string) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
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
		return os.NewSyscallError("listen", unix.Listen(fd, 16))
	})
	if err != nil {
		_ = unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), path), nil
}

// dialUnix connects to the stream socket at path.
func dialUnix(path string) (*os.File, error) {
	// Connect blocking (a unix socket connects at once unless the listener's
	// backlog is full), then hand the socket to the poller.
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	err = withSockaddr(path, func(sa *unix.SockaddrUnix) error {
		for {
			err := unix.Connect(fd, sa)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return &os.PathError{Op: "connect", Path: path, Err: err}
			}
			return os.NewSyscallError("setnonblock", unix.SetNonblock(fd, true))
		}
	})
	if err != nil {
		_ = unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), path), nil
}

// accept waits for and accepts one connection on a listener from listenUnix.
// Closing the listener makes it return an error.
func accept(ln *os.File) (*os.File, error) { return acceptOn(ln, true) }

// acceptOn accepts a connection on ln: waiting for one through the
// poller, or, without wait, only one already queued (nil if none).
func acceptOn(ln *os.File, wait bool) (*os.File, error) {
	rc, err := ln.SyscallConn()
	if err != nil {
		return nil, err
	}
	var nfd int
	var aerr error
	try := func(fd uintptr) {
		for {
			if nfd, _, aerr = unix.Accept4(int(fd), unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK); aerr != unix.EINTR {
				return
			}
		}
	}
	if wait {
		err = rc.Read(func(fd uintptr) bool { try(fd); return aerr != unix.EAGAIN })
	} else {
		err = rc.Control(try)
	}
	switch {
	case err != nil:
		return nil, err
	case aerr == unix.EAGAIN:
		return nil, nil
	case aerr != nil:
		return nil, os.NewSyscallError("accept", aerr)
	}
	return os.NewFile(uintptr(nfd), ln.Name()), nil
}

// recvFd receives one file descriptor sent with SCM_RIGHTS (as runc sends
// the pty master to --console-socket).
func recvFd(conn *os.File) (int, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return -1, err
	}
	buf := make([]byte, 4096) // runc sends the pty's name along
	oob := make([]byte, unix.CmsgSpace(4))
	var oobn int
	var rerr error
	err = rc.Read(func(fd uintptr) bool {
		_, oobn, _, _, rerr = unix.Recvmsg(int(fd), buf, oob, unix.MSG_CMSG_CLOEXEC)
		return rerr != unix.EAGAIN && rerr != unix.EINTR
	})
	if err != nil {
		return -1, err
	}
	if rerr != nil {
		return -1, os.NewSyscallError("recvmsg", rerr)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return -1, os.NewSyscallError("parse control message", err)
	}
	for _, msg := range msgs {
		fds, err := unix.ParseUnixRights(&msg)
		if err == nil && len(fds) > 0 {
			for _, extra := range fds[1:] {
				_ = unix.Close(extra)
			}
			return fds[0], nil
		}
	}
	return -1, errors.New("console socket: no file descriptor received")
}

// listenerFd is where Spawn passes the attach listener it made.
const listenerFd = 4

// inheritedListener returns the attach listener Spawn passed, or nil. Only
// a listening socket counts: without one, fd 4 may be anything the Go
// runtime opened (its poller's epoll descriptor, say).
func inheritedListener() *os.File {
	v, err := unix.GetsockoptInt(listenerFd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
	if err != nil || v != 1 {
		return nil
	}
	// Neither the runtime nor the container may inherit it.
	unix.CloseOnExec(listenerFd)
	return os.NewFile(listenerFd, "attach")
}

// acceptNow accepts a connection already queued on ln, or returns nil.
func acceptNow(ln *os.File) (*os.File, error) { return acceptOn(ln, false) }
