package libengine

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/engine-oss/engine/pkg/libengine/define"
)

func TestParseLocalOptions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		name     string
		opts     map[string]string
		args     []string // mount(8) arguments for target /t; nil for a plain volume
		uid, gid int
		noCopy   bool
		err      error
	}{
		{"plain", nil, nil, -1, -1, false, nil},
		{"owner in o", map[string]string{"o": "uid=1000,gid=100"}, nil, 1000, 100, false, nil},
		{"owner keys", map[string]string{"uid": "5", "nocopy": ""}, nil, 5, -1, true, nil},
		{"copy=false", map[string]string{"copy": "false"}, nil, -1, -1, true, nil},
		{"tmpfs", map[string]string{"type": "tmpfs", "o": "size=2m,uid=33,mode=700"},
			[]string{"-t", "tmpfs", "-o", "mode=700,size=2m,uid=33", "tmpfs", "/t"}, 33, -1, false, nil},
		{"tmpfs size key", map[string]string{"type": "tmpfs", "device": "tmpfs", "size": "1g"},
			[]string{"-t", "tmpfs", "-o", "size=1g", "tmpfs", "/t"}, -1, -1, false, nil},
		{"bind type", map[string]string{"type": "bind", "device": dir},
			[]string{"-o", "bind", dir, "/t"}, -1, -1, false, nil},
		{"bind option", map[string]string{"type": "none", "o": "bind,ro", "device": dir},
			[]string{"-t", "none", "-o", "bind,ro", dir, "/t"}, -1, -1, false, nil},
		{"device only", map[string]string{"device": "/dev/sdz1"}, []string{"/dev/sdz1", "/t"}, -1, -1, false, nil},

		{"unknown key", map[string]string{"colour": "blue"}, nil, 0, 0, false, define.ErrInvalidArg},
		{"bad uid", map[string]string{"o": "uid=root"}, nil, 0, 0, false, define.ErrInvalidArg},
		{"size on plain", map[string]string{"size": "1m"}, nil, 0, 0, false, define.ErrNotImplemented},
		{"bad size", map[string]string{"type": "tmpfs", "o": "size=big"}, nil, 0, 0, false, define.ErrInvalidArg},
		{"type without device", map[string]string{"type": "ext4"}, nil, 0, 0, false, define.ErrInvalidArg},
		{"o without device", map[string]string{"o": "ro"}, nil, 0, 0, false, define.ErrInvalidArg},
		{"owner of a device", map[string]string{"device": "/dev/sdz1", "uid": "1"}, nil, 0, 0, false, define.ErrInvalidArg},
		{"dash device", map[string]string{"device": "-oops"}, nil, 0, 0, false, define.ErrInvalidArg},
		{"missing bind source", map[string]string{"type": "bind", "device": filepath.Join(dir, "gone")}, nil, 0, 0, false, define.ErrInvalidArg},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			lo, err := parseLocalOptions(tc.opts)
			if tc.err != nil {
				if !errors.Is(err, tc.err) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("error %v, want %v on one line", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var args []string
			if lo.mounted() {
				args = lo.mountArgs("/t")
			}
			if !reflect.DeepEqual(args, tc.args) || lo.uid != tc.uid || lo.gid != tc.gid || lo.noCopy != tc.noCopy {
				t.Errorf("got args %q uid %d gid %d nocopy %v; want %q %d %d %v", args, lo.uid, lo.gid, lo.noCopy, tc.args, tc.uid, tc.gid, tc.noCopy)
			}
		})
	}
}

func TestVolumeLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEngine(t)
	name, err := e.VolumeCreate(ctx, VolumeCreateOptions{Name: "data", Labels: map[string]string{"a": "1"}, Options: map[string]string{"o": "uid=12"}})
	if err != nil || name != "data" {
		t.Fatalf("create: %q %v", name, err)
	}
	rep, err := e.VolumeInspect(ctx, "data")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Scope != "local" || rep.Driver != "local" || rep.UID != 12 || rep.NeedsChown || !rep.NeedsCopyUp || rep.Labels["a"] != "1" {
		t.Errorf("inspect: %+v", rep)
	}
	if fi, err := os.Stat(rep.Mountpoint); err != nil || fi.Sys().(*syscall.Stat_t).Uid != 12 {
		t.Errorf("mountpoint: %v %v", fi, err)
	}
	if _, err := e.VolumeCreate(ctx, VolumeCreateOptions{Name: "data"}); !errors.Is(err, define.ErrVolumeExists) {
		t.Errorf("second create: %v", err)
	}
	if name, err := e.VolumeCreate(ctx, VolumeCreateOptions{Name: "data", IgnoreIfExists: true}); err != nil || name != "data" {
		t.Errorf("create --ignore: %q %v", name, err)
	}
	anon, err := e.VolumeCreate(ctx, VolumeCreateOptions{})
	if err != nil || len(anon) != 64 {
		t.Errorf("generated name %q %v", anon, err)
	}
	for _, bad := range []VolumeCreateOptions{{Name: "a/b"}, {Name: ".x"}, {Driver: "nfs"}} {
		if _, err := e.VolumeCreate(ctx, bad); err == nil {
			t.Errorf("create %+v succeeded", bad)
		}
	}
	if ok, err := e.VolumeExists(ctx, "dat"); ok || err != nil {
		t.Errorf("exists of a prefix: %v %v", ok, err)
	}
	if ok, err := e.VolumeExists(ctx, "data"); !ok || err != nil {
		t.Errorf("exists: %v %v", ok, err)
	}
	reps, err := e.VolumeRemove(ctx, []string{"data", "nope"}, VolumeRemoveOptions{})
	if err != nil || len(reps) != 2 || reps[0].Err != nil || !errors.Is(reps[1].Err, define.ErrNoSuchVolume) {
		t.Fatalf("remove: %+v %v", reps, err)
	}
	if _, err := os.Stat(rep.Mountpoint); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("directory left: %v", err)
	}
	if _, err := e.VolumeCreate(ctx, VolumeCreateOptions{Name: "data"}); err != nil {
		t.Errorf("create again after remove: %v", err)
	}
}

