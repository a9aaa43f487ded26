package libengine

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/engine-oss/engine/pkg/libengine/monitor"
	"github.com/engine-oss/engine/pkg/specgen"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
)

// How a container under a systemd Type=notify service reports to it. The
// engine that runs `engine run -d` or `engine start` in the unit has
// systemd's NOTIFY_SOCKET (Options.NotifySocket) and hands it to the
// container's monitor, the process that stays in the unit: once the engine
// has run `runtime start`, it tells the monitor (monitor.NotifyStarted),
// which sends MAINPID=<monitor pid> and, as --sdnotify says, READY=1 at
// once (conmon), when the health check first passes (healthy), or relays
// the container's own messages (container). The engine waits for the
// monitor's answer before it exits, so systemd knows the new main process
// before the one it started goes.

// Where the container finds its sd_notify socket with --sdnotify=container,
// as in podman: the monitor's proxy socket, in a directory of its own
// bind-mounted at notifyDirInCtr.
const (
	notifyDir      = "notify"
	notifyDirInCtr = "/run/notify"
	notifySockName = "notify.sock"
)

// notifyMode is the container's --sdnotify mode when this invocation runs
// under a service manager, or "" when nothing is to be sent.
func (e *Engine) notifyMode(c *ctr) string {
	mode := c.cfg.Spec.SdNotifyMode
	if e.notifySocket == "" || mode == specgen.SdNotifyIgnore {
		return ""
	}
	if mode == "" {
		return specgen.SdNotifyConmon
	}
	return mode
}

// systemdMonitorConfig adds to the monitor's config the notify socket and
// the health check timer.
func (e *Engine) systemdMonitorConfig(c *ctr, mc *monitor.Config) error {
	if mode := e.notifyMode(c); mode != "" {
		mc.NotifySocket, mc.NotifyMode = e.notifySocket, mode
		if mode == specgen.SdNotifyContainer {
			mc.NotifyProxy = filepath.Join(mc.Bundle, notifyDir, notifySockName)
		}
	}
	if h := c.cfg.Spec.HealthConfig; h.Enabled() && h.Interval > 0 {
		self, err := os.Executable()
		if err != nil {
			return fmt.Errorf("locate engine binary for the health check: %w", err)
		}
		mc.HealthCommand = append(append([]string{self}, e.globalArgs()...), "healthcheck", "run", c.ID)
		mc.HealthInterval = h.Interval
	}
	return nil
}

// withNotifySocket gives a --sdnotify=container container the monitor's
// proxy socket: its directory mounted at /run/notify, and NOTIFY_SOCKET.
func (e *Engine) withNotifySocket(c *ctr, spec *specs.Spec, runDir string) error {
	if e.notifyMode(c) != specgen.SdNotifyContainer {
		return nil
	}
	dir := filepath.Join(runDir, notifyDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("sd_notify socket directory: %w", err)
	}
	spec.Mounts = append(spec.Mounts, specs.Mount{
		Destination: notifyDirInCtr, Type: "bind", Source: dir,
		Options: []string{"rbind", "rw", "nosuid", "nodev", "noexec"},
	})
	spec.Process.Env = setEnv(spec.Process.Env, "NOTIFY_SOCKET", notifyDirInCtr+"/"+notifySockName)
	return nil
}

// cgroupPlacement applies --cgroups to where the container's cgroup goes:
//
//   - enabled (the default) and no-conmon: below the engine's parent
//     (/engine for root). The monitor never gets a cgroup of its own: it
//     stays in its caller's, as podman's conmon does with no-conmon.
//   - split: below the cgroup the engine runs in, which under a systemd
//     unit with Delegate=yes is the unit's, so systemd accounts and kills
//     the container with the unit. Only on cgroup v2: on v1 the engine
//     keeps the enabled placement.
//   - disabled: no limits at all; runc cannot run a container without a
//     cgroup, so it gets one named after its ID below runc's own.
func cgroupPlacement(mode string, env *specgen.GenerateEnv, name string) {
	switch mode {
	case specgen.CgroupsDisabled:
		env.CgroupParent, env.CgroupsDisabled = "", true
	case specgen.CgroupsSplit:
		if env.CgroupVersion != 2 {
			logrus.Debugf("%s: --cgroups=split is ignored on cgroup v1: the container's cgroup is made as with enabled", name)
			return
		}
		if own := ownCgroupV2(); own != "" {
			env.CgroupParent = own
		}
	}
}

// ownCgroupV2 is this process's cgroup v2 path ("/system.slice/x.service"),
// or "" when it cannot be read.
func ownCgroupV2() string {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok && strings.HasPrefix(p, "/") {
			return p
		}
	}
	return ""
}

// writeConmonPidFile writes the pid of the monitor of a container that
// just started to its ConmonPidFile, if any, replacing the file in one step
// so that systemd (a Type=forking unit's PIDFile=) never reads half of it.
func writeConmonPidFile(c *ctr, monitorPid int) error {
	path := c.cfg.ConmonPidFile
	if path == "" {
		return nil
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(fmt.Sprintf("%d\n", monitorPid)), 0o644); err != nil {
		return fmt.Errorf("conmon pid file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("conmon pid file: %w", err)
	}
	return nil
}

// cidFileAbs is a file path to remember (--cidfile, a conmon pid file),
// absolute.
func cidFileAbs(path string) string {
	if path == "" {
		return ""
	}
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}

// removeCIDFile removes the container's --cidfile, as podman does, unless
// it names another container by now.
func removeCIDFile(c *ctr) {
	path := c.cfg.CIDFile
	if path == "" {
		return
	}
	if b, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(b)) == c.ID {
		if err := os.Remove(path); err != nil {
			logrus.Debugf("remove --cidfile %s of %s: %v", path, c.Name, err)
		}
	}
}
