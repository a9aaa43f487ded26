package specgen

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Where --tz finds zones: the host's own is what /etc/localtime leads to,
// the others are files of the zoneinfo directory, $TZDIR when set (as
// glibc and podman read it), else DefaultZoneinfoDir. Generate mounts the
// zone file on ContainerLocaltime; the caller removes a symlink the image
// has there first (the runtime would mount on the file it leads to).
const (
	hostLocaltime      = "/etc/localtime"
	DefaultZoneinfoDir = "/usr/share/zoneinfo"
	ContainerLocaltime = "/etc/localtime"
)

// TimezoneFile returns the host file a --tz value names, with symlinks
// resolved: for "local" the file /etc/localtime leads to, otherwise the
// zone's file in the zoneinfo directory ("Europe/Berlin", "UTC"). A name
// must stay inside that directory, and the file must be a zone file (TZif).
// Errors wrap define.ErrInvalidArg and say what to use instead.
func TimezoneFile(tz string) (string, error) {
	dir := firstNonEmpty(os.Getenv("TZDIR"), DefaultZoneinfoDir)
	file := filepath.Join(dir, tz)
	hint := "name a zone of " + dir + " (e.g. Europe/Berlin or UTC), or use local for the host's zone"
	switch {
	case tz == "local":
		file, hint = hostLocaltime, "name a zone instead (e.g. --tz UTC)"
	case !filepath.IsLocal(tz):
		return "", invalid("--tz %q: not a zone name: %s", tz, hint)
	}
	real, err := filepath.EvalSymlinks(file)
	if errors.Is(err, fs.ErrNotExist) {
		return "", invalid("--tz %s: unknown time zone: %s does not exist: %s", tz, file, hint)
	}
	if err != nil {
		return "", invalid("--tz %s: %v: %s", tz, err, hint)
	}
	f, err := os.Open(real)
	if err != nil {
		return "", invalid("--tz %s: %v: %s", tz, err, hint)
	}
	defer func() { _ = f.Close() }()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return "", invalid("--tz %s: %s is a directory of zones: name one of them, as in %s/NAME", tz, file, tz)
	}
	magic := make([]byte, 4)
	if _, err := io.ReadFull(f, magic); err != nil || !bytes.Equal(magic, []byte("TZif")) {
		return "", invalid("--tz %s: %s is not a time zone file: %s", tz, file, hint)
	}
	return real, nil
}