func TestVolumeFilters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEngine(t)
	for name, labels := range map[string]map[string]string{
		"web-data": {"app": "web", "tier": "front"},
		"web-logs": {"app": "web"},
		"db":       {"app": "db"},
		"bare":     nil,
	} {
		if _, err := e.VolumeCreate(ctx, VolumeCreateOptions{Name: name, Labels: labels}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		filters []string
		want    []string
		err     error
	}{
		{nil, []string{"bare", "db", "web-data", "web-logs"}, nil},
		{[]string{"name=^web"}, []string{"web-data", "web-logs"}, nil},
		{[]string{"name=db", "name=bare"}, []string{"bare", "db"}, nil},
		{[]string{"label=app=web"}, []string{"web-data", "web-logs"}, nil},
		{[]string{"label=app=web", "label=tier"}, []string{"web-data"}, nil},
		{[]string{"label!=app"}, []string{"bare"}, nil},
		{[]string{"label=app", "label!=app=web"}, []string{"db"}, nil},
		{[]string{"driver=local", "dangling=true"}, []string{"bare", "db", "web-data", "web-logs"}, nil},
		{[]string{"dangling=false"}, nil, nil},
		{[]string{"driver=other"}, nil, nil},
		{[]string{"until=1h"}, nil, nil},
		{[]string{"until=" + time.Now().Add(time.Hour).Format(time.RFC3339)}, []string{"bare", "db", "web-data", "web-logs"}, nil},

		{[]string{"dangling=maybe"}, nil, define.ErrInvalidArg},
		{[]string{"name=("}, nil, define.ErrInvalidArg},
		{[]string{"colour=red"}, nil, define.ErrInvalidArg},
		{[]string{"name!=x"}, nil, define.ErrInvalidArg},
		{[]string{"name"}, nil, define.ErrInvalidArg},
	} {
		vols, err := e.VolumeList(ctx, VolumeListOptions{Filters: tc.filters})
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("%q: error %v, want %v", tc.filters, err, tc.err)
			}
			continue
		}
		var names []string
		for _, v := range vols {
			names = append(names, v.Name)
		}
		slices.Sort(names)
		if err != nil || !slices.Equal(names, tc.want) {
			t.Errorf("%q: %q %v, want %q", tc.filters, names, err, tc.want)
		}
	}
	if _, err := e.VolumePrune(ctx, VolumePruneOptions{Filters: []string{"name=x"}}); !errors.Is(err, define.ErrInvalidArg) {
		t.Errorf("prune accepts only label and until: %v", err)
	}
	reps, err := e.VolumePrune(ctx, VolumePruneOptions{Filters: []string{"label=app=web"}})
	if err != nil || len(reps) != 2 {
		t.Errorf("prune label=app=web: %+v %v", reps, err)
	}
}

// entry is one member of a test archive: a header and, for a regular
// file, its content.
type entry struct {
	tar.Header
	body string
}

