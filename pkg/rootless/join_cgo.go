//go:build linux && cgo

package rootless

// The C constructor below runs when the binary starts, before the Go
// runtime starts any thread: setns(2) into a user namespace needs a
// single-threaded process, which a Go program never is once main runs.
//
// With _ENGINE_PAUSE set it is the pause process: it sleeps in pause(2)
// until killed, never starting the Go runtime. With _ENGINE_JOIN_PID set
// (Enter's re-execution) it joins the user and then the mount namespace of
// that process, becomes root there and returns to the Go runtime; a failure
// before the user namespace was joined is reported in _ENGINE_JOIN_ERROR
// for Enter, one after it ends the process (exit 125), as half-joined is no
// state to run in.
//
// Otherwise, for an unprivileged user whose command runs in the user
// namespace and whose pause process is alive, it joins that process at
// once, sparing Enter the re-execution of the binary (a few milliseconds
// per command). It finds the pid file as RuntimeDir and PausePidFile do and
// checks the process as livePause does; the tests in join_cgo_test.go hold
// each C copy of a Go rule equal to it. Anything amiss before the user
// namespace is joined leaves the process as it was, silently: Enter then
// takes the long way, which starts a pause process or reports the error.
// Correctness never depends on this fast path.

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
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

// pauseArg of pause.go.
#define PAUSE_ARG "rootless-pause"

// outsideCommands of rootless.go.
static const char *const outside_commands[] = {
	"version", "quadlet", "help", "completion", "__complete", "__completeNoDesc", NULL,
};

// The global flags of cmd/engine/global.go that take a value. A flag not
// listed here stops the scan of command_joins, which then says no: a new
// global flag makes commands using it slower, never wrong.
static const char *const value_flags[] = {
	"--config", "--root", "--runroot", "--storage-driver", "--storage-opt", "--log-level", "--tmpdir", NULL,
};

// What the constructor did on its own, for init: the user's ids and
// runtime directory if it joined the pause process.
static int early_joined;
static unsigned early_uid, early_gid;
static char early_runtime_dir[PATH_MAX];

static int early_join(unsigned *uid, unsigned *gid, const char **dir) {
	*uid = early_uid;
	*gid = early_gid;
	*dir = early_runtime_dir;
	return early_joined;
}

static void join_failed(int report, const char *what, long pid, int err) {
	if (!report)
		return;
	char msg[256];
	snprintf(msg, sizeof msg, "%s of pause process %ld: %s", what, pid, strerror(err));
	setenv("_ENGINE_JOIN_ERROR", msg, 1);
}

