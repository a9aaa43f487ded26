package libengine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/libengine/lock"
	"github.com/engine-oss/engine/pkg/libengine/state"
	"github.com/engine-oss/engine/pkg/specgen"
	"github.com/sirupsen/logrus"
	"go.podman.io/storage/pkg/stringid"
)

// Volumes live as rows of the state database; each has a directory
// <store root>/volumes/<name> whose _data subdirectory containers mount, as
// podman lays them out. A volume with a device (-o device=, -o type=) has
// that filesystem mounted on _data while something uses it.

// LocalDriver is the only volume driver: a directory, or a filesystem the
// engine mounts, on the host.
const LocalDriver = "local"

// VolumeCreateOptions configure VolumeCreate.
type VolumeCreateOptions struct {
	// Name is the volume's name; empty generates 64 hex digits, as podman.
	Name string
	// Driver must be empty or "local".
	Driver string
	// Options are the local driver's: type and device (mounted with
	// mount(8)), o (mount options, where uid=, gid= and size= are the
	// engine's, see uid, gid and size), uid and gid (the owner of the
	// volume's root), size (of a tmpfs), copy and nocopy (whether the first
	// container fills the volume from its image).
	Options map[string]string
	Labels  map[string]string
	// IgnoreIfExists returns the name of an existing volume instead of
	// failing; its options stay as they are.
	IgnoreIfExists bool
}

// VolumeInspectReport describes a volume as podman's volume inspect does.
type VolumeInspectReport struct {
	Name       string            `json:"Name"`
	Driver     string            `json:"Driver"`
	Mountpoint string            `json:"Mountpoint"`
	CreatedAt  time.Time         `json:"CreatedAt"`
	Labels     map[string]string `json:"Labels"`
	// Scope is always "local", for docker compatibility.
	Scope   string            `json:"Scope"`
	Options map[string]string `json:"Options"`
	// UID and GID are the owner set at creation, if any.
	UID       int  `json:"UID,omitempty"`
	GID       int  `json:"GID,omitempty"`
	Anonymous bool `json:"Anonymous,omitempty"`
	// MountCount counts the users of a volume whose filesystem the engine
	// mounts; it stays 0 for a plain directory.
	MountCount  uint `json:"MountCount"`
	NeedsCopyUp bool `json:"NeedsCopyUp,omitempty"`
	NeedsChown  bool `json:"NeedsChown,omitempty"`
}

