package specgen

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/engine-oss/engine/pkg/libengine/define"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestParseMountVolumeFlag(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing")
	for _, tc := range []struct {
		in   string
		want Mount
		err  error
		say  []string
	}{
		{dir + ":/data", Mount{Type: "bind", Source: dir, Destination: "/data"}, nil, nil},
		{dir + ":/data:ro", Mount{Type: "bind", Source: dir, Destination: "/data", Options: []string{"ro"}}, nil, nil},
		{dir + ":/data:ro,z,rshared,nosuid", Mount{Type: "bind", Source: dir, Destination: "/data", Options: []string{"ro", "z", "rshared", "nosuid"}}, nil, nil},
		{"data:/data", Mount{Type: "volume", Source: "data", Destination: "/data"}, nil, nil},
		{"data.v1_x-y:/data:ro,nocopy,U,z,nosuid,noexec,nodev", Mount{Type: "volume", Source: "data.v1_x-y", Destination: "/data",
			Options: []string{"ro", "nocopy", "U", "z", "nosuid", "noexec", "nodev"}}, nil, nil},
		{"/data", Mount{Type: "volume", Destination: "/data"}, nil, nil},
		{"data", Mount{}, define.ErrInvalidArg, []string{"not absolute"}},
		{"relative/path:/data", Mount{}, define.ErrInvalidArg, []string{`"relative/path" is neither an absolute host path nor a volume name`}},
		{"-bad:/data", Mount{}, define.ErrInvalidArg, []string{"neither"}},
		{"data:/data:bogus", Mount{}, define.ErrInvalidArg, []string{`unknown option "bogus"`}},
		{"data:/data:nocopy,copy", Mount{}, define.ErrInvalidArg, []string{"conflict"}},
		{"data:/data:tmpcopyup", Mount{}, define.ErrInvalidArg, []string{"does not apply to a volume mount"}},
		{dir + ":/data:nocopy", Mount{}, define.ErrInvalidArg, []string{"does not apply to a bind mount"}},
		{"data:relative", Mount{}, define.ErrInvalidArg, []string{"not absolute"}},
		{missing + ":/data", Mount{}, define.ErrInvalidArg, []string{missing, "does not exist"}},
		{dir + ":data", Mount{}, define.ErrInvalidArg, []string{"not absolute"}},
		{dir + ":/data:ro,rw", Mount{}, define.ErrInvalidArg, []string{`"ro" and "rw" conflict`}},
		{dir + ":/data:size=1m", Mount{}, define.ErrInvalidArg, []string{"unknown option"}},
		{dir + ":/data:tmpcopyup", Mount{}, define.ErrInvalidArg, []string{"does not apply"}},
		{dir + ":/data:O", Mount{}, define.ErrNotImplemented, []string{"O option"}},
		{dir + ":/data:U", Mount{Type: "bind", Source: dir, Destination: "/data", Options: []string{"U"}}, nil, nil},
		{dir + ":/data:idmap", Mount{}, define.ErrNotImplemented, []string{"idmap"}},
		{dir + ":/data:ro:x", Mount{}, define.ErrInvalidArg, []string{"too many colons"}},
		{":/data", Mount{}, define.ErrInvalidArg, []string{"empty"}},
	} {
		got, err := ParseMountVolumeFlag(tc.in)
		wantErr(t, err, tc.err, append([]string{"-v"}, tc.say...)...)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseMountVolumeFlag(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestParseMountVolumeFlagRelative(t *testing.T) {
	// Not parallel: it depends on the working directory.
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseMountVolumeFlag(".:/src")
	if err != nil || m.Source != wd {
		t.Errorf("ParseMountVolumeFlag(.:/src) = %+v, %v; want source %s", m, err, wd)
	}
}

func TestTmpfsOptions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want []string
	}{
		{nil, []string{"rw", "noexec", "nosuid", "nodev", "rprivate", "tmpcopyup"}},
		{[]string{"ro", "exec", "size=64m"}, []string{"ro", "exec", "size=64m", "nosuid", "nodev", "rprivate", "tmpcopyup"}},
		{[]string{"notmpcopyup", "shared"}, []string{"shared", "rw", "noexec", "nosuid", "nodev"}},
	} {
		if got := tmpfsOptions(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("tmpfsOptions(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestBindOptions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	got, err := bindOptions("-v x", dir, []string{"ro", "Z"})
	if err != nil {
		t.Fatal(err)
	}
	if want := completeBindOptions([]string{"ro", "Z"}, st.Flags); !reflect.DeepEqual(got, want) {
		t.Errorf("bindOptions(tempdir) = %v, want %v", got, want)
	}
	_, err = bindOptions("mount on /x", filepath.Join(dir, "nope"), nil)
	wantErr(t, err, define.ErrInvalidArg, "mount on /x", "nope", "does not exist")
}

func TestCompleteBindOptions(t *testing.T) {
	t.Parallel()
	all := int64(unix.ST_NOSUID | unix.ST_NODEV | unix.ST_NOEXEC)
	for _, tc := range []struct {
		opts  []string
		flags int64
		want  []string
	}{
		{nil, 0, []string{"rbind", "rprivate", "rw"}},
		{[]string{"ro", "z"}, 0, []string{"ro", "rbind", "rprivate"}},
		{[]string{"bind", "shared", "Z"}, 0, []string{"bind", "shared", "rw"}},
		// A rootless runtime cannot clear the source's locked nosuid, nodev, noexec.
		{nil, all, []string{"rbind", "rprivate", "rw", "nosuid", "nodev", "noexec"}},
		{[]string{"suid", "exec"}, all, []string{"suid", "exec", "rbind", "rprivate", "rw", "nodev"}},
	} {
		if got := completeBindOptions(tc.opts, tc.flags); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("completeBindOptions(%v, %#x) = %v, want %v", tc.opts, tc.flags, got, tc.want)
		}
	}
}

func TestWithMounts(t *testing.T) {
	t.Parallel()
	defaults := []specs.Mount{
		{Destination: "/proc", Type: "proc"},
		{Destination: "/dev", Type: "tmpfs"},
		{Destination: "/dev/pts", Type: "devpts"},
		{Destination: "/dev/shm", Type: "tmpfs"},
		{Destination: "/sys", Type: "sysfs"},
		{Destination: "/sys/fs/cgroup", Type: "cgroup"},
		{Destination: "/etc/hosts", Type: "bind"},
	}
	dests := func(ms []specs.Mount) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.Destination+":"+m.Type)
		}
		return out
	}
	for _, tc := range []struct {
		name        string
		user        []specs.Mount
		want        []string
		propagation string
	}{
		{"defaults only", nil, []string{
			"/proc:proc", "/dev:tmpfs", "/sys:sysfs", "/dev/pts:devpts", "/dev/shm:tmpfs", "/etc/hosts:bind", "/sys/fs/cgroup:cgroup",
		}, "rprivate"},
		{"user replaces same destination, children after parents", []specs.Mount{
			{Destination: "/data/sub", Type: "bind"},
			{Destination: "/etc/hosts/", Type: "bind", Source: "/mine"},
			{Destination: "/data", Type: "tmpfs", Options: []string{"rshared"}},
		}, []string{
			"/proc:proc", "/dev:tmpfs", "/sys:sysfs", "/data:tmpfs", "/dev/pts:devpts", "/dev/shm:tmpfs", "/data/sub:bind", "/etc/hosts/:bind", "/sys/fs/cgroup:cgroup",
		}, "rshared"},
		{"user /dev replaces everything under it", []specs.Mount{
			{Destination: "/dev", Type: "bind", Options: []string{"rslave"}},
		}, []string{
			"/proc:proc", "/sys:sysfs", "/dev:bind", "/etc/hosts:bind", "/sys/fs/cgroup:cgroup",
		}, "rslave"},
	} {
		spec := &specs.Spec{Linux: &specs.Linux{RootfsPropagation: "rprivate"}}
		if err := withMounts(defaults, tc.user)(spec); err != nil {
			t.Fatal(err)
		}
		if got := dests(spec.Mounts); !slices.Equal(got, tc.want) {
			t.Errorf("%s: mounts\n got %v\nwant %v", tc.name, got, tc.want)
		}
		if spec.Linux.RootfsPropagation != tc.propagation {
			t.Errorf("%s: rootfs propagation %q, want %q", tc.name, spec.Linux.RootfsPropagation, tc.propagation)
		}
	}
}
