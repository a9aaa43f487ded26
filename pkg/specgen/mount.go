package specgen

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/engine-oss/engine/pkg/libengine/define"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Mount types a Mount may have today.
const (
	MountTypeBind  = "bind"
	MountTypeTmpfs = "tmpfs"
)

// ParseMountVolumeFlag parses -v/--volume "SOURCE:CONTAINER-PATH[:OPTIONS]"
// or "CONTAINER-PATH". A SOURCE that is an absolute path or starts with "."
// (made absolute against the working directory, as podman) is a bind
// mount of that host path, which must exist; any other SOURCE is the name
// of a volume, and a lone CONTAINER-PATH gets an anonymous volume. The O
// and idmap options return define.ErrNotImplemented; other errors wrap
// define.ErrInvalidArg.
func ParseMountVolumeFlag(value string) (Mount, error) {
	parts := strings.Split(value, ":")
	switch {
	case len(parts) == 1:
		return volumeMount(value, Mount{Type: MountTypeVolume, Destination: parts[0]})
	case len(parts) > 3:
		return Mount{}, invalid("-v %q: too many colons: use HOST-PATH:CONTAINER-PATH[:OPTIONS]", value)
	}
	m := Mount{Type: MountTypeBind, Source: parts[0], Destination: parts[1]}
	if len(parts) == 3 {
		m.Options = splitOptions(parts[2])
	}
	switch {
	case m.Source == "":
		return Mount{}, invalid("-v %q: the host path is empty: use HOST-PATH:CONTAINER-PATH[:OPTIONS]", value)
	case strings.HasPrefix(m.Source, "."):
		abs, err := filepath.Abs(m.Source)
		if err != nil {
			return Mount{}, fmt.Errorf("-v %q: %w: %w", value, define.ErrInvalidArg, err)
		}
		m.Source = abs
	case !path.IsAbs(m.Source):
		if !ValidVolumeName(m.Source) {
			return Mount{}, invalid("-v %q: %q is neither an absolute host path nor a volume name: use /HOST/PATH, ./PATH, or a volume name of letters, digits, '_', '.' and '-'",
				value, m.Source)
		}
		m.Type = MountTypeVolume
		return volumeMount(value, m)
	}
	if err := checkMount("-v "+value, m); err != nil {
		return Mount{}, err
	}
	if err := statBindSource("-v "+value, m.Source); err != nil {
		return Mount{}, err
	}
	return m, nil
}

// volumeMount checks the volume mount -v value gave.
func volumeMount(value string, m Mount) (Mount, error) {
	if err := checkMount("-v "+value, m); err != nil {
		return Mount{}, err
	}
	return m, nil
}

func bindSourceError(what, source string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return invalid("%s: host path %s does not exist: create it or fix the path", what, source)
	}
	return fmt.Errorf("%s: host path %s: %w: %w", what, source, define.ErrInvalidArg, err)
}

// checkMount validates a Mount of the SpecGenerator; what names it in errors.
func checkMount(what string, m Mount) error {
	switch m.Type {
	case MountTypeBind:
		if !path.IsAbs(m.Source) {
			return invalid("%s: host path %q is not absolute: use an absolute path", what, m.Source)
		}
	case MountTypeTmpfs:
	case MountTypeVolume, MountTypeImage:
		if err := checkVolumeMount(what, m); err != nil {
			return err
		}
	default:
		return invalid("%s: unknown mount type %q: use bind, volume, tmpfs or image", what, m.Type)
	}
	if !path.IsAbs(m.Destination) {
		return invalid("%s: container path %q is not absolute: use an absolute path (e.g. /data)", what, m.Destination)
	}
	return checkMountOptions(what, m.Type, m.Options)
}

// Option groups: a mount may carry at most one option of each.
var mountOptionGroups = [][]string{
	{"ro", "rw"},
	{"nosuid", "suid"},
	{"nodev", "dev"},
	{"noexec", "exec"},
	{"private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable", "runbindable"},
	{"atime", "noatime", "relatime", "norelatime", "strictatime", "nostrictatime"},
	{"bind", "rbind"},
	{"z", "Z"},
	{"tmpcopyup", "notmpcopyup"},
	{"copy", "nocopy"},
	{"U"},
}

