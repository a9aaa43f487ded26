package specgen

import (
	"fmt"
	"maps"
	"math"
	"path"
	"slices"
	"strings"

	imgspec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// GenerateEnv carries the host facts Generate needs; the caller gathers
// them so that Generate stays a pure function of its inputs (it only reads a
// seccomp profile file and stats bind-mount sources and --device nodes).
type GenerateEnv struct {
	// ID is the container's ID (required). The default hostname is its
	// first 12 characters; the cgroup is named after it.
	ID string
	// RootFS is the absolute path of the mounted root filesystem (required).
	RootFS string
	// RunDir is the directory holding the files RunDirFiles renders
	// (hostname, hosts, resolv.conf and sometimes passwd); the caller writes
	// them before the container starts and Generate bind-mounts them under
	// /etc. Empty mounts none of them.
	RunDir string
	// Rootless is true when the engine runs in a user namespace it made.
	Rootless bool
	// CgroupVersion is 1 or 2 (required).
	CgroupVersion int
	// CgroupParent is the parent cgroup: a systemd slice ("machine.slice")
	// or a cgroupfs path ("/engine"). Empty leaves the path to the runtime.
	CgroupParent string
	// CgroupsDisabled (--cgroups=disabled) sets no cgroup limits, not even
	// the default pids limit; with CgroupParent empty, the runtime then
	// places the container below its own cgroup.
	CgroupsDisabled bool
	// UIDMap and GIDMap are the maps of the container's own user namespace
	// (container IDs to the engine's), those its root filesystem was made
	// with (see SpecGenerator.ContainerIDMaps); required when
	// Namespaces.User or IDMappings ask for one. Empty shares the engine's.
	UIDMap, GIDMap []specs.LinuxIDMapping
	// EngineGIDMap is the GID map of the user namespace the engine runs in
	// (its /proc/self/gid_map); nil means every GID. A container without
	// GID 5 gets /dev/pts without gid=5, which the kernel would refuse.
	EngineGIDMap []specs.LinuxIDMapping
	// HostRlimits are the limits the runtime cannot raise: the engine's own
	// rlimits when it lacks CAP_SYS_RESOURCE. Any limit, default or
	// requested, above the hard limit of the same type is lowered to it and
	// a note goes to Debugf. Nil means no clamping.
	HostRlimits []specs.POSIXRlimit
	// BoundingSet is the engine's capability bounding set (see
	// CapabilitiesFromMask): no container capability can exceed it. Nil
	// means every capability.
	BoundingSet []string
	// DeadArches are architectures (libseccomp names, SCMP_ARCH_X32 say)
	// whose system calls the host kernel cannot run. The default seccomp
	// profile leaves them out: rules for them could never match, and each
	// architecture in a filter costs the runtime time to compile at every
	// start (about 8 ms with runc here). Nil keeps them all.
	DeadArches []string
	// HostDevices are the host's devices (see HostDevices), given to
	// --privileged containers.
	HostDevices []specs.LinuxDevice
	// InitPath is the engine's init binary (e.g. catatonit) for --init when
	// the spec has no InitPath.
	InitPath string
	// EtcPasswd, EtcGroup and EtcHosts are the image's /etc/passwd,
	// /etc/group and /etc/hosts (nil when absent): the first two resolve
	// --user and --group-add names, and RunDirFiles builds on all three.
	EtcPasswd, EtcGroup, EtcHosts []byte
	// MountSources maps the destination of each volume and image mount of
	// the spec to the host directory the caller prepared for it (required
	// for those mounts): Generate bind-mounts it.
	MountSources map[string]string
	// HostEtcHosts, HostResolvConf and HostHostname are the host's
	// /etc/hosts, /etc/resolv.conf and hostname, for RunDirFiles.
	HostEtcHosts, HostResolvConf []byte
	HostHostname                 string
	// NetNSPath is the network namespace the container joins: one the
	// engine made and configured (bridge, pasta and slirp4netns modes) or
	// another container's (container:NAME). Empty gives those modes a new,
	// empty namespace.
	NetNSPath string
	// HostsAddress is the address of the container's hostname and name in
	// its /etc/hosts (its first network address); empty means 127.0.0.1.
	HostsAddress string
	// HostGateway is the host's address as the container reaches it, which
	// /etc/hosts names host.containers.internal; empty adds no entry.
	HostGateway string
	// NetworkDNSServers are the name servers of the container's networks
	// (network create --dns), which RunDirFiles uses instead of the host's
	// when the spec sets no DNSServers.
	NetworkDNSServers []string
	// JoinPaths are namespace files (such as /proc/PID/ns/ipc) to join, by
	// type: required for each "container:ID" mode of Namespaces (the
	// files of that container's), and joined instead of a new namespace
	// for a private mode (the engine made it, as a pod's). A joined UTS
	// namespace keeps its hostname: the spec sets none.
	JoinPaths map[specs.LinuxNamespaceType]string
	// ShmDir is a host directory (a tmpfs) bind-mounted on /dev/shm instead
	// of a tmpfs of the container's own: the /dev/shm of the pod whose IPC
	// namespace the container shares. Empty gives it its own.
	ShmDir string
	// Debugf receives notes worth a debug log line. Nil discards them.
	Debugf func(format string, args ...any)
}

// Defaults applied by Generate, as podman's.
const (
	// DefaultPath is the PATH of a container whose image sets none.
	DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	// ContainerEnv is the value of the "container" variable, which tools
	// such as systemd read to learn they run in a container.
	ContainerEnv = "oci"
	// ContainerInitPath is where --init's binary is mounted in the container.
	ContainerInitPath = "/run/engine-init"
	// ManagerAnnotation marks the OCI specs the engine generated.
	ManagerAnnotation      = "io.container.manager"
	ManagerAnnotationValue = "engine"
	// DefaultShmSize is the size of /dev/shm (64 MiB).
	DefaultShmSize = 64 * 1024 * 1024
	// DefaultPidsLimit is the pids cgroup limit of rootful containers.
	DefaultPidsLimit = 2048
	// DefaultNofile and DefaultNproc are the RLIMIT_NOFILE and RLIMIT_NPROC
	// limits before clamping to GenerateEnv.HostRlimits.
	DefaultNofile = 1048576
	DefaultNproc  = 4194304
	cpuPeriod     = 100000
)

// Podman's default masked and read-only paths.
var (
	DefaultMaskedPaths = []string{
		"/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
		"/proc/sched_debug", "/proc/scsi", "/proc/timer_list", "/proc/timer_stats",
		"/sys/dev/block", "/sys/devices/virtual/powercap", "/sys/firmware", "/sys/fs/selinux",
	}
	DefaultReadonlyPaths = []string{
		"/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
	}
)

// specOpt is one change to a spec; Generate applies them in order.
type specOpt func(*specs.Spec) error

// OCIVersion is the runtime spec version the generated specs claim: 1.1.0,
// not the 1.3 of the Go types, because runtimes check it and the ones
// Debian 12 ships know no newer one (crun 1.8 refuses "1.2.0" and later
// with "unknown version specified"; runc 1.1 reports spec 1.0.2 and does not
// check). Nothing the engine generates needs a field newer than 1.1.
const OCIVersion = "1.1.0"

// Generate translates s into an OCI runtime spec for the image config img
// on the host env describes, with podman's defaults. It validates s first.
// Errors wrap define.ErrInvalidArg (a bad value, a user or group the image
// lacks, a missing bind source or device, an unreadable seccomp profile)
// or define.ErrNotImplemented.
func Generate(s *SpecGenerator, img imgspec.ImageConfig, env GenerateEnv) (*specs.Spec, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if env.ID == "" || !path.IsAbs(env.RootFS) || (env.CgroupVersion != 1 && env.CgroupVersion != 2) {
		return nil, invalid("GenerateEnv needs an ID, an absolute RootFS and a CgroupVersion of 1 or 2 (got %q, %q, %d)", env.ID, env.RootFS, env.CgroupVersion)
	}
	userFlag, userSpec := effectiveUser(s, img, env)
	user, err := resolveUser(userFlag, userSpec, env.EtcPasswd, env.EtcGroup, s.GroupAdd)
	if err != nil {
		return nil, err
	}
	args, err := ProcessArgs(s, img)
	if err != nil {
		return nil, err
	}
	initPath := s.InitPath
	if s.Init {
		if initPath == "" {
			initPath = env.InitPath
		}
		if initPath == "" {
			return nil, invalid("--init: the engine has no init binary: install catatonit or pass --init-path")
		}
		args = append([]string{ContainerInitPath, "--"}, args...)
	}
	cwd := effectiveWorkDir(s, img)
	hostname := s.containerHostname(env.ID)
	umask := uint32(0o022)

	spec := &specs.Spec{
		Version:  OCIVersion,
		Root:     &specs.Root{Path: env.RootFS, Readonly: s.Security.ReadOnly},
		Hostname: hostname,
		Process: &specs.Process{
			Terminal: s.Terminal,
			Args:     args,
			Env:      processEnv(s, img, firstNonEmpty(hostname, env.HostHostname), user.home),
			Cwd:      cwd,
			User: specs.User{
				UID: user.uid, GID: user.gid, AdditionalGids: user.sgids, Umask: &umask,
			},
			NoNewPrivileges: s.Security.NoNewPrivileges,
		},
		Linux: &specs.Linux{
			Sysctl:            maps.Clone(s.Sysctls),
			CgroupsPath:       cgroupsPath(env),
			RootfsPropagation: "rprivate",
		},
		Annotations: maps.Clone(s.Annotations),
	}
	defaultMounts, userMounts, err := containerMounts(s, env, userSpec, cwd, initPath)
	if err != nil {
		return nil, err
	}
	if env.JoinPaths[specs.UTSNamespace] != "" {
		spec.Hostname = "" // the joined namespace has its own
	}
	devOpt, err := withDevices(s, env)
	if err != nil {
		return nil, err
	}
	resOpt, err := withResources(s.Resources, env)
	if err != nil {
		return nil, err
	}
	debugf := env.Debugf
	if debugf == nil {
		debugf = func(string, ...any) {}
	}
	for _, opt := range []specOpt{
		withNamespaces(s.Namespaces, env.CgroupVersion, env.NetNSPath, env.JoinPaths),
		withUserNamespace(s.Namespaces, env),
		withMounts(defaultMounts, userMounts),
		withCapabilities(s.Security, user.uid == 0, env.BoundingSet),
		withMaskedPaths(s.Security.Privileged, env.Rootless && s.Namespaces.networkMode() == "host"),
		withRlimits(s.Ulimits, env.HostRlimits, debugf),
		resOpt,
		devOpt,
		withSeccomp(s.Security, env.DeadArches), // after the capabilities, which the profile depends on
		withAnnotation(ManagerAnnotation, ManagerAnnotationValue),
	} {
		if err := opt(spec); err != nil {
			return nil, err
		}
	}
	return spec, nil
}

// effectiveUser returns the user spec the container runs as, --user, else
// keep-id's user, else the image's USER, and where it came from, for
// messages.
func effectiveUser(s *SpecGenerator, img imgspec.ImageConfig, env GenerateEnv) (source, user string) {
	if s.User != "" {
		return "--user", s.User
	}
	if u, _ := ParseUserNS(s.Namespaces.User); u.Mode == UserNSKeepID {
		if user := keepIDUser(env); user != "" {
			return "--userns keep-id", user
		}
	}
	return "image USER", img.User
}

// effectiveWorkDir is --workdir, else the image's WORKDIR, else "/".
func effectiveWorkDir(s *SpecGenerator, img imgspec.ImageConfig) string {
	return firstNonEmpty(s.WorkDir, img.WorkingDir, "/")
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// containerHostname is --hostname, else the ID's first 12 characters with a
// new UTS namespace, else "" (the host's, or that of the namespace joined).
func (s *SpecGenerator) containerHostname(id string) string {
	if s.Hostname != "" {
		return s.Hostname
	}
	if uts := s.Namespaces.UTS; uts != "" && uts != "private" {
		return ""
	}
	return id[:min(12, len(id))]
}

// ProcessArgs combines entrypoint and command as podman: --entrypoint
// replaces the image's and, unless a command is given, drops the image's
// CMD too; an entrypoint of [""] counts as none.
func ProcessArgs(s *SpecGenerator, img imgspec.ImageConfig) ([]string, error) {
	entrypoint := img.Entrypoint
	if s.Entrypoint != nil {
		entrypoint = *s.Entrypoint
	}
	if len(entrypoint) == 1 && entrypoint[0] == "" {
		entrypoint = nil
	}
	cmd := s.Command
	if len(cmd) == 0 && s.Entrypoint == nil {
		cmd = img.Cmd
	}
	args := append(slices.Clone(entrypoint), cmd...)
	if len(args) == 0 {
		return nil, invalid("no command: the image has no ENTRYPOINT or CMD: give one, as in `engine run IMAGE COMMAND`")
	}
	return args, nil
}

// processEnv builds the environment in podman's order of precedence: the
// defaults (PATH, TERM=xterm, container), then the image's, then --env;
// HOSTNAME and HOME are added when still unset.
func processEnv(s *SpecGenerator, img imgspec.ImageConfig, hostname, home string) []string {
	var keys []string
	vals := map[string]string{}
	set := func(k, v string) {
		if _, ok := vals[k]; !ok {
			keys = append(keys, k)
		}
		vals[k] = v
	}
	set("PATH", DefaultPath)
	set("TERM", "xterm")
	set("container", ContainerEnv)
	for _, kv := range img.Env {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			set(k, v)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(s.Env)) {
		set(k, s.Env[k])
	}
	if _, ok := vals["HOSTNAME"]; !ok && hostname != "" {
		set("HOSTNAME", hostname)
	}
	if _, ok := vals["HOME"]; !ok {
		set("HOME", home)
	}
	env := make([]string, len(keys))
	for i, k := range keys {
		env[i] = k + "=" + vals[k]
	}
	return env
}

// cgroupsPath names the container's cgroup under env.CgroupParent: a
// systemd slice gets "slice:engine:ID", a cgroupfs path "parent/engine-ID".
// Rootless containers on cgroup v1 cannot have a cgroup.
func cgroupsPath(env GenerateEnv) string {
	switch {
	case env.CgroupParent == "" || (env.Rootless && env.CgroupVersion == 1):
		return ""
	case strings.HasSuffix(env.CgroupParent, ".slice"):
		return env.CgroupParent + ":engine:" + env.ID
	}
	return path.Join(env.CgroupParent, "engine-"+env.ID)
}

// nsMode turns a namespace mode into the namespace to create or join, or
// reports that the host's is kept.
func nsMode(typ specs.LinuxNamespaceType, mode string) (specs.LinuxNamespace, bool) {
	switch {
	case mode == "host":
		return specs.LinuxNamespace{}, false
	case strings.HasPrefix(mode, "ns:"):
		return specs.LinuxNamespace{Type: typ, Path: strings.TrimPrefix(mode, "ns:")}, true
	}
	return specs.LinuxNamespace{Type: typ}, true
}

// withNamespaces sets the namespaces: pid, ipc, uts, mount and network
// unless the host's is asked for, and cgroup by default only on cgroup v2,
// as podman. The network namespace is netnsPath when set; a container:ID
// or private mode joins the path of its type in joins.
func withNamespaces(n Namespaces, cgroupVersion int, netnsPath string, joins map[specs.LinuxNamespaceType]string) specOpt {
	return func(spec *specs.Spec) error {
		cgroup := n.Cgroup
		if cgroup == "" && cgroupVersion == 1 {
			cgroup = "host"
		}
		net := n.networkMode()
		switch {
		case net == "host":
		case netnsPath != "":
			net = "ns:" + netnsPath
		case !strings.HasPrefix(net, "ns:"):
			net = ""
		}
		spec.Linux.Namespaces = nil
		for _, m := range []struct {
			typ  specs.LinuxNamespaceType
			mode string
		}{
			{specs.PIDNamespace, n.PID},
			{specs.NetworkNamespace, net},
			{specs.IPCNamespace, n.IPC},
			{specs.UTSNamespace, n.UTS},
			{specs.MountNamespace, ""},
			{specs.CgroupNamespace, cgroup},
		} {
			switch {
			case strings.HasPrefix(m.mode, "container:") && joins[m.typ] == "":
				return invalid("%s namespace %s: GenerateEnv.JoinPaths has no path for it", m.typ, m.mode)
			case strings.HasPrefix(m.mode, "container:"), (m.mode == "" || m.mode == "private") && joins[m.typ] != "":
				m.mode = "ns:" + joins[m.typ]
			}
			if ns, ok := nsMode(m.typ, m.mode); ok {
				spec.Linux.Namespaces = append(spec.Linux.Namespaces, ns)
			}
		}
		return nil
	}
}

// withCapabilities sets podman's capabilities: the default set, or every
// capability when privileged, adjusted by --cap-add/--cap-drop and limited
// to the bounding set (nil: all). Root gets them bounding, effective and
// permitted; any other user only gets the explicitly added ones as
// effective, permitted, inheritable and ambient, as podman.
func withCapabilities(sec Security, root bool, bounding []string) specOpt {
	return func(spec *specs.Spec) error {
		all := capNames
		if bounding != nil {
			all = intersectCaps(capNames, bounding)
		}
		base := DefaultCapabilities
		if sec.Privileged {
			base = all
		}
		caps := intersectCaps(mergeCaps(base, sec.CapAdd, sec.CapDrop, all), all)
		c := &specs.LinuxCapabilities{Bounding: caps}
		if root {
			c.Effective, c.Permitted = caps, caps
		} else {
			added := intersectCaps(mergeCaps(nil, sec.CapAdd, nil, all), caps)
			c.Effective, c.Permitted, c.Inheritable, c.Ambient = added, added, added, added
		}
		spec.Process.Capabilities = c
		return nil
	}
}

// withMaskedPaths masks podman's paths unless privileged; rootless
// containers sharing the host's network also get /sys/kernel masked, as
// they see the host's /sys.
func withMaskedPaths(privileged, hostSys bool) specOpt {
	return func(spec *specs.Spec) error {
		if privileged {
			spec.Linux.MaskedPaths, spec.Linux.ReadonlyPaths = nil, nil
			return nil
		}
		spec.Linux.MaskedPaths = slices.Clone(DefaultMaskedPaths)
		if hostSys {
			spec.Linux.MaskedPaths = append(spec.Linux.MaskedPaths, "/sys/kernel")
		}
		spec.Linux.ReadonlyPaths = slices.Clone(DefaultReadonlyPaths)
		return nil
	}
}

// withRlimits sets podman's default RLIMIT_NOFILE and RLIMIT_NPROC, replaced
// by any --ulimit of the same type, then lowers each limit above the hard
// limit of the same type in host to it, with a note to debugf.
func withRlimits(ulimits, host []specs.POSIXRlimit, debugf func(string, ...any)) specOpt {
	return func(spec *specs.Spec) error {
		limits := []specs.POSIXRlimit{
			{Type: "RLIMIT_NOFILE", Soft: DefaultNofile, Hard: DefaultNofile},
			{Type: "RLIMIT_NPROC", Soft: DefaultNproc, Hard: DefaultNproc},
		}
		for _, u := range ulimits {
			if i := slices.IndexFunc(limits, func(l specs.POSIXRlimit) bool { return l.Type == u.Type }); i >= 0 {
				limits[i] = u
			} else {
				limits = append(limits, u)
			}
		}
		var notes []string
		spec.Process.Rlimits, notes = clampRlimits(limits, host)
		for _, n := range notes {
			debugf("%s", n)
		}
		return nil
	}
}

// clampRlimits lowers each limit whose hard or soft value is above the hard
// limit of the same type in host to that hard limit, and says so in a note.
func clampRlimits(limits, host []specs.POSIXRlimit) ([]specs.POSIXRlimit, []string) {
	out := slices.Clone(limits)
	var notes []string
	for i, l := range out {
		j := slices.IndexFunc(host, func(h specs.POSIXRlimit) bool { return h.Type == l.Type })
		if j < 0 || (l.Hard <= host[j].Hard && l.Soft <= host[j].Hard) {
			continue
		}
		max := host[j].Hard
		out[i].Hard, out[i].Soft = min(l.Hard, max), min(l.Soft, max)
		notes = append(notes, fmt.Sprintf("%s %d:%d lowered to %d:%d, the engine's hard limit (raising it needs CAP_SYS_RESOURCE)",
			l.Type, l.Soft, l.Hard, out[i].Soft, out[i].Hard))
	}
	return out, notes
}

// withResources sets the cgroup limits, and podman's default pids limit for
// rootful containers. Rootless containers on cgroup v1 cannot be limited:
// asking for a limit there is an error.
func withResources(r Resources, env GenerateEnv) (specOpt, error) {
	if env.CgroupsDisabled {
		return func(*specs.Spec) error { return nil }, nil // Validate refused limits
	}
	if env.Rootless && env.CgroupVersion == 1 {
		if r != (Resources{}) {
			return nil, invalid("--memory, --cpus, --cpu-shares, --cpuset-cpus and --pids-limit need cgroup v2 for rootless containers: drop them, or run as root")
		}
		return func(*specs.Spec) error { return nil }, nil
	}
	return func(spec *specs.Spec) error {
		res := spec.Linux.Resources
		if res == nil {
			res = &specs.LinuxResources{}
			spec.Linux.Resources = res
		}
		if r.Memory != nil || r.MemorySwap != nil {
			res.Memory = &specs.LinuxMemory{Limit: r.Memory, Swap: r.MemorySwap}
		}
		if r.CPUs != nil || r.CPUShares != nil || r.CPUSetCPUs != "" {
			res.CPU = &specs.LinuxCPU{Shares: r.CPUShares, Cpus: r.CPUSetCPUs}
			if r.CPUs != nil {
				quota, period := int64(math.Round(*r.CPUs*cpuPeriod)), uint64(cpuPeriod)
				res.CPU.Quota, res.CPU.Period = &quota, &period
			}
		}
		pids := r.PidsLimit
		if pids == nil && !env.Rootless {
			def := int64(DefaultPidsLimit)
			pids = &def
		}
		if pids != nil {
			limit := *pids
			if limit <= 0 {
				limit = -1
			}
			res.Pids = &specs.LinuxPids{Limit: &limit}
		}
		return nil
	}, nil
}

// withDevices gives the container its devices: --device nodes, or every
// host device when privileged. Rootful containers get device nodes and a
// devices cgroup that denies all but runc's defaults and those; rootless
// ones, which can create no node and have no devices cgroup, get bind
// mounts.
func withDevices(s *SpecGenerator, env GenerateEnv) (specOpt, error) {
	type request struct {
		dev            specs.LinuxDevice
		source, access string
	}
	var reqs []request
	if s.Security.Privileged {
		for _, d := range env.HostDevices {
			reqs = append(reqs, request{d, d.Path, "rwm"})
		}
	} else {
		for _, v := range s.Devices {
			dev, d, err := userDevice(v)
			if err != nil {
				return nil, err
			}
			reqs = append(reqs, request{dev, d.Source, d.Permissions})
		}
	}
	return func(spec *specs.Spec) error {
		if env.Rootless {
			for _, r := range reqs {
				spec.Mounts = append(spec.Mounts, deviceBindMount(r.source, r.dev.Path, r.access))
			}
			return nil
		}
		if spec.Linux.Resources == nil {
			spec.Linux.Resources = &specs.LinuxResources{}
		}
		rules := defaultDeviceRules()
		if s.Security.Privileged {
			rules = []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}
		}
		for _, r := range reqs {
			spec.Linux.Devices = append(spec.Linux.Devices, r.dev)
			if !s.Security.Privileged {
				rules = append(rules, deviceCgroupRule(r.dev, r.access))
			}
		}
		spec.Linux.Resources.Devices = rules
		return nil
	}, nil
}

// withAnnotation sets an annotation unless the user set it.
func withAnnotation(key, value string) specOpt {
	return func(spec *specs.Spec) error {
		if spec.Annotations == nil {
			spec.Annotations = map[string]string{}
		}
		if _, ok := spec.Annotations[key]; !ok {
			spec.Annotations[key] = value
		}
		return nil
	}
}
