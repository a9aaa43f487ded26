package libengine

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/engine-oss/engine/pkg/libengine/config"
	"go.podman.io/image/v5/pkg/sysregistriesv2"
	"go.podman.io/storage"
	"go.podman.io/storage/pkg/configfile"
	"go.podman.io/storage/pkg/unshare"
	"golang.org/x/sys/unix"
)

// InfoReport describes the host, the store, the registries and the
// configuration one invocation of the engine sees. Its keys are podman's
// where podman has the same fact.
type InfoReport struct {
	Host        HostInfo        `json:"host" yaml:"host"`
	Store       StoreInfo       `json:"store" yaml:"store"`
	Registries  RegistriesInfo  `json:"registries" yaml:"registries"`
	ConfigFiles ConfigFilesInfo `json:"configFiles" yaml:"configFiles"`
	Version     VersionInfo     `json:"version" yaml:"version"`
}

// HostInfo is the machine and the OCI runtime the engine would use on it.
type HostInfo struct {
	Arch     string `json:"arch" yaml:"arch"`
	OS       string `json:"os" yaml:"os"`
	Kernel   string `json:"kernel" yaml:"kernel"`
	Hostname string `json:"hostname" yaml:"hostname"`
	CPUs     int    `json:"cpus" yaml:"cpus"`
	MemTotal int64  `json:"memTotal" yaml:"memTotal"`
	MemFree  int64  `json:"memFree" yaml:"memFree"`
	// CgroupVersion is v1 or v2; CgroupMode tells a v1 host with the v2
	// hierarchy mounted beside it (hybrid) from a pure one (legacy).
	CgroupVersion     string           `json:"cgroupVersion" yaml:"cgroupVersion"`
	CgroupMode        string           `json:"cgroupMode" yaml:"cgroupMode"`
	CgroupControllers []string         `json:"cgroupControllers" yaml:"cgroupControllers"`
	Rootless          bool             `json:"rootless" yaml:"rootless"`
	Distribution      DistributionInfo `json:"distribution" yaml:"distribution"`
	// OCIRuntime is the runtime containers would run with; nil when none works.
	OCIRuntime *RuntimeInfo `json:"ociRuntime" yaml:"ociRuntime"`
	// Runtimes are all the candidates found, usable or not.
	Runtimes []RuntimeInfo `json:"runtimes" yaml:"runtimes"`
}

// DistributionInfo comes from /etc/os-release.
type DistributionInfo struct {
	Distribution string `json:"distribution" yaml:"distribution"`
	Version      string `json:"version" yaml:"version"`
	Codename     string `json:"codename,omitempty" yaml:"codename,omitempty"`
}

// RuntimeInfo is one OCI runtime binary.
type RuntimeInfo struct {
	Name    string `json:"name" yaml:"name"`
	Path    string `json:"path" yaml:"path"`
	Version string `json:"version" yaml:"version"`
	Usable  bool   `json:"usable" yaml:"usable"`
	// Reason says why the runtime was chosen or passed over.
	Reason string `json:"reason" yaml:"reason"`
}

// StoreInfo is the image and container store.
type StoreInfo struct {
	GraphRoot       string `json:"graphRoot" yaml:"graphRoot"`
	RunRoot         string `json:"runRoot" yaml:"runRoot"`
	GraphDriverName string `json:"graphDriverName" yaml:"graphDriverName"`
	// GraphDriverSource says what chose the driver: --storage-driver,
	// engine.conf, storage.conf or auto-detected.
	GraphDriverSource string            `json:"graphDriverSource" yaml:"graphDriverSource"`
	GraphOptions      []string          `json:"graphOptions" yaml:"graphOptions"`
	GraphStatus       map[string]string `json:"graphStatus" yaml:"graphStatus"`
	ImageStore        CountInfo         `json:"imageStore" yaml:"imageStore"`
	ContainerStore    CountInfo         `json:"containerStore" yaml:"containerStore"`
}

// CountInfo counts the objects of one kind.
type CountInfo struct {
	Number int `json:"number" yaml:"number"`
}

// RegistriesInfo is what registries.conf says.
type RegistriesInfo struct {
	// Search lists the registries short names are resolved against.
	Search []string `json:"search" yaml:"search"`
	// Registries are the ones registries.conf configures: insecure,
	// blocked, mirrored or redirected.
	Registries []RegistryInfo `json:"registries" yaml:"registries"`
}

// RegistryInfo is one [[registry]] table of registries.conf.
type RegistryInfo struct {
	Prefix   string   `json:"prefix" yaml:"prefix"`
	Location string   `json:"location" yaml:"location"`
	Insecure bool     `json:"insecure" yaml:"insecure"`
	Blocked  bool     `json:"blocked" yaml:"blocked"`
	Mirrors  []string `json:"mirrors,omitempty" yaml:"mirrors,omitempty"`
}

