package main

import (
	"cmp"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/rootless"
	"github.com/engine-oss/engine/pkg/specgen"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"
)

// createFlags are the flags run and create share, as podman names them.
type createFlags struct {
	registry registryFlags
	name     string
	env      []string
	envFiles []string
	envHost  bool
	user     string
	groupAdd []string
	workdir  string
	hostname string
	tz       string
	addHost  []string
	dns      []string
	dnsSrch  []string
	dnsOpt   []string

	interactive bool
	tty         bool
	entrypoint  string
	volumes     []string
	mounts      []string
	volumesFrom []string
	tmpfs       []string
	labels      []string
	annotations []string

	memory, memorySwap string
	cpus               string
	cpuShares          uint64
	cpusetCPUs         string
	pidsLimit          int64

	privileged  bool
	capAdd      []string
	capDrop     []string
	securityOpt []string
	readOnly    bool
	readOnlyTmp bool

	network  []string
	ip       string
	ip6      string
	mac      string
	aliases  []string
	pid      string
	ipc      string
	uts      string
	cgroupNS string
	userNS   string
	uidMap   []string
	gidMap   []string
	subUID   string
	subGID   string

	ulimits     []string
	sysctls     []string
	devices     []string
	stopSignal  string
	stopTimeout uint
	restart     string
	logDriver   string
	logOpts     []string
	init        bool
	initPath    string
	shmSize     string
	pod         string
	publish     []string
	publishAll  bool
	expose      []string
	rm          bool
	pull        string
	retry       retryFlags
	cidFile     string
	replace     bool
	quiet       bool
	platform    string
	rootfs      string
	secrets     []string
	systemd     systemdFlags
}

