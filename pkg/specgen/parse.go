package specgen

import (
	"encoding/json"
	"fmt"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"
	"syscall"

	units "github.com/docker/go-units"
	"github.com/engine-oss/engine/pkg/libengine/define"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// invalid returns an error with the given text that wraps define.ErrInvalidArg.
func invalid(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, define.ErrInvalidArg)...)
}

// notImplemented returns an error with the given text that wraps
// define.ErrNotImplemented.
func notImplemented(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, define.ErrNotImplemented)...)
}

// MinMemory is the smallest --memory podman accepts.
const MinMemory = 6 * 1024 * 1024

const sizeHint = "use a number with an optional unit b, k, m or g (e.g. 512m)"

// ParseSize parses a size for the named flag (e.g. "--shm-size") as podman
// does (docker's RAMInBytes): a number with an optional binary unit b, k, m,
// g, t or p, optionally followed by "b" or "ib", in any case. Errors wrap
// define.ErrInvalidArg.
func ParseSize(flag, value string) (int64, error) {
	n, err := units.RAMInBytes(value)
	if err != nil {
		return 0, invalid("%s %q: invalid size: %s", flag, value, sizeHint)
	}
	return n, nil
}

// ParseMemory parses --memory: a size as ParseSize, at least MinMemory.
func ParseMemory(value string) (int64, error) {
	n, err := ParseSize("--memory", value)
	if err == nil {
		err = checkMemory(n, strconv.Quote(value))
	}
	if err != nil {
		return 0, err
	}
	return n, nil
}

// checkMemory checks the --memory minimum; shown is the value as the user
// wrote it.
func checkMemory(n int64, shown string) error {
	if n < MinMemory {
		return invalid("--memory %s: below the minimum of 6m (%d bytes): use at least 6m", shown, MinMemory)
	}
	return nil
}

// ParseCPUs parses --cpus: a decimal number of CPUs, at least 0.01; 0 means
// no limit.
func ParseCPUs(value string) (float64, error) {
	n, err := strconv.ParseFloat(value, 64)
	if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
		return 0, invalid("--cpus %q: not a number: use a decimal number of CPUs (e.g. 1.5)", value)
	}
	if n != 0 {
		if err := checkCPUs(n); err != nil {
			return 0, err
		}
	}
	return n, nil
}

func checkCPUs(n float64) error {
	if n < 0.01 || math.IsNaN(n) || math.IsInf(n, 0) {
		return invalid("--cpus %v: out of range: use a number of CPUs of at least 0.01", n)
	}
	return nil
}

// rlimitNames are the --ulimit names podman knows, without the RLIMIT_ prefix.
var rlimitNames = []string{
	"as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice",
	"nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack",
}

// Unlimited is the value of an rlimit set to -1 ("unlimited").
const Unlimited = math.MaxUint64

// ParseUlimit parses --ulimit "name=soft[:hard]" (e.g. "nofile=1024:2048",
// "nproc=100", "core=-1"); -1 means unlimited and a missing hard limit equals
// the soft one. The result's Type is "RLIMIT_" plus the upper-cased name.
// "host" returns define.ErrNotImplemented; other errors wrap
// define.ErrInvalidArg.
func ParseUlimit(value string) (specs.POSIXRlimit, error) {
	if value == "host" {
		return specs.POSIXRlimit{}, notImplemented("--ulimit host is not supported yet: give each limit as name=soft[:hard]")
	}
	name, limits, ok := strings.Cut(value, "=")
	if !ok {
		return specs.POSIXRlimit{}, invalid("--ulimit %q: use name=soft[:hard] (e.g. nofile=1024:2048)", value)
	}
	if !knownRlimit(name) {
		return specs.POSIXRlimit{}, invalid("--ulimit %q: unknown limit %q: use one of %s", value, name, strings.Join(rlimitNames, ", "))
	}
	softStr, hardStr, hasHard := strings.Cut(limits, ":")
	soft, err := parseRlimitValue(softStr)
	if err != nil {
		return specs.POSIXRlimit{}, invalid("--ulimit %q: soft limit %q is not a number: use a non-negative integer or -1 for unlimited", value, softStr)
	}
	hard := soft
	if hasHard {
		if hard, err = parseRlimitValue(hardStr); err != nil {
			return specs.POSIXRlimit{}, invalid("--ulimit %q: hard limit %q is not a number: use a non-negative integer or -1 for unlimited", value, hardStr)
		}
	}
	rl := specs.POSIXRlimit{Type: "RLIMIT_" + strings.ToUpper(name), Soft: soft, Hard: hard}
	if err := checkRlimit(rl); err != nil {
		return specs.POSIXRlimit{}, err
	}
	return rl, nil
}

