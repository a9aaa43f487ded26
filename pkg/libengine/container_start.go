package libengine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/cyphar/filepath-securejoin"
	"github.com/engine-oss/engine/pkg/libengine/config"
	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/libengine/monitor"
	"github.com/engine-oss/engine/pkg/specgen"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// startedCtr is a container whose process runs, with the attach session
// opened before it started when one was asked for: attached delivers the
// session's end, and claim is the caller's promise to clean up after it.
type startedCtr struct {
	c        *ctr
	attached <-chan error
	claim    *monitor.CleanupClaim
}

// startLocked starts a created or exited container; the caller holds its
// lock. With attach set, the attach socket is connected before the process
// starts so no output is lost. On failure the root filesystem is unmounted
// and the record says why.
func (e *Engine) startLocked(ctx context.Context, c *ctr, streams *monitor.AttachStreams) (_ *startedCtr, retErr error) {
	switch c.State.Status {
	case define.StatusCreated, define.StatusExited:
	case define.StatusRunning, define.StatusPaused:
		return nil, fmt.Errorf("container %s is already %s: %w", c.Name, c.State.Status, define.ErrCtrStateInvalid)
	default:
		return nil, define.CheckTransition(c.State.Status, define.StatusRunning)
	}
	if err := e.startPodInfra(ctx, c); err != nil {
		return nil, err
	}
	rt, err := e.runtime(ctx)
	if err != nil {
		return nil, err
	}
	if c.State.Status == define.StatusExited {
		// A previous run may have left the runtime's record behind.
		if err := rt.Delete(ctx, c.ID, true); err != nil {
			logrus.Debugf("delete leftover runtime state of %s: %v", c.Name, err)
		}
	}
	runDir := e.runDir(c.ID)
	for _, f := range []string{exitFile, pidFile, attachSocket, cleanupClaimFile} {
		if err := os.Remove(filepath.Join(runDir, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("container %s: remove stale %s: %w", c.Name, f, err)
		}
	}
	if err := os.MkdirAll(runDir, 0o700); err != nil {
		return nil, fmt.Errorf("container %s: run directory: %w", c.Name, err)
	}
	if err := os.MkdirAll(e.staticDir(c.ID), 0o700); err != nil {
		return nil, fmt.Errorf("container %s: data directory: %w", c.Name, err)
	}
	logrus.Debugf("start %s: mounting root filesystem", c.Name)
	rootfs, err := e.store.Mount(c.ID, "")
	if err != nil {
		return nil, fmt.Errorf("container %s: mount root filesystem: %w", c.Name, err)
	}
	defer func() {
		if retErr != nil {
			_ = rt.Delete(context.WithoutCancel(ctx), c.ID, true)
			if _, err := e.store.Unmount(c.ID, false); err != nil {
				logrus.Warnf("unmount %s after failed start: %v", c.Name, err)
			}
			st := c.State
			st.Error = retErr.Error()
			if uerr := e.db.UpdateState(context.WithoutCancel(ctx), c.ID, st); uerr != nil {
				logrus.Warnf("record failed start of %s: %v", c.Name, uerr)
			}
		}
	}()
	logrus.Debugf("start %s: mounting volumes", c.Name)
	mountSources, err := e.mountCtrVolumes(ctx, c)
	if err != nil {
		return nil, err
	}
	defer func() {
		if retErr != nil {
			e.unmountCtrVolumes(context.WithoutCancel(ctx), c)
		}
	}()
	logrus.Debugf("start %s: setting up the network", c.Name)
	netw, err := e.setupNetwork(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", c.Name, err)
	}
	defer func() {
		if retErr != nil {
			if err := e.teardownNetwork(context.WithoutCancel(ctx), c); err != nil {
				logrus.Warnf("tear down the network of %s after failed start: %v", c.Name, err)
			}
		}
	}()
	defer netw.unlock() // before the teardown above, which takes the locks again
	logrus.Debugf("start %s: generating spec", c.Name)
	spec, err := e.generateSpec(ctx, c, rootfs, runDir, mountSources, netw)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", c.Name, err)
	}
	e.finishNetwork(ctx, netw)
	if err := e.fillCtrVolumes(ctx, c, rootfs, mountSources, spec.Process.User); err != nil {
		return nil, err
	}
	if err := checkExecutable(spec, rootfs, c.cfg.Spec.Mounts); err != nil {
		return nil, err
	}
	if streams != nil && streams.Size != nil && spec.Process.Terminal {
		spec.Process.ConsoleSize = &specs.Box{Height: uint(streams.Size.Height), Width: uint(streams.Size.Width)}
	}
	if err := writeJSON(filepath.Join(runDir, bundleConfig), spec); err != nil {
		return nil, err
	}
	mcfg, err := e.monitorConfig(c, rt.Path, rt.StateDir, runDir)
	if err != nil {
		return nil, err
	}
	mpath, err := monitorPath()
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(runDir, monitorConfig)
	spawnOpts := monitor.SpawnOptions{}
	if mcfg.LogDriver == monitor.LogDriverPassthrough {
		spawnOpts.Stdio = &monitor.Stdio{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
		if streams != nil {
			// The container has the caller's stdio itself: the session
			// only tells when it ends.
			streams = &monitor.AttachStreams{}
		}
	}
	started := &startedCtr{c: c}
	if streams != nil {
		spawnOpts.Attach, spawnOpts.AttachSocket = streams, mcfg.AttachSocket
		// The caller cleans up after the exit: the monitor need not start
		// a second engine process for it.
		mcfg.CleanupClaim = filepath.Join(runDir, cleanupClaimFile)
		if started.claim, err = monitor.ClaimCleanup(mcfg.CleanupClaim); err != nil {
			return nil, fmt.Errorf("container %s: %w", c.Name, err)
		}
		defer func() {
			if retErr != nil {
				started.claim.Done()
			}
		}()
	}
	if err := mcfg.WriteFile(cfgPath); err != nil {
		return nil, err
	}
	logrus.Debugf("start %s: spawning monitor", c.Name)
	spawned, err := monitor.Spawn(ctx, mpath, cfgPath, spawnOpts)
	switch {
	case errors.Is(err, monitor.ErrCommandNotFound):
		return nil, &define.ExitError{Code: define.ExitNotFound, Err: err}
	case errors.Is(err, monitor.ErrCommandNotExecutable):
		return nil, &define.ExitError{Code: define.ExitCannotExec, Err: err}
	case err != nil:
		return nil, fmt.Errorf("container %s: %w", c.Name, err)
	}
	started.attached = spawned.Attached
	if err := writeConmonPidFile(c, spawned.MonitorPid); err != nil {
		return nil, fmt.Errorf("container %s: %w", c.Name, err)
	}
	st := c.State
	st.Status, st.Pid, st.MonitorPid, st.Error, st.StoppedByUser = define.StatusRunning, spawned.Pid, spawned.MonitorPid, "", false
	st.StartedAt, st.FinishedAt, st.ExitCode, st.OOMKilled = time.Now(), time.Time{}, 0, false
	if err := e.db.UpdateState(ctx, c.ID, st); err != nil {
		return nil, err
	}
	c.State = st
	e.resetHealth(ctx, c)
	e.ctrEvent(ctx, c.Container, "start", nil)
	logrus.Debugf("start %s: running", c.Name)
	return started, nil
}

// generateSpec writes the container's /etc files and builds its OCI spec;
// mountSources are the host directories of its volume and image mounts.
func (e *Engine) generateSpec(ctx context.Context, c *ctr, rootfs, runDir string, mountSources map[string]string, netw *netSetup) (*specs.Spec, error) {
	s := c.cfg.Spec
	hostHosts, _ := os.ReadFile("/etc/hosts")
	hostResolv := hostResolvConf()
	hostname, _ := os.Hostname()
	env := specgen.GenerateEnv{
		ID: c.ID, RootFS: rootfs, RunDir: runDir,
		Rootless:      config.Rootless(),
		CgroupVersion: cgroupVersion(),
		HostRlimits:   hostRlimits(),
		BoundingSet:   boundingSet(),
		DeadArches:    deadSeccompArches(),
		InitPath:      findInit(),
		EtcPasswd:     readContainerFile(rootfs, "/etc/passwd"),
		EtcGroup:      readContainerFile(rootfs, "/etc/group"),
		EtcHosts:      readContainerFile(rootfs, "/etc/hosts"),
		HostEtcHosts:  hostHosts, HostResolvConf: hostResolv, HostHostname: hostname,
		MountSources: mountSources,
		NetNSPath:    netw.netns,
		Debugf:       func(format string, args ...any) { logrus.Debugf(c.Name+": "+format, args...) },
	}
	env.HostsAddress, env.HostGateway = netw.addresses()
	env.NetworkDNSServers = netw.dnsServers()
	if !env.Rootless {
		env.CgroupParent = "/engine"
	}
	cgroupPlacement(s.CgroupsMode, &env, c.Name)
	if err := e.userNSEnv(c.ID, &env); err != nil {
		return nil, err
	}
	if err := e.podEnv(ctx, c, &env); err != nil {
		return nil, err
	}
	if s.Security.Privileged {
		var err error
		if env.HostDevices, err = specgen.HostDevices("/dev"); err != nil {
			return nil, err
		}
	}
	if s.Timezone != "" {
		if err := unlinkLocaltime(rootfs); err != nil {
			return nil, err
		}
	}
	files, err := specgen.RunDirFiles(s, c.cfg.ImageConfig, env)
	if err != nil {
		return nil, err
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(runDir, name), data, 0o644); err != nil {
			return nil, fmt.Errorf("write %s: %w", name, err)
		}
	}
	spec, err := specgen.Generate(s, c.cfg.ImageConfig, env)
	if err != nil {
		return nil, err
	}
	if err := e.withNotifySocket(c, spec, runDir); err != nil {
		return nil, err
	}
	e.podSpec(ctx, c, spec)
	return spec, chownBindSources(s, spec)
}

