package specgen

import (
	"fmt"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// User namespace modes of Namespaces.User, besides "" (the default) and
// "ns:PATH".
const (
	UserNSHost   = "host"
	UserNSKeepID = "keep-id"
	UserNSNoMap  = "nomap"
	UserNSAuto   = "auto"
)

// IDMappings are a container's user namespace maps: container IDs to the
// engine's (the IDs of the user namespace the engine runs in).
type IDMappings struct {
	UIDMap []specs.LinuxIDMapping `json:"uidMap,omitempty"`
	GIDMap []specs.LinuxIDMapping `json:"gidMap,omitempty"`
}

// UserNS is a parsed --userns value.
type UserNS struct {
	// Mode is "" (the engine's namespace), UserNSKeepID, UserNSNoMap,
	// UserNSAuto or "ns".
	Mode string
	// UID and GID are keep-id's uid= and gid=; nil means the user's.
	UID, GID *uint32
	// Size is auto's size=; 0 lets the store size it to the image.
	Size uint32
	// Path is the namespace file of ns:PATH.
	Path string
}

// ParseUserNS parses a --userns value: host (or ""), keep-id[:uid=N,gid=N],
// nomap, auto[:size=N] or ns:PATH. Errors wrap define.ErrInvalidArg.
func ParseUserNS(value string) (UserNS, error) {
	mode, opts, hasOpts := strings.Cut(value, ":")
	var u UserNS
	switch mode {
	case "", UserNSHost:
		if hasOpts {
			return u, invalid("--userns %q: host takes no options", value)
		}
		return u, nil
	case "ns":
		if !path.IsAbs(opts) {
			return u, invalid("--userns %q: use ns:PATH with an absolute path (e.g. ns:/proc/1234/ns/user)", value)
		}
		return UserNS{Mode: "ns", Path: opts}, nil
	case UserNSNoMap:
		if hasOpts {
			return u, invalid("--userns %q: nomap takes no options", value)
		}
		return UserNS{Mode: mode}, nil
	case UserNSKeepID, UserNSAuto:
		u.Mode = mode
	default:
		return u, invalid("--userns %q: use host, keep-id[:uid=N,gid=N], nomap, auto[:size=N] or ns:PATH", value)
	}
	if !hasOpts {
		return u, nil
	}
	for _, o := range strings.Split(opts, ",") {
		k, v, _ := strings.Cut(o, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n >= maxID {
			return u, invalid("--userns %q: %q needs a number from 0 to %d", value, o, maxID-1)
		}
		id := uint32(n)
		switch {
		case mode == UserNSKeepID && k == "uid" && u.UID == nil:
			u.UID = &id
		case mode == UserNSKeepID && k == "gid" && u.GID == nil:
			u.GID = &id
		case mode == UserNSAuto && k == "size" && u.Size == 0 && id > 0:
			u.Size = id
		case mode == UserNSKeepID:
			return u, invalid("--userns %q: keep-id takes uid=N and gid=N, once each", value)
		default:
			return u, invalid("--userns %q: auto takes size=N (N at least 1), once", value)
		}
	}
	return u, nil
}

// maxID is one more than the last ID a map may use.
const maxID = 1<<32 - 1

// ParseIDMap parses a --uidmap or --gidmap value,
// "CONTAINER-ID:HOST-ID:SIZE", where HOST-ID is an ID of the engine's user
// namespace (for an unprivileged user, 0 is the user and 1..N their
// subordinate IDs). Errors wrap define.ErrInvalidArg.
func ParseIDMap(flag, value string) (specs.LinuxIDMapping, error) {
	f := strings.Split(value, ":")
	var n [3]uint64
	ok := len(f) == 3
	for i := 0; ok && i < 3; i++ {
		var err error
		n[i], err = strconv.ParseUint(f[i], 10, 32)
		ok = err == nil
	}
	if !ok || n[2] == 0 || n[0]+n[2] > maxID || n[1]+n[2] > maxID {
		return specs.LinuxIDMapping{}, invalid("%s %q: use CONTAINER-ID:HOST-ID:SIZE, numbers with SIZE at least 1 (e.g. 0:1:65536)", flag, value)
	}
	return specs.LinuxIDMapping{ContainerID: uint32(n[0]), HostID: uint32(n[1]), Size: uint32(n[2])}, nil
}

func (s *SpecGenerator) validateUserNS() error {
	u, err := ParseUserNS(s.Namespaces.User)
	if err != nil {
		return err
	}
	m := s.IDMappings
	if len(m.UIDMap) > 0 != (len(m.GIDMap) > 0) {
		return invalid("--uidmap and --gidmap: give both, or one to use it for both")
	}
	if len(m.UIDMap) > 0 && u.Mode != "" {
		return invalid("--userns %s and --uidmap/--gidmap conflict: drop one of them", s.Namespaces.User)
	}
	for _, c := range []struct {
		flag string
		m    []specs.LinuxIDMapping
	}{{"--uidmap", m.UIDMap}, {"--gidmap", m.GIDMap}} {
		if err := checkIDMap(c.flag, c.m); err != nil {
			return err
		}
	}
	return nil
}

// checkIDMap checks that the ranges of a map overlap neither on the
// container's side nor on the engine's.
func checkIDMap(flag string, m []specs.LinuxIDMapping) error {
	for i, a := range m {
		if a.Size == 0 || uint64(a.ContainerID)+uint64(a.Size) > maxID || uint64(a.HostID)+uint64(a.Size) > maxID {
			return invalid("%s %s: use a SIZE of at least 1 and IDs below %d", flag, formatIDMap(a), maxID)
		}
		for _, b := range m[:i] {
			if overlaps(a.ContainerID, a.Size, b.ContainerID, b.Size) {
				return invalid("%s %s and %s: the container IDs overlap: give each container ID one mapping", flag, formatIDMap(b), formatIDMap(a))
			}
			if overlaps(a.HostID, a.Size, b.HostID, b.Size) {
				return invalid("%s %s and %s: the host IDs overlap: map each host ID once", flag, formatIDMap(b), formatIDMap(a))
			}
		}
	}
	return nil
}

func overlaps(a, asize, b, bsize uint32) bool {
	return uint64(a) < uint64(b)+uint64(bsize) && uint64(b) < uint64(a)+uint64(asize)
}

func formatIDMap(m specs.LinuxIDMapping) string {
	return fmt.Sprintf("%d:%d:%d", m.ContainerID, m.HostID, m.Size)
}

// EngineUserNS describes the user namespace the engine runs in, for
// ContainerIDMaps.
type EngineUserNS struct {
	// Rootless is set when the engine runs in an unprivileged user's
	// namespace.
	Rootless bool
	// UID and GID are the user's IDs outside it, keep-id's default.
	UID, GID uint32
	// UIDMap and GIDMap are its maps, as /proc/self/uid_map and gid_map
	// read in it: ContainerID is the engine's ID. Nil means every ID (root
	// in the initial namespace).
	UIDMap, GIDMap []specs.LinuxIDMapping
}

// ContainerIDMaps are what a container's user namespace needs of the
// store: fixed maps, or, with Auto, a free range of AutoSize IDs (0: what
// the image needs) that the store picks. All empty: the container shares
// the engine's user namespace.
type ContainerIDMaps struct {
	IDMappings
	Auto     bool
	AutoSize uint32
}

// ContainerIDMaps resolves --userns, --uidmap and --gidmap into the maps
// of the container's user namespace, given the engine's. keep-id maps the
// user's own UID and GID (or keep-id's uid= and gid=) to the user, and the
// IDs below and above to the user's subordinate IDs, as podman; nomap maps
// the subordinate IDs only; ns:/proc/PID/ns/user takes PID's maps.
// keep-id and nomap need a rootless engine. Errors wrap
// define.ErrInvalidArg: a mode the engine cannot honour here, --uidmap or
// --gidmap host IDs its namespace does not have.
func (s *SpecGenerator) ContainerIDMaps(host EngineUserNS) (ContainerIDMaps, error) {
	u, err := ParseUserNS(s.Namespaces.User)
	if err != nil {
		return ContainerIDMaps{}, err
	}
	var out ContainerIDMaps
	switch u.Mode {
	case "":
		for _, c := range []struct {
			flag      string
			m, engine []specs.LinuxIDMapping
		}{{"--uidmap", s.IDMappings.UIDMap, host.UIDMap}, {"--gidmap", s.IDMappings.GIDMap, host.GIDMap}} {
			if err := checkHostIDs(c.flag, c.m, c.engine, host.Rootless); err != nil {
				return out, err
			}
		}
		out.IDMappings = s.IDMappings
	case UserNSKeepID, UserNSNoMap:
		if !host.Rootless {
			return out, invalid("--userns %s: only an unprivileged user's engine can keep or drop the user's ID: as root, give --uidmap and --gidmap", u.Mode)
		}
		uid, gid := host.UID, host.GID
		if u.UID != nil {
			uid = *u.UID
		}
		if u.GID != nil {
			gid = *u.GID
		}
		keep := u.Mode == UserNSKeepID
		out.UIDMap = keepIDMap(uid, mappedIDs(host.UIDMap), keep)
		out.GIDMap = keepIDMap(gid, mappedIDs(host.GIDMap), keep)
		if len(out.UIDMap) == 0 || len(out.GIDMap) == 0 {
			return out, invalid("--userns nomap: you have no subordinate IDs to map: ask for a range in /etc/subuid and /etc/subgid (usermod --add-subuids 100000-165535 --add-subgids 100000-165535 USER), then run engine system migrate")
		}
	case UserNSAuto:
		out.Auto, out.AutoSize = true, u.Size
	case "ns":
		if out.IDMappings, err = namespaceMaps(u.Path); err != nil {
			return out, err
		}
	}
	return out, nil
}

// mappedIDs is how many IDs an engine namespace map holds from 0; nil
// means all.
func mappedIDs(m []specs.LinuxIDMapping) uint64 {
	if m == nil {
		return maxID
	}
	var n uint64
	for _, r := range m {
		n += uint64(r.Size)
	}
	return n
}

// keepIDMap is podman's keep-id map for an engine namespace of n IDs,
// whose 0 is the user: id maps to 0, the IDs below it to 1..id, those
// above to themselves. Without keep (nomap) the user is left out and the
// container's 0.. map to 1..n-1.
func keepIDMap(id uint32, n uint64, keep bool) []specs.LinuxIDMapping {
	subIDs := uint32(min(n-1, maxID-1))
	if !keep {
		if subIDs == 0 {
			return nil
		}
		return []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1, Size: subIDs}}
	}
	var m []specs.LinuxIDMapping
	if below := min(id, subIDs); below > 0 {
		m = append(m, specs.LinuxIDMapping{ContainerID: 0, HostID: 1, Size: below})
	}
	m = append(m, specs.LinuxIDMapping{ContainerID: id, HostID: 0, Size: 1})
	if subIDs > id {
		m = append(m, specs.LinuxIDMapping{ContainerID: id + 1, HostID: id + 1, Size: subIDs - id})
	}
	return m
}