func knownRlimit(name string) bool {
	i := sort.SearchStrings(rlimitNames, name)
	return i < len(rlimitNames) && rlimitNames[i] == name
}

func parseRlimitValue(s string) (uint64, error) {
	if s == "-1" {
		return Unlimited, nil
	}
	return strconv.ParseUint(s, 10, 64)
}

// checkRlimit validates an rlimit of the SpecGenerator.
func checkRlimit(rl specs.POSIXRlimit) error {
	name := strings.ToLower(strings.TrimPrefix(rl.Type, "RLIMIT_"))
	if !strings.HasPrefix(rl.Type, "RLIMIT_") || !knownRlimit(name) {
		return invalid("--ulimit %s: unknown limit: use one of %s", rl.Type, strings.Join(rlimitNames, ", "))
	}
	if rl.Soft > rl.Hard {
		return invalid("--ulimit %s=%d:%d: the soft limit is above the hard limit: lower the soft limit", name, rl.Soft, rl.Hard)
	}
	return nil
}

// Device is a parsed --device value.
type Device struct {
	// Source is the device node on the host.
	Source string
	// Destination is the path in the container; it defaults to Source.
	Destination string
	// Permissions is the cgroup access, a combination of r, w and m
	// (default "rwm").
	Permissions string
}

// ParseDevice parses --device "host[:container][:permissions]", e.g.
// "/dev/fuse", "/dev/sda:/dev/xvda:r" or "/dev/fuse:rw". Errors wrap
// define.ErrInvalidArg.
func ParseDevice(value string) (Device, error) {
	parts := strings.Split(value, ":")
	d := Device{Source: parts[0], Permissions: "rwm"}
	switch len(parts) {
	case 1:
	case 2:
		if validDeviceMode(parts[1]) {
			d.Permissions = parts[1]
		} else {
			d.Destination = parts[1]
		}
	case 3:
		d.Destination, d.Permissions = parts[1], parts[2]
	default:
		return Device{}, invalid("--device %q: use HOST-PATH[:CONTAINER-PATH][:PERMISSIONS] (e.g. /dev/fuse or /dev/sdb:/dev/xvdb:r)", value)
	}
	if d.Destination == "" {
		d.Destination = d.Source
	}
	if !path.IsAbs(d.Source) {
		return Device{}, invalid("--device %q: host path %q is not absolute: use a path such as /dev/fuse", value, d.Source)
	}
	if !path.IsAbs(d.Destination) {
		return Device{}, invalid("--device %q: %q is neither an absolute container path nor permissions: use a path such as /dev/fuse, or a combination of r, w and m", value, d.Destination)
	}
	if !validDeviceMode(d.Permissions) {
		return Device{}, invalid("--device %q: invalid permissions %q: use a combination of r, w and m", value, d.Permissions)
	}
	return d, nil
}

func validDeviceMode(mode string) bool {
	if mode == "" || len(mode) > 3 {
		return false
	}
	seen := map[rune]bool{}
	for _, c := range mode {
		if !strings.ContainsRune("rwm", c) || seen[c] {
			return false
		}
		seen[c] = true
	}
	return true
}

// Restart policies.
const (
	RestartNo            = "no"
	RestartAlways        = "always"
	RestartOnFailure     = "on-failure"
	RestartUnlessStopped = "unless-stopped"
)