// hostResolvConf is the host's resolv.conf; when it names only the
// loopback stub of systemd-resolved, which containers cannot reach, it is
// resolved's list of the real servers, as podman does.
func hostResolvConf() []byte {
	b, _ := os.ReadFile("/etc/resolv.conf")
	if !bytes.Contains(b, []byte("nameserver 127.0.0.53")) {
		return b
	}
	if real, err := os.ReadFile("/run/systemd/resolve/resolv.conf"); err == nil {
		return real
	}
	return b
}

// monitorConfig describes the container to its monitor process.
func (e *Engine) monitorConfig(c *ctr, runtimePath, runtimeStateDir, runDir string) (*monitor.Config, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("locate engine binary for the exit command: %w", err)
	}
	s := c.cfg.Spec
	driver := s.LogDriver
	if driver == "" {
		driver = "k8s-file"
	}
	var maxSize int64
	if v := s.LogOpts["max-size"]; v != "" {
		if maxSize, err = specgen.ParseSize("--log-opt max-size", v); err != nil {
			return nil, err
		}
	}
	mc := &monitor.Config{
		ID: c.ID, Bundle: runDir, RuntimePath: runtimePath, RuntimeStateDir: runtimeStateDir,
		Terminal: s.Terminal, Stdin: s.Stdin,
		LogDriver: driver, LogPath: c.logPath(e), LogMaxSize: maxSize,
		AttachSocket: filepath.Join(runDir, attachSocket),
		ExitFile:     filepath.Join(runDir, exitFile),
		PidFile:      filepath.Join(runDir, pidFile),
		ExitCommand:  append(append([]string{self}, e.globalArgs()...), "container", "cleanup", c.ID),
	}
	return mc, e.systemdMonitorConfig(c, mc)
}

