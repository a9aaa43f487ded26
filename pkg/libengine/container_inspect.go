package libengine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/engine-oss/engine/pkg/libengine/config"
	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/specgen"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// ContainerInspect is podman's `container inspect` document for one
// container (docker's shape). Fields podman has that the engine has no use
// for yet (SELinux labels) are present and empty.
type ContainerInspect struct {
	ID              string `json:"Id"`
	Created         time.Time
	Path            string
	Args            []string
	State           ContainerInspectState
	Image           string
	ImageName       string
	Rootfs          string
	Pod             string
	ResolvConfPath  string
	HostnamePath    string
	HostsPath       string
	StaticDir       string
	OCIRuntime      string
	LogPath         string
	PidFile         string
	Name            string
	RestartCount    int
	Driver          string
	MountLabel      string
	ProcessLabel    string
	AppArmorProfile string
	EffectiveCaps   []string
	BoundingCaps    []string
	ExecIDs         []string
	GraphDriver     GraphDriverData
	// SizeRw and SizeRootFs are filled when sizes are asked for: the bytes
	// the container changed, and those plus its image's.
	SizeRw          *int64 `json:",omitempty"`
	SizeRootFs      int64  `json:",omitempty"`
	Mounts          []InspectMount
	Dependencies    []string
	NetworkSettings InspectNetworkSettings
	Namespace       string
	IsInfra         bool
	Config          ContainerInspectConfig
	HostConfig      ContainerInspectHostConfig
}

// ContainerInspectState is where the container is in its life cycle.
type ContainerInspectState struct {
	// OciVersion is the runtime spec version the container runs with.
	OciVersion string
	// Status is created, running, paused, stopping or exited.
	Status     string
	Running    bool
	Paused     bool
	Restarting bool
	OOMKilled  bool
	Dead       bool
	// Pid is the container's init process on the host, 0 unless running.
	Pid int
	// ConmonPid is the pid of the container's engine-monitor. It keeps
	// podman's name (conmon is podman's monitor) for tools that read it.
	ConmonPid  int `json:",omitempty"`
	ExitCode   int
	Error      string
	StartedAt  time.Time
	FinishedAt time.Time
	// CgroupPath is the container's cgroup while it runs.
	CgroupPath    string `json:",omitempty"`
	StoppedByUser bool   `json:",omitempty"`
	// Health is what the health checks found, for a container with one.
	Health *InspectHealth `json:",omitempty"`
}

// InspectMount is one user mount (a -v or --mount bind mount).
type InspectMount struct {
	Type        string
	Name        string
	Source      string
	Destination string
	Driver      string
	Mode        string
	Options     []string
	RW          bool
	Propagation string
}

// InspectNetworkSettings is a running container's network: the first
// network's addresses at the top, each network's in Networks, and the
// published ports.
type InspectNetworkSettings struct {
	EndpointID  string
	Gateway     string
	IPAddress   string
	IPPrefixLen int
	MacAddress  string
	Bridge      string
	SandboxID   string
	SandboxKey  string
	Ports       map[string][]InspectHostPort
	Networks    map[string]InspectNetwork `json:",omitempty"`
}

// InspectNetwork is a container's interface on one network.
type InspectNetwork struct {
	EndpointID          string
	Gateway             string
	IPAddress           string
	IPPrefixLen         int
	IPv6Gateway         string
	GlobalIPv6Address   string
	GlobalIPv6PrefixLen int
	MacAddress          string
	NetworkID           string
	Aliases             []string
}

// InspectHostPort is a host address a container port is published on.
type InspectHostPort struct {
	HostIP   string `json:"HostIp"`
	HostPort string
}

// ContainerInspectConfig is how the container was asked for, with the
// image's defaults applied.
type ContainerInspectConfig struct {
	Hostname      string
	User          string
	Tty           bool
	OpenStdin     bool
	Env           []string
	Cmd           []string
	Image         string
	WorkingDir    string
	Entrypoint    []string
	Labels        map[string]string
	Annotations   map[string]string
	StopSignal    string
	StopTimeout   uint
	CreateCommand []string
	// Healthcheck is the container's health check and
	// HealthcheckOnFailureAction its --health-on-failure.
	Healthcheck                *InspectHealthConfig `json:",omitempty"`
	HealthcheckOnFailureAction string               `json:",omitempty"`
	// SdNotifyMode is --sdnotify.
	SdNotifyMode string `json:",omitempty"`
	// Timezone is --tz.
	Timezone string `json:",omitempty"`
	// ExposedPorts are "PORT/PROTOCOL" of the ports the image and --expose
	// expose and of those -p publishes, as podman's.
	ExposedPorts map[string]struct{} `json:",omitempty"`
}