// Options that only make sense for one mount type.
var (
	bindOnlyOptions  = []string{"bind", "rbind"}
	tmpfsOnlyOptions = []string{"tmpcopyup", "notmpcopyup"}
	copyUpOptions    = []string{"copy", "nocopy"}
	// z and Z (SELinux relabelling) apply to host paths and volumes.
	relabelOptions  = []string{"z", "Z"}
	tmpfsKeyOptions = map[string]*regexp.Regexp{
		"size":      regexp.MustCompile(`^\d+[kKmMgG%]?$`),
		"nr_inodes": regexp.MustCompile(`^\d+[kKmMgG%]?$`),
		"nr_blocks": regexp.MustCompile(`^\d+[kKmMgG%]?$`),
		"mode":      regexp.MustCompile(`^[0-7]{1,4}$`),
		"uid":       regexp.MustCompile(`^\d+$`),
		"gid":       regexp.MustCompile(`^\d+$`),
	}
)

func checkMountOptions(what, typ string, opts []string) error {
	seen := map[string]string{}
	for _, o := range opts {
		key, val, hasVal := strings.Cut(o, "=")
		switch {
		case o == "O" || (o == "U" && typ != MountTypeVolume && typ != MountTypeBind) || key == "idmap":
			return notImplemented("%s: the %s option is not supported yet: drop it", what, key)
		case hasVal:
			re, ok := tmpfsKeyOptions[key]
			if !ok || typ != MountTypeTmpfs {
				return invalid("%s: unknown option %q: use ro, rw, a propagation such as rprivate, nosuid, nodev or noexec%s", what, o, optionHint(typ))
			}
			if !re.MatchString(val) {
				return invalid("%s: invalid value in %q%s", what, o, optionHint(typ))
			}
			if _, dup := seen[key]; dup {
				return invalid("%s: %s is given twice: keep one", what, key)
			}
			seen[key] = o
			continue
		case slices.Contains(bindOnlyOptions, o) && typ != MountTypeBind,
			slices.Contains(tmpfsOnlyOptions, o) && typ != MountTypeTmpfs,
			slices.Contains(copyUpOptions, o) && typ != MountTypeVolume,
			slices.Contains(relabelOptions, o) && typ != MountTypeBind && typ != MountTypeVolume:
			return invalid("%s: option %q does not apply to a %s mount: drop it", what, o, typ)
		}
		group := optionGroup(o)
		if group < 0 {
			return invalid("%s: unknown option %q: use ro, rw, a propagation such as rprivate, nosuid, nodev or noexec%s", what, o, optionHint(typ))
		}
		k := fmt.Sprint(group)
		if prev, dup := seen[k]; dup {
			return invalid("%s: options %q and %q conflict: keep one", what, prev, o)
		}
		seen[k] = o
	}
	return nil
}

func optionHint(typ string) string {
	switch typ {
	case MountTypeTmpfs:
		return ", or size=, mode=, uid=, gid=, nr_inodes= (e.g. size=64m,mode=1777)"
	case MountTypeVolume:
		return ", or nocopy, U, z"
	}
	return ""
}

func optionGroup(o string) int {
	for i, g := range mountOptionGroups {
		if slices.Contains(g, o) {
			return i
		}
	}
	return -1
}

// hasOptionOf reports whether opts holds an option of the group of o.
func hasOptionOf(opts []string, o string) bool {
	g := optionGroup(o)
	return slices.ContainsFunc(opts, func(x string) bool { return optionGroup(x) == g })
}

// tmpfsOptions completes a tmpfs mount's options with podman's defaults: rw,
// noexec, nosuid, nodev, rprivate and tmpcopyup, each unless the user chose
// otherwise. notmpcopyup is dropped: runtimes do not know it.
func tmpfsOptions(opts []string) []string {
	out := slices.DeleteFunc(slices.Clone(opts), func(o string) bool { return o == "notmpcopyup" })
	for _, def := range []string{"rw", "noexec", "nosuid", "nodev", "rprivate", "tmpcopyup"} {
		if !hasOptionOf(opts, def) {
			out = append(out, def)
		}
	}
	return out
}