// checkExecutable fails the way podman does when the command is missing
// (exit 127) or not executable (126), before the runtime is asked, so the
// user gets a short message and the right code. Commands provided by a bind
// mount are left to the runtime.
func checkExecutable(spec *specs.Spec, rootfs string, mounts []specgen.Mount) error {
	args := spec.Process.Args
	if len(args) >= 3 && args[0] == specgen.ContainerInitPath {
		args = args[2:]
	}
	cmd := args[0]
	var candidates []string
	if strings.Contains(cmd, "/") {
		p := cmd
		if !filepath.IsAbs(p) {
			p = filepath.Join(spec.Process.Cwd, p)
		}
		candidates = []string{p}
	} else {
		path := specgen.DefaultPath
		for _, kv := range spec.Process.Env {
			if v, ok := strings.CutPrefix(kv, "PATH="); ok {
				path = v
			}
		}
		for _, dir := range filepath.SplitList(path) {
			if filepath.IsAbs(dir) {
				candidates = append(candidates, filepath.Join(dir, cmd))
			}
		}
	}
	for _, p := range candidates {
		for _, m := range mounts {
			if p == m.Destination || strings.HasPrefix(p, strings.TrimSuffix(m.Destination, "/")+"/") {
				return nil
			}
		}
	}
	notExec := ""
	for _, p := range candidates {
		host, err := securejoin.SecureJoin(rootfs, p)
		if err != nil {
			continue
		}
		fi, err := os.Stat(host)
		if err != nil || fi.IsDir() {
			continue
		}
		if fi.Mode()&0o111 != 0 {
			return nil
		}
		notExec = p
	}
	if notExec != "" {
		return &define.ExitError{Code: define.ExitCannotExec,
			Err: fmt.Errorf("%s: permission denied: the file is not executable (chmod +x it in the image)", notExec)}
	}
	return &define.ExitError{Code: define.ExitNotFound,
		Err: fmt.Errorf("%s: executable file not found in $PATH: no such file or directory", cmd)}
}