// ParseRestartPolicy parses --restart: "no", "always", "on-failure[:N]" or
// "unless-stopped". retries is nil unless N was given. Errors wrap
// define.ErrInvalidArg.
func ParseRestartPolicy(value string) (policy string, retries *uint, err error) {
	policy, n, hasN := strings.Cut(value, ":")
	if err := checkRestartPolicy(policy); err != nil {
		return "", nil, err
	}
	if !hasN {
		return policy, nil, nil
	}
	if policy != RestartOnFailure {
		return "", nil, invalid("--restart %q: only on-failure takes a retry count: use on-failure:%s or %s", value, n, policy)
	}
	r, err := strconv.ParseUint(n, 10, 32)
	if err != nil {
		return "", nil, invalid("--restart %q: retry count %q is not a number: use on-failure:N with N >= 0", value, n)
	}
	u := uint(r)
	return policy, &u, nil
}

func checkRestartPolicy(policy string) error {
	switch policy {
	case "", RestartNo, RestartAlways, RestartOnFailure, RestartUnlessStopped:
		return nil
	}
	return invalid("--restart %q: unknown policy: use no, always, on-failure[:N] or unless-stopped", policy)
}

// signals maps signal names, without the SIG prefix, to their numbers on
// Linux. SIGRTMIN+n and SIGRTMAX-n are handled by ParseSignal.
var signals = map[string]syscall.Signal{
	"ABRT": syscall.SIGABRT, "ALRM": syscall.SIGALRM, "BUS": syscall.SIGBUS,
	"CHLD": syscall.SIGCHLD, "CLD": syscall.SIGCHLD, "CONT": syscall.SIGCONT,
	"FPE": syscall.SIGFPE, "HUP": syscall.SIGHUP, "ILL": syscall.SIGILL,
	"INT": syscall.SIGINT, "IO": syscall.SIGIO, "IOT": syscall.SIGIOT,
	"KILL": syscall.SIGKILL, "PIPE": syscall.SIGPIPE, "POLL": syscall.SIGIO,
	"PROF": syscall.SIGPROF, "PWR": syscall.SIGPWR, "QUIT": syscall.SIGQUIT,
	"SEGV": syscall.SIGSEGV, "STKFLT": syscall.SIGSTKFLT, "STOP": syscall.SIGSTOP,
	"SYS": syscall.SIGSYS, "TERM": syscall.SIGTERM, "TRAP": syscall.SIGTRAP,
	"TSTP": syscall.SIGTSTP, "TTIN": syscall.SIGTTIN, "TTOU": syscall.SIGTTOU,
	"URG": syscall.SIGURG, "USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2,
	"VTALRM": syscall.SIGVTALRM, "WINCH": syscall.SIGWINCH, "XCPU": syscall.SIGXCPU,
	"XFSZ": syscall.SIGXFSZ,
}

const (
	sigRTMin = 34
	sigRTMax = 64
)

// ParseSignal parses a signal as podman does: a name with or without the
// SIG prefix in any case ("TERM", "sigkill", "RTMIN+3"), or a number from 1
// to 64. Errors wrap define.ErrInvalidArg.
func ParseSignal(value string) (syscall.Signal, error) {
	bad := func() (syscall.Signal, error) {
		return 0, invalid("signal %q: unknown: use a name such as SIGTERM or TERM, or a number from 1 to %d", value, sigRTMax)
	}
	if n, err := strconv.Atoi(value); err == nil {
		if n < 1 || n > sigRTMax {
			return bad()
		}
		return syscall.Signal(n), nil
	}
	name := strings.TrimPrefix(strings.ToUpper(value), "SIG")
	if sig, ok := signals[name]; ok {
		return sig, nil
	}
	for _, rt := range []struct {
		prefix string
		base   int
		sign   int
	}{{"RTMIN", sigRTMin, 1}, {"RTMAX", sigRTMax, -1}} {
		rest, ok := strings.CutPrefix(name, rt.prefix)
		if !ok {
			continue
		}
		off := 0
		if rest != "" {
			want := "+"
			if rt.sign < 0 {
				want = "-"
			}
			digits, ok := strings.CutPrefix(rest, want)
			n, err := strconv.Atoi(digits)
			if !ok || err != nil || n < 0 {
				return bad()
			}
			off = n
		}
		sig := rt.base + rt.sign*off
		if sig < sigRTMin || sig > sigRTMax {
			return bad()
		}
		return syscall.Signal(sig), nil
	}
	return bad()
}