func volumeReport(v *state.Volume) VolumeInspectReport {
	r := VolumeInspectReport{
		Name: v.Name, Driver: v.Driver, Mountpoint: v.Mountpoint, CreatedAt: v.Created,
		Labels: nonNilMap(v.Labels), Scope: "local", Options: nonNilMap(v.Options), Anonymous: v.Anonymous,
		MountCount: uint(max(v.State.MountCount, 0)), NeedsCopyUp: v.State.NeedsCopyUp, NeedsChown: v.State.NeedsChown,
	}
	r.UID, r.GID = max(v.UID, 0), max(v.GID, 0)
	return r
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// volumeDir is a volume's directory; its _data subdirectory is mounted.
func (e *Engine) volumeDir(name string) string {
	return filepath.Join(e.store.GraphRoot(), "volumes", name)
}

// lockVolume takes a volume's inter-process lock. Callers holding a
// container's lock may take it; never the other way round.
func (e *Engine) lockVolume(name string) (*lock.File, error) {
	return lock.Acquire(filepath.Join(e.store.RunRoot(), "locks", "vol-"+name))
}

// VolumeCreate creates a volume and returns its name. Errors wrap
// define.ErrInvalidArg for a bad name or option, define.ErrVolumeExists
// for a taken name (unless IgnoreIfExists), and define.ErrNotImplemented
// for another driver or a size on a plain volume.
func (e *Engine) VolumeCreate(ctx context.Context, opts VolumeCreateOptions) (string, error) {
	v, _, err := e.createVolume(ctx, opts, false)
	if err != nil {
		return "", err
	}
	return v.Name, nil
}

// createVolume creates a volume, or with IgnoreIfExists finds it, and says
// whether it made it.
func (e *Engine) createVolume(ctx context.Context, opts VolumeCreateOptions, anonymous bool) (*state.Volume, bool, error) {
	if opts.Driver != "" && opts.Driver != LocalDriver {
		return nil, false, fmt.Errorf("volume driver %q: only the local driver is supported: %w", opts.Driver, define.ErrNotImplemented)
	}
	name := opts.Name
	if name == "" {
		name = stringid.GenerateRandomID()
	} else if !specgen.ValidVolumeName(name) {
		return nil, false, fmt.Errorf("invalid volume name %q: %s: %w", name, specgen.VolumeNameHint, define.ErrInvalidArg)
	}
	lo, err := parseLocalOptions(opts.Options)
	if err != nil {
		return nil, false, err
	}
	l, err := e.lockVolume(name)
	if err != nil {
		return nil, false, err
	}
	defer l.Release()
	if existing, err := e.db.Volume(ctx, name); err == nil && existing.Name == name {
		if opts.IgnoreIfExists {
			return existing, false, nil
		}
		return nil, false, fmt.Errorf("volume with name %s already exists: %w", name, define.ErrVolumeExists)
	} else if err != nil && !errors.Is(err, define.ErrNoSuchVolume) && !errors.Is(err, define.ErrInvalidArg) {
		return nil, false, err
	}
	dir := e.volumeDir(name)
	v := &state.Volume{
		Name: name, Driver: LocalDriver, Mountpoint: filepath.Join(dir, "_data"), Created: time.Now(),
		Labels: maps.Clone(opts.Labels), Options: maps.Clone(opts.Options), Anonymous: anonymous, UID: lo.uid, GID: lo.gid,
		State: state.VolumeState{
			NeedsCopyUp: !lo.noCopy && lo.ownsContent(),
			NeedsChown:  lo.uid < 0 && lo.gid < 0 && lo.ownsContent(),
		},
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return nil, false, fmt.Errorf("create volumes directory: %w", err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, false, fmt.Errorf("volume %s: directory %s exists, left by a failed removal: unmount and delete it first", name, dir)
		}
		return nil, false, fmt.Errorf("volume %s: %w", name, err)
	}
	if err := e.initVolumeDir(ctx, v, lo); err != nil {
		if rerr := os.RemoveAll(dir); rerr != nil {
			logrus.Warnf("remove %s after failed volume create: %v", dir, rerr)
		}
		return nil, false, err
	}
	e.event(ctx, "volume", "create", name, name, nil)
	return v, true, nil
}

// initVolumeDir makes the _data directory and records the volume.
func (e *Engine) initVolumeDir(ctx context.Context, v *state.Volume, lo localOptions) error {
	if err := os.Mkdir(v.Mountpoint, 0o755); err != nil {
		return fmt.Errorf("volume %s: %w", v.Name, err)
	}
	if !lo.mounted() && (lo.uid >= 0 || lo.gid >= 0) {
		if err := os.Chown(v.Mountpoint, lo.uid, lo.gid); err != nil {
			return fmt.Errorf("volume %s: give it to uid %d gid %d: %w", v.Name, lo.uid, lo.gid, err)
		}
	}
	return e.db.AddVolume(ctx, v)
}

// localOptions is what the local driver makes of a volume's options.
type localOptions struct {
	// fsType and device are mount(8)'s -t and device; a tmpfs without a
	// device gets "tmpfs". An empty device is a plain directory.
	fsType, device string
	// mountOpts are mount(8)'s -o options.
	mountOpts []string
	// uid and gid own the volume's root; -1 is unset.
	uid, gid int
	noCopy   bool
}

// mounted reports whether the volume is a filesystem the engine mounts.
func (o localOptions) mounted() bool { return o.device != "" }

// ownsContent reports whether the engine fills and chowns the volume on
// first use: for a plain directory and a tmpfs, not for a device or a host
// directory whose content belongs to someone else.
func (o localOptions) ownsContent() bool { return !o.mounted() || o.fsType == "tmpfs" }

// mountArgs are mount(8)'s arguments for mounting the volume on target.
func (o localOptions) mountArgs(target string) []string {
	var args []string
	opts := o.mountOpts
	switch o.fsType {
	case "":
	case "bind":
		opts = append([]string{"bind"}, opts...)
	default:
		args = append(args, "-t", o.fsType)
	}
	if len(opts) > 0 {
		args = append(args, "-o", strings.Join(opts, ","))
	}
	return append(args, o.device, target)
}

var sizeRE = regexp.MustCompile(`^\d+[kKmMgG%]?$`)

// parseLocalOptions checks the local driver's options. Errors wrap
// define.ErrInvalidArg, or define.ErrNotImplemented for size= on a volume
// that is not a tmpfs (podman needs XFS project quotas for that).
func parseLocalOptions(opts map[string]string) (localOptions, error) {
	lo := localOptions{uid: -1, gid: -1}
	bad := func(format string, args ...any) (localOptions, error) {
		return localOptions{}, fmt.Errorf("volume option "+format+": %w", append(args, define.ErrInvalidArg)...)
	}
	id := func(key, val string, into *int) error {
		n, err := strconv.Atoi(val)
		if err != nil || n < 0 {
			return fmt.Errorf("volume option %s=%s: use a number (a UID or GID): %w", key, val, define.ErrInvalidArg)
		}
		*into = n
		return nil
	}
	var size string
	for _, key := range slices.Sorted(maps.Keys(opts)) {
		val := opts[key]
		var err error
		switch strings.ToLower(key) {
		case "type":
			lo.fsType = val
		case "device":
			lo.device = val
		case "o":
			for _, o := range strings.Split(val, ",") {
				k, v, _ := strings.Cut(o, "=")
				switch k {
				case "":
				case "uid":
					err = id(k, v, &lo.uid)
				case "gid":
					err = id(k, v, &lo.gid)
				case "size":
					size = v
				default:
					lo.mountOpts = append(lo.mountOpts, o)
				}
				if err != nil {
					return localOptions{}, err
				}
			}
		case "uid":
			err = id(key, val, &lo.uid)
		case "gid":
			err = id(key, val, &lo.gid)
		case "size":
			size = val
		case "copy":
			lo.noCopy = val == "false"
		case "nocopy":
			lo.noCopy = val != "false"
		default:
			return bad("%q: the local driver knows type, device, o, uid, gid, size, copy and nocopy", key)
		}
		if err != nil {
			return localOptions{}, err
		}
	}
	if lo.fsType == "tmpfs" && lo.device == "" {
		lo.device = "tmpfs"
	}
	switch {
	case size != "" && lo.fsType != "tmpfs":
		return localOptions{}, fmt.Errorf("volume option size=%s: sizes need -o type=tmpfs; quotas on plain volumes are not supported: %w", size, define.ErrNotImplemented)
	case size != "" && !sizeRE.MatchString(size):
		return bad("size=%s: use a number with an optional unit k, m or g (e.g. 64m)", size)
	case size != "":
		lo.mountOpts = append(lo.mountOpts, "size="+size)
	}
	switch {
	case !lo.mounted() && (lo.fsType != "" || len(lo.mountOpts) > 0):
		return bad("type=%s o=%s: name what to mount with -o device=DEVICE", lo.fsType, strings.Join(lo.mountOpts, ","))
	case strings.HasPrefix(lo.device, "-"):
		return bad("device=%s: a device cannot start with '-'", lo.device)
	case lo.mounted() && lo.fsType != "tmpfs" && (lo.uid >= 0 || lo.gid >= 0):
		return bad("uid= and gid= apply to plain and tmpfs volumes only: set the owner on the device itself")
	}
	if lo.fsType == "tmpfs" {
		for _, o := range []struct {
			key string
			n   int
		}{{"uid", lo.uid}, {"gid", lo.gid}} {
			if o.n >= 0 {
				lo.mountOpts = append(lo.mountOpts, fmt.Sprintf("%s=%d", o.key, o.n))
			}
		}
	}
	if lo.fsType == "bind" || slices.Contains(lo.mountOpts, "bind") || slices.Contains(lo.mountOpts, "rbind") {
		if _, err := os.Stat(lo.device); err != nil {
			return bad("device=%s: the directory to bind does not exist: create it or fix the path", lo.device)
		}
	}
	return lo, nil
}

// VolumeInspect describes the volume named, or uniquely prefixed, by
// nameOrPrefix. Errors wrap define.ErrNoSuchVolume.
func (e *Engine) VolumeInspect(ctx context.Context, nameOrPrefix string) (*VolumeInspectReport, error) {
	v, err := e.db.Volume(ctx, nameOrPrefix)
	if err != nil {
		return nil, err
	}
	r := volumeReport(v)
	return &r, nil
}

// VolumeExists reports whether a volume of exactly that name exists.
func (e *Engine) VolumeExists(ctx context.Context, name string) (bool, error) {
	v, err := e.db.Volume(ctx, name)
	switch {
	case err == nil:
		return v.Name == name, nil
	case errors.Is(err, define.ErrNoSuchVolume), errors.Is(err, define.ErrInvalidArg):
		return false, nil
	}
	return false, err
}

// VolumeListOptions configure VolumeList.
type VolumeListOptions struct {
	// Filters are "key=value": name (a regular expression), label
	// (KEY or KEY=VALUE; label!= excludes), driver, dangling (true or false:
	// whether no container uses the volume) and until (a time or duration).
	// Values of one key are alternatives; different keys must all match,
	// and so must every label filter.
	Filters []string
}

// VolumeList lists volumes, oldest first. A bad filter gives
// define.ErrInvalidArg.
func (e *Engine) VolumeList(ctx context.Context, opts VolumeListOptions) ([]VolumeInspectReport, error) {
	match, err := e.parseVolumeFilters(ctx, opts.Filters, volumeListFilters)
	if err != nil {
		return nil, err
	}
	vols, err := e.db.Volumes(ctx)
	if err != nil {
		return nil, err
	}
	out := []VolumeInspectReport{}
	for _, v := range vols {
		ok, err := match(v)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, volumeReport(v))
		}
	}
	return out, nil
}

