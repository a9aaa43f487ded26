package specgen

import (
	"encoding/csv"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/engine-oss/engine/pkg/libengine/define"
)

// Mount types for volumes and images, beside MountTypeBind and MountTypeTmpfs.
const (
	MountTypeVolume = "volume"
	MountTypeImage  = "image"
)

// ValidVolumeName reports whether name may name a volume: letters, digits,
// '_', '.' and '-', starting with a letter or digit, as podman.
func ValidVolumeName(name string) bool { return nameRE.MatchString(name) }

// VolumeNameHint is the rule ValidVolumeName applies, for error messages.
const VolumeNameHint = "use letters, digits, '_', '.' and '-', starting with a letter or digit"

// volumeOnlyOptions are the options of a volume mount the runtime never
// sees: the engine acts on them when it prepares the volume.
var volumeOnlyOptions = []string{"nocopy", "copy", "U"}

// NoCopy reports whether a volume mount's options turn copy-up off.
func NoCopy(opts []string) bool { return slices.Contains(opts, "nocopy") }

// Chown reports whether a mount's options ask for its source to be given
// to the container's user (the U option).
func Chown(opts []string) bool { return slices.Contains(opts, "U") }

// ParseMount parses a --mount value, "type=TYPE,KEY[=VALUE],...", as podman
// 4 does. TYPE is bind, volume, tmpfs or image; the keys are source (src),
// target (dst, destination), readonly (ro) and rw with an optional =true or
// =false, the flags nosuid, nodev, noexec and their opposites, a propagation
// (or bind-propagation=), bind-nonrecursive, relabel=shared|private, z, Z,
// U (chown) with an optional =true or =false, nocopy (volume-nocopy),
// tmpfs-size=, tmpfs-mode=, tmpcopyup and notmpcopyup; consistency is
// accepted and ignored. A bind mount without a source binds the target's
// path of the host; a volume mount without one gets an anonymous volume.
// Errors wrap define.ErrInvalidArg, or define.ErrNotImplemented for the
// mount types devpts, glob and ramfs and for read-write image mounts.
func ParseMount(value string) (Mount, error) {
	what := "--mount " + value
	r := csv.NewReader(strings.NewReader(value))
	fields, err := r.Read()
	if err != nil || len(fields) == 0 {
		return Mount{}, invalid("%s: use type=TYPE,source=SOURCE,target=PATH[,OPTIONS]", what)
	}
	var m Mount
	var rest []string
	for _, f := range fields {
		if t, ok := strings.CutPrefix(f, "type="); ok && m.Type == "" {
			m.Type = t
			continue
		}
		rest = append(rest, f)
	}
	switch m.Type {
	case MountTypeBind, MountTypeVolume, MountTypeTmpfs, MountTypeImage:
	case "":
		return Mount{}, invalid("%s: type= is missing: use type=bind, volume, tmpfs or image", what)
	case "devpts", "glob", "ramfs":
		return Mount{}, notImplemented("%s: %s mounts are not supported yet: use type=bind, volume, tmpfs or image", what, m.Type)
	default:
		return Mount{}, invalid("%s: unknown mount type %q: use bind, volume, tmpfs or image", what, m.Type)
	}
	seen := map[string]bool{}
	once := func(key, group string) error {
		if seen[group] {
			return invalid("%s: %s is given twice or conflicts with an earlier option: keep one", what, key)
		}
		seen[group] = true
		return nil
	}
	for _, f := range rest {
		key, val, hasVal := strings.Cut(f, "=")
		only := func(types ...string) error {
			if !slices.Contains(types, m.Type) {
				return invalid("%s: option %q does not apply to a %s mount: drop it", what, key, m.Type)
			}
			return nil
		}
		needVal := func() error {
			if !hasVal || val == "" {
				return invalid("%s: %s needs a value (%s=VALUE)", what, key, key)
			}
			return nil
		}
		var err error
		switch key {
		case "src", "source":
			if err = only(MountTypeBind, MountTypeVolume, MountTypeImage); err == nil {
				if err = needVal(); err == nil {
					err = once(key, "source")
				}
			}
			m.Source = val
		case "target", "dst", "destination":
			if err = needVal(); err == nil {
				err = once(key, "target")
			}
			m.Destination = path.Clean(val)
		case "readonly", "ro", "rw", "readwrite":
			var on bool
			if on, err = boolOption(what, key, val, hasVal); err == nil {
				err = once(key, "rorw")
			}
			ro := on == (key == "readonly" || key == "ro")
			if m.Type == MountTypeImage {
				if !ro {
					return Mount{}, notImplemented("%s: read-write image mounts are not supported yet: drop %s", what, f)
				}
				continue
			}
			if ro {
				m.Options = append(m.Options, "ro")
			} else if key == "rw" || key == "readwrite" {
				m.Options = append(m.Options, "rw")
			}
		case "consistency":
		case "bind-propagation":
			if err = only(MountTypeBind); err == nil {
				if err = needVal(); err == nil {
					m.Options = append(m.Options, val)
				}
			}
		case "bind-nonrecursive":
			if err = only(MountTypeBind); err == nil {
				m.Options = append(m.Options, "bind")
			}
		case "relabel":
			if err = only(MountTypeBind, MountTypeVolume); err == nil {
				switch val {
				case "shared":
					m.Options = append(m.Options, "z")
				case "private":
					m.Options = append(m.Options, "Z")
				default:
					err = invalid("%s: relabel=%q: use relabel=shared or relabel=private", what, val)
				}
			}
		case "U", "chown":
			var on bool
			if err = only(MountTypeBind, MountTypeVolume); err == nil {
				if on, err = boolOption(what, key, val, hasVal); err == nil && on {
					m.Options = append(m.Options, "U")
				}
			}
		case "nocopy", "volume-nocopy":
			if err = only(MountTypeVolume); err == nil && !hasVal {
				m.Options = append(m.Options, "nocopy")
			} else if err == nil {
				err = invalid("%s: %s takes no value", what, key)
			}
		case "tmpfs-size", "tmpfs-mode":
			if err = only(MountTypeTmpfs); err == nil {
				if err = needVal(); err == nil {
					m.Options = append(m.Options, strings.TrimPrefix(key, "tmpfs-")+"="+val)
				}
			}
		default:
			if hasVal || m.Type == MountTypeImage {
				return Mount{}, invalid("%s: unknown option %q: see the --mount keys in engine-run(1)", what, key)
			}
			m.Options = append(m.Options, key) // checked with the -v options below
		}
		if err != nil {
			return Mount{}, err
		}
	}
	if m.Destination == "" || m.Destination == "." {
		return Mount{}, invalid("%s: target= is missing: name the container path (e.g. target=/data)", what)
	}
	switch m.Type {
	case MountTypeImage:
		if m.Source == "" {
			return Mount{}, invalid("%s: source= is missing: name the image to mount", what)
		}
	case MountTypeBind:
		if m.Source == "" {
			m.Source = m.Destination
		}
		if strings.HasPrefix(m.Source, ".") {
			abs, err := filepath.Abs(m.Source)
			if err != nil {
				return Mount{}, fmt.Errorf("%s: %w: %w", what, define.ErrInvalidArg, err)
			}
			m.Source = abs
		}
	}
	if err := checkMount(what, m); err != nil {
		return Mount{}, err
	}
	if m.Type == MountTypeBind {
		if err := statBindSource(what, m.Source); err != nil {
			return Mount{}, err
		}
	}
	return m, nil
}