func addCreateFlags(cmd *cobra.Command, f *createFlags) {
	fl := cmd.Flags()
	fl.SetInterspersed(false) // flags after the image belong to the container's command
	// -h is --hostname, as in podman; help keeps only its long form.
	fl.Bool("help", false, "help for "+cmd.Name())
	addRegistryFlags(cmd, &f.registry, true)
	fl.StringVar(&f.name, "name", "", "assign a name to the container")
	fl.StringArrayVarP(&f.env, "env", "e", nil, "set environment variables (KEY=VALUE, KEY, or PREFIX*)")
	fl.StringArrayVar(&f.envFiles, "env-file", nil, "read environment variables from a file")
	fl.BoolVar(&f.envHost, "env-host", false, "use all of the host's environment variables")
	fl.StringVarP(&f.user, "user", "u", "", "user[:group] to run the command as")
	fl.StringArrayVar(&f.groupAdd, "group-add", nil, "additional groups to join")
	fl.StringVarP(&f.workdir, "workdir", "w", "", "working directory inside the container")
	fl.StringVarP(&f.hostname, "hostname", "h", "", "container host name")
	fl.StringVar(&f.tz, "tz", "", "time zone of the container: a zone name such as Europe/Berlin, or local for the host's")
	fl.StringArrayVar(&f.addHost, "add-host", nil, "add a custom host-to-IP mapping (host:ip)")
	fl.StringArrayVar(&f.dns, "dns", nil, "set custom DNS servers")
	fl.StringArrayVar(&f.dnsSrch, "dns-search", nil, "set custom DNS search domains")
	fl.StringArrayVar(&f.dnsOpt, "dns-option", nil, "set custom DNS options")
	fl.BoolVarP(&f.interactive, "interactive", "i", false, "keep STDIN open even if not attached")
	fl.BoolVarP(&f.tty, "tty", "t", false, "allocate a pseudo-TTY")
	fl.StringVar(&f.entrypoint, "entrypoint", "", "overwrite the image's entrypoint (a string or a JSON array)")
	fl.StringArrayVarP(&f.volumes, "volume", "v", nil, "bind mount a host path or mount a volume: HOST-DIR|VOLUME:CONTAINER-DIR[:OPTIONS], or CONTAINER-DIR for an anonymous volume")
	fl.StringArrayVar(&f.mounts, "mount", nil, "attach a mount: type=bind|volume|tmpfs|image,source=…,target=…[,OPTIONS]")
	fl.StringArrayVar(&f.volumesFrom, "volumes-from", nil, "mount the volumes and bind mounts of a container: CONTAINER[:ro|rw]")
	fl.StringArrayVar(&f.tmpfs, "tmpfs", nil, "mount a tmpfs: CONTAINER-DIR[:OPTIONS]")
	fl.StringArrayVarP(&f.labels, "label", "l", nil, "set metadata on the container (KEY=VALUE)")
	fl.StringArrayVar(&f.annotations, "annotation", nil, "add an annotation to the OCI spec (KEY=VALUE)")
	fl.StringVarP(&f.memory, "memory", "m", "", "memory limit (format: <number>[<unit>], unit b, k, m or g)")
	fl.StringVar(&f.memorySwap, "memory-swap", "", "memory plus swap limit; -1 for unlimited swap")
	fl.StringVar(&f.cpus, "cpus", "", "number of CPUs (e.g. 1.5)")
	fl.Uint64Var(&f.cpuShares, "cpu-shares", 0, "CPU shares (relative weight)")
	fl.StringVar(&f.cpusetCPUs, "cpuset-cpus", "", "CPUs in which to allow execution (0-3, 0,1)")
	fl.Int64Var(&f.pidsLimit, "pids-limit", 0, "tune the container's pids limit (-1 for unlimited)")
	fl.BoolVar(&f.privileged, "privileged", false, "give extended privileges to the container")
	fl.StringArrayVar(&f.capAdd, "cap-add", nil, "add capabilities")
	fl.StringArrayVar(&f.capDrop, "cap-drop", nil, "drop capabilities")
	fl.StringArrayVar(&f.securityOpt, "security-opt", nil, "security options: no-new-privileges, seccomp=unconfined|FILE")
	fl.BoolVar(&f.readOnly, "read-only", false, "mount the container's root filesystem read-only")
	fl.BoolVar(&f.readOnlyTmp, "read-only-tmpfs", true, "with --read-only, mount tmpfs on /run, /tmp and /var/tmp")
	fl.StringArrayVar(&f.network, "network", nil, "network mode (bridge, none, host, pasta, slirp4netns, container:NAME, ns:PATH) or networks to join (NAME[:ip=IP,mac=MAC,alias=NAME], repeatable)")
	fl.StringArrayVar(&f.network, "net", nil, "alias of --network")
	fl.StringVar(&f.ip, "ip", "", "static IPv4 or IPv6 address on the network")
	fl.StringVar(&f.ip6, "ip6", "", "static IPv6 address on the network")
	fl.StringVar(&f.mac, "mac-address", "", "static MAC address of the network interface")
	fl.StringArrayVar(&f.aliases, "network-alias", nil, "another name of the container on its networks")
	_ = fl.MarkHidden("net")
	fl.StringVar(&f.pid, "pid", "", "PID namespace: host or ns:PATH")
	fl.StringVar(&f.ipc, "ipc", "", "IPC namespace: host or ns:PATH")
	fl.StringVar(&f.uts, "uts", "", "UTS namespace: host or ns:PATH")
	fl.StringVar(&f.cgroupNS, "cgroupns", "", "cgroup namespace: host, private or ns:PATH")
	fl.StringVar(&f.userNS, "userns", "", "user namespace: host, keep-id[:uid=N,gid=N], nomap, auto[:size=N] or ns:PATH")
	fl.StringArrayVar(&f.uidMap, "uidmap", nil, "UID map of a new user namespace: CONTAINER-ID:HOST-ID:SIZE (repeatable)")
	fl.StringArrayVar(&f.gidMap, "gidmap", nil, "GID map of a new user namespace: CONTAINER-ID:HOST-ID:SIZE (repeatable)")
	fl.StringVar(&f.subUID, "subuidname", "", "user namespace with the UID ranges of NAME in /etc/subuid (root only)")
	fl.StringVar(&f.subGID, "subgidname", "", "user namespace with the GID ranges of NAME in /etc/subgid (root only)")
	fl.StringArrayVar(&f.ulimits, "ulimit", nil, "ulimit options (TYPE=SOFT[:HARD])")
	fl.StringArrayVar(&f.sysctls, "sysctl", nil, "namespaced kernel parameters (NAME=VALUE)")
	fl.StringArrayVar(&f.devices, "device", nil, "add a host device: HOST[:CONTAINER][:PERMISSIONS]")
	fl.StringVar(&f.stopSignal, "stop-signal", "", "signal to stop the container")
	fl.UintVar(&f.stopTimeout, "stop-timeout", 10, "seconds to wait after the stop signal before killing")
	fl.StringVar(&f.restart, "restart", "", "restart policy: no, always, on-failure[:N], unless-stopped")
	fl.StringVar(&f.logDriver, "log-driver", "", "logging driver: k8s-file (default), json-file, none, passthrough")
	fl.StringArrayVar(&f.logOpts, "log-opt", nil, "logging driver options (path=, max-size=)")
	fl.BoolVar(&f.init, "init", false, "run an init inside the container that forwards signals and reaps processes")
	fl.StringVar(&f.initPath, "init-path", "", "path to the init binary")
	fl.StringVar(&f.shmSize, "shm-size", "", "size of /dev/shm (default 64m)")
	fl.StringVar(&f.pod, "pod", "", "join the pod's namespaces (name or ID), or new:NAME to create the pod")
	fl.StringArrayVarP(&f.publish, "publish", "p", nil, "publish a container's port to the host: [[IP:][HOST-PORT]:]CONTAINER-PORT[/PROTOCOL]")
	fl.BoolVarP(&f.publishAll, "publish-all", "P", false, "publish every exposed port (the image's and --expose) on a random host port")
	fl.StringArrayVar(&f.expose, "expose", nil, "expose a port or range without publishing it: PORT[-PORT][/PROTOCOL]; -P publishes it")
	fl.BoolVar(&f.rm, "rm", false, "remove the container when it exits")
	fl.StringVar(&f.pull, "pull", "missing", "pull image policy: always, missing, never, newer")
	f.retry.add(fl)
	fl.StringVar(&f.cidFile, "cidfile", "", "write the container ID to the file")
	fl.BoolVar(&f.replace, "replace", false, "replace a container of the same name")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "suppress pull progress")
	fl.StringVar(&f.platform, "platform", "", "pull the image for this OS/ARCH[/VARIANT]")
	fl.StringVar(&f.rootfs, "rootfs", "", "run a root filesystem directory instead of an image (not supported yet)")
	fl.StringArrayVar(&f.secrets, "secret", nil, "give the container a secret (not supported yet)")
	f.systemd.add(fl)
}