var (
	volumeListFilters  = filterSet{"name": true, "label": true, "driver": true, "dangling": true, "until": true}
	volumePruneFilters = filterSet{"label": true, "until": true}
)

// volumeMatch decides whether a volume is kept by the filters.
type volumeMatch func(*state.Volume) (bool, error)

// parseVolumeFilters turns "key=value" and "label!=value" filters into one
// predicate, grouped as VolumeListOptions describes.
func (e *Engine) parseVolumeFilters(ctx context.Context, filters []string, allowed filterSet) (volumeMatch, error) {
	type pred func(*state.Volume) (bool, error)
	groups := map[string][]pred{}
	var order []string
	for _, f := range filters {
		key, value, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("--filter %q: use KEY=VALUE: %w", f, define.ErrInvalidArg)
		}
		key, negate := strings.CutSuffix(key, "!")
		if !allowed[key] || (negate && key != "label") {
			return nil, fmt.Errorf("--filter %q: unknown filter (use %s): %w", f, strings.Join(sortedKeys(allowed), ", "), define.ErrInvalidArg)
		}
		var p pred
		switch key {
		case "name":
			re, err := regexp.Compile(value)
			if err != nil {
				return nil, fmt.Errorf("--filter %q: not a regular expression: %w", f, define.ErrInvalidArg)
			}
			p = func(v *state.Volume) (bool, error) { return re.MatchString(v.Name), nil }
		case "label":
			k, val, hasValue := strings.Cut(value, "=")
			p = func(v *state.Volume) (bool, error) {
				got, ok := v.Labels[k]
				return (ok && (!hasValue || got == val)) != negate, nil
			}
		case "driver":
			p = func(v *state.Volume) (bool, error) { return v.Driver == value, nil }
		case "dangling":
			want, err := strconv.ParseBool(value)
			if err != nil {
				return nil, fmt.Errorf("--filter %q: dangling must be true or false: %w", f, define.ErrInvalidArg)
			}
			p = func(v *state.Volume) (bool, error) {
				users, err := e.db.VolumeUsers(ctx, v.Name)
				return (len(users) == 0) == want, err
			}
		case "until":
			t, err := parseUntil(value, time.Now())
			if err != nil {
				return nil, fmt.Errorf("--filter %q: %w", f, err)
			}
			p = func(v *state.Volume) (bool, error) { return v.Created.Before(t), nil }
		}
		if key == "label" {
			key = f // every label filter must match
		}
		if groups[key] == nil {
			order = append(order, key)
		}
		groups[key] = append(groups[key], p)
	}
	return func(v *state.Volume) (bool, error) {
		for _, k := range order {
			matched := false
			for _, p := range groups[k] {
				ok, err := p(v)
				if err != nil {
					return false, err
				}
				if ok {
					matched = true
					break
				}
			}
			if !matched {
				return false, nil
			}
		}
		return true, nil
	}, nil
}

