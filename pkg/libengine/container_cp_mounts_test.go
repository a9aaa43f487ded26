package libengine

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/specgen"
)

// TestCtrFSResolve checks that container paths lead into the mounts, and
// that links stay in the root, mount or root filesystem, they are in.
func TestCtrFSResolve(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	for _, d := range []string{"rootfs/etc", "rootfs/data", "vol", "bind", "ro"} {
		if err := os.MkdirAll(filepath.Join(tmp, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"rootfs/etc/passwd", "rootfs/data/shadowed", "vol/x", "bind/y", "app.conf"} {
		if err := os.WriteFile(filepath.Join(tmp, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"rootfs/link": "/data", "rootfs/rel": "data", "rootfs/escape": "/", "rootfs/loop": "loop",
		"vol/abs": "/etc/passwd", "vol/up": "../../..", "vol/self": "/data/x",
	} {
		if err := os.Symlink(target, filepath.Join(tmp, link)); err != nil {
			t.Fatal(err)
		}
	}
	mounts := func() map[string]*cpMount {
		return map[string]*cpMount{
			"/data":         {dest: "/data", typ: specgen.MountTypeVolume, source: filepath.Join(tmp, "vol")},
			"/data/sub":     {dest: "/data/sub", typ: specgen.MountTypeBind, source: filepath.Join(tmp, "bind")},
			"/ro":           {dest: "/ro", typ: specgen.MountTypeBind, source: filepath.Join(tmp, "ro"), readOnly: true},
			"/etc/app.conf": {dest: "/etc/app.conf", typ: specgen.MountTypeBind, source: filepath.Join(tmp, "app.conf")},
		}
	}
	for _, tc := range []struct {
		path          string
		follow, write bool
		running       bool
		root, host    string // under tmp
		wantErr       error
	}{
		{path: "/etc/passwd", follow: true, root: "rootfs", host: "rootfs/etc/passwd"},
		{path: "/data", root: "vol", host: "vol"},
		{path: "/data/", follow: true, root: "vol", host: "vol"},
		{path: "/data/x", root: "vol", host: "vol/x"},
		{path: "/data/shadowed", root: "vol", host: "vol/shadowed"},
		{path: "/link/x", root: "vol", host: "vol/x"},
		{path: "/rel/x", root: "vol", host: "vol/x"},
		{path: "/link", root: "rootfs", host: "rootfs/link"},
		{path: "/link", follow: true, root: "vol", host: "vol"},
		{path: "/escape/data/x", root: "vol", host: "vol/x"},
		{path: "/data/../data/x", root: "vol", host: "vol/x"},
		{path: "/data/abs", root: "vol", host: "vol/abs"},
		{path: "/data/abs", follow: true, root: "vol", host: "vol/etc/passwd"},
		{path: "/data/up/x", root: "vol", host: "vol/x"},
		{path: "/data/self", follow: true, root: "vol", host: "vol/data/x"},
		{path: "/data/sub/y", root: "bind", host: "bind/y"},
		{path: "/link/sub", follow: true, root: "bind", host: "bind"},
		{path: "/loop", follow: true, wantErr: syscall.ELOOP},
		{path: "/ro/f", root: "ro", host: "ro/f"},
		{path: "/ro/f", write: true, wantErr: define.ErrInvalidArg},
		{path: "/etc/app.conf", write: true, root: ".", host: "app.conf"},
		{path: "/etc/app.conf", root: ".", host: "app.conf", running: true},
		{path: "/etc/app.conf", write: true, running: true, wantErr: define.ErrInvalidArg},
	} {
		f := &ctrFS{rootfs: filepath.Join(tmp, "rootfs"), mounts: mounts(), running: tc.running,
			open: func(m *cpMount) (string, error) { return m.source, nil }}
		root, host, err := f.resolve(tc.path, tc.follow, tc.write)
		if tc.wantErr != nil {
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("resolve(%q, follow %v, write %v): error %v, want %v", tc.path, tc.follow, tc.write, err, tc.wantErr)
			}
			continue
		}
		wantRoot, wantHost := filepath.Join(tmp, tc.root), filepath.Join(tmp, tc.host)
		if err != nil || root != wantRoot || host != wantHost {
			t.Errorf("resolve(%q, follow %v, write %v) = %q, %q, %v; want %q, %q",
				tc.path, tc.follow, tc.write, root, host, err, wantRoot, wantHost)
		}
	}
}

// TestCtrFSOpensLazily checks that only the mounts a path crosses are
// opened, once each.
func TestCtrFSOpensLazily(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	opened := map[string]int{}
	f := &ctrFS{rootfs: tmp, mounts: map[string]*cpMount{
		"/a": {dest: "/a", typ: specgen.MountTypeVolume, source: tmp},
		"/b": {dest: "/b", typ: specgen.MountTypeVolume, source: tmp},
	}, open: func(m *cpMount) (string, error) {
		opened[m.dest]++
		return m.source, nil
	}}
	for range 2 {
		if _, _, err := f.resolve("/a/x", true, false); err != nil {
			t.Fatal(err)
		}
	}
	if len(opened) != 1 || opened["/a"] != 1 {
		t.Fatalf("opened %v, want /a once", opened)
	}
	failing := &ctrFS{rootfs: tmp, mounts: map[string]*cpMount{"/t": {dest: "/t", typ: specgen.MountTypeTmpfs}},
		open: func(*cpMount) (string, error) { return "", define.ErrCtrStateInvalid }}
	if _, _, err := failing.resolve("/t/x", true, true); !errors.Is(err, define.ErrCtrStateInvalid) {
		t.Fatalf("a mount that cannot be opened: %v", err)
	}
}