// imageArgs checks the positional arguments of run and create: an image,
// then the command. --rootfs, which replaces the image, is refused first.
func imageArgs(cmd *cobra.Command, args []string) error {
	if cmd.Flags().Changed("rootfs") {
		return fmt.Errorf("--rootfs: running a directory instead of an image is not supported yet: import it as an image"+
			" (tar -C DIR -c . | engine import - NAME) and run NAME; in a quadlet, use Image= instead of Rootfs=: %w", define.ErrNotImplemented)
	}
	return cobra.MinimumNArgs(1)(cmd, args)
}

// spec turns the flags and the positional image and command into a
// SpecGenerator; values are parsed here so errors name the flag.
func (f *createFlags) spec(cmd *cobra.Command, args []string) (*specgen.SpecGenerator, error) {
	s := &specgen.SpecGenerator{
		Name: f.name, Image: args[0], Command: args[1:], User: f.user, GroupAdd: f.groupAdd,
		WorkDir: f.workdir, Hostname: f.hostname, Timezone: f.tz, HostAdd: f.addHost,
		DNSServers: f.dns, DNSSearch: f.dnsSrch, DNSOptions: f.dnsOpt,
		Terminal: f.tty, Stdin: f.interactive, Devices: f.devices,
		RestartPolicy: "", LogDriver: f.logDriver, Init: f.init, InitPath: f.initPath,
		PublishPorts: f.publish, PublishAll: f.publishAll, Expose: f.expose, Remove: f.rm, Pull: f.pull, Pod: f.pod,
		Namespaces: specgen.Namespaces{PID: f.pid, IPC: f.ipc, UTS: f.uts, Cgroup: f.cgroupNS, User: f.userNS},
	}
	if len(f.secrets) > 0 {
		return nil, fmt.Errorf("--secret %s: the engine has no secret store: drop it (in a quadlet, the Secret= key) and pass the value"+
			" with --env or a read-only --volume: %w", f.secrets[0], define.ErrNotImplemented)
	}
	var err error
	s.Namespaces.Network, s.Networks, err = specgen.ParseNetworks(specgen.NetworkFlags{Network: f.network, IP: f.ip, IP6: f.ip6, MAC: f.mac, Aliases: f.aliases})
	if err != nil {
		return nil, err
	}
	fl := cmd.Flags()
	if fl.Changed("entrypoint") {
		ep := specgen.ParseEntrypoint(f.entrypoint)
		s.Entrypoint = &ep
	}
	hostEnv := os.Environ()
	s.Env = map[string]string{}
	if f.envHost {
		if s.Env, err = specgen.ParseEnv(hostEnv, hostEnv); err != nil {
			return nil, err
		}
	}
	for _, file := range f.envFiles {
		m, err := specgen.ParseEnvFile(file, hostEnv)
		if err != nil {
			return nil, err
		}
		for k, v := range m {
			s.Env[k] = v
		}
	}
	m, err := specgen.ParseEnv(f.env, hostEnv)
	if err != nil {
		return nil, err
	}
	for k, v := range m {
		s.Env[k] = v
	}
	for _, v := range f.volumes {
		mnt, err := specgen.ParseMountVolumeFlag(v)
		if err != nil {
			return nil, err
		}
		s.Mounts = append(s.Mounts, mnt)
	}
	for _, v := range f.mounts {
		mnt, err := specgen.ParseMount(v)
		if err != nil {
			return nil, err
		}
		s.Mounts = append(s.Mounts, mnt)
	}
	s.VolumesFrom = f.volumesFrom
	if s.IDMappings, err = parseIDMapFlags(f.uidMap, f.gidMap); err != nil {
		return nil, err
	}
	if f.subUID != "" || f.subGID != "" {
		if len(f.uidMap)+len(f.gidMap) > 0 {
			return nil, fmt.Errorf("--subuidname and --subgidname conflict with --uidmap and --gidmap: drop one kind: %w", define.ErrInvalidArg)
		}
		if rootless.Enabled() {
			return nil, fmt.Errorf("--subuidname and --subgidname need root: as your user, map your subordinate IDs with --uidmap and --gidmap"+
				" (IDs of your user namespace, 1 and up) or --userns auto: %w", define.ErrNotImplemented)
		}
		if s.IDMappings, err = subIDMappings(f.subUID, f.subGID, rootless.SubUIDFile, rootless.SubGIDFile); err != nil {
			return nil, err
		}
	}
	if len(f.tmpfs) > 0 {
		s.Tmpfs = map[string]string{}
		for _, v := range f.tmpfs {
			dst, opts, err := specgen.ParseTmpfs(v)
			if err != nil {
				return nil, err
			}
			s.Tmpfs[dst] = opts
		}
	}
	if s.Labels, err = keyValues("--label", f.labels); err != nil {
		return nil, err
	}
	if s.Annotations, err = keyValues("--annotation", f.annotations); err != nil {
		return nil, err
	}
	if s.LogOpts, err = keyValues("--log-opt", f.logOpts); err != nil {
		return nil, err
	}
	if f.memory != "" {
		v, err := specgen.ParseMemory(f.memory)
		if err != nil {
			return nil, err
		}
		s.Resources.Memory = &v
	}
	if f.memorySwap != "" {
		v := int64(-1)
		if f.memorySwap != "-1" {
			if v, err = specgen.ParseSize("--memory-swap", f.memorySwap); err != nil {
				return nil, err
			}
		}
		s.Resources.MemorySwap = &v
	}
	if f.cpus != "" {
		v, err := specgen.ParseCPUs(f.cpus)
		if err != nil {
			return nil, err
		}
		s.Resources.CPUs = &v
	}
	if fl.Changed("cpu-shares") {
		s.Resources.CPUShares = &f.cpuShares
	}
	s.Resources.CPUSetCPUs = f.cpusetCPUs
	if fl.Changed("pids-limit") {
		s.Resources.PidsLimit = &f.pidsLimit
	}
	s.Security = specgen.Security{Privileged: f.privileged, CapAdd: f.capAdd, CapDrop: f.capDrop, ReadOnly: f.readOnly}
	if fl.Changed("read-only-tmpfs") {
		s.Security.ReadOnlyTmpfs = &f.readOnlyTmp
	}
	for _, o := range f.securityOpt {
		switch {
		case o == "no-new-privileges" || o == "no-new-privileges=true" || o == "no-new-privileges:true":
			s.Security.NoNewPrivileges = true
		case strings.HasPrefix(o, "seccomp=") || strings.HasPrefix(o, "seccomp:"):
			s.Security.SeccompProfilePath = o[len("seccomp="):]
		case o == "label=disable" || strings.HasPrefix(o, "label=") || strings.HasPrefix(o, "apparmor="):
			// SELinux and AppArmor are not used on this host; accepted for scripts written for podman.
		default:
			return nil, fmt.Errorf("--security-opt %q: use no-new-privileges or seccomp=unconfined|PROFILE.json: %w", o, define.ErrInvalidArg)
		}
	}
	for _, u := range f.ulimits {
		rl, err := specgen.ParseUlimit(u)
		if err != nil {
			return nil, err
		}
		s.Ulimits = append(s.Ulimits, rl)
	}
	if len(f.sysctls) > 0 {
		s.Sysctls = map[string]string{}
		for _, v := range f.sysctls {
			k, val, err := specgen.ParseSysctl(v)
			if err != nil {
				return nil, err
			}
			s.Sysctls[k] = val
		}
	}
	if f.stopSignal != "" {
		if s.StopSignal, err = specgen.ParseSignal(f.stopSignal); err != nil {
			return nil, fmt.Errorf("--stop-signal %w", err)
		}
	}
	if fl.Changed("stop-timeout") {
		s.StopTimeout = &f.stopTimeout
	}
	if f.restart != "" {
		if s.RestartPolicy, s.RestartRetries, err = specgen.ParseRestartPolicy(f.restart); err != nil {
			return nil, err
		}
		if s.Remove && s.RestartPolicy != "" && s.RestartPolicy != specgen.RestartNo {
			return nil, fmt.Errorf("the --rm option conflicts with --restart %s: use one or the other: %w", f.restart, define.ErrInvalidArg)
		}
	}
	if f.shmSize != "" {
		v, err := specgen.ParseSize("--shm-size", f.shmSize)
		if err != nil {
			return nil, err
		}
		s.ShmSize = &v
	}
	if err := f.systemd.apply(fl, s); err != nil {
		return nil, err
	}
	return s, s.Validate()
}