func volumeTar(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, en := range entries {
		h := en.Header
		h.Size = int64(len(en.body))
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(en.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func file(name, body string) entry {
	return entry{tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644}, body}
}

func link(typ byte, name, target string) entry {
	return entry{Header: tar.Header{Typeflag: typ, Name: name, Linkname: target, Mode: 0o777}}
}

func TestExtractVolumeTar(t *testing.T) {
	t.Parallel()
	mtime := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	good := volumeTar(t,
		entry{Header: tar.Header{Typeflag: tar.TypeDir, Name: "./", Mode: 0o755}},
		entry{Header: tar.Header{Typeflag: tar.TypeDir, Name: "ro/", Mode: 0o555, ModTime: mtime}},
		entry{tar.Header{Typeflag: tar.TypeReg, Name: "ro/f", Mode: 0o4751, Uid: 7, Gid: 8, ModTime: mtime}, "hello"},
		link(tar.TypeSymlink, "abs-link", "/etc/passwd"),
		link(tar.TypeLink, "hard", "ro/f"),
		entry{Header: tar.Header{Typeflag: tar.TypeFifo, Name: "fifo", Mode: 0o600}},
		file("replaced", "new"),
	)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "replaced"), []byte("old content"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := extractVolumeTar(bytes.NewReader(good), dir); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "ro", "f"))
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if fi.Mode() != 0o751|os.ModeSetuid || st.Nlink != 2 || !fi.ModTime().Equal(mtime) || (os.Geteuid() == 0 && (st.Uid != 7 || st.Gid != 8)) {
		t.Errorf("ro/f: mode %v links %d time %v owner %d:%d", fi.Mode(), st.Nlink, fi.ModTime(), st.Uid, st.Gid)
	}
	if fi, err := os.Stat(filepath.Join(dir, "ro")); err != nil || fi.Mode().Perm() != 0o555 || !fi.ModTime().Equal(mtime) {
		t.Errorf("ro/: %v %v", fi, err)
	}
	if target, err := os.Readlink(filepath.Join(dir, "abs-link")); err != nil || target != "/etc/passwd" {
		t.Errorf("abs-link: %q %v", target, err)
	}
	if fi, err := os.Lstat(filepath.Join(dir, "fifo")); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("fifo: %v %v", fi, err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "replaced")); err != nil || string(b) != "new" {
		t.Errorf("replaced: %q %v", b, err)
	}

	outside := t.TempDir()
	for _, tc := range []struct {
		name    string
		archive []byte
		setup   func(dir string) error
		err     error
	}{
		{"dotdot", volumeTar(t, file("a/../../x", "x")), nil, define.ErrArchiveEscape},
		{"absolute", volumeTar(t, file("/x", "x")), nil, define.ErrArchiveEscape},
		{"through own symlink", volumeTar(t, link(tar.TypeSymlink, "l", outside), file("l/x", "x")), nil, define.ErrArchiveEscape},
		{"through existing symlink", volumeTar(t, file("l/x", "x")),
			func(dir string) error { return os.Symlink(outside, filepath.Join(dir, "l")) }, define.ErrArchiveEscape},
		{"relative symlink out", volumeTar(t, link(tar.TypeSymlink, "l", "../../../../.."), file("l/x", "x")), nil, define.ErrArchiveEscape},
		{"hard link out", volumeTar(t, link(tar.TypeLink, "h", "../x")), nil, define.ErrArchiveEscape},
		{"not a tar", []byte("just some text that is not an archive\n"), nil, define.ErrUnsupportedFormat},
		{"empty", nil, nil, define.ErrUnsupportedFormat},
	} {
		dir := t.TempDir()
		if tc.setup != nil {
			if err := tc.setup(dir); err != nil {
				t.Fatal(err)
			}
		}
		err := extractVolumeTar(bytes.NewReader(tc.archive), dir)
		if !errors.Is(err, tc.err) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.err)
		}
		if entries, _ := os.ReadDir(outside); len(entries) != 0 {
			t.Fatalf("%s: wrote outside the volume: %v", tc.name, entries)
		}
	}
	// An empty archive (only the end blocks) imports nothing and succeeds.
	if err := extractVolumeTar(bytes.NewReader(volumeTar(t)), t.TempDir()); err != nil {
		t.Errorf("empty archive: %v", err)
	}
}

func TestCopyUp(t *testing.T) {
	t.Parallel()
	src, dst := t.TempDir(), t.TempDir()
	if copied, err := copyUp(src, dst); copied || err != nil {
		t.Errorf("empty source: %v %v", copied, err)
	}
	if err := os.MkdirAll(filepath.Join(src, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "sub", "f"), []byte("x"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sub/f", filepath.Join(src, "l")); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if err := os.Lchown(filepath.Join(src, "sub", "f"), 3, 4); err != nil {
			t.Fatal(err)
		}
	}
	if copied, err := copyUp(src, dst); !copied || err != nil {
		t.Fatalf("copy: %v %v", copied, err)
	}
	fi, err := os.Stat(filepath.Join(dst, "sub", "f"))
	if err != nil || fi.Mode().Perm() != 0o640 || (os.Geteuid() == 0 && fi.Sys().(*syscall.Stat_t).Uid != 3) {
		t.Errorf("copied file: %v %v", fi, err)
	}
	if target, err := os.Readlink(filepath.Join(dst, "l")); err != nil || target != "sub/f" {
		t.Errorf("copied link: %q %v", target, err)
	}
	if copied, err := copyUp(src, dst); copied || err != nil {
		t.Errorf("a volume with content was copied into again: %v %v", copied, err)
	}
}