// checkHostIDs checks that the host side of a --uidmap or --gidmap names
// IDs the engine's namespace has.
func checkHostIDs(flag string, m, engine []specs.LinuxIDMapping, rootless bool) error {
	n := mappedIDs(engine)
	for _, r := range m {
		if uint64(r.HostID)+uint64(r.Size) > n {
			hint := ""
			if rootless {
				hint = " (0 is you, 1 and up your subordinate IDs: host IDs here are IDs of your user namespace, not of the system)"
			}
			return invalid("%s %s: the engine's user namespace has IDs 0-%d only%s: use host IDs in that range", flag, formatIDMap(r), n-1, hint)
		}
	}
	return nil
}

var procNSUser = regexp.MustCompile(`^/proc/(\d+)(/task/\d+)?/ns/user$`)

// namespaceMaps reads the maps of the user namespace ns:PATH names, which
// must be /proc/PID/ns/user: the runtime needs them to know who owns the
// root filesystem, and only /proc tells them.
func namespaceMaps(nsPath string) (IDMappings, error) {
	m := procNSUser.FindStringSubmatch(nsPath)
	if m == nil {
		return IDMappings{}, invalid("--userns ns:%s: give the user namespace as /proc/PID/ns/user of a process in it, whose ID maps the engine reads", nsPath)
	}
	var own, target unix.Stat_t
	if unix.Stat("/proc/self/ns/user", &own) == nil && unix.Stat(nsPath, &target) == nil && own.Dev == target.Dev && own.Ino == target.Ino {
		return IDMappings{}, invalid("--userns ns:%s: that is the engine's own user namespace: use --userns host", nsPath)
	}
	dir := path.Dir(path.Dir(nsPath))
	var out IDMappings
	for _, f := range []struct {
		name string
		dst  *[]specs.LinuxIDMapping
	}{{"uid_map", &out.UIDMap}, {"gid_map", &out.GIDMap}} {
		data, err := os.ReadFile(path.Join(dir, f.name))
		if err != nil {
			return IDMappings{}, invalid("--userns ns:%s: read %s: %v", nsPath, f.name, err)
		}
		if *f.dst, err = ParseProcIDMap(string(data)); err != nil || len(*f.dst) == 0 {
			return IDMappings{}, invalid("--userns ns:%s: %s maps no IDs", nsPath, f.name)
		}
	}
	return out, nil
}