// ParseUser splits --user "user[:group]" into its parts; each is a name or
// a number, and group may be empty. An empty value returns two empty
// strings. Errors wrap define.ErrInvalidArg.
func ParseUser(value string) (user, group string, err error) {
	if value == "" {
		return "", "", nil
	}
	user, group, hasGroup := strings.Cut(value, ":")
	switch {
	case user == "":
		return "", "", invalid("--user %q: the user is missing: use USER[:GROUP], by name or number (e.g. 1000:1000)", value)
	case hasGroup && group == "":
		return "", "", invalid("--user %q: the group is missing: use USER or USER:GROUP", value)
	case !validIDName(user) || (hasGroup && !validIDName(group)):
		return "", "", invalid("--user %q: use USER[:GROUP], each a name or a number, without spaces or further colons", value)
	}
	return user, group, nil
}

func validIDName(s string) bool {
	return s != "" && !strings.ContainsAny(s, ": \t\n/")
}

// ParseSysctl parses --sysctl "name=value" and checks that the name is one
// a container may set: net.*, fs.mqueue.*, kernel.shm*, kernel.msg* and
// kernel.sem, as podman. Whether it fits the namespace modes is checked by
// Validate. Errors wrap define.ErrInvalidArg.
func ParseSysctl(value string) (name, val string, err error) {
	name, val, ok := strings.Cut(value, "=")
	if !ok || name == "" {
		return "", "", invalid("--sysctl %q: use NAME=VALUE (e.g. net.ipv4.ip_forward=1)", value)
	}
	if err := checkSysctl(name); err != nil {
		return "", "", err
	}
	return name, val, nil
}

// sysctlIPC reports whether a sysctl belongs to the IPC namespace.
func sysctlIPC(name string) bool {
	return strings.HasPrefix(name, "fs.mqueue.") || strings.HasPrefix(name, "kernel.shm") ||
		strings.HasPrefix(name, "kernel.msg") || name == "kernel.sem"
}

func checkSysctl(name string) error {
	if strings.HasPrefix(name, "net.") || sysctlIPC(name) {
		return nil
	}
	return invalid("--sysctl %s: not a namespaced sysctl: use one under net., fs.mqueue., kernel.shm, kernel.msg or kernel.sem", name)
}

// ParseTmpfs parses --tmpfs "destination[:options]", e.g.
// "/run:rw,size=64m,mode=1777". Errors wrap define.ErrInvalidArg.
func ParseTmpfs(value string) (destination, options string, err error) {
	destination, options, _ = strings.Cut(value, ":")
	if err := checkTmpfs(destination, options); err != nil {
		return "", "", err
	}
	return destination, options, nil
}

func checkTmpfs(destination, options string) error {
	if !path.IsAbs(destination) {
		return invalid("--tmpfs %q: the destination is not absolute: use an absolute container path (e.g. /run)", destination)
	}
	return checkMountOptions("--tmpfs "+destination, MountTypeTmpfs, splitOptions(options))
}

func splitOptions(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// ParseEntrypoint parses --entrypoint as podman: a JSON array of strings
// becomes the argument list, anything else is a single argument, and ""
// clears the image's entrypoint (an empty, non-nil slice).
func ParseEntrypoint(value string) []string {
	var list []string
	if err := json.Unmarshal([]byte(value), &list); err == nil && list != nil {
		return list
	}
	if value == "" {
		return []string{}
	}
	return []string{value}
}
