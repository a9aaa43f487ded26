package specgen

import (
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/engine-oss/engine/pkg/libengine/define"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func idm(c, h, n uint32) specs.LinuxIDMapping {
	return specs.LinuxIDMapping{ContainerID: c, HostID: h, Size: n}
}

func TestParseUserNS(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in      string
		want    UserNS
		errPart string
	}{
		{"", UserNS{}, ""},
		{"host", UserNS{}, ""},
		{"keep-id", UserNS{Mode: "keep-id"}, ""},
		{"keep-id:uid=200,gid=210", UserNS{Mode: "keep-id", UID: ptr(uint32(200)), GID: ptr(uint32(210))}, ""},
		{"nomap", UserNS{Mode: "nomap"}, ""},
		{"auto", UserNS{Mode: "auto"}, ""},
		{"auto:size=2048", UserNS{Mode: "auto", Size: 2048}, ""},
		{"ns:/proc/1/ns/user", UserNS{Mode: "ns", Path: "/proc/1/ns/user"}, ""},
		{"private", UserNS{}, "use host, keep-id"},
		{"host:x", UserNS{}, "host takes no options"},
		{"nomap:x", UserNS{}, "nomap takes no options"},
		{"ns:relative", UserNS{}, "absolute path"},
		{"keep-id:uid=x", UserNS{}, `"uid=x" needs a number`},
		{"keep-id:size=1", UserNS{}, "keep-id takes uid=N and gid=N"},
		{"keep-id:uid=1,uid=2", UserNS{}, "once each"},
		{"auto:size=0", UserNS{}, "auto takes size=N"},
		{"auto:uidmapping=0:1:2", UserNS{}, `"uidmapping=0:1:2" needs a number`},
	} {
		got, err := ParseUserNS(tc.in)
		if tc.errPart != "" {
			wantErr(t, err, define.ErrInvalidArg, "--userns", tc.errPart)
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseUserNS(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseIDMap(t *testing.T) {
	t.Parallel()
	got, err := ParseIDMap("--uidmap", "0:1:65536")
	if err != nil || got != idm(0, 1, 65536) {
		t.Fatalf("got %+v, %v", got, err)
	}
	for _, bad := range []string{"0:1", "0:1:0", "a:1:2", "0:1:2:3", "4294967290:0:10", "+0:1:2", "0:@1:2"} {
		_, err := ParseIDMap("--uidmap", bad)
		wantErr(t, err, define.ErrInvalidArg, "--uidmap", bad, "CONTAINER-ID:HOST-ID:SIZE")
	}
}

func TestValidateUserNS(t *testing.T) {
	t.Parallel()
	ok := IDMappings{UIDMap: []specs.LinuxIDMapping{idm(0, 1, 1000)}, GIDMap: []specs.LinuxIDMapping{idm(0, 1, 1000)}}
	for _, tc := range []struct {
		name  string
		s     SpecGenerator
		parts []string
	}{
		{"bad mode", SpecGenerator{Namespaces: Namespaces{User: "bogus"}}, []string{"--userns", "bogus"}},
		{"maps with a mode", SpecGenerator{Namespaces: Namespaces{User: "keep-id"}, IDMappings: ok}, []string{"--userns keep-id and --uidmap/--gidmap conflict"}},
		{"uid map only", SpecGenerator{IDMappings: IDMappings{UIDMap: ok.UIDMap}}, []string{"give both"}},
		{"container overlap", SpecGenerator{IDMappings: IDMappings{UIDMap: []specs.LinuxIDMapping{idm(0, 1, 10), idm(5, 100, 10)}, GIDMap: ok.GIDMap}},
			[]string{"--uidmap 0:1:10 and 5:100:10", "container IDs overlap"}},
		{"host overlap", SpecGenerator{IDMappings: IDMappings{UIDMap: ok.UIDMap, GIDMap: []specs.LinuxIDMapping{idm(0, 1, 10), idm(10, 5, 10)}}},
			[]string{"--gidmap 0:1:10 and 10:5:10", "host IDs overlap"}},
	} {
		tc.s.Image = "busybox"
		wantErr(t, tc.s.Validate(), define.ErrInvalidArg, tc.parts...)
	}
	s := SpecGenerator{Image: "busybox", IDMappings: ok}
	if err := s.Validate(); err != nil {
		t.Fatalf("valid maps: %v", err)
	}
}

func TestContainerIDMaps(t *testing.T) {
	t.Parallel()
	// The engine's namespace of a user 1000 with 65536 subordinate IDs.
	engine := []specs.LinuxIDMapping{idm(0, 1000, 1), idm(1, 100000, 65536)}
	rootless := EngineUserNS{Rootless: true, UID: 1000, GID: 1000, UIDMap: engine, GIDMap: engine}
	root := EngineUserNS{UIDMap: []specs.LinuxIDMapping{idm(0, 0, maxID)}, GIDMap: []specs.LinuxIDMapping{idm(0, 0, maxID)}}
	single := EngineUserNS{Rootless: true, UID: 1000, GID: 1000, UIDMap: engine[:1], GIDMap: engine[:1]}
	keep1000 := []specs.LinuxIDMapping{idm(0, 1, 1000), idm(1000, 0, 1), idm(1001, 1001, 64536)}
	for _, tc := range []struct {
		name    string
		s       SpecGenerator
		host    EngineUserNS
		want    ContainerIDMaps
		errPart string
	}{
		{"host", SpecGenerator{}, rootless, ContainerIDMaps{}, ""},
		{"keep-id", SpecGenerator{Namespaces: Namespaces{User: "keep-id"}}, rootless,
			ContainerIDMaps{IDMappings: IDMappings{UIDMap: keep1000, GIDMap: keep1000}}, ""},
		{"keep-id with ids", SpecGenerator{Namespaces: Namespaces{User: "keep-id:uid=0,gid=70000"}}, rootless,
			ContainerIDMaps{IDMappings: IDMappings{
				UIDMap: []specs.LinuxIDMapping{idm(0, 0, 1), idm(1, 1, 65536)},
				GIDMap: []specs.LinuxIDMapping{idm(0, 1, 65536), idm(70000, 0, 1)},
			}}, ""},
		{"keep-id without subordinate ids", SpecGenerator{Namespaces: Namespaces{User: "keep-id"}}, single,
			ContainerIDMaps{IDMappings: IDMappings{UIDMap: []specs.LinuxIDMapping{idm(1000, 0, 1)}, GIDMap: []specs.LinuxIDMapping{idm(1000, 0, 1)}}}, ""},
		{"nomap", SpecGenerator{Namespaces: Namespaces{User: "nomap"}}, rootless,
			ContainerIDMaps{IDMappings: IDMappings{UIDMap: []specs.LinuxIDMapping{idm(0, 1, 65536)}, GIDMap: []specs.LinuxIDMapping{idm(0, 1, 65536)}}}, ""},
		{"nomap without subordinate ids", SpecGenerator{Namespaces: Namespaces{User: "nomap"}}, single, ContainerIDMaps{}, "no subordinate IDs"},
		{"keep-id as root", SpecGenerator{Namespaces: Namespaces{User: "keep-id"}}, root, ContainerIDMaps{}, "only an unprivileged user's engine"},
		{"auto", SpecGenerator{Namespaces: Namespaces{User: "auto:size=500"}}, rootless, ContainerIDMaps{Auto: true, AutoSize: 500}, ""},
		{"uidmap", SpecGenerator{IDMappings: IDMappings{UIDMap: []specs.LinuxIDMapping{idm(0, 1, 65536)}, GIDMap: []specs.LinuxIDMapping{idm(0, 1, 65536)}}}, rootless,
			ContainerIDMaps{IDMappings: IDMappings{UIDMap: []specs.LinuxIDMapping{idm(0, 1, 65536)}, GIDMap: []specs.LinuxIDMapping{idm(0, 1, 65536)}}}, ""},
		{"uidmap beyond the namespace", SpecGenerator{IDMappings: IDMappings{UIDMap: []specs.LinuxIDMapping{idm(0, 100000, 1000)}, GIDMap: []specs.LinuxIDMapping{idm(0, 1, 1)}}}, rootless,
			ContainerIDMaps{}, "--uidmap 0:100000:1000: the engine's user namespace has IDs 0-65536 only (0 is you"},
		{"ns: not under /proc", SpecGenerator{Namespaces: Namespaces{User: "ns:/run/userns/x"}}, rootless, ContainerIDMaps{}, "/proc/PID/ns/user"},
	} {
		got, err := tc.s.ContainerIDMaps(tc.host)
		if tc.errPart != "" {
			wantErr(t, err, define.ErrInvalidArg, tc.errPart)
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %+v, %v\nwant %+v", tc.name, got, err, tc.want)
		}
	}
}

func TestContainerIDMapsNamespacePath(t *testing.T) {
	t.Parallel()
	own := SpecGenerator{Namespaces: Namespaces{User: fmt.Sprintf("ns:/proc/%d/ns/user", os.Getpid())}}
	_, err := own.ContainerIDMaps(EngineUserNS{})
	wantErr(t, err, define.ErrInvalidArg, "the engine's own user namespace", "--userns host")

	// A process in a user namespace of its own, mapping 0 to the test's uid.
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
	}
	if err := cmd.Start(); err != nil {
		t.Skipf("cannot create a user namespace here: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	s := SpecGenerator{Namespaces: Namespaces{User: fmt.Sprintf("ns:/proc/%d/ns/user", cmd.Process.Pid)}}
	got, err := s.ContainerIDMaps(EngineUserNS{})
	want := []specs.LinuxIDMapping{idm(0, uint32(os.Getuid()), 1)}
	if err != nil || !reflect.DeepEqual(got.UIDMap, want) || len(got.GIDMap) != 1 {
		t.Fatalf("got %+v, %v; want the child's uid map %+v", got, err, want)
	}
}

func TestGenerateUserNS(t *testing.T) {
	t.Parallel()
	keep := []specs.LinuxIDMapping{idm(0, 1, 1500), idm(1500, 0, 1), idm(1501, 1501, 100)}
	env := testEnv(t)
	env.Rootless = true
	env.UIDMap, env.GIDMap = keep, keep
	spec := generate(t, &SpecGenerator{Namespaces: Namespaces{User: "keep-id"}}, testImage, env)
	if !slices.Contains(nsTypes(spec), "user") || !reflect.DeepEqual(spec.Linux.UIDMappings, keep) || !reflect.DeepEqual(spec.Linux.GIDMappings, keep) {
		t.Fatalf("keep-id: namespaces %v, maps %v %v", nsTypes(spec), spec.Linux.UIDMappings, spec.Linux.GIDMappings)
	}
	if u := spec.Process.User; u.UID != 1500 || u.GID != 1500 {
		t.Errorf("keep-id runs as %d:%d, want the user's 1500:1500", u.UID, u.GID)
	}
	files, err := RunDirFiles(&SpecGenerator{Namespaces: Namespaces{User: "keep-id"}}, testImage, env)
	if err != nil || !slices.Contains(strings.Split(string(files[PasswdFile]), "\n"), "1500:*:1500:1500:container user:/:/bin/sh") {
		t.Errorf("keep-id passwd %q, %v", files[PasswdFile], err)
	}
	spec = generate(t, &SpecGenerator{User: "0", Namespaces: Namespaces{User: "keep-id"}}, testImage, env)
	if spec.Process.User.UID != 0 {
		t.Errorf("--user 0 with keep-id runs as %d", spec.Process.User.UID)
	}

	spec = generate(t, &SpecGenerator{Namespaces: Namespaces{User: "ns:/proc/1/ns/user"}}, testImage, env)
	if i := slices.IndexFunc(spec.Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == specs.UserNamespace }); i < 0 || spec.Linux.Namespaces[i].Path != "/proc/1/ns/user" {
		t.Errorf("ns:PATH namespaces %v", spec.Linux.Namespaces)
	}

	env.UIDMap, env.GIDMap = nil, nil
	spec = generate(t, &SpecGenerator{}, testImage, env)
	if slices.Contains(nsTypes(spec), "user") || spec.Linux.UIDMappings != nil {
		t.Errorf("host: namespaces %v maps %v", nsTypes(spec), spec.Linux.UIDMappings)
	}
	_, err = Generate(&SpecGenerator{Image: "x", Namespaces: Namespaces{User: "keep-id"}}, testImage, env)
	wantErr(t, err, define.ErrInvalidArg, "no ID maps")
}

func TestDevPtsGID(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	env.Rootless = true
	for _, tc := range []struct {
		name        string
		engine, ctr []specs.LinuxIDMapping
		wantGID5    bool
	}{
		{"root", nil, nil, true},
		{"subordinate ids", []specs.LinuxIDMapping{idm(0, 1000, 1), idm(1, 100000, 65536)}, nil, true},
		{"own id only", []specs.LinuxIDMapping{idm(0, 1000, 1)}, nil, false},
		{"container map without 5", []specs.LinuxIDMapping{idm(0, 1000, 1), idm(1, 100000, 65536)}, []specs.LinuxIDMapping{idm(1000, 0, 1)}, false},
	} {
		env.EngineGIDMap, env.GIDMap, env.UIDMap = tc.engine, tc.ctr, tc.ctr
		s := &SpecGenerator{}
		if tc.ctr != nil {
			s.IDMappings = IDMappings{UIDMap: tc.ctr, GIDMap: tc.ctr}
		}
		m := mountByDest(generate(t, s, testImage, env), "/dev/pts")
		if got := slices.Contains(m.Options, "gid=5"); got != tc.wantGID5 {
			t.Errorf("%s: /dev/pts options %v, want gid=5: %v", tc.name, m.Options, tc.wantGID5)
		}
	}
}