// VolumeRemoveOptions configure VolumeRemove.
type VolumeRemoveOptions struct {
	// Force removes the containers using a volume first (stopping them).
	Force bool
	// Timeout overrides the containers' stop timeout under Force.
	Timeout *uint
	// All removes every volume.
	All bool
}

// VolumeReport is what happened to one volume.
type VolumeReport struct {
	// Name is the volume's name, or the name given when none was found.
	Name string
	Err  error
}

// VolumeRemove removes volumes: record and directory. A volume a container
// uses is kept unless Force, which removes those containers first. Errors
// per volume wrap define.ErrNoSuchVolume or define.ErrVolumeInUse.
func (e *Engine) VolumeRemove(ctx context.Context, names []string, opts VolumeRemoveOptions) ([]VolumeReport, error) {
	if opts.All {
		vols, err := e.db.Volumes(ctx)
		if err != nil {
			return nil, err
		}
		names = make([]string, 0, len(vols))
		for _, v := range vols {
			names = append(names, v.Name)
		}
	}
	reports := make([]VolumeReport, 0, len(names))
	for _, n := range names {
		rep := VolumeReport{Name: n}
		v, err := e.db.Volume(ctx, n)
		if err == nil {
			rep.Name = v.Name
			err = e.removeVolume(ctx, v.Name, opts.Force, opts.Timeout)
		}
		rep.Err = err
		reports = append(reports, rep)
	}
	return reports, nil
}