// ContainerInspectHostConfig holds the container's settings toward the
// host, named as docker's and podman's HostConfig.
type ContainerInspectHostConfig struct {
	Binds          []string
	CgroupManager  string
	CgroupMode     string
	LogConfig      InspectLogConfig
	NetworkMode    string
	PortBindings   map[string][]InspectHostPort
	RestartPolicy  InspectRestartPolicy
	AutoRemove     bool
	CapAdd         []string
	CapDrop        []string
	DNS            []string `json:"Dns"`
	DNSOptions     []string `json:"DnsOptions"`
	DNSSearch      []string `json:"DnsSearch"`
	ExtraHosts     []string
	GroupAdd       []string
	IpcMode        string
	PidMode        string
	UTSMode        string
	Privileged     bool
	ReadonlyRootfs bool
	SecurityOpt    []string
	Tmpfs          map[string]string
	ShmSize        int64
	Runtime        string
	CPUShares      uint64 `json:"CpuShares"`
	Memory         int64
	MemorySwap     int64
	NanoCPUs       int64  `json:"NanoCpus"`
	CpusetCpus     string `json:"CpusetCpus"`
	Devices        []InspectDevice
	PidsLimit      int64
	Ulimits        []InspectUlimit
	Init           bool
}

// InspectLogConfig is the log driver and its options.
type InspectLogConfig struct {
	Type   string
	Config map[string]string
	Path   string
	Tag    string
	Size   string
}

// InspectRestartPolicy is --restart: Name is no, always, on-failure or
// unless-stopped.
type InspectRestartPolicy struct {
	Name              string
	MaximumRetryCount uint
}

// InspectDevice is a --device.
type InspectDevice struct {
	PathOnHost        string
	PathInContainer   string
	CgroupPermissions string
}

// InspectUlimit is one resource limit of the container's processes.
type InspectUlimit struct {
	Name string
	Soft uint64
	Hard uint64
}

// ContainerInspectOptions configure ContainerInspect.
type ContainerInspectOptions struct {
	// Size computes SizeRw and SizeRootFs, which reads the store's layers.
	Size bool
}

// ContainerInspect returns the inspect document of each named container,
// in order. Names that match no container are skipped and their
// define.ErrNoSuchContainer errors joined into the returned error, so
// callers can print what was found.
func (e *Engine) ContainerInspect(ctx context.Context, names []string, opts ContainerInspectOptions) ([]ContainerInspect, error) {
	var out []ContainerInspect
	var errs []error
	for _, name := range names {
		c, err := e.lookupCtr(ctx, name)
		if err == nil {
			var doc *ContainerInspect
			if doc, err = e.inspectCtr(ctx, e.refreshStale(ctx, c), opts); err == nil {
				out = append(out, *doc)
				continue
			}
		}
		errs = append(errs, err)
	}
	return out, errors.Join(errs...)
}