// ConfigFilesInfo lists the configuration files that exist and are read.
type ConfigFilesInfo struct {
	Engine     []string `json:"engine" yaml:"engine"`
	Storage    []string `json:"storage" yaml:"storage"`
	Registries []string `json:"registries" yaml:"registries"`
}

// VersionInfo is the engine's build.
type VersionInfo struct {
	Version   string `json:"version" yaml:"version"`
	GoVersion string `json:"goVersion" yaml:"goVersion"`
	OsArch    string `json:"osArch" yaml:"osArch"`
}

// Info gathers the report. Facts the host does not offer (no
// /etc/os-release, say) are left empty rather than failing the call; a
// store or registries.conf that cannot be read is an error.
func (e *Engine) Info(ctx context.Context) (*InfoReport, error) {
	r := &InfoReport{Version: VersionInfo{Version: Version, GoVersion: runtime.Version(), OsArch: runtime.GOOS + "/" + runtime.GOARCH}}
	r.Host = hostInfo()
	r.Host.CgroupVersion, r.Host.CgroupMode, r.Host.CgroupControllers = cgroupInfo()
	r.Host.OCIRuntime, r.Host.Runtimes = e.findRuntimes(ctx, r.Host.CgroupVersion)

	store, err := e.storeInfo()
	if err != nil {
		return nil, err
	}
	r.Store = store

	sys, err := e.systemContext(RegistryOptions{})
	if err != nil {
		return nil, err
	}
	if r.Registries.Search, err = sysregistriesv2.UnqualifiedSearchRegistries(sys); err != nil {
		return nil, fmt.Errorf("read registries.conf: %w", err)
	}
	regs, err := sysregistriesv2.GetRegistries(sys)
	if err != nil {
		return nil, fmt.Errorf("read registries.conf: %w", err)
	}
	for _, reg := range regs {
		ri := RegistryInfo{Prefix: reg.Prefix, Location: reg.Location, Insecure: reg.Insecure, Blocked: reg.Blocked}
		for _, m := range reg.Mirrors {
			ri.Mirrors = append(ri.Mirrors, m.Location)
		}
		r.Registries.Registries = append(r.Registries.Registries, ri)
	}

	r.ConfigFiles.Engine = existing(config.Paths()...)
	uid := unshare.GetRootlessUID()
	if r.ConfigFiles.Storage, err = configFilesRead(&configfile.File{Name: "storage", Extension: "conf", EnvironmentName: "CONTAINERS_STORAGE_CONF", UserId: uid}); err != nil {
		return nil, fmt.Errorf("read storage.conf: %w", err)
	}
	if r.ConfigFiles.Registries, err = configFilesRead(&configfile.File{
		Name: "registries", Extension: "conf", EnvironmentName: "CONTAINERS_REGISTRIES_CONF", UserId: uid,
		CustomConfigFilePath: sys.SystemRegistriesConfPath, CustomConfigFileDropInDirectory: sys.SystemRegistriesConfDirPath,
	}); err != nil {
		return nil, fmt.Errorf("read registries.conf: %w", err)
	}
	return r, nil
}

func hostInfo() HostInfo {
	h := HostInfo{Arch: runtime.GOARCH, OS: runtime.GOOS, CPUs: runtime.NumCPU(), Rootless: config.Rootless()}
	h.Hostname, _ = os.Hostname()
	var uts unix.Utsname
	if unix.Uname(&uts) == nil {
		h.Kernel = unix.ByteSliceToString(uts.Release[:])
	}
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) == nil {
		h.MemTotal = int64(si.Totalram) * int64(si.Unit)
		h.MemFree = int64(si.Freeram) * int64(si.Unit)
	}
	if data, err := os.ReadFile("/etc/os-release"); err == nil {
		h.Distribution = parseOSRelease(data)
	}
	return h
}

// parseOSRelease reads the distribution's ID, VERSION_ID and codename.
func parseOSRelease(data []byte) DistributionInfo {
	var d DistributionInfo
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		v = strings.Trim(v, `"'`)
		switch k {
		case "ID":
			d.Distribution = v
		case "VERSION_ID":
			d.Version = v
		case "VERSION_CODENAME":
			d.Codename = v
		}
	}
	return d
}

// cgroupInfo tells v2 (unified) from v1, and a v1 host with the v2
// hierarchy mounted at /sys/fs/cgroup/unified (hybrid) from a pure one.
func cgroupInfo() (version, mode string, controllers []string) {
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err != nil {
		return "", "", nil
	}
	if st.Type == unix.CGROUP2_SUPER_MAGIC {
		data, _ := os.ReadFile("/sys/fs/cgroup/cgroup.controllers")
		return "v2", "unified", strings.Fields(string(data))
	}
	mode = "legacy"
	if unix.Statfs("/sys/fs/cgroup/unified", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		mode = "hybrid"
	}
	data, _ := os.ReadFile("/proc/cgroups")
	return "v1", mode, enabledV1Controllers(data)
}

