package specgen

import (
	"maps"
	"net/netip"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

var (
	nameRE   = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)
	cpusetRE = regexp.MustCompile(`^\d+(-\d+)?(,\d+(-\d+)?)*$`)
)

// Validate checks the spec without touching the host, except that it
// looks for the zone file of --tz (TimezoneFile). It returns the first
// problem found: an error wrapping define.ErrInvalidArg for a bad value, or
// define.ErrNotImplemented for a podman feature the engine lacks. Each
// error is one line naming the flag and the fix.
func (s *SpecGenerator) Validate() error {
	for _, check := range []func() error{
		s.validateBasics,
		s.validateNamespaces,
		s.validateUserNS,
		s.validateMounts,
		s.validateResources,
		s.validateSecurity,
		s.validateLimits,
		s.validateLifecycle,
		s.validatePorts,
		s.validateSystemd,
	} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (s *SpecGenerator) validateBasics() error {
	if s.Image == "" && s.ImageID == "" {
		return invalid("no image given: name one, as in `engine run IMAGE [COMMAND]`")
	}
	if s.Name != "" && !nameRE.MatchString(s.Name) {
		return invalid("--name %q: use letters, digits, '_', '.' and '-', starting with a letter or digit", s.Name)
	}
	for _, k := range slices.Sorted(maps.Keys(s.Env)) {
		if k == "" || strings.ContainsAny(k, "= \t") {
			return invalid("--env %q: invalid variable name: use KEY=VALUE with a KEY without '=' or spaces", k)
		}
	}
	if _, _, err := ParseUser(s.User); err != nil {
		return err
	}
	for _, g := range s.GroupAdd {
		switch {
		case g == "keep-groups":
			return notImplemented("--group-add keep-groups is not supported yet: list the groups by name or GID")
		case !validIDName(g):
			return invalid("--group-add %q: use a group name or GID", g)
		}
	}
	if s.Timezone != "" {
		if _, err := TimezoneFile(s.Timezone); err != nil {
			return err
		}
	}
	if s.WorkDir != "" && !path.IsAbs(s.WorkDir) {
		return invalid("--workdir %q: use an absolute path", s.WorkDir)
	}
	if s.Hostname != "" && (len(s.Hostname) > 64 || strings.ContainsAny(s.Hostname, " \t\n/")) {
		return invalid("--hostname %q: use at most 64 characters without spaces or '/'", s.Hostname)
	}
	for _, h := range s.HostAdd {
		if _, err := parseAddHost(h); err != nil {
			return err
		}
	}
	for _, d := range s.DNSServers {
		if _, err := netip.ParseAddr(d); err != nil {
			return invalid("--dns %q: use an IP address (e.g. 1.1.1.1)", d)
		}
	}
	return nil
}

// checkNamespaceMode validates a PID, IPC, UTS or cgroup namespace mode;
// inPod allows container:ID, which the engine sets for a pod's members.
func checkNamespaceMode(flag, mode string, inPod bool) error {
	switch {
	case mode == "" || mode == "private" || mode == "host":
		return nil
	case strings.HasPrefix(mode, "ns:"):
		if !path.IsAbs(strings.TrimPrefix(mode, "ns:")) {
			return invalid("%s %q: use ns:PATH with an absolute path (e.g. ns:/proc/1234/ns/%s)", flag, mode, strings.TrimPrefix(flag, "--"))
		}
		return nil
	case strings.HasPrefix(mode, "container:") && inPod && len(mode) > len("container:"):
		return nil
	case strings.HasPrefix(mode, "container:"):
		return notImplemented("%s %s: joining another container's namespace is not supported yet: use private or host", flag, mode)
	}
	return invalid("%s %q: use private, host or ns:PATH", flag, mode)
}

func (s *SpecGenerator) validateNamespaces() error {
	ns := s.Namespaces
	for _, m := range []struct{ flag, mode string }{
		{"--pid", ns.PID}, {"--ipc", ns.IPC}, {"--uts", ns.UTS}, {"--cgroupns", ns.Cgroup},
	} {
		if err := checkNamespaceMode(m.flag, m.mode, s.Pod != ""); err != nil {
			return err
		}
	}
	if err := s.validateNetwork(); err != nil {
		return err
	}
	net := ns.networkMode()
	if s.Hostname != "" && (ns.UTS == "host" || strings.HasPrefix(ns.UTS, "container:")) {
		return invalid("--hostname %s: cannot set a hostname with --uts %s: drop one of them", s.Hostname, ns.UTS)
	}
	for _, name := range slices.Sorted(maps.Keys(s.Sysctls)) {
		if err := checkSysctl(name); err != nil {
			return err
		}
		switch {
		case strings.HasPrefix(name, "net.") && net == "host":
			return invalid("--sysctl %s: cannot be set with --network host, it would change the host: drop one of them", name)
		case sysctlIPC(name) && ns.IPC == "host":
			return invalid("--sysctl %s: cannot be set with --ipc host, it would change the host: drop one of them", name)
		}
	}
	if s.ShmSize != nil && ns.IPC == "host" {
		return invalid("--shm-size: cannot be set with --ipc host, which uses the host's /dev/shm: drop one of them")
	}
	return nil
}

func (s *SpecGenerator) validateMounts() error {
	dests := map[string]bool{}
	claim := func(what, dest string) error {
		d := path.Clean(dest)
		if dests[d] {
			return invalid("%s: %s is already a mount destination: mount one thing there", what, d)
		}
		dests[d] = true
		return nil
	}
	for _, m := range s.Mounts {
		what := "mount on " + m.Destination
		if err := checkMount(what, m); err != nil {
			return err
		}
		if err := claim(what, m.Destination); err != nil {
			return err
		}
	}
	for _, dest := range slices.Sorted(maps.Keys(s.Tmpfs)) {
		if err := checkTmpfs(dest, s.Tmpfs[dest]); err != nil {
			return err
		}
		if err := claim("--tmpfs "+dest, dest); err != nil {
			return err
		}
	}
	for _, v := range s.VolumesFrom {
		if _, _, err := ParseVolumesFrom(v); err != nil {
			return err
		}
	}
	for _, d := range s.Devices {
		if _, err := ParseDevice(d); err != nil {
			return err
		}
	}
	if s.ShmSize != nil && *s.ShmSize < 0 {
		return invalid("--shm-size %d: use a size of 0 (unlimited) or more", *s.ShmSize)
	}
	return nil
}

func (s *SpecGenerator) validateResources() error {
	r := s.Resources
	if r.Memory != nil {
		if err := checkMemory(*r.Memory, strconv.FormatInt(*r.Memory, 10)); err != nil {
			return err
		}
	}
	if r.MemorySwap != nil {
		switch {
		case r.Memory == nil:
			return invalid("--memory-swap: needs --memory: set both (e.g. --memory 512m --memory-swap 1g)")
		case *r.MemorySwap != -1 && *r.MemorySwap < *r.Memory:
			return invalid("--memory-swap %d: below --memory %d: it counts memory plus swap, so use at least --memory, or -1 for unlimited", *r.MemorySwap, *r.Memory)
		}
	}
	if r.CPUs != nil {
		if err := checkCPUs(*r.CPUs); err != nil {
			return err
		}
	}
	if r.CPUShares != nil && *r.CPUShares == 0 {
		return invalid("--cpu-shares 0: use a weight of 2 or more (1024 is the default)")
	}
	if r.CPUSetCPUs != "" && !cpusetRE.MatchString(r.CPUSetCPUs) {
		return invalid("--cpuset-cpus %q: use a list of CPUs and ranges (e.g. 0-2,4)", r.CPUSetCPUs)
	}
	if r.PidsLimit != nil && *r.PidsLimit < -1 {
		return invalid("--pids-limit %d: use a positive number, or -1 for unlimited", *r.PidsLimit)
	}
	return nil
}

func (s *SpecGenerator) validateSecurity() error {
	sec := s.Security
	if err := checkCaps(sec.CapAdd, sec.CapDrop); err != nil {
		return err
	}
	if p := sec.SeccompProfilePath; p != "" && p != "unconfined" && !path.IsAbs(p) {
		return invalid("--security-opt seccomp=%s: use unconfined or the absolute path of a JSON profile", p)
	}
	return nil
}

func (s *SpecGenerator) validateLimits() error {
	seen := map[string]bool{}
	for _, rl := range s.Ulimits {
		if err := checkRlimit(rl); err != nil {
			return err
		}
		if seen[rl.Type] {
			return invalid("--ulimit %s: given twice: keep one", strings.ToLower(strings.TrimPrefix(rl.Type, "RLIMIT_")))
		}
		seen[rl.Type] = true
	}
	return nil
}

func (s *SpecGenerator) validateLifecycle() error {
	if s.StopSignal < 0 || s.StopSignal > sigRTMax {
		return invalid("--stop-signal %d: use a signal from 1 to %d", int(s.StopSignal), sigRTMax)
	}
	if err := checkRestartPolicy(s.RestartPolicy); err != nil {
		return err
	}
	if s.RestartRetries != nil && s.RestartPolicy != RestartOnFailure {
		return invalid("--restart %s: only on-failure takes a retry count: use on-failure:%d", s.RestartPolicy, *s.RestartRetries)
	}
	if s.Remove && s.RestartPolicy != "" && s.RestartPolicy != RestartNo {
		return invalid("--rm and --restart %s conflict: a removed container cannot restart: drop one", s.RestartPolicy)
	}
	switch s.LogDriver {
	case "", "k8s-file", "json-file", "none", "passthrough":
	case "journald":
		return notImplemented("--log-driver journald is not supported yet: use k8s-file")
	default:
		return invalid("--log-driver %q: use k8s-file, json-file, none or passthrough", s.LogDriver)
	}
	for _, k := range slices.Sorted(maps.Keys(s.LogOpts)) {
		v := s.LogOpts[k]
		switch k {
		case "path":
			if !path.IsAbs(v) {
				return invalid("--log-opt path=%s: use an absolute path", v)
			}
		case "max-size":
			if _, err := ParseSize("--log-opt max-size", v); err != nil {
				return err
			}
		case "tag":
		default:
			return invalid("--log-opt %s: unknown option: use path=, max-size= or tag=", k)
		}
	}
	if s.InitPath != "" && !path.IsAbs(s.InitPath) {
		return invalid("--init-path %q: use an absolute path", s.InitPath)
	}
	switch s.Pull {
	case "", "missing", "always", "never", "newer":
	default:
		return invalid("--pull %q: use missing, always, never or newer", s.Pull)
	}
	return nil
}

func (s *SpecGenerator) validatePorts() error {
	for _, p := range s.PublishPorts {
		if _, err := ParsePortSpec(p); err != nil {
			return err
		}
	}
	for _, p := range s.Expose {
		if _, err := ParseExpose(p); err != nil {
			return err
		}
	}
	return nil
}
