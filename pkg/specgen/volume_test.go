package specgen

import (
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/engine-oss/engine/pkg/libengine/define"
)

func TestParseMount(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing")
	for _, tc := range []struct {
		in   string
		want Mount
		err  error
		say  []string
	}{
		{"type=bind,source=" + dir + ",target=/data", Mount{Type: "bind", Source: dir, Destination: "/data"}, nil, nil},
		{"type=bind,src=" + dir + ",dst=/data/,readonly,bind-propagation=rshared,relabel=private,consistency=cached",
			Mount{Type: "bind", Source: dir, Destination: "/data", Options: []string{"ro", "rshared", "Z"}}, nil, nil},
		{"type=bind,source=" + dir + ",destination=/d,ro=false,nosuid,bind-nonrecursive",
			Mount{Type: "bind", Source: dir, Destination: "/d", Options: []string{"nosuid", "bind"}}, nil, nil},
		{"type=bind,source=" + dir + ",target=/d,rw=false", Mount{Type: "bind", Source: dir, Destination: "/d", Options: []string{"ro"}}, nil, nil},
		{"type=bind,target=" + dir, Mount{Type: "bind", Source: dir, Destination: dir}, nil, nil},
		{"type=volume,source=data,target=/data,ro,nocopy,U", Mount{Type: "volume", Source: "data", Destination: "/data", Options: []string{"ro", "nocopy", "U"}}, nil, nil},
		{"type=volume,target=/data,volume-nocopy,chown=false", Mount{Type: "volume", Destination: "/data", Options: []string{"nocopy"}}, nil, nil},
		{"type=tmpfs,target=/t,tmpfs-size=1m,tmpfs-mode=1777,notmpcopyup", Mount{Type: "tmpfs", Destination: "/t", Options: []string{"size=1m", "mode=1777", "notmpcopyup"}}, nil, nil},
		{"target=/t,type=image,source=busybox,rw=false", Mount{Type: "image", Source: "busybox", Destination: "/t"}, nil, nil},
		{`type=bind,"source=` + dir + `",target=/x`, Mount{Type: "bind", Source: dir, Destination: "/x"}, nil, nil},

		{"source=data,target=/data", Mount{}, define.ErrInvalidArg, []string{"type= is missing"}},
		{"type=nfs,target=/data", Mount{}, define.ErrInvalidArg, []string{`unknown mount type "nfs"`}},
		{"type=devpts,target=/dev/pts", Mount{}, define.ErrNotImplemented, []string{"devpts"}},
		{"type=volume,source=data", Mount{}, define.ErrInvalidArg, []string{"target= is missing"}},
		{"type=volume,source=a/b,target=/d", Mount{}, define.ErrInvalidArg, []string{"invalid volume name"}},
		{"type=volume,source=data,target=/d,bogus", Mount{}, define.ErrInvalidArg, []string{`unknown option "bogus"`}},
		{"type=volume,source=data,target=/d,what=ever", Mount{}, define.ErrInvalidArg, []string{`unknown option "what"`}},
		{"type=volume,source=data,target=/d,bind-propagation=shared", Mount{}, define.ErrInvalidArg, []string{"does not apply to a volume mount"}},
		{"type=volume,source=data,target=/d,ro,rw", Mount{}, define.ErrInvalidArg, []string{"twice or conflicts"}},
		{"type=volume,source=data,source=other,target=/d", Mount{}, define.ErrInvalidArg, []string{"twice"}},
		{"type=volume,source=,target=/d", Mount{}, define.ErrInvalidArg, []string{"source needs a value"}},
		{"type=volume,source=data,target=/d,U=maybe", Mount{}, define.ErrInvalidArg, []string{"U=true or U=false"}},
		{"type=bind,source=" + missing + ",target=/d", Mount{}, define.ErrInvalidArg, []string{missing, "does not exist"}},
		{"type=bind,source=rel,target=/d", Mount{}, define.ErrInvalidArg, []string{"not absolute"}},
		{"type=bind,source=" + dir + ",target=/d,U", Mount{Type: "bind", Source: dir, Destination: "/d", Options: []string{"U"}}, nil, nil},
		{"type=tmpfs,source=x,target=/d", Mount{}, define.ErrInvalidArg, []string{"does not apply to a tmpfs mount"}},
		{"type=tmpfs,target=/d,tmpfs-size=huge", Mount{}, define.ErrInvalidArg, []string{"invalid value"}},
		{"type=image,target=/d", Mount{}, define.ErrInvalidArg, []string{"source= is missing"}},
		{"type=image,source=busybox,target=/d,rw", Mount{}, define.ErrNotImplemented, []string{"read-write image mounts"}},
		{"type=image,source=busybox,target=/d,nosuid", Mount{}, define.ErrInvalidArg, []string{"unknown option"}},
		{"type=volume,target=relative", Mount{}, define.ErrInvalidArg, []string{"not absolute"}},
	} {
		got, err := ParseMount(tc.in)
		if tc.err == nil && err != nil {
			t.Errorf("ParseMount(%q): %v", tc.in, err)
			continue
		}
		if tc.err != nil {
			wantErr(t, err, tc.err, append([]string{"--mount"}, tc.say...)...)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseMount(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestParseVolumesFrom(t *testing.T) {
	t.Parallel()
	yes, no := true, false
	for _, tc := range []struct {
		in   string
		ctr  string
		ro   *bool
		err  error
		says string
	}{
		{"web", "web", nil, nil, ""},
		{"web:ro", "web", &yes, nil, ""},
		{"web:rw,z", "web", &no, nil, ""},
		{"web:ro,rw", "", nil, define.ErrInvalidArg, "once"},
		{"web:bogus", "", nil, define.ErrInvalidArg, `unknown option "bogus"`},
		{":ro", "", nil, define.ErrInvalidArg, "container is missing"},
	} {
		ctr, ro, err := ParseVolumesFrom(tc.in)
		if tc.err != nil {
			wantErr(t, err, tc.err, "--volumes-from", tc.says)
			continue
		}
		if err != nil || ctr != tc.ctr || !reflect.DeepEqual(ro, tc.ro) {
			t.Errorf("ParseVolumesFrom(%q) = %q, %v, %v", tc.in, ctr, ro, err)
		}
	}
}

func TestValidVolumeName(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"data": true, "a": true, "0x_y.z-1": true, strings64(): true,
		"": false, "-a": false, ".a": false, "_a": false, "a/b": false, "a b": false, "a:b": false,
	} {
		if got := ValidVolumeName(name); got != want {
			t.Errorf("ValidVolumeName(%q) = %v, want %v", name, got, want)
		}
	}
}

func strings64() string { return "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" }

func TestGenerateVolumeMounts(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	vol, img := t.TempDir(), t.TempDir()
	env.MountSources = map[string]string{"/data": vol, "/img": img}
	spec := generate(t, &SpecGenerator{Mounts: []Mount{
		{Type: "volume", Source: "data", Destination: "/data", Options: []string{"ro", "nocopy", "U", "z"}},
		{Type: "image", Source: "0123", Destination: "/img"},
	}}, testImage, env)
	for dest, src := range env.MountSources {
		m := mountByDest(spec, dest)
		if m == nil || m.Type != "bind" || m.Source != src || !slices.Contains(m.Options, "ro") || !slices.Contains(m.Options, "rbind") {
			t.Errorf("%s: %+v", dest, m)
			continue
		}
		for _, o := range []string{"nocopy", "U", "z"} {
			if slices.Contains(m.Options, o) {
				t.Errorf("%s: engine-only option %s reached the runtime: %+v", dest, o, m)
			}
		}
	}
	_, err := Generate(&SpecGenerator{Image: "x", Mounts: []Mount{{Type: "volume", Source: "v", Destination: "/elsewhere"}}}, testImage, env)
	wantErr(t, err, define.ErrInvalidArg, "mount on /elsewhere")
}