// enabledV1Controllers reads /proc/cgroups: name, hierarchy, count, enabled.
func enabledV1Controllers(data []byte) []string {
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 4 && !strings.HasPrefix(f[0], "#") && f[3] == "1" {
			out = append(out, f[0])
		}
	}
	return out
}

// findRuntimes probes the configured runtime, or else each name in
// runtime_search, and picks the one containers would use: the configured
// one, else the first whose --version works. On cgroup v1 crun before 1.9
// refuses to run containers, so it is passed over unless configured.
func (e *Engine) findRuntimes(ctx context.Context, cgroupVersion string) (*RuntimeInfo, []RuntimeInfo) {
	explicit := e.cfg.Engine.Runtime
	names := e.cfg.Engine.RuntimeSearch
	if explicit != "" {
		names = append([]string{explicit}, names...)
	}
	var found []RuntimeInfo
	var chosen *RuntimeInfo
	seen := map[string]bool{}
	for _, name := range names {
		isExplicit := explicit != "" && name == explicit
		path, err := exec.LookPath(name)
		if err != nil {
			if isExplicit {
				found = append(found, RuntimeInfo{Name: name, Reason: "runtime in engine.conf not found in $PATH"})
			}
			continue
		}
		if seen[path] {
			continue
		}
		seen[path] = true
		ri := probeRuntime(ctx, name, path)
		switch {
		case !ri.Usable:
		case cgroupVersion == "v1" && !isExplicit && tooOldCrun(ri):
			ri.Usable = false
			ri.Reason = "crun before 1.9 refuses cgroup v1 hosts: install runc, or set runtime = \"crun\" in engine.conf to use it anyway"
		case chosen != nil:
			ri.Reason = "usable; an earlier runtime was chosen"
		case explicit != "" && !isExplicit:
			ri.Reason = "usable; engine.conf names another runtime"
		case isExplicit:
			ri.Reason = "chosen: runtime in engine.conf"
		default:
			ri.Reason = "chosen: first usable in runtime_search"
		}
		found = append(found, ri)
		if ri.Usable && chosen == nil && (explicit == "" || isExplicit) {
			chosen = &found[len(found)-1]
		}
	}
	if chosen != nil {
		c := *chosen
		chosen = &c
	}
	return chosen, found
}

// probeRuntime runs RUNTIME --version.
func probeRuntime(ctx context.Context, name, path string) RuntimeInfo {
	ri := RuntimeInfo{Name: filepath.Base(name), Path: path}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--version").Output()
	if err != nil {
		ri.Reason = fmt.Sprintf("%s --version failed: %v", path, err)
		return ri
	}
	ri.Version = strings.TrimSpace(string(out))
	ri.Usable = true
	return ri
}

var crunVersionRe = regexp.MustCompile(`crun version (\d+)\.(\d+)`)

// tooOldCrun reports whether ri is crun older than 1.9.
func tooOldCrun(ri RuntimeInfo) bool {
	m := crunVersionRe.FindStringSubmatch(ri.Version)
	if m == nil {
		return false
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	return major < 1 || major == 1 && minor < 9
}

func (e *Engine) storeInfo() (StoreInfo, error) {
	s := StoreInfo{
		GraphRoot:         e.store.GraphRoot(),
		RunRoot:           e.store.RunRoot(),
		GraphDriverName:   e.store.GraphDriverName(),
		GraphDriverSource: e.storageSource,
		GraphOptions:      e.store.GraphOptions(),
		GraphStatus:       map[string]string{},
	}
	status, err := e.store.Status()
	if err != nil {
		return s, fmt.Errorf("storage driver status: %w", err)
	}
	for _, kv := range status {
		s.GraphStatus[kv[0]] = kv[1]
	}
	res, err := e.store.MultiList(storage.MultiListOptions{Images: true, Containers: true})
	if err != nil {
		return s, fmt.Errorf("list store: %w", err)
	}
	s.ImageStore.Number = len(res.Images)
	s.ContainerStore.Number = len(res.Containers)
	return s, nil
}

// configFilesRead lists the files containers/storage's config reader
// reads for f, drop-ins included, in the order it reads them.
func configFilesRead(f *configfile.File) ([]string, error) {
	out := []string{}
	for item, err := range configfile.Read(f) {
		if err != nil {
			return out, err
		}
		out = append(out, item.Name)
	}
	return out, nil
}

// existing keeps the paths that exist.
func existing(paths ...string) []string {
	out := []string{}
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil || !errors.Is(err, fs.ErrNotExist) {
			out = append(out, p)
		}
	}
	return out
}