// readContainerFile reads a file of the container's root filesystem,
// resolving symlinks inside it; a missing file reads as nil.
func readContainerFile(rootfs, path string) []byte {
	p, err := securejoin.SecureJoin(rootfs, path)
	if err != nil {
		return nil
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil
	}
	return b
}

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// cgroupVersion is 2 on a unified hierarchy, else 1 (legacy or hybrid).
func cgroupVersion() int {
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		return 2
	}
	return 1
}

// hostRlimits are this process's limits, which bound what a container can
// get when the engine lacks CAP_SYS_RESOURCE.
func hostRlimits() []specs.POSIXRlimit {
	var out []specs.POSIXRlimit
	for name, res := range map[string]int{"RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_NPROC": unix.RLIMIT_NPROC,
		"RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK, "RLIMIT_STACK": unix.RLIMIT_STACK} {
		var rl unix.Rlimit
		if err := unix.Getrlimit(res, &rl); err == nil {
			out = append(out, specs.POSIXRlimit{Type: name, Hard: rl.Max, Soft: rl.Cur})
		}
	}
	return out
}

// boundingSet is this process's capability bounding set.
func boundingSet() []string {
	if v, ok := procStatus("CapBnd"); ok {
		var mask uint64
		if _, err := fmt.Sscanf(v, "%x", &mask); err == nil {
			return specgen.CapabilitiesFromMask(mask)
		}
	}
	return nil
}

// selfStatus is this process's /proc/self/status, read once: the fields
// used (bounding set, seccomp mode) do not change while it runs.
var selfStatus = sync.OnceValue(func() string {
	b, _ := os.ReadFile("/proc/self/status")
	return string(b)
})

// procStatus returns a field of this process's /proc/self/status.
func procStatus(field string) (string, bool) {
	for _, line := range strings.Split(selfStatus(), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// deadSeccompArches are the architectures of the default seccomp profile
// whose system calls this kernel cannot run (specgen.GenerateEnv.DeadArches).
var deadSeccompArches = sync.OnceValue(func() []string {
	if runtime.GOARCH != "amd64" {
		return nil
	}
	var dead []string
	if _, err := os.Stat("/proc/sys/abi/vsyscall32"); errors.Is(err, fs.ErrNotExist) {
		dead = append(dead, "SCMP_ARCH_X86") // no IA32 emulation
	}
	// An x32 call is answered ENOSYS by a kernel without x32. Under a
	// seccomp filter (the engine in a container) it might instead kill
	// the process, so then nothing is probed.
	if mode, ok := procStatus("Seccomp"); ok && mode == "0" {
		const x32Bit = 0x40000000
		if _, _, errno := unix.RawSyscall(unix.SYS_GETPID|x32Bit, 0, 0, 0); errno == unix.ENOSYS {
			dead = append(dead, "SCMP_ARCH_X32")
		}
	}
	return dead
})

// findInit locates the init binary for --init: catatonit, then tini.
func findInit() string {
	for _, p := range []string{"/usr/libexec/podman/catatonit", "/usr/bin/catatonit", "/usr/bin/tini", "/usr/bin/tini-static"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}