// join_pause joins the user and then the mount namespace of pid and
// becomes root there, keeping the working directory. A failure before the
// user namespace is joined returns -1, and with report set puts the cause
// in _ENGINE_JOIN_ERROR; one after it ends the process.
static int join_pause(long pid, int report) {
	char path[64];
	snprintf(path, sizeof path, "/proc/%ld/ns/user", pid);
	int userfd = open(path, O_RDONLY | O_CLOEXEC);
	if (userfd < 0) {
		join_failed(report, "open the user namespace", pid, errno);
		return -1;
	}
	snprintf(path, sizeof path, "/proc/%ld/ns/mnt", pid);
	int mntfd = open(path, O_RDONLY | O_CLOEXEC);
	if (mntfd < 0) {
		join_failed(report, "open the mount namespace", pid, errno);
		close(userfd);
		return -1;
	}
	char cwd[PATH_MAX];
	int have_cwd = getcwd(cwd, sizeof cwd) != NULL;
	if (setns(userfd, CLONE_NEWUSER) < 0) {
		join_failed(report, "join the user namespace", pid, errno);
		close(userfd);
		close(mntfd);
		return -1;
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
	return 0;
}

// read_file reads up to size-1 bytes of path into buf, NUL-terminated, and
// returns how many, or -1.
static ssize_t read_file(const char *path, char *buf, size_t size) {
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

// command_joins says whether argv runs a command of the user namespace, as
// cmd/engine's enterUserNamespace decides: the first word after the global
// flags is not one of outside_commands, and argv[0] is not one of the
// systemd generators' names (engine-system-generator,
// engine-user-generator of cmd/engine/quadlet.go). What it does not
// understand (an unknown flag, no command word) says no.
static int command_joins(int argc, char *const argv[]) {
	if (argc < 1)
		return 0;
	const char *base = strrchr(argv[0], '/');
	base = base != NULL ? base + 1 : argv[0];
	size_t len = strlen(base);
	if (len >= 10 && strcmp(base + len - 10, "-generator") == 0)
		return 0;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (arg[0] != '-') {
			if (arg[0] == '\0')
				return 0;
			for (const char *const *c = outside_commands; *c != NULL; c++) {
				if (strcmp(arg, *c) == 0)
					return 0;
			}
			return 1;
		}
		const char *const *f;
		for (f = value_flags; *f != NULL; f++) {
			size_t n = strlen(*f);
			if (strncmp(arg, *f, n) == 0 && (arg[n] == '=' || arg[n] == '\0')) {
				if (arg[n] == '\0')
					i++; // --flag VALUE
				break;
			}
		}
		if (*f == NULL)
			return 0;
	}
	return 0;
}

// self_command_joins is command_joins for this process's command line. A
// word cut off by the buffer, and any after it, are not seen.
static int self_command_joins(void) {
	char buf[4096];
	ssize_t n = read_file("/proc/self/cmdline", buf, sizeof buf);
	if (n <= 0)
		return 0;
	char *argv[64];
	int argc = 0;
	for (char *p = buf; p < buf + n && argc < 64;) {
		char *nul = memchr(p, '\0', buf + n - p);
		if (nul == NULL)
			break;
		argv[argc++] = p;
		p = nul + 1;
	}
	return command_joins(argc, argv);
}

// runtime_dir puts the runtime directory in dir, as runtimeDirPath of
// rootless.go: $XDG_RUNTIME_DIR, or /tmp/engine-run-UID when it is unset or
// empty. With check set it also checks it as RuntimeDir does: writable, or
// for /tmp/engine-run-UID a directory of the user's closed to others. It
// returns -1 for a directory it leaves to Enter: one that fails the checks,
// and, so that the paths are the same files whatever filepath.Join cleans,
// a relative one or one with a component starting with '.'.
static int runtime_dir(char *dir, size_t size, int check) {
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (xdg != NULL && xdg[0] != '\0') {
		if (xdg[0] != '/' || strstr(xdg, "/.") != NULL || strlen(xdg) >= size)
			return -1;
		if (check && access(xdg, W_OK | X_OK) < 0)
			return -1;
		strcpy(dir, xdg);
		return 0;
	}
	if ((size_t)snprintf(dir, size, "/tmp/engine-run-%u", (unsigned)getuid()) >= size)
		return -1;
	struct stat st;
	if (check && (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 077) != 0))
		return -1;
	return 0;
}

// pause_pid_file puts the pid file under dir in buf, as PausePidFile.
static int pause_pid_file(char *buf, size_t size, const char *dir) {
	return (size_t)snprintf(buf, size, "%s/engine/pause.pid", dir) < size ? 0 : -1;
}

// live_pause returns the pid in pid_file if it is the user's pause process,
// else 0, as livePause of pause.go.
static long live_pause(const char *pid_file) {
	char buf[32];
	if (read_file(pid_file, buf, sizeof buf) <= 0)
		return 0;
	char *end = NULL;
	errno = 0;
	long pid = strtol(buf, &end, 10);
	while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
		end++;
	if (errno != 0 || end == buf || *end != '\0' || pid <= 0 || pid > INT_MAX)
		return 0;
	char path[64];
	struct stat st;
	snprintf(path, sizeof path, "/proc/%ld", pid);
	if (stat(path, &st) < 0 || st.st_uid != getuid())
		return 0;
	char cmdline[256];
	snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
	ssize_t n = read_file(path, cmdline, sizeof cmdline);
	if (n <= 0)
		return 0;
	size_t arg1 = strlen(cmdline) + 1;
	if ((ssize_t)arg1 > n || strcmp(cmdline + arg1, PAUSE_ARG) != 0)
		return 0;
	return pid;
}