// bindOptions completes a bind mount's options as podman: rbind, rprivate
// and rw unless chosen, and nosuid, nodev and noexec when the source's
// filesystem has them (a rootless runtime cannot clear those locked flags).
// SELinux relabel options z and Z are dropped: the engine does no labelling;
// so is U, which the engine acts on before the container starts (see Chown).
// A missing source is an error naming it, wrapping define.ErrInvalidArg.
func bindOptions(what, source string, opts []string) ([]string, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(source, &st); err != nil {
		return nil, bindSourceError(what, source, err)
	}
	return completeBindOptions(opts, st.Flags), nil
}

// completeBindOptions is bindOptions once the source filesystem's statfs
// flags are known.
func completeBindOptions(opts []string, fsFlags int64) []string {
	out := slices.DeleteFunc(slices.Clone(opts), func(o string) bool { return o == "z" || o == "Z" || o == "U" })
	for _, def := range []string{"rbind", "rprivate", "rw"} {
		if !hasOptionOf(opts, def) {
			out = append(out, def)
		}
	}
	for _, f := range []struct {
		flag int64
		opt  string
	}{{unix.ST_NOSUID, "nosuid"}, {unix.ST_NODEV, "nodev"}, {unix.ST_NOEXEC, "noexec"}} {
		if fsFlags&f.flag != 0 && !hasOptionOf(opts, f.opt) {
			out = append(out, f.opt)
		}
	}
	return out
}

// containerMounts returns the container's default mounts (podman's /proc,
// /dev, /sys..., the files of RunDir, the init binary, the --read-only
// tmpfs) and the mounts the user asked for, with their options completed.
// userSpec and cwd are the effective --user and working directory.
func containerMounts(s *SpecGenerator, env GenerateEnv, userSpec, cwd, initPath string) (defaults, user []specs.Mount, err error) {
	for _, m := range s.Mounts {
		what := "mount on " + m.Destination
		switch m.Type {
		case MountTypeBind:
			opts, err := bindOptions(what, m.Source, m.Options)
			if err != nil {
				return nil, nil, err
			}
			user = append(user, specs.Mount{Destination: m.Destination, Type: MountTypeBind, Source: m.Source, Options: opts})
		case MountTypeTmpfs:
			user = append(user, specs.Mount{Destination: m.Destination, Type: MountTypeTmpfs, Source: "tmpfs", Options: tmpfsOptions(m.Options)})
		case MountTypeVolume, MountTypeImage:
			src := env.MountSources[m.Destination]
			if src == "" {
				return nil, nil, invalid("%s: the engine prepared no host directory for this %s mount", what, m.Type)
			}
			opts, err := bindOptions(what, src, volumeBindOptions(m))
			if err != nil {
				return nil, nil, err
			}
			user = append(user, specs.Mount{Destination: m.Destination, Type: MountTypeBind, Source: src, Options: opts})
		}
	}
	for _, dest := range slices.Sorted(maps.Keys(s.Tmpfs)) {
		user = append(user, specs.Mount{Destination: dest, Type: MountTypeTmpfs, Source: "tmpfs", Options: tmpfsOptions(splitOptions(s.Tmpfs[dest]))})
	}

	defaults = systemMounts(s, env)
	if env.RunDir != "" {
		files := []string{HostnameFile, HostsFile, ResolvConfFile}
		entry, err := PasswdEntry(env.EtcPasswd, env.EtcGroup, userSpec, cwd)
		if err != nil {
			return nil, nil, err
		}
		if entry != "" {
			files = append(files, PasswdFile)
		}
		for _, f := range files {
			defaults = append(defaults, bindMount(filepath.Join(env.RunDir, f), "/etc/"+f, "rbind", "rprivate"))
		}
	}
	if s.Timezone != "" {
		zone, err := TimezoneFile(s.Timezone)
		if err != nil {
			return nil, nil, err
		}
		defaults = append(defaults, bindMount(zone, ContainerLocaltime, "rbind", "ro", "rprivate", "nosuid", "nodev", "noexec"))
	}
	if s.Init {
		defaults = append(defaults, bindMount(initPath, ContainerInitPath, "rbind", "ro", "rprivate"))
	}
	for _, dest := range s.Security.ReadOnlyTmpfsDirs() {
		defaults = append(defaults, specs.Mount{Destination: dest, Type: MountTypeTmpfs, Source: "tmpfs",
			Options: []string{"rw", "rprivate", "nosuid", "nodev", "tmpcopyup"}})
	}
	return defaults, user, nil
}