// keyValues parses KEY=VALUE flags; a bare KEY has an empty value.
func keyValues(flag string, values []string) (map[string]string, error) {
	if len(values) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(values))
	for _, v := range values {
		k, val, _ := strings.Cut(v, "=")
		if k == "" {
			return nil, fmt.Errorf("%s %q: use KEY=VALUE: %w", flag, v, define.ErrInvalidArg)
		}
		m[k] = val
	}
	return m, nil
}

// parseIDMapFlags parses --uidmap and --gidmap; either alone serves for
// both, as in podman.
func parseIDMapFlags(uidMap, gidMap []string) (specgen.IDMappings, error) {
	var m specgen.IDMappings
	for _, f := range []struct {
		flag   string
		values []string
		dst    *[]specs.LinuxIDMapping
	}{{"--uidmap", uidMap, &m.UIDMap}, {"--gidmap", gidMap, &m.GIDMap}} {
		for _, v := range f.values {
			r, err := specgen.ParseIDMap(f.flag, v)
			if err != nil {
				return m, err
			}
			*f.dst = append(*f.dst, r)
		}
	}
	switch {
	case m.GIDMap == nil:
		m.GIDMap = m.UIDMap
	case m.UIDMap == nil:
		m.UIDMap = m.GIDMap
	}
	return m, nil
}