func (e *Engine) inspectCtr(ctx context.Context, c *ctr, opts ContainerInspectOptions) (*ContainerInspect, error) {
	s := c.cfg.Spec
	spec := e.ctrOCISpec(c)
	runDir := e.runDir(c.ID)
	doc := &ContainerInspect{
		ID: c.ID, Created: c.Created, Args: []string{},
		State: ContainerInspectState{
			OciVersion: specgen.OCIVersion, Status: string(c.State.Status),
			Running: c.State.Status == define.StatusRunning, Paused: c.State.Status == define.StatusPaused,
			OOMKilled: c.State.OOMKilled, Pid: c.State.Pid, ConmonPid: c.State.MonitorPid, ExitCode: c.State.ExitCode, Error: c.State.Error,
			StartedAt: c.State.StartedAt, FinishedAt: c.State.FinishedAt, StoppedByUser: c.State.StoppedByUser,
		},
		Image: c.ImageID, ImageName: c.ImageName, Pod: c.Pod, IsInfra: c.cfg.Infra,
		ResolvConfPath: ifExists(filepath.Join(runDir, specgen.ResolvConfFile)),
		HostnamePath:   ifExists(filepath.Join(runDir, specgen.HostnameFile)),
		HostsPath:      ifExists(filepath.Join(runDir, specgen.HostsFile)),
		StaticDir:      e.staticDir(c.ID), LogPath: c.logPath(e),
		PidFile: filepath.Join(runDir, pidFile), Name: c.Name, RestartCount: c.State.RestartCount,
		Driver: e.store.GraphDriverName(), ExecIDs: []string{}, Mounts: []InspectMount{}, Dependencies: []string{},
		NetworkSettings: e.inspectNetwork(ctx, c),
		Config:          inspectConfig(c, spec),
		HostConfig:      inspectHostConfig(c, spec, c.logPath(e)),
	}
	if rt, err := e.runtime(ctx); err == nil {
		doc.OCIRuntime = rt.Name
	}
	args := c.Command
	if spec != nil {
		doc.State.OciVersion, args = spec.Version, spec.Process.Args
		if caps := spec.Process.Capabilities; caps != nil {
			doc.EffectiveCaps, doc.BoundingCaps = caps.Effective, caps.Bounding
		}
	}
	if len(args) > 0 {
		doc.Path, doc.Args = args[0], args[1:]
	}
	if doc.State.Running || doc.State.Paused {
		doc.State.CgroupPath = cgroupPathOf(c.State.Pid)
	}
	doc.State.Health = e.inspectHealth(ctx, c)
	for _, m := range s.Mounts {
		switch m.Type {
		case specgen.MountTypeBind, specgen.MountTypeImage:
			doc.Mounts = append(doc.Mounts, inspectMount(m, spec))
		case specgen.MountTypeVolume:
			im := inspectMount(m, spec)
			im.Name, im.Source, im.Driver = m.Source, filepath.Join(e.volumeDir(m.Source), "_data"), LocalDriver
			doc.Mounts = append(doc.Mounts, im)
		}
	}
	sc, err := e.store.Container(c.ID)
	if err != nil {
		return nil, fmt.Errorf("container %s: root filesystem: %w", c.Name, err)
	}
	if doc.GraphDriver, err = e.graphDriverData(sc.LayerID); err != nil {
		return nil, err
	}
	if opts.Size {
		if err := e.ctrSizes(doc, sc.LayerID); err != nil {
			return nil, err
		}
	}
	return doc, nil
}

// ctrOCISpec returns the OCI spec the container ran with (its bundle's),
// or for one never started the spec it would get; nil when that cannot be
// made without its root filesystem (a --user name the image defines).
func (e *Engine) ctrOCISpec(c *ctr) *specs.Spec {
	if b, err := os.ReadFile(filepath.Join(e.runDir(c.ID), bundleConfig)); err == nil {
		var spec specs.Spec
		if err := json.Unmarshal(b, &spec); err == nil && spec.Process != nil {
			return &spec
		}
	}
	env := specgen.GenerateEnv{
		ID: c.ID, RootFS: "/", Rootless: config.Rootless(), CgroupVersion: cgroupVersion(),
		HostRlimits: hostRlimits(), BoundingSet: boundingSet(), InitPath: findInit(),
	}
	spec, err := specgen.Generate(c.cfg.Spec, c.cfg.ImageConfig, env)
	if err != nil {
		logrus.Debugf("inspect %s: spec without the root filesystem: %v", c.Name, err)
		return nil
	}
	return spec
}

