package libengine

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/engine-oss/engine/pkg/libengine/config"
	"github.com/engine-oss/engine/pkg/rootless"
	"github.com/engine-oss/engine/pkg/specgen"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"go.podman.io/storage/pkg/idtools"
	storagetypes "go.podman.io/storage/types"
)

// engineUserNS describes the user namespace this engine runs in: for an
// unprivileged user the one package rootless made, for root the initial one.
func engineUserNS() (specgen.EngineUserNS, error) {
	h := specgen.EngineUserNS{Rootless: config.Rootless(), UID: uint32(rootless.UID()), GID: uint32(rootless.GID())}
	var err error
	if h.UIDMap, err = readIDMap("/proc/self/uid_map"); err != nil {
		return h, err
	}
	h.GIDMap, err = readIDMap("/proc/self/gid_map")
	return h, err
}

func readIDMap(path string) ([]specs.LinuxIDMapping, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the engine's user namespace map: %w", err)
	}
	m, err := specgen.ParseProcIDMap(string(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// userNSEnv sets the user namespace facts of env: the container's maps,
// as its root filesystem was made with, and the engine's GID map. A
// container with a user namespace of its own gets its root filesystem and
// run directory made reachable (see makeAccessible).
func (e *Engine) userNSEnv(id string, env *specgen.GenerateEnv) error {
	sc, err := e.store.Container(id)
	if err != nil {
		return fmt.Errorf("container %s in the store: %w", id, err)
	}
	env.UIDMap, env.GIDMap = fromStoreIDMap(sc.UIDMap), fromStoreIDMap(sc.GIDMap)
	if env.Rootless {
		if env.EngineGIDMap, err = readIDMap("/proc/self/gid_map"); err != nil {
			return err
		}
	}
	if len(env.UIDMap) == 0 {
		return nil
	}
	for _, p := range []string{env.RootFS, env.RunDir} {
		if err := makeAccessible(p); err != nil {
			return err
		}
	}
	return nil
}

// makeAccessible lets anyone search (not list) path and its parents that
// the engine's user owns, as podman does: the runtime mounts a container's
// root filesystem and run directory files from inside the container's user
// namespace, whose root is not the engine's user and must find the paths.
func makeAccessible(path string) error {
	uid, gid := os.Getuid(), os.Getgid()
	for p := filepath.Clean(path); p != "/" && p != "."; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("make %s reachable from the container's user namespace: %w", path, err)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok || int(st.Uid) != uid || int(st.Gid) != gid || fi.Mode().Perm()&0o111 == 0o111 {
			continue
		}
		if err := os.Chmod(p, fi.Mode().Perm()|0o111); err != nil {
			return fmt.Errorf("make %s reachable from the container's user namespace: %w", path, err)
		}
	}
	return nil
}

// ctrIDMappingOptions resolves the container's user namespace into the
// store's options: the store makes its root filesystem owned as the
// container's namespace sees it (or picks the range, for auto).
func ctrIDMappingOptions(s *specgen.SpecGenerator) (storagetypes.IDMappingOptions, error) {
	host, err := engineUserNS()
	if err != nil {
		return storagetypes.IDMappingOptions{}, err
	}
	m, err := s.ContainerIDMaps(host)
	if err != nil {
		return storagetypes.IDMappingOptions{}, err
	}
	return storagetypes.IDMappingOptions{
		UIDMap: toStoreIDMap(m.UIDMap), GIDMap: toStoreIDMap(m.GIDMap),
		AutoUserNs: m.Auto, AutoUserNsOpts: storagetypes.AutoUserNsOptions{Size: m.AutoSize},
	}, nil
}

func toStoreIDMap(m []specs.LinuxIDMapping) []idtools.IDMap {
	var out []idtools.IDMap
	for _, r := range m {
		out = append(out, idtools.IDMap{ContainerID: int(r.ContainerID), HostID: int(r.HostID), Size: int(r.Size)})
	}
	return out
}

func fromStoreIDMap(m []idtools.IDMap) []specs.LinuxIDMapping {
	var out []specs.LinuxIDMapping
	for _, r := range m {
		out = append(out, specs.LinuxIDMapping{ContainerID: uint32(r.ContainerID), HostID: uint32(r.HostID), Size: uint32(r.Size)})
	}
	return out
}

// chownBindSources gives the source of each bind mount with the U option,
// and everything below it, to the user the container runs as (its IDs
// translated through the container's maps), as podman's :U.
func chownBindSources(s *specgen.SpecGenerator, spec *specs.Spec) error {
	uid := hostID(spec.Process.User.UID, spec.Linux.UIDMappings)
	gid := hostID(spec.Process.User.GID, spec.Linux.GIDMappings)
	for _, m := range s.Mounts {
		if m.Type != specgen.MountTypeBind || !specgen.Chown(m.Options) {
			continue
		}
		if uid < 0 || gid < 0 {
			return fmt.Errorf("-v %s:%s:U: the container's user %d:%d has no ID outside the container to own the files", m.Source, m.Destination, spec.Process.User.UID, spec.Process.User.GID)
		}
		err := filepath.WalkDir(m.Source, func(p string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, uid, gid)
		})
		if err != nil {
			return fmt.Errorf("-v %s:%s:U: give the files to the container's user: %w", m.Source, m.Destination, err)
		}
	}
	return nil
}

// hostID translates a container ID through a map to the engine's; no map
// means the same ID, an ID outside the map -1.
func hostID(id uint32, m []specs.LinuxIDMapping) int {
	if len(m) == 0 {
		return int(id)
	}
	for _, r := range m {
		if id >= r.ContainerID && uint64(id) < uint64(r.ContainerID)+uint64(r.Size) {
			return int(r.HostID + (id - r.ContainerID))
		}
	}
	return -1
}
