package specgen

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"

	"github.com/engine-oss/engine/pkg/libengine/define"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// deviceFromPath describes the device node at path (symlinks followed).
// A path that is not a device returns errNotDevice.
func deviceFromPath(path string) (specs.LinuxDevice, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return specs.LinuxDevice{}, err
	}
	var typ string
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR:
		typ = "c"
	case unix.S_IFBLK:
		typ = "b"
	default:
		return specs.LinuxDevice{}, errNotDevice
	}
	mode := fs.FileMode(st.Mode & 0o777)
	uid, gid := st.Uid, st.Gid
	return specs.LinuxDevice{
		Path:     path,
		Type:     typ,
		Major:    int64(unix.Major(st.Rdev)),
		Minor:    int64(unix.Minor(st.Rdev)),
		FileMode: &mode,
		UID:      &uid,
		GID:      &gid,
	}, nil
}

var errNotDevice = errors.New("not a device node")

// hostDeviceSkips are the entries of /dev that HostDevices does not
// descend into or return, as podman: the container gets its own of these.
var hostDeviceSkips = []string{"pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev", "console"}

// HostDevices lists the device nodes under dir (normally "/dev"), for
// GenerateEnv.HostDevices, which --privileged containers get. Like podman it
// skips pts, shm, mqueue and console, which the container has its own of,
// and entries that vanish or cannot be read while walking.
func HostDevices(dir string) ([]specs.LinuxDevice, error) {
	var devs []specs.LinuxDevice
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return err
			}
			return nil
		}
		if p != dir && slices.Contains(hostDeviceSkips, d.Name()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type()&(fs.ModeDevice|fs.ModeCharDevice) == 0 {
			return nil
		}
		dev, err := deviceFromPath(p)
		if err == nil {
			devs = append(devs, dev)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing host devices in %s: %w", dir, err)
	}
	return devs, nil
}

// userDevice resolves a --device value to the device node to create.
func userDevice(value string) (specs.LinuxDevice, Device, error) {
	d, err := ParseDevice(value)
	if err != nil {
		return specs.LinuxDevice{}, Device{}, err
	}
	dev, err := deviceFromPath(d.Source)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return specs.LinuxDevice{}, Device{}, invalid("--device %q: %s does not exist on the host: fix the path or load the driver", value, d.Source)
	case errors.Is(err, errNotDevice):
		return specs.LinuxDevice{}, Device{}, invalid("--device %q: %s is not a device node: use a character or block device, or -v to bind a file", value, d.Source)
	case err != nil:
		return specs.LinuxDevice{}, Device{}, fmt.Errorf("--device %q: %w: %w", value, define.ErrInvalidArg, err)
	}
	dev.Path = d.Destination
	return dev, d, nil
}

// deviceCgroupRule allows dev with access in the devices cgroup.
func deviceCgroupRule(dev specs.LinuxDevice, access string) specs.LinuxDeviceCgroup {
	major, minor := dev.Major, dev.Minor
	return specs.LinuxDeviceCgroup{Allow: true, Type: dev.Type, Major: &major, Minor: &minor, Access: access}
}

// defaultDeviceRules is the devices cgroup allow list of runc and podman:
// everything denied, then null, zero, full, random, urandom, tty, ptmx and
// the pty slaves allowed.
func defaultDeviceRules() []specs.LinuxDeviceCgroup {
	rules := []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}
	for _, d := range []struct{ major, minor int64 }{
		{1, 3}, {1, 5}, {1, 7}, {1, 8}, {1, 9}, // null, zero, full, random, urandom
		{5, 0}, {5, 2}, // tty, ptmx
		{136, -1}, // /dev/pts/*
	} {
		r := deviceCgroupRule(specs.LinuxDevice{Type: "c", Major: d.major, Minor: d.minor}, "rwm")
		if d.minor < 0 {
			r.Minor = nil
		}
		rules = append(rules, r)
	}
	return rules
}

// deviceBindMount is how a rootless container gets a host device: it cannot
// create device nodes, so the node is bind-mounted, read-only unless w is
// in access.
func deviceBindMount(source, destination, access string) specs.Mount {
	perm := "ro"
	if slices.Contains([]rune(access), 'w') {
		perm = "rw"
	}
	return specs.Mount{
		Destination: destination,
		Type:        "bind",
		Source:      source,
		Options:     []string{"rbind", "rslave", "nosuid", "noexec", perm},
	}
}