func bindMount(source, destination string, options ...string) specs.Mount {
	return specs.Mount{Destination: destination, Type: MountTypeBind, Source: source, Options: options}
}

// systemMounts are podman's /proc, /dev, /dev/pts, /dev/shm, /dev/mqueue,
// /sys and /sys/fs/cgroup. A rootless container cannot mount a new sysfs
// for the host's network namespace, nor proc or mqueue for the host's PID
// or IPC namespace: it gets bind mounts of the host's instead.
func systemMounts(s *SpecGenerator, env GenerateEnv) []specs.Mount {
	ns := s.Namespaces
	var m []specs.Mount
	if env.Rootless && ns.PID == "host" {
		m = append(m, bindMount("/proc", "/proc", "rbind", "nosuid", "noexec", "nodev"))
	} else {
		m = append(m, specs.Mount{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}})
	}
	pts := []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}
	if !gid5Mapped(env) {
		pts = pts[:len(pts)-1]
	}
	m = append(m,
		specs.Mount{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		specs.Mount{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: pts},
	)
	switch {
	case env.ShmDir != "":
		m = append(m, bindMount(env.ShmDir, "/dev/shm", "rbind", "nosuid", "noexec", "nodev"))
	case ns.IPC == "host":
		m = append(m, bindMount("/dev/shm", "/dev/shm", "rbind", "nosuid", "noexec", "nodev"))
	default:
		opts := []string{"nosuid", "noexec", "nodev", "mode=1777"}
		size := int64(DefaultShmSize)
		if s.ShmSize != nil {
			size = *s.ShmSize
		}
		if size > 0 {
			opts = append(opts, shmSizeOption(size))
		}
		m = append(m, specs.Mount{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: opts})
	}
	if env.Rootless && ns.IPC == "host" {
		m = append(m, bindMount("/dev/mqueue", "/dev/mqueue", "rbind", "nosuid", "noexec", "nodev"))
	} else {
		m = append(m, specs.Mount{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}})
	}
	rw := "ro"
	if s.Security.Privileged {
		rw = "rw"
	}
	if env.Rootless && ns.networkMode() == "host" {
		return append(m,
			bindMount("/sys", "/sys", "rprivate", "nosuid", "noexec", "nodev", rw, "rbind"),
			bindMount("/sys/fs/cgroup", "/sys/fs/cgroup", "rprivate", "nosuid", "noexec", "nodev", rw, "rbind"),
		)
	}
	return append(m,
		specs.Mount{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", rw}},
		specs.Mount{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"rprivate", "nosuid", "noexec", "nodev", "relatime", rw}},
	)
}

func shmSizeOption(size int64) string {
	if size%1024 == 0 {
		return fmt.Sprintf("size=%dk", size/1024)
	}
	return fmt.Sprintf("size=%d", size)
}

// withMounts sets the mounts: the user's, and the defaults they do not
// replace (a user mount on /dev replaces every default under /dev, as
// podman), parents before children. A user bind mount with shared or slave
// propagation makes the root's propagation follow, as podman.
func withMounts(defaults, user []specs.Mount) specOpt {
	return func(spec *specs.Spec) error {
		dests := map[string]bool{}
		for _, m := range user {
			dests[path.Clean(m.Destination)] = true
		}
		var mounts []specs.Mount
		for _, m := range defaults {
			d := path.Clean(m.Destination)
			if dests[d] || (dests["/dev"] && strings.HasPrefix(d, "/dev/")) {
				continue
			}
			mounts = append(mounts, m)
		}
		mounts = append(mounts, user...)
		slices.SortStableFunc(mounts, func(a, b specs.Mount) int {
			return mountDepth(a.Destination) - mountDepth(b.Destination)
		})
		spec.Mounts = append(mounts, spec.Mounts...)
		for _, m := range user {
			for _, o := range m.Options {
				switch {
				case o == "shared" || o == "rshared":
					spec.Linux.RootfsPropagation = "rshared"
				case (o == "slave" || o == "rslave") && spec.Linux.RootfsPropagation != "rshared":
					spec.Linux.RootfsPropagation = "rslave"
				}
			}
		}
		return nil
	}
}

func mountDepth(dest string) int {
	return strings.Count(path.Clean(dest), "/")
}