func inspectConfig(c *ctr, spec *specs.Spec) ContainerInspectConfig {
	s, img := c.cfg.Spec, c.cfg.ImageConfig
	cfg := ContainerInspectConfig{
		Hostname: s.Hostname, User: firstNonEmpty(s.User, img.User),
		Tty: s.Terminal, OpenStdin: s.Stdin,
		Image: c.ImageName, WorkingDir: firstNonEmpty(s.WorkDir, img.WorkingDir, "/"),
		Entrypoint: img.Entrypoint, Cmd: s.Command,
		Labels: c.Labels, Annotations: s.Annotations,
		StopSignal: unix.SignalName(c.stopSignal()), StopTimeout: c.stopTimeout(),
		CreateCommand: c.cfg.CreateCommand, SdNotifyMode: s.SdNotifyMode, Timezone: s.Timezone,
	}
	cfg.Healthcheck, cfg.HealthcheckOnFailureAction = inspectHealthConfig(s)
	cfg.ExposedPorts = exposedPorts(s, img)
	if s.Entrypoint != nil {
		cfg.Entrypoint = *s.Entrypoint
	}
	if len(cfg.Cmd) == 0 && s.Entrypoint == nil {
		cfg.Cmd = img.Cmd
	}
	if spec != nil {
		cfg.Hostname, cfg.Env, cfg.Annotations = spec.Hostname, spec.Process.Env, spec.Annotations
	} else {
		cfg.Env = slices.Clone(img.Env)
		for _, k := range slices.Sorted(maps.Keys(s.Env)) {
			cfg.Env = append(cfg.Env, k+"="+s.Env[k])
		}
	}
	if cfg.Labels == nil {
		cfg.Labels = map[string]string{}
	}
	return cfg
}