// boolOption reads KEY or KEY=true|false.
func boolOption(what, key, val string, hasVal bool) (bool, error) {
	if !hasVal {
		return true, nil
	}
	switch strings.ToLower(val) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, invalid("%s: %s=%q: use %s, %s=true or %s=false", what, key, val, key, key, key)
}

// ParseVolumesFrom parses --volumes-from "CONTAINER[:OPTIONS]", OPTIONS
// being ro or rw (z and Z are accepted and ignored), into the container and
// the mode to force on the copied mounts: nil keeps each mount's own.
// Errors wrap define.ErrInvalidArg.
func ParseVolumesFrom(value string) (ctr string, readOnly *bool, err error) {
	ctr, opts, _ := strings.Cut(value, ":")
	if ctr == "" {
		return "", nil, invalid("--volumes-from %q: the container is missing: use CONTAINER[:ro|rw]", value)
	}
	for _, o := range splitOptions(opts) {
		switch o {
		case "ro", "rw":
			if readOnly != nil {
				return "", nil, invalid("--volumes-from %q: give ro or rw once", value)
			}
			ro := o == "ro"
			readOnly = &ro
		case "z", "Z":
		default:
			return "", nil, invalid("--volumes-from %q: unknown option %q: use ro or rw", value, o)
		}
	}
	return ctr, readOnly, nil
}

// checkVolumeMount checks what only volume and image mounts need.
func checkVolumeMount(what string, m Mount) error {
	switch m.Type {
	case MountTypeVolume:
		if m.Source != "" && !ValidVolumeName(m.Source) {
			return invalid("%s: invalid volume name %q: %s", what, m.Source, VolumeNameHint)
		}
	case MountTypeImage:
		if m.Source == "" {
			return invalid("%s: the image is missing: name the image to mount", what)
		}
		for _, o := range m.Options {
			if o != "ro" {
				return invalid("%s: option %q does not apply to an image mount, which is always read-only: drop it", what, o)
			}
		}
	}
	return nil
}

// volumeBindOptions are the options of the bind mount that puts a volume or
// image in place: the user's, less those only the engine acts on; an image
// is always read-only.
func volumeBindOptions(m Mount) []string {
	opts := slices.DeleteFunc(slices.Clone(m.Options), func(o string) bool { return slices.Contains(volumeOnlyOptions, o) })
	if m.Type == MountTypeImage && !slices.Contains(opts, "ro") {
		opts = append(opts, "ro")
	}
	return opts
}

// statBindSource checks that a bind mount's host path exists.
func statBindSource(what, source string) error {
	if _, err := os.Stat(source); err != nil {
		return bindSourceError(what, source, err)
	}
	return nil
}