// removeVolume removes one volume, first its users when force is set.
func (e *Engine) removeVolume(ctx context.Context, name string, force bool, timeout *uint) error {
	users, err := e.db.VolumeUsers(ctx, name)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		if !force {
			return volumeInUse(name, users)
		}
		reps, err := e.ContainerRemove(ctx, users, ContainerRemoveOptions{Force: true, Timeout: timeout, Ignore: true})
		if err != nil {
			return err
		}
		for _, r := range reps {
			if r.Err != nil {
				return fmt.Errorf("volume %s: remove container %s using it: %w", name, r.Name, r.Err)
			}
		}
	}
	l, err := e.lockVolume(name)
	if err != nil {
		return err
	}
	defer l.Release()
	v, err := e.db.Volume(ctx, name)
	if err != nil {
		return err
	}
	if v.Name != name {
		return fmt.Errorf("%s: %w", name, define.ErrNoSuchVolume)
	}
	if err := e.db.RemoveVolume(ctx, name); err != nil {
		if errors.Is(err, define.ErrVolumeInUse) {
			users, _ := e.db.VolumeUsers(ctx, name)
			return volumeInUse(name, users)
		}
		return err
	}
	e.event(ctx, "volume", "remove", name, name, nil)
	if err := unmountVolumeDir(v.Mountpoint); err != nil {
		return fmt.Errorf("volume %s removed, but its directory %s is still mounted: %w", name, v.Mountpoint, err)
	}
	if err := os.RemoveAll(e.volumeDir(name)); err != nil {
		return fmt.Errorf("volume %s removed, but not its directory: %w", name, err)
	}
	return nil
}

func volumeInUse(name string, users []string) error {
	short := make([]string, len(users))
	for i, u := range users {
		short[i] = shortID(u)
	}
	return fmt.Errorf("volume %s is being used by the following container(s): %s: remove them first, or use --force: %w",
		name, strings.Join(short, ", "), define.ErrVolumeInUse)
}

// VolumePruneOptions configure VolumePrune.
type VolumePruneOptions struct {
	// Filters are label (KEY or KEY=VALUE; label!= excludes) and until.
	Filters []string
}

// VolumePrune removes the volumes no container uses that match the
// filters, and reports each one it tried.
func (e *Engine) VolumePrune(ctx context.Context, opts VolumePruneOptions) ([]VolumeReport, error) {
	match, err := e.parseVolumeFilters(ctx, opts.Filters, volumePruneFilters)
	if err != nil {
		return nil, err
	}
	vols, err := e.db.Volumes(ctx)
	if err != nil {
		return nil, err
	}
	var reports []VolumeReport
	for _, v := range vols {
		ok, err := match(v)
		if err != nil {
			return reports, err
		}
		users, err := e.db.VolumeUsers(ctx, v.Name)
		if err != nil {
			return reports, err
		}
		if !ok || len(users) > 0 {
			continue
		}
		err = e.removeVolume(ctx, v.Name, false, nil)
		if errors.Is(err, define.ErrVolumeInUse) || errors.Is(err, define.ErrNoSuchVolume) {
			continue // taken or removed meanwhile
		}
		reports = append(reports, VolumeReport{Name: v.Name, Err: err})
	}
	return reports, nil
}