// fast_join joins the user's pause process when the process is
// unprivileged, not inside already, and runs a command of the namespace.
static void fast_join(void) {
	if (geteuid() == 0 || getenv("_CONTAINERS_USERNS_CONFIGURED") != NULL || !self_command_joins())
		return;
	char dir[PATH_MAX], pid_file[PATH_MAX];
	if (runtime_dir(dir, sizeof dir, 1) < 0 || pause_pid_file(pid_file, sizeof pid_file, dir) < 0)
		return;
	long pid = live_pause(pid_file);
	if (pid == 0)
		return;
	unsigned uid = getuid(), gid = getgid();
	if (join_pause(pid, 0) < 0)
		return;
	early_joined = 1;
	early_uid = uid;
	early_gid = gid;
	strcpy(early_runtime_dir, dir);
}

static void __attribute__((constructor)) engine_rootless_init(void) {
	if (getenv("_ENGINE_PAUSE") != NULL) {
		for (;;)
			pause();
	}
	const char *env = getenv("_ENGINE_JOIN_PID");
	if (env == NULL) {
		fast_join();
		return;
	}
	char *end = NULL;
	long pid = strtol(env, &end, 10);
	int bad = end == env || *end != '\0' || pid <= 0;
	unsetenv("_ENGINE_JOIN_PID");
	if (bad) {
		join_failed(1, "parse the pid", 0, EINVAL);
		return;
	}
	join_pause(pid, 1);
}

// For the tests, which cannot use cgo themselves.

static const char *outside_command(int i) { return outside_commands[i]; }

static int pause_pid_file_unchecked(char *buf, size_t size) {
	char dir[PATH_MAX];
	return runtime_dir(dir, sizeof dir, 0) < 0 ? -1 : pause_pid_file(buf, size, dir);
}
*/
import "C"

import (
	"os"
	"strconv"
	"unsafe"
)

// joinSupported says whether this binary carries the constructor above.
const joinSupported = true

// init makes a process the constructor joined to the pause process look
// as Enter's re-execution would have made it, before any package reads the
// environment: it sets the variables Enter passes. (The constructor could
// only set them in the C library's environment, which the Go runtime does
// not read: it took the one the process started with.)
func init() {
	var uid, gid C.unsigned
	var dir *C.char
	if C.early_join(&uid, &gid, &dir) == 0 {
		return
	}
	for k, v := range map[string]string{
		"XDG_RUNTIME_DIR":   C.GoString(dir),
		envUsernsConfigured: "done",
		envRootlessUID:      strconv.FormatUint(uint64(uid), 10),
		envRootlessGID:      strconv.FormatUint(uint64(gid), 10),
	} {
		_ = os.Setenv(k, v) // fails only for a name or value with '=' or NUL
	}
}

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

// The rest calls the constructor's C for join_cgo_test.go.

// cCommandJoins is the constructor's decision for the command line args
// (argv[0] first): whether it runs in the user namespace.
func cCommandJoins(args []string) bool {
	argv := make([]*C.char, len(args)+1)
	for i, a := range args {
		argv[i] = C.CString(a)
		defer C.free(unsafe.Pointer(argv[i]))
	}
	return C.command_joins(C.int(len(args)), &argv[0]) != 0
}

// cOutsideCommands is the constructor's list of commands run outside.
func cOutsideCommands() []string {
	var out []string
	for i := C.int(0); C.outside_command(i) != nil; i++ {
		out = append(out, C.GoString(C.outside_command(i)))
	}
	return out
}

// cPausePidFile is where the constructor looks for the pause pid file
// ("" for a runtime directory it leaves to Enter), without its checks.
func cPausePidFile() string {
	var buf [C.PATH_MAX]C.char
	if C.pause_pid_file_unchecked(&buf[0], C.size_t(len(buf))) < 0 {
		return ""
	}
	return C.GoString(&buf[0])
}

// cLivePause is the constructor's livePause.
func cLivePause(pidFile string) int {
	p := C.CString(pidFile)
	defer C.free(unsafe.Pointer(p))
	return int(C.live_pause(p))
}