// subIDMappings builds the maps of --subuidname and --subgidname (either
// alone serves for both): every range of the name in subuidFile
// (/etc/subuid) and subgidFile (/etc/subgid), lowest first, mapped from
// container ID 0 on, as podman. Those are host IDs, which only root's
// engine can map.
func subIDMappings(uidName, gidName, subuidFile, subgidFile string) (specgen.IDMappings, error) {
	uidName, gidName = cmp.Or(uidName, gidName), cmp.Or(gidName, uidName)
	var m specgen.IDMappings
	for _, f := range []struct {
		flag, file, name string
		dst              *[]specs.LinuxIDMapping
	}{{"--subuidname", subuidFile, uidName, &m.UIDMap}, {"--subgidname", subgidFile, gidName, &m.GIDMap}} {
		ranges, err := rootless.SubIDRanges(f.file, f.name, -1)
		if err != nil {
			return m, fmt.Errorf("%s %s: %w: %w", f.flag, f.name, err, define.ErrInvalidArg)
		}
		if len(ranges) == 0 {
			return m, fmt.Errorf("%s %s: %s has no range of %s: add one (usermod --add-subuids FIRST-LAST --add-subgids FIRST-LAST %s): %w",
				f.flag, f.name, f.file, f.name, f.name, define.ErrInvalidArg)
		}
		slices.SortFunc(ranges, func(a, b rootless.IDRange) int { return cmp.Compare(a.Start, b.Start) })
		var next uint32
		for _, r := range ranges {
			*f.dst = append(*f.dst, specs.LinuxIDMapping{ContainerID: next, HostID: r.Start, Size: r.Count})
			next += r.Count
		}
	}
	return m, nil
}
