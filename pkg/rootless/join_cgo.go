//go:build linux && cgo

package rootless

// The C constructor below runs when the binary starts, before the Go
// runtime starts any thread: setns(2) into a user namespace needs a
// single-threaded process, which a Go program never is once main runs.
//
// With _ENGINE_PAUSE set it is the pause process: it sleeps in pause(2)
// until killed, never starting the Go runtime. With _ENGINE_JOIN_PID set it
// joins the user and then the mount namespace of that process, becomes
// root there and returns to the Go runtime; a failure before the user
// namespace was joined is reported in _ENGINE_JOIN_ERROR for Enter, one
// after it ends the process (exit 125), as half-joined is no state to run in.

/*
#cgo CFLAGS: -Wall
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void join_failed(const char *what, long pid, int err) {
	char msg[256];
	snprintf(msg, sizeof msg, "%s of pause process %ld: %s", what, pid, strerror(err));
	setenv("_ENGINE_JOIN_ERROR", msg, 1);
}

static void __attribute__((constructor)) engine_rootless_init(void) {
	if (getenv("_ENGINE_PAUSE") != NULL) {
		for (;;)
			pause();
	}
	const char *env = getenv("_ENGINE_JOIN_PID");
	if (env == NULL)
		return;
	char *end = NULL;
	long pid = strtol(env, &end, 10);
	int bad = end == env || *end != '\0' || pid <= 0;
	unsetenv("_ENGINE_JOIN_PID");
	if (bad) {
		join_failed("parse the pid", 0, EINVAL);
		return;
	}
	char path[64];
	snprintf(path, sizeof path, "/proc/%ld/ns/user", pid);
	int userfd = open(path, O_RDONLY | O_CLOEXEC);
	if (userfd < 0) {
		join_failed("open the user namespace", pid, errno);
		return;
	}
	snprintf(path, sizeof path, "/proc/%ld/ns/mnt", pid);
	int mntfd = open(path, O_RDONLY | O_CLOEXEC);
	if (mntfd < 0) {
		join_failed("open the mount namespace", pid, errno);
		close(userfd);
		return;
	}
	char cwd[PATH_MAX];
	int have_cwd = getcwd(cwd, sizeof cwd) != NULL;
	if (setns(userfd, CLONE_NEWUSER) < 0) {
		join_failed("join the user namespace", pid, errno);
		close(userfd);
		close(mntfd);
		return;
	}
	if (setns(mntfd, CLONE_NEWNS) < 0) {
		fprintf(stderr, "Error: join the mount namespace of the engine's pause process %ld: %s (run `engine system migrate` to start a new one)\n", pid, strerror(errno));
		_exit(125);
	}
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
		fprintf(stderr, "Error: become root in the engine's user namespace: %s\n", strerror(errno));
		_exit(125);
	}
	close(userfd);
	close(mntfd);
	// Joining a mount namespace moves to its root: go back, so relative
	// paths on the command line mean what the user meant.
	if (!have_cwd || chdir(cwd) < 0) {
		if (chdir("/") < 0) {
			_exit(125);
		}
	}
}
*/
import "C"

import "unsafe"

// joinSupported says whether this binary carries the constructor above.
const joinSupported = true

// joinError returns what the constructor put in _ENGINE_JOIN_ERROR. It is
// read from the C library's environment: setenv(3) there makes a new
// array, unseen by the Go runtime, which took the one the process started
// with.
func joinError() string {
	name := C.CString(envJoinError)
	defer C.free(unsafe.Pointer(name))
	if v := C.getenv(name); v != nil {
		return C.GoString(v)
	}
	return ""
}