// ParseProcIDMap parses /proc/PID/uid_map or gid_map: "INSIDE OUTSIDE
// COUNT" lines, OUTSIDE being an ID of the reader's namespace.
func ParseProcIDMap(data string) ([]specs.LinuxIDMapping, error) {
	var out []specs.LinuxIDMapping
	for _, line := range strings.Split(strings.TrimSpace(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		var n [3]uint64
		for i := range n {
			var err error
			if i >= len(f) {
				return nil, fmt.Errorf("short line %q", line)
			}
			if n[i], err = strconv.ParseUint(f[i], 10, 32); err != nil {
				return nil, fmt.Errorf("line %q: %w", line, err)
			}
		}
		out = append(out, specs.LinuxIDMapping{ContainerID: uint32(n[0]), HostID: uint32(n[1]), Size: uint32(n[2])})
	}
	return out, nil
}

// keepIDUser is the "uid:gid" a keep-id container runs as by default: the
// container IDs mapped to the engine's 0, the user.
func keepIDUser(env GenerateEnv) string {
	uid := slices.IndexFunc(env.UIDMap, func(m specs.LinuxIDMapping) bool { return m.HostID == 0 })
	gid := slices.IndexFunc(env.GIDMap, func(m specs.LinuxIDMapping) bool { return m.HostID == 0 })
	if uid < 0 || gid < 0 {
		return ""
	}
	return fmt.Sprintf("%d:%d", env.UIDMap[uid].ContainerID, env.GIDMap[gid].ContainerID)
}

// withUserNamespace gives the container a user namespace of its own, or
// the one of ns:PATH, with the maps of env, unless it shares the engine's.
func withUserNamespace(n Namespaces, env GenerateEnv) specOpt {
	return func(spec *specs.Spec) error {
		u, err := ParseUserNS(n.User)
		if err != nil {
			return err
		}
		if u.Mode == "" && len(env.UIDMap) == 0 {
			return nil
		}
		if len(env.UIDMap) == 0 || len(env.GIDMap) == 0 {
			return invalid("--userns %s: the container has no ID maps: recreate it", n.User)
		}
		spec.Linux.Namespaces = append(spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace, Path: u.Path})
		spec.Linux.UIDMappings = slices.Clone(env.UIDMap)
		spec.Linux.GIDMappings = slices.Clone(env.GIDMap)
		return nil
	}
}

// gid5Mapped reports whether the container has GID 5 (tty), which
// /dev/pts is mounted with: not so in a user namespace mapping only the
// user's own ID.
func gid5Mapped(env GenerateEnv) bool {
	m := env.GIDMap
	if len(m) == 0 {
		if m = env.EngineGIDMap; m == nil {
			return true
		}
	}
	return slices.ContainsFunc(m, func(r specs.LinuxIDMapping) bool { return overlaps(r.ContainerID, r.Size, 5, 1) })
}
