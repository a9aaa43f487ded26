package specgen

import (
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// SpecGenerator is what the user asked for when creating a container, as
// `engine create`/`run` flags (podman's) express it. It is stored as JSON in
// the engine's state, so it holds values as the user gave them, parsed where
// the type says so. A nil pointer means "not set": the image's or the engine's
// default applies. Call Validate before storing it; Generate turns it into an
// OCI runtime spec.
type SpecGenerator struct {
	// Name is the container's name (--name); empty lets the engine pick one.
	Name string `json:"name,omitempty"`
	// Image is the image name as typed; ImageID the resolved image. At least
	// one is required.
	Image   string `json:"image,omitempty"`
	ImageID string `json:"imageID,omitempty"`

	// Command replaces the image's CMD when not empty.
	Command []string `json:"command,omitempty"`
	// Entrypoint replaces the image's ENTRYPOINT (--entrypoint). Nil keeps the
	// image's; a pointer to an empty slice clears it (--entrypoint ""). Any
	// non-nil value also drops the image's CMD, as podman does.
	Entrypoint *[]string `json:"entrypoint,omitempty"`
	// Env holds --env and --env-file values, already merged by ParseEnv and
	// ParseEnvFile. They override the image's environment.
	Env map[string]string `json:"env,omitempty"`
	// User is --user: "user[:group]", each a name or a number. Empty means the
	// image's USER, then root.
	User string `json:"user,omitempty"`
	// GroupAdd lists supplementary groups (--group-add), names or numbers.
	GroupAdd []string `json:"groupAdd,omitempty"`
	// WorkDir is --workdir, absolute; empty means the image's, then "/".
	WorkDir string `json:"workDir,omitempty"`
	// Hostname is --hostname; empty means the first 12 characters of the ID.
	Hostname string `json:"hostname,omitempty"`
	// Timezone is --tz: "local" for the host's zone (the file
	// /etc/localtime leads to) or a zone name such as "Europe/Berlin", a
	// file under the zoneinfo directory (see TimezoneFile). Generate
	// bind-mounts that file read-only on /etc/localtime; empty keeps the
	// image's. As podman, it sets no TZ variable.
	Timezone string `json:"timezone,omitempty"`
	// HostAdd lists --add-host entries, "name[;name...]:ip".
	HostAdd []string `json:"hostAdd,omitempty"`
	// DNSServers, DNSSearch and DNSOptions are --dns, --dns-search and
	// --dns-option; each replaces the host's list when not empty.
	DNSServers []string `json:"dnsServers,omitempty"`
	DNSSearch  []string `json:"dnsSearch,omitempty"`
	DNSOptions []string `json:"dnsOptions,omitempty"`

	// Terminal allocates a pseudo-terminal (-t); Stdin keeps stdin open (-i).
	Terminal bool `json:"terminal,omitempty"`
	Stdin    bool `json:"stdin,omitempty"`

	// Mounts are bind, tmpfs, volume and image mounts (-v, --mount), in order.
	Mounts []Mount `json:"mounts,omitempty"`
	// VolumesFrom lists --volumes-from values, "CONTAINER[:OPTIONS]"; the
	// engine copies those containers' volume and bind mounts into Mounts
	// when it creates the container.
	VolumesFrom []string `json:"volumesFrom,omitempty"`
	// Tmpfs maps a destination to its comma-separated options (--tmpfs).
	Tmpfs map[string]string `json:"tmpfs,omitempty"`

	// Labels are stored with the container; Annotations also go into the
	// OCI spec.
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`

	Resources  Resources  `json:"resources"`
	Security   Security   `json:"security"`
	Namespaces Namespaces `json:"namespaces"`
	// IDMappings are --uidmap and --gidmap: a user namespace for the
	// container with these maps. Namespaces.User must then be empty.
	IDMappings IDMappings `json:"idMappings,omitzero"`

	// Ulimits are --ulimit values as ParseUlimit returns them. They replace
	// the defaults of the same type.
	Ulimits []specs.POSIXRlimit `json:"ulimits,omitempty"`
	// Sysctls are namespaced kernel parameters (--sysctl).
	Sysctls map[string]string `json:"sysctls,omitempty"`
	// Devices are --device values, "host[:container][:permissions]".
	Devices []string `json:"devices,omitempty"`

	// StopSignal is --stop-signal; 0 means the image's, then SIGTERM.
	StopSignal syscall.Signal `json:"stopSignal,omitempty"`
	// StopTimeout is --stop-timeout in seconds; nil means the engine default.
	StopTimeout *uint `json:"stopTimeout,omitempty"`
	// RestartPolicy is "no" (or empty), "always", "on-failure" or
	// "unless-stopped"; RestartRetries, only with on-failure, caps restarts.
	RestartPolicy  string `json:"restartPolicy,omitempty"`
	RestartRetries *uint  `json:"restartRetries,omitempty"`

	// LogDriver is "k8s-file" (the default when empty), "json-file",
	// "none" or "passthrough"; LogOpts holds --log-opt path, max-size and tag.
	LogDriver string            `json:"logDriver,omitempty"`
	LogOpts   map[string]string `json:"logOpts,omitempty"`

	// Init runs an init process as PID 1 (--init); InitPath overrides the
	// engine's init binary (--init-path).
	Init     bool   `json:"init,omitempty"`
	InitPath string `json:"initPath,omitempty"`
	// ShmSize is the size of /dev/shm in bytes (--shm-size); nil means 64 MiB,
	// 0 means unlimited.
	ShmSize *int64 `json:"shmSize,omitempty"`
	// PublishPorts are -p values as typed. Publishing needs a bridge,
	// pasta or slirp4netns network.
	PublishPorts []string `json:"publishPorts,omitempty"`
	// PublishAll (-P) publishes every exposed port (see ExposedPorts) on a
	// free host port picked at random.
	PublishAll bool `json:"publishAll,omitempty"`
	// Expose lists --expose values as typed, PORT[-PORT][/PROTOCOL]
	// (ParseExpose): ports the container exposes besides its image's
	// EXPOSE. Exposing publishes nothing unless PublishAll is set.
	Expose []string `json:"expose,omitempty"`
	// Networks are the bridge networks joined, in order (the first holds
	// the default route), with the container's settings on each; empty
	// with the bridge mode means the default network.
	Networks []NetworkAttach `json:"networks,omitempty"`
	// Remove deletes the container when it exits (--rm).
	Remove bool `json:"remove,omitempty"`
	// Pull is the pull policy: "missing" (the default when empty),
	// "always", "never" or "newer".
	Pull string `json:"pull,omitempty"`

	// SdNotifyMode is --sdnotify (SdNotifyConmon when empty): what the
	// container's monitor tells a systemd Type=notify service, when the
	// engine runs under one (NOTIFY_SOCKET).
	SdNotifyMode string `json:"sdNotifyMode,omitempty"`
	// CgroupsMode is --cgroups (CgroupsEnabled when empty).
	CgroupsMode string `json:"cgroupsMode,omitempty"`
	// HealthConfig is the health check, nil for none; ContainerCreate fills
	// it from the image's HEALTHCHECK when the flags set none.
	HealthConfig *HealthConfig `json:"healthConfig,omitempty"`
	// HealthOnFailure is --health-on-failure (HealthOnFailureNone when
	// empty): what a check that finds the container unhealthy does.
	HealthOnFailure string `json:"healthOnFailure,omitempty"`
	// Pod is --pod: the pod the container joins, by name or ID ("new:NAME"
	// creates it). The engine stores the pod's ID and makes the namespaces
	// the pod shares "container:INFRA-ID" modes.
	Pod string `json:"pod,omitempty"`
}

// Mount is one mount in the container. Type is "bind", "tmpfs", "volume" or
// "image". Source is an absolute host path for a bind mount, a volume name
// for a volume mount (empty for an anonymous volume, which the engine
// creates and names), and an image for an image mount (the engine stores
// its ID). Destination is absolute; Options are mount(8)-style options such
// as "ro", "rprivate", "size=64m", plus "nocopy" and "U" for volumes.
// Generate adds podman's default options for those not given.
type Mount struct {
	Type        string   `json:"type"`
	Source      string   `json:"source,omitempty"`
	Destination string   `json:"destination"`
	Options     []string `json:"options,omitempty"`
}

// Resources are the container's cgroup limits. A nil field is not limited.
type Resources struct {
	// Memory is --memory in bytes (at least 6 MiB).
	Memory *int64 `json:"memory,omitempty"`
	// MemorySwap is --memory-swap in bytes, memory plus swap; -1 is
	// unlimited. It needs Memory. Nil leaves swap to the kernel's default
	// (not limited), as the engine cannot tell whether the host accounts
	// swap.
	MemorySwap *int64 `json:"memorySwap,omitempty"`
	// CPUs is --cpus, a number of CPUs (e.g. 1.5).
	CPUs *float64 `json:"cpus,omitempty"`
	// CPUShares is --cpu-shares, a relative weight.
	CPUShares *uint64 `json:"cpuShares,omitempty"`
	// CPUSetCPUs is --cpuset-cpus, e.g. "0-2,4".
	CPUSetCPUs string `json:"cpusetCPUs,omitempty"`
	// PidsLimit is --pids-limit; 0 or -1 is unlimited. Nil means the engine
	// default (2048, as podman's containers.conf).
	PidsLimit *int64 `json:"pidsLimit,omitempty"`
}

// Security holds the container's privilege settings.
type Security struct {
	// Privileged gives every capability and device, and drops seccomp and
	// the masked paths (--privileged).
	Privileged bool `json:"privileged,omitempty"`
	// CapAdd and CapDrop are --cap-add and --cap-drop, with or without the
	// CAP_ prefix, or "ALL".
	CapAdd  []string `json:"capAdd,omitempty"`
	CapDrop []string `json:"capDrop,omitempty"`
	// NoNewPrivileges is --security-opt no-new-privileges.
	NoNewPrivileges bool `json:"noNewPrivileges,omitempty"`
	// SeccompProfilePath is --security-opt seccomp=: "" for the default
	// profile, "unconfined", or the absolute path of a JSON profile.
	SeccompProfilePath string `json:"seccompProfilePath,omitempty"`
	// ReadOnly mounts the root filesystem read-only (--read-only).
	ReadOnly bool `json:"readOnly,omitempty"`
	// ReadOnlyTmpfs (--read-only-tmpfs) mounts tmpfs on /run, /tmp and
	// /var/tmp when ReadOnly is set. Nil means true, as podman.
	ReadOnlyTmpfs *bool `json:"readOnlyTmpfs,omitempty"`
}

// Namespaces are the namespace modes. Empty means podman's default: a new
// namespace, except cgroup on cgroup v1 hosts which stays the host's.
type Namespaces struct {
	// Network is the network mode (see ParseNetworks): "bridge" (the
	// networks of SpecGenerator.Networks), "none" (only lo), "host",
	// "ns:PATH", "container:NAME" (that container's), "pasta[:ARGS]" or
	// "slirp4netns" (rootless user-mode networking). "" is the engine's
	// default: bridge for root, pasta (else slirp4netns) rootless; the
	// engine stores the resolved mode when it creates the container.
	Network string `json:"network,omitempty"`
	// PID, IPC, UTS and Cgroup are "" or "private" for a new namespace,
	// "host", or "ns:PATH"; a member of a pod (Pod set) may also have
	// "container:ID", the namespace of the pod's infra container.
	PID    string `json:"pid,omitempty"`
	IPC    string `json:"ipc,omitempty"`
	UTS    string `json:"uts,omitempty"`
	Cgroup string `json:"cgroup,omitempty"`
	// User is --userns: "" or "host" shares the engine's user namespace
	// (for an unprivileged user, the one the engine runs in);
	// "keep-id[:uid=N,gid=N]", "nomap" and "auto[:size=N]" make one for the
	// container (see ContainerIDMaps); "ns:PATH" joins one.
	User string `json:"user,omitempty"`
}

// ReadOnlyTmpfsDirs are the directories --read-only mounts a tmpfs on
// (unless --read-only-tmpfs=false); none without --read-only.
func (s *Security) ReadOnlyTmpfsDirs() []string {
	if !s.ReadOnly || s.ReadOnlyTmpfs != nil && !*s.ReadOnlyTmpfs {
		return nil
	}
	return []string{"/tmp", "/var/tmp", "/run"}
}

// networkMode returns the network mode with the default applied.
func (n *Namespaces) networkMode() string {
	if n.Network == "" {
		return DefaultNetwork
	}
	return n.Network
}

// DefaultNetwork is the network mode Validate and Generate assume when
// Namespaces.Network is empty: the root engine's default. The engine
// resolves the empty mode when it creates a container (pasta or
// slirp4netns when rootless).
const DefaultNetwork = NetworkBridge