// exposedPorts is inspect's Config.ExposedPorts: the ports s and its image
// expose and the container ports of its -p values; nil when none.
func exposedPorts(s *specgen.SpecGenerator, img imgspecv1.ImageConfig) map[string]struct{} {
	out := map[string]struct{}{}
	for _, p := range specgen.ExposedPorts(s, img) {
		out[p] = struct{}{}
	}
	for _, v := range s.PublishPorts {
		pm, err := specgen.ParsePortSpec(v)
		if err != nil {
			continue
		}
		for _, proto := range strings.Split(pm.Protocol, ",") {
			for i := range uint32(pm.Range) {
				out[fmt.Sprintf("%d/%s", uint32(pm.ContainerPort)+i, proto)] = struct{}{}
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func inspectHostConfig(c *ctr, spec *specs.Spec, logPath string) ContainerInspectHostConfig {
	s := c.cfg.Spec
	cgroupMode := s.Namespaces.Cgroup
	if cgroupMode == "" && cgroupVersion() == 1 {
		cgroupMode = "host"
	}
	hc := ContainerInspectHostConfig{
		Binds: []string{}, CgroupManager: "cgroupfs", CgroupMode: nsModeName(cgroupMode),
		LogConfig: InspectLogConfig{
			Type: firstNonEmpty(s.LogDriver, "k8s-file"), Config: s.LogOpts, Path: logPath,
			Tag: s.LogOpts["tag"], Size: firstNonEmpty(s.LogOpts["max-size"], "0B"),
		},
		NetworkMode:   firstNonEmpty(s.Namespaces.Network, specgen.DefaultNetwork),
		PortBindings:  map[string][]InspectHostPort{},
		RestartPolicy: InspectRestartPolicy{Name: firstNonEmpty(s.RestartPolicy, "no")},
		AutoRemove:    s.Remove,
		CapAdd:        orEmpty(s.Security.CapAdd), CapDrop: orEmpty(s.Security.CapDrop),
		DNS: orEmpty(s.DNSServers), DNSOptions: orEmpty(s.DNSOptions), DNSSearch: orEmpty(s.DNSSearch),
		ExtraHosts: orEmpty(s.HostAdd), GroupAdd: orEmpty(s.GroupAdd),
		IpcMode: nsModeName(s.Namespaces.IPC), PidMode: nsModeName(s.Namespaces.PID), UTSMode: nsModeName(s.Namespaces.UTS),
		Privileged: s.Security.Privileged, ReadonlyRootfs: s.Security.ReadOnly,
		SecurityOpt: []string{}, Tmpfs: map[string]string{}, ShmSize: specgen.DefaultShmSize, Runtime: "oci",
		CpusetCpus: s.Resources.CPUSetCPUs, Devices: []InspectDevice{}, Ulimits: []InspectUlimit{}, Init: s.Init,
	}
	if s.RestartRetries != nil {
		hc.RestartPolicy.MaximumRetryCount = *s.RestartRetries
	}
	if hc.LogConfig.Config == nil {
		hc.LogConfig.Config = map[string]string{}
	}
	if s.Security.NoNewPrivileges {
		hc.SecurityOpt = append(hc.SecurityOpt, "no-new-privileges")
	}
	if p := s.Security.SeccompProfilePath; p != "" {
		hc.SecurityOpt = append(hc.SecurityOpt, "seccomp="+p)
	}
	if s.ShmSize != nil {
		hc.ShmSize = *s.ShmSize
	}
	r := s.Resources
	if r.Memory != nil {
		hc.Memory = *r.Memory
	}
	if r.MemorySwap != nil {
		hc.MemorySwap = *r.MemorySwap
	}
	if r.CPUs != nil {
		hc.NanoCPUs = int64(*r.CPUs * 1e9)
	}
	if r.CPUShares != nil {
		hc.CPUShares = *r.CPUShares
	}
	if r.PidsLimit != nil {
		hc.PidsLimit = *r.PidsLimit
	}
	maps.Copy(hc.Tmpfs, s.Tmpfs)
	for _, m := range s.Mounts {
		switch m.Type {
		case specgen.MountTypeBind:
			b := m.Source + ":" + m.Destination
			if opts := mountOptions(m, spec); len(opts) > 0 {
				b += ":" + strings.Join(opts, ",")
			}
			hc.Binds = append(hc.Binds, b)
		case specgen.MountTypeTmpfs:
			hc.Tmpfs[m.Destination] = strings.Join(m.Options, ",")
		}
	}
	for _, d := range s.Devices {
		if dev, err := specgen.ParseDevice(d); err == nil {
			hc.Devices = append(hc.Devices, InspectDevice{PathOnHost: dev.Source, PathInContainer: dev.Destination, CgroupPermissions: dev.Permissions})
		}
	}
	if spec != nil {
		for _, rl := range spec.Process.Rlimits {
			hc.Ulimits = append(hc.Ulimits, InspectUlimit{Name: rl.Type, Soft: rl.Soft, Hard: rl.Hard})
		}
		if res := spec.Linux.Resources; res != nil && res.Pids != nil && res.Pids.Limit != nil && r.PidsLimit == nil {
			hc.PidsLimit = *res.Pids.Limit
		}
	}
	return hc
}

// mountOptions are a user mount's options as the runtime got them, with
// the defaults added, or as given when the spec is not known.
func mountOptions(m specgen.Mount, spec *specs.Spec) []string {
	opts := m.Options
	if spec != nil {
		for _, sm := range spec.Mounts {
			if sm.Destination == m.Destination {
				opts = sm.Options
			}
		}
	}
	return opts
}

// inspectMount describes a bind, volume or image mount.
func inspectMount(m specgen.Mount, spec *specs.Spec) InspectMount {
	im := InspectMount{Type: m.Type, Source: m.Source, Destination: m.Destination, Options: []string{}, RW: true}
	for _, o := range mountOptions(m, spec) {
		switch o {
		case "ro":
			im.RW = false
		case "rw":
		case "private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable", "runbindable":
			im.Propagation = o
		default:
			im.Options = append(im.Options, o)
		}
	}
	return im
}

// ctrSizes fills SizeRw (the container layer's changes) and SizeRootFs
// (those plus the image's layers).
func (e *Engine) ctrSizes(doc *ContainerInspect, layerID string) error {
	rw, rootfs, err := e.containerSizes(layerID, doc.Image)
	if err != nil {
		return fmt.Errorf("size of container %s: %w", doc.Name, err)
	}
	doc.SizeRw, doc.SizeRootFs = &rw, rootfs
	return nil
}

// containerSizes returns the size of a container layer's changes, and that
// plus its image's size; an image that is gone counts for nothing.
func (e *Engine) containerSizes(layerID, imageID string) (rw, rootfs int64, err error) {
	rw, err = e.store.DiffSize("", layerID)
	if err != nil {
		return 0, 0, err
	}
	img, err := e.store.Image(imageID)
	if err != nil {
		return rw, rw, nil
	}
	snap, err := e.snapshot()
	if err != nil {
		return 0, 0, err
	}
	size, err := e.imageSize(snap, img)
	if err != nil {
		return 0, 0, err
	}
	return rw, rw + size, nil
}

// nsModeName is a namespace mode as inspect shows it: private by default.
func nsModeName(mode string) string {
	return firstNonEmpty(mode, "private")
}

// ifExists returns path if it exists, else "".
func ifExists(path string) string {
	if _, err := os.Stat(path); err != nil {
		return ""
	}
	return path
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
