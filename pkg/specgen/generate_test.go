package specgen

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/engine-oss/engine/pkg/libengine/define"
	imgspec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

const testID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func testEnv(t *testing.T) GenerateEnv {
	t.Helper()
	return GenerateEnv{ID: testID, RootFS: t.TempDir(), CgroupVersion: 2, EtcPasswd: testPasswd, EtcGroup: testGroup}
}

var testImage = imgspec.ImageConfig{Cmd: []string{"/bin/sh"}, Env: []string{"PATH=/image/bin", "LANG=C.UTF-8"}}

func generate(t *testing.T, s *SpecGenerator, img imgspec.ImageConfig, env GenerateEnv) *specs.Spec {
	t.Helper()
	if s.Image == "" {
		s.Image = "busybox"
	}
	spec, err := Generate(s, img, env)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return spec
}

func mountByDest(spec *specs.Spec, dest string) *specs.Mount {
	for i := range spec.Mounts {
		if spec.Mounts[i].Destination == dest {
			return &spec.Mounts[i]
		}
	}
	return nil
}

func nsTypes(spec *specs.Spec) []string {
	var out []string
	for _, ns := range spec.Linux.Namespaces {
		out = append(out, string(ns.Type)+ns.Path)
	}
	return out
}

func TestGenerateDefaults(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	spec := generate(t, &SpecGenerator{}, testImage, env)

	if spec.Version != "1.1.0" || spec.Root.Path != env.RootFS || spec.Root.Readonly {
		t.Errorf("version/root = %s %+v", spec.Version, spec.Root)
	}
	if spec.Hostname != testID[:12] {
		t.Errorf("hostname = %q", spec.Hostname)
	}
	p := spec.Process
	if !reflect.DeepEqual(p.Args, []string{"/bin/sh"}) || p.Cwd != "/" || p.Terminal {
		t.Errorf("args %q cwd %q terminal %v", p.Args, p.Cwd, p.Terminal)
	}
	wantEnv := []string{"PATH=/image/bin", "TERM=xterm", "container=oci", "LANG=C.UTF-8", "HOSTNAME=" + testID[:12], "HOME=/root"}
	if !reflect.DeepEqual(p.Env, wantEnv) {
		t.Errorf("env = %q, want %q", p.Env, wantEnv)
	}
	if p.User.UID != 0 || p.User.GID != 0 || *p.User.Umask != 0o022 || !reflect.DeepEqual(p.User.AdditionalGids, []uint32{1, 10}) {
		t.Errorf("user = %+v", p.User)
	}
	caps := p.Capabilities
	if capMask(caps.Bounding) != podmanDefaultCapMask || capMask(caps.Effective) != podmanDefaultCapMask ||
		capMask(caps.Permitted) != podmanDefaultCapMask || len(caps.Inheritable) != 0 || len(caps.Ambient) != 0 {
		t.Errorf("capabilities = %+v", caps)
	}
	if p.NoNewPrivileges || p.OOMScoreAdj != nil {
		t.Errorf("noNewPrivileges %v oomScoreAdj %v", p.NoNewPrivileges, p.OOMScoreAdj)
	}
	wantRlimits := []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1048576, Soft: 1048576}, {Type: "RLIMIT_NPROC", Hard: 4194304, Soft: 4194304}}
	if !reflect.DeepEqual(p.Rlimits, wantRlimits) {
		t.Errorf("rlimits = %+v", p.Rlimits)
	}

	l := spec.Linux
	if got := nsTypes(spec); !reflect.DeepEqual(got, []string{"pid", "network", "ipc", "uts", "mount", "cgroup"}) {
		t.Errorf("namespaces = %v", got)
	}
	if !reflect.DeepEqual(l.MaskedPaths, DefaultMaskedPaths) || !reflect.DeepEqual(l.ReadonlyPaths, DefaultReadonlyPaths) {
		t.Errorf("masked %v readonly %v", l.MaskedPaths, l.ReadonlyPaths)
	}
	for _, want := range []string{"/proc/kcore", "/proc/keys", "/sys/firmware", "/proc/acpi"} {
		if !slices.Contains(l.MaskedPaths, want) {
			t.Errorf("%s not masked", want)
		}
	}
	if l.Seccomp == nil || l.Seccomp.DefaultAction != specs.ActErrno || len(l.Seccomp.Syscalls) == 0 {
		t.Errorf("default seccomp profile missing: %+v", l.Seccomp)
	}
	if l.RootfsPropagation != "rprivate" || l.CgroupsPath != "" || len(l.Sysctl) != 0 {
		t.Errorf("propagation %q cgroupsPath %q sysctl %v", l.RootfsPropagation, l.CgroupsPath, l.Sysctl)
	}
	if l.Resources.Pids == nil || *l.Resources.Pids.Limit != DefaultPidsLimit || l.Resources.Memory != nil || l.Resources.CPU != nil {
		t.Errorf("resources = %+v", l.Resources)
	}
	if rules := l.Resources.Devices; len(rules) != 9 || rules[0].Allow || rules[0].Access != "rwm" {
		t.Errorf("device rules = %+v", rules)
	}
	if len(l.Devices) != 0 {
		t.Errorf("devices = %+v", l.Devices)
	}
	if spec.Annotations[ManagerAnnotation] != "engine" || spec.Hooks != nil {
		t.Errorf("annotations %v hooks %v", spec.Annotations, spec.Hooks)
	}

	var dests []string
	for _, m := range spec.Mounts {
		dests = append(dests, m.Destination+":"+m.Type)
	}
	wantMounts := []string{"/proc:proc", "/dev:tmpfs", "/sys:sysfs", "/dev/pts:devpts", "/dev/shm:tmpfs", "/dev/mqueue:mqueue", "/sys/fs/cgroup:cgroup"}
	if !reflect.DeepEqual(dests, wantMounts) {
		t.Errorf("mounts = %v, want %v", dests, wantMounts)
	}
	if m := mountByDest(spec, "/dev/shm"); !slices.Contains(m.Options, "size=65536k") || !slices.Contains(m.Options, "mode=1777") {
		t.Errorf("/dev/shm options %v", m.Options)
	}
	if m := mountByDest(spec, "/sys"); !slices.Contains(m.Options, "ro") {
		t.Errorf("/sys options %v", m.Options)
	}
	if m := mountByDest(spec, "/sys/fs/cgroup"); !slices.Contains(m.Options, "ro") {
		t.Errorf("/sys/fs/cgroup options %v", m.Options)
	}
}

func TestGenerateCgroupV1(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	env.CgroupVersion = 1
	spec := generate(t, &SpecGenerator{}, testImage, env)
	if got := nsTypes(spec); !reflect.DeepEqual(got, []string{"pid", "network", "ipc", "uts", "mount"}) {
		t.Errorf("namespaces on cgroup v1 = %v", got)
	}
	spec = generate(t, &SpecGenerator{Namespaces: Namespaces{Cgroup: "private"}}, testImage, env)
	if got := nsTypes(spec); !slices.Contains(got, "cgroup") {
		t.Errorf("--cgroupns private on v1: namespaces = %v", got)
	}
}

func TestGenerateNamespaces(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	spec := generate(t, &SpecGenerator{Namespaces: Namespaces{
		Network: "ns:/run/netns/blue", PID: "host", IPC: "ns:/proc/7/ns/ipc", UTS: "host", Cgroup: "host",
	}}, testImage, env)
	if got := nsTypes(spec); !reflect.DeepEqual(got, []string{"network/run/netns/blue", "ipc/proc/7/ns/ipc", "mount"}) {
		t.Errorf("namespaces = %v", got)
	}
	if spec.Hostname != "" || slices.ContainsFunc(spec.Process.Env, func(e string) bool { return strings.HasPrefix(e, "HOSTNAME=") }) {
		t.Errorf("--uts host: hostname %q env %v", spec.Hostname, spec.Process.Env)
	}
	hostEnv := env
	hostEnv.HostHostname = "myhost"
	spec = generate(t, &SpecGenerator{Namespaces: Namespaces{UTS: "host"}}, testImage, hostEnv)
	if spec.Hostname != "" || !slices.Contains(spec.Process.Env, "HOSTNAME=myhost") {
		t.Errorf("--uts host with the host's name known: hostname %q env %v", spec.Hostname, spec.Process.Env)
	}
	spec = generate(t, &SpecGenerator{Hostname: "web", Namespaces: Namespaces{Network: "host"}}, testImage, env)
	if got := nsTypes(spec); slices.Contains(got, "network") {
		t.Errorf("--network host: namespaces = %v", got)
	}
	if spec.Hostname != "web" || !slices.Contains(spec.Process.Env, "HOSTNAME=web") {
		t.Errorf("--hostname: %q %v", spec.Hostname, spec.Process.Env)
	}
	if m := mountByDest(spec, "/sys"); m.Type != "sysfs" {
		t.Errorf("rootful --network host: /sys %+v", m)
	}
}

func TestGeneratePodMember(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	env.JoinPaths = map[specs.LinuxNamespaceType]string{specs.IPCNamespace: "/proc/7/ns/ipc", specs.UTSNamespace: "/proc/7/ns/uts"}
	env.ShmDir, env.HostHostname = "/run/pod/shm", "podhost"
	s := &SpecGenerator{Pod: "p1", Namespaces: Namespaces{Network: "ns:/run/netns/p", IPC: "container:infra", UTS: "container:infra"}}
	spec := generate(t, s, testImage, env)
	if got := nsTypes(spec); !reflect.DeepEqual(got, []string{"pid", "network/run/netns/p", "ipc/proc/7/ns/ipc", "uts/proc/7/ns/uts", "mount", "cgroup"}) {
		t.Errorf("namespaces = %v", got)
	}
	if m := mountByDest(spec, "/dev/shm"); m == nil || m.Type != "bind" || m.Source != "/run/pod/shm" {
		t.Errorf("/dev/shm = %+v, want a bind of the pod's", m)
	}
	if spec.Hostname != "" || !slices.Contains(spec.Process.Env, "HOSTNAME=podhost") {
		t.Errorf("shared UTS: hostname %q env %v", spec.Hostname, spec.Process.Env)
	}
	env.JoinPaths = nil
	if _, err := Generate(s, testImage, env); err == nil {
		t.Error("container:ID modes without JoinPaths: no error")
	}
	// The infra container joins the namespaces the engine made for the pod.
	env = testEnv(t)
	env.JoinPaths = map[specs.LinuxNamespaceType]string{specs.IPCNamespace: "/run/pod/ipc", specs.UTSNamespace: "/run/pod/uts"}
	spec = generate(t, &SpecGenerator{Hostname: "podhost", Namespaces: Namespaces{Network: "none"}}, testImage, env)
	if got := nsTypes(spec); !reflect.DeepEqual(got, []string{"pid", "network", "ipc/run/pod/ipc", "uts/run/pod/uts", "mount", "cgroup"}) {
		t.Errorf("infra namespaces = %v", got)
	}
	if spec.Hostname != "" || !slices.Contains(spec.Process.Env, "HOSTNAME=podhost") {
		t.Errorf("joined UTS: hostname %q env %v", spec.Hostname, spec.Process.Env)
	}
}

func TestGenerateProcessArgs(t *testing.T) {
	t.Parallel()
	img := imgspec.ImageConfig{Entrypoint: []string{"/entry", "-x"}, Cmd: []string{"serve"}}
	for _, tc := range []struct {
		name       string
		img        imgspec.ImageConfig
		entrypoint *[]string
		cmd        []string
		want       []string
	}{
		{"image entrypoint and cmd", img, nil, nil, []string{"/entry", "-x", "serve"}},
		{"command replaces cmd", img, nil, []string{"run", "now"}, []string{"/entry", "-x", "run", "now"}},
		{"entrypoint drops image cmd", img, ptr([]string{"/bin/sh"}), nil, []string{"/bin/sh"}},
		{"entrypoint and command", img, ptr([]string{"/bin/sh", "-c"}), []string{"echo hi"}, []string{"/bin/sh", "-c", "echo hi"}},
		{"cleared entrypoint with command", img, ptr([]string{}), []string{"/bin/true"}, []string{"/bin/true"}},
		{"entrypoint of empty string counts as cleared", img, ptr([]string{""}), []string{"/bin/true"}, []string{"/bin/true"}},
		{"cmd only image", imgspec.ImageConfig{Cmd: []string{"/bin/sh"}}, nil, nil, []string{"/bin/sh"}},
		{"entrypoint only image", imgspec.ImageConfig{Entrypoint: []string{"/init"}}, nil, []string{"a"}, []string{"/init", "a"}},
	} {
		got, err := ProcessArgs(&SpecGenerator{Entrypoint: tc.entrypoint, Command: tc.cmd}, tc.img)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: args = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		name       string
		img        imgspec.ImageConfig
		entrypoint *[]string
	}{
		{"nothing at all", imgspec.ImageConfig{}, nil},
		{"cleared entrypoint without command", img, ptr([]string{})},
	} {
		_, err := ProcessArgs(&SpecGenerator{Entrypoint: tc.entrypoint}, tc.img)
		wantErr(t, err, define.ErrInvalidArg, "no command")
	}
}

func TestGenerateEnvAndUser(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	img := imgspec.ImageConfig{Cmd: []string{"x"}, User: "alice", WorkingDir: "/home/alice", Env: []string{"A=image", "B=image", "BROKEN"}}
	spec := generate(t, &SpecGenerator{Env: map[string]string{"B": "user", "HOSTNAME": "mine", "Z": "z", "C": "c"}}, img, env)
	want := []string{"PATH=" + DefaultPath, "TERM=xterm", "container=oci", "A=image", "B=user", "C=c", "HOSTNAME=mine", "Z=z", "HOME=/home/alice"}
	if !reflect.DeepEqual(spec.Process.Env, want) {
		t.Errorf("env = %q, want %q", spec.Process.Env, want)
	}
	p := spec.Process
	if p.User.UID != 1000 || p.User.GID != 1000 || p.Cwd != "/home/alice" {
		t.Errorf("image USER alice: user %+v cwd %q", p.User, p.Cwd)
	}
	// A non-root user has no effective capabilities unless added, as podman.
	if capMask(p.Capabilities.Bounding) != podmanDefaultCapMask || len(p.Capabilities.Effective) != 0 || len(p.Capabilities.Ambient) != 0 {
		t.Errorf("non-root capabilities = %+v", p.Capabilities)
	}

	spec = generate(t, &SpecGenerator{User: "0", WorkDir: "/srv", GroupAdd: []string{"staff"}, Env: map[string]string{"HOME": "/h"}}, img, env)
	p = spec.Process
	if p.User.UID != 0 || p.Cwd != "/srv" || !reflect.DeepEqual(p.User.AdditionalGids, []uint32{1, 10, 50}) || !slices.Contains(p.Env, "HOME=/h") {
		t.Errorf("--user 0: user %+v cwd %q env %q", p.User, p.Cwd, p.Env)
	}
	if capMask(p.Capabilities.Effective) != podmanDefaultCapMask {
		t.Errorf("--user 0 capabilities = %+v", p.Capabilities)
	}

	_, err := Generate(&SpecGenerator{Image: "x"}, imgspec.ImageConfig{Cmd: []string{"x"}, User: "bob"}, env)
	wantErr(t, err, define.ErrInvalidArg, "image USER", "bob", "/etc/passwd")
	_, err = Generate(&SpecGenerator{Image: "x", User: "bob"}, testImage, env)
	wantErr(t, err, define.ErrInvalidArg, "--user", "bob")
}

func TestGenerateTerminal(t *testing.T) {
	t.Parallel()
	spec := generate(t, &SpecGenerator{Terminal: true, Stdin: true}, testImage, testEnv(t))
	if !spec.Process.Terminal || !slices.Contains(spec.Process.Env, "TERM=xterm") {
		t.Errorf("terminal %v env %v", spec.Process.Terminal, spec.Process.Env)
	}
}

func TestGenerateSeccomp(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	profile := `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mount"],"action":"SCMP_ACT_ERRNO"},{"names":["chown"],"action":"SCMP_ACT_ERRNO","includes":{"caps":["CAP_SYS_ADMIN"]}}]}`
	bad := filepath.Join(dir, "bad.json")
	for f, data := range map[string]string{good: profile, bad: `{"defaultAction": `} {
		if err := os.WriteFile(f, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := testEnv(t)
	for _, tc := range []struct {
		name string
		sec  Security
		want string // "" none, else the default action
	}{
		{"default", Security{}, string(specs.ActErrno)},
		{"unconfined", Security{SeccompProfilePath: "unconfined"}, ""},
		{"privileged", Security{Privileged: true}, ""},
		{"file", Security{SeccompProfilePath: good}, string(specs.ActAllow)},
	} {
		spec := generate(t, &SpecGenerator{Security: tc.sec}, testImage, env)
		switch got := spec.Linux.Seccomp; {
		case tc.want == "" && got != nil:
			t.Errorf("%s: seccomp %+v, want none", tc.name, got)
		case tc.want != "" && (got == nil || string(got.DefaultAction) != tc.want):
			t.Errorf("%s: seccomp %+v, want default action %s", tc.name, got, tc.want)
		}
		if tc.name == "file" && len(spec.Linux.Seccomp.Syscalls) != 1 {
			t.Errorf("file profile: the rule that needs CAP_SYS_ADMIN should be left out: %+v", spec.Linux.Seccomp.Syscalls)
		}
	}
	_, err := Generate(&SpecGenerator{Image: "x", Security: Security{SeccompProfilePath: bad}}, testImage, env)
	wantErr(t, err, define.ErrInvalidArg, "seccomp="+bad, "not a seccomp profile")

	// Architectures the kernel cannot run leave the default profile.
	all := generate(t, &SpecGenerator{}, testImage, env).Linux.Seccomp.Architectures
	if len(all) < 2 {
		t.Skipf("the default profile has one architecture here (%v)", all)
	}
	env.DeadArches = []string{string(all[len(all)-1]), "SCMP_ARCH_NONESUCH"}
	trimmed := generate(t, &SpecGenerator{}, testImage, env).Linux.Seccomp.Architectures
	if !slices.Equal(trimmed, all[:len(all)-1]) {
		t.Errorf("architectures with %v dead: %v, want %v", env.DeadArches, trimmed, all[:len(all)-1])
	}
	missing := filepath.Join(dir, "missing.json")
	_, err = Generate(&SpecGenerator{Image: "x", Security: Security{SeccompProfilePath: missing}}, testImage, env)
	wantErr(t, err, define.ErrInvalidArg, "seccomp="+missing)
}

func TestGenerateRlimits(t *testing.T) {
	t.Parallel()
	host := []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 20000}}
	for _, tc := range []struct {
		name    string
		ulimits []specs.POSIXRlimit
		want    []specs.POSIXRlimit
		notes   int
	}{
		{"defaults clamped", nil, []specs.POSIXRlimit{
			{Type: "RLIMIT_NOFILE", Soft: 20000, Hard: 20000}, {Type: "RLIMIT_NPROC", Soft: DefaultNproc, Hard: DefaultNproc},
		}, 1},
		{"requested within limits", []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 4096}, {Type: "RLIMIT_CORE", Soft: 0, Hard: 0}}, []specs.POSIXRlimit{
			{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 4096}, {Type: "RLIMIT_NPROC", Soft: DefaultNproc, Hard: DefaultNproc}, {Type: "RLIMIT_CORE"},
		}, 0},
		{"requested above", []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 30000}}, []specs.POSIXRlimit{
			{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 20000}, {Type: "RLIMIT_NPROC", Soft: DefaultNproc, Hard: DefaultNproc},
		}, 1},
		{"unlimited", []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: Unlimited, Hard: Unlimited}}, []specs.POSIXRlimit{
			{Type: "RLIMIT_NOFILE", Soft: 20000, Hard: 20000}, {Type: "RLIMIT_NPROC", Soft: DefaultNproc, Hard: DefaultNproc},
		}, 1},
	} {
		var notes []string
		env := testEnv(t)
		env.HostRlimits = host
		env.Debugf = func(format string, args ...any) { notes = append(notes, fmt.Sprintf(format, args...)) }
		spec := generate(t, &SpecGenerator{Ulimits: tc.ulimits}, testImage, env)
		if !reflect.DeepEqual(spec.Process.Rlimits, tc.want) {
			t.Errorf("%s: rlimits = %+v, want %+v", tc.name, spec.Process.Rlimits, tc.want)
		}
		if len(notes) != tc.notes {
			t.Errorf("%s: notes = %q, want %d", tc.name, notes, tc.notes)
		}
		for _, n := range notes {
			if !strings.Contains(n, "RLIMIT_NOFILE") || !strings.Contains(n, "20000") {
				t.Errorf("%s: note %q does not say what was lowered to what", tc.name, n)
			}
		}
	}
}

func TestClampRlimits(t *testing.T) {
	t.Parallel()
	got, notes := clampRlimits(
		[]specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1048576, Hard: 1048576}, {Type: "RLIMIT_NPROC", Soft: 10, Hard: 100}},
		[]specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 20000}, {Type: "RLIMIT_NPROC", Soft: 50, Hard: 50}},
	)
	want := []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 20000, Hard: 20000}, {Type: "RLIMIT_NPROC", Soft: 10, Hard: 50}}
	if !reflect.DeepEqual(got, want) || len(notes) != 2 {
		t.Errorf("clampRlimits = %+v %q", got, notes)
	}
	if got, notes := clampRlimits(want, nil); !reflect.DeepEqual(got, want) || notes != nil {
		t.Errorf("no host limits: %+v %q", got, notes)
	}
}

func TestGenerateReadOnly(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	spec := generate(t, &SpecGenerator{Security: Security{ReadOnly: true}}, testImage, env)
	if !spec.Root.Readonly {
		t.Error("root not read-only")
	}
	for _, d := range []string{"/tmp", "/var/tmp", "/run"} {
		m := mountByDest(spec, d)
		if m == nil || m.Type != "tmpfs" || !slices.Contains(m.Options, "rw") || !slices.Contains(m.Options, "nosuid") {
			t.Errorf("--read-only: %s mount %+v", d, m)
		}
	}
	spec = generate(t, &SpecGenerator{Security: Security{ReadOnly: true, ReadOnlyTmpfs: ptr(false)}}, testImage, env)
	for _, d := range []string{"/tmp", "/var/tmp", "/run"} {
		if m := mountByDest(spec, d); m != nil {
			t.Errorf("--read-only-tmpfs=false: %s mounted %+v", d, m)
		}
	}
	spec = generate(t, &SpecGenerator{Security: Security{ReadOnly: true}, Tmpfs: map[string]string{"/tmp": "size=1m,exec"}}, testImage, env)
	if m := mountByDest(spec, "/tmp"); !slices.Contains(m.Options, "size=1m") || !slices.Contains(m.Options, "exec") || slices.Contains(m.Options, "noexec") {
		t.Errorf("user --tmpfs /tmp should win: %+v", m)
	}
	if n := len(slices.DeleteFunc(slices.Clone(spec.Mounts), func(m specs.Mount) bool { return m.Destination != "/tmp" })); n != 1 {
		t.Errorf("/tmp mounted %d times", n)
	}
	spec = generate(t, &SpecGenerator{}, testImage, env)
	if mountByDest(spec, "/tmp") != nil || spec.Root.Readonly {
		t.Error("tmpfs on /tmp without --read-only")
	}
}

func TestGenerateUserMounts(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	src := t.TempDir()
	spec := generate(t, &SpecGenerator{
		Mounts: []Mount{
			{Type: "bind", Source: src, Destination: "/data/in", Options: []string{"ro", "z"}},
			{Type: "tmpfs", Destination: "/data", Options: []string{"size=1m"}},
		},
		Tmpfs:   map[string]string{"/scratch": "exec", "/dev/shm": "size=2m"},
		ShmSize: ptr(int64(1 << 20)),
	}, testImage, env)
	data, in := mountByDest(spec, "/data"), mountByDest(spec, "/data/in")
	index := func(dest string) int {
		return slices.IndexFunc(spec.Mounts, func(m specs.Mount) bool { return m.Destination == dest })
	}
	if data == nil || in == nil || index("/data") > index("/data/in") {
		t.Fatalf("mounts out of order: %+v", spec.Mounts)
	}
	if in.Type != "bind" || in.Source != src || !slices.Contains(in.Options, "rbind") || !slices.Contains(in.Options, "ro") || slices.Contains(in.Options, "z") {
		t.Errorf("bind mount %+v", in)
	}
	if !reflect.DeepEqual(data.Options, []string{"size=1m", "rw", "noexec", "nosuid", "nodev", "rprivate", "tmpcopyup"}) {
		t.Errorf("tmpfs mount %+v", data)
	}
	if m := mountByDest(spec, "/scratch"); m == nil || !slices.Contains(m.Options, "exec") {
		t.Errorf("--tmpfs /scratch %+v", m)
	}
	if m := mountByDest(spec, "/dev/shm"); m.Type != "tmpfs" || !slices.Contains(m.Options, "size=2m") {
		t.Errorf("--tmpfs /dev/shm should replace the default: %+v", m)
	}

	spec = generate(t, &SpecGenerator{ShmSize: ptr(int64(1 << 20))}, testImage, env)
	if m := mountByDest(spec, "/dev/shm"); !slices.Contains(m.Options, "size=1024k") {
		t.Errorf("--shm-size 1m: %+v", m)
	}
	spec = generate(t, &SpecGenerator{ShmSize: ptr(int64(0))}, testImage, env)
	if m := mountByDest(spec, "/dev/shm"); slices.ContainsFunc(m.Options, func(o string) bool { return strings.HasPrefix(o, "size=") }) {
		t.Errorf("--shm-size 0 is unlimited: %+v", m)
	}
	spec = generate(t, &SpecGenerator{Namespaces: Namespaces{IPC: "host"}}, testImage, env)
	if m := mountByDest(spec, "/dev/shm"); m.Type != "bind" || m.Source != "/dev/shm" {
		t.Errorf("--ipc host: /dev/shm %+v", m)
	}

	_, err := Generate(&SpecGenerator{Image: "x", Mounts: []Mount{{Type: "bind", Source: filepath.Join(src, "gone"), Destination: "/x"}}}, testImage, env)
	wantErr(t, err, define.ErrInvalidArg, "mount on /x", "gone", "does not exist")
}

func TestGenerateRunDirFiles(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	env.RunDir = "/run/engine/ctr"
	spec := generate(t, &SpecGenerator{}, testImage, env)
	for _, f := range []string{"hostname", "hosts", "resolv.conf"} {
		m := mountByDest(spec, "/etc/"+f)
		if m == nil || m.Type != "bind" || m.Source != "/run/engine/ctr/"+f {
			t.Errorf("/etc/%s mount %+v", f, m)
		}
	}
	if m := mountByDest(spec, "/etc/passwd"); m != nil {
		t.Errorf("passwd mounted for root: %+v", m)
	}
	spec = generate(t, &SpecGenerator{User: "4242"}, testImage, env)
	if m := mountByDest(spec, "/etc/passwd"); m == nil || m.Source != "/run/engine/ctr/passwd" {
		t.Errorf("--user 4242: /etc/passwd mount %+v", m)
	}
	spec = generate(t, &SpecGenerator{Mounts: []Mount{{Type: "tmpfs", Destination: "/etc/hosts"}}}, testImage, env)
	if m := mountByDest(spec, "/etc/hosts"); m.Type != "tmpfs" {
		t.Errorf("a user mount on /etc/hosts should win: %+v", m)
	}
}

func TestGenerateInit(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	env.InitPath = "/usr/libexec/catatonit"
	spec := generate(t, &SpecGenerator{Init: true}, testImage, env)
	if !reflect.DeepEqual(spec.Process.Args, []string{ContainerInitPath, "--", "/bin/sh"}) {
		t.Errorf("args = %q", spec.Process.Args)
	}
	if m := mountByDest(spec, ContainerInitPath); m == nil || m.Source != env.InitPath || !slices.Contains(m.Options, "ro") {
		t.Errorf("init mount %+v", m)
	}
	spec = generate(t, &SpecGenerator{Init: true, InitPath: "/opt/tini"}, testImage, env)
	if m := mountByDest(spec, ContainerInitPath); m.Source != "/opt/tini" {
		t.Errorf("--init-path: %+v", m)
	}
	env.InitPath = ""
	_, err := Generate(&SpecGenerator{Image: "x", Init: true}, testImage, env)
	wantErr(t, err, define.ErrInvalidArg, "--init")
}

func TestGeneratePrivileged(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	env.BoundingSet = CapabilitiesFromMask(0x1fffeffffff)
	mode := os.FileMode(0o666)
	env.HostDevices = []specs.LinuxDevice{{Path: "/dev/null", Type: "c", Major: 1, Minor: 3, FileMode: &mode}}
	spec := generate(t, &SpecGenerator{Security: Security{Privileged: true}}, testImage, env)
	if caps := spec.Process.Capabilities; capMask(caps.Bounding) != 0x1fffeffffff || capMask(caps.Effective) != 0x1fffeffffff {
		t.Errorf("privileged capabilities = %+v", caps)
	}
	l := spec.Linux
	if l.Seccomp != nil || l.MaskedPaths != nil || l.ReadonlyPaths != nil {
		t.Errorf("privileged: seccomp %v masked %v readonly %v", l.Seccomp != nil, l.MaskedPaths, l.ReadonlyPaths)
	}
	if !reflect.DeepEqual(l.Devices, env.HostDevices) || !reflect.DeepEqual(l.Resources.Devices, []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}) {
		t.Errorf("privileged devices %+v rules %+v", l.Devices, l.Resources.Devices)
	}
	if m := mountByDest(spec, "/sys"); !slices.Contains(m.Options, "rw") {
		t.Errorf("privileged /sys %+v", m)
	}
}

func TestGenerateRootless(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	env.Rootless = true
	spec := generate(t, &SpecGenerator{
		Namespaces: Namespaces{Network: "host", PID: "host", IPC: "host"},
		Devices:    []string{"/dev/null:/dev/mynull:r"},
	}, testImage, env)
	for _, d := range []string{"/sys", "/sys/fs/cgroup", "/proc", "/dev/mqueue", "/dev/shm"} {
		if m := mountByDest(spec, d); m == nil || m.Type != "bind" || m.Source != d {
			t.Errorf("rootless with host namespaces: %s mount %+v", d, m)
		}
	}
	if !slices.Contains(spec.Linux.MaskedPaths, "/sys/kernel") {
		t.Errorf("rootless --network host should mask /sys/kernel: %v", spec.Linux.MaskedPaths)
	}
	if m := mountByDest(spec, "/dev/mynull"); m == nil || m.Type != "bind" || m.Source != "/dev/null" || !slices.Contains(m.Options, "ro") {
		t.Errorf("rootless --device: %+v", m)
	}
	if len(spec.Linux.Devices) != 0 || spec.Linux.Resources.Devices != nil || spec.Linux.Resources.Pids != nil {
		t.Errorf("rootless: devices %+v resources %+v", spec.Linux.Devices, spec.Linux.Resources)
	}

	env.CgroupVersion = 1
	env.CgroupParent = "/engine"
	spec = generate(t, &SpecGenerator{}, testImage, env)
	if spec.Linux.CgroupsPath != "" {
		t.Errorf("rootless v1 cgroups path %q", spec.Linux.CgroupsPath)
	}
	_, err := Generate(&SpecGenerator{Image: "x", Resources: Resources{Memory: ptr(int64(1 << 30))}}, testImage, env)
	wantErr(t, err, define.ErrInvalidArg, "--memory", "cgroup v2")
}

func TestGenerateResources(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	spec := generate(t, &SpecGenerator{Resources: Resources{
		Memory: ptr(int64(512 << 20)), MemorySwap: ptr(int64(1 << 30)), CPUs: ptr(1.5), CPUShares: ptr(uint64(512)), CPUSetCPUs: "0-1", PidsLimit: ptr(int64(0)),
	}}, testImage, env)
	r := spec.Linux.Resources
	if *r.Memory.Limit != 512<<20 || *r.Memory.Swap != 1<<30 {
		t.Errorf("memory %+v", r.Memory)
	}
	if *r.CPU.Quota != 150000 || *r.CPU.Period != 100000 || *r.CPU.Shares != 512 || r.CPU.Cpus != "0-1" {
		t.Errorf("cpu %+v", r.CPU)
	}
	if *r.Pids.Limit != -1 {
		t.Errorf("pids %+v", r.Pids)
	}
	spec = generate(t, &SpecGenerator{Resources: Resources{PidsLimit: ptr(int64(100))}}, testImage, env)
	if *spec.Linux.Resources.Pids.Limit != 100 {
		t.Errorf("pids %+v", spec.Linux.Resources.Pids)
	}
}

func TestGenerateDevices(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	spec := generate(t, &SpecGenerator{Devices: []string{"/dev/null:/dev/mynull:r"}}, testImage, env)
	devs := spec.Linux.Devices
	if len(devs) != 1 || devs[0].Path != "/dev/mynull" || devs[0].Type != "c" || devs[0].Major != 1 || devs[0].Minor != 3 {
		t.Fatalf("devices %+v", devs)
	}
	rules := spec.Linux.Resources.Devices
	last := rules[len(rules)-1]
	if !last.Allow || last.Type != "c" || *last.Major != 1 || *last.Minor != 3 || last.Access != "r" {
		t.Errorf("device rule %+v", last)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Generate(&SpecGenerator{Image: "x", Devices: []string{file}}, testImage, env)
	wantErr(t, err, define.ErrInvalidArg, "--device", "not a device")
	_, err = Generate(&SpecGenerator{Image: "x", Devices: []string{"/dev/nonexistent-device"}}, testImage, env)
	wantErr(t, err, define.ErrInvalidArg, "--device", "does not exist")
}

func TestHostDevices(t *testing.T) {
	t.Parallel()
	devs, err := HostDevices("/dev")
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(devs, func(d specs.LinuxDevice) bool { return d.Path == "/dev/null" })
	if i < 0 || devs[i].Major != 1 || devs[i].Minor != 3 || devs[i].Type != "c" {
		t.Errorf("/dev/null not found right in %+v", devs)
	}
	if slices.ContainsFunc(devs, func(d specs.LinuxDevice) bool {
		return strings.HasPrefix(d.Path, "/dev/pts/") || d.Path == "/dev/console"
	}) {
		t.Error("HostDevices should skip /dev/pts and /dev/console")
	}
	if _, err := HostDevices(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("HostDevices of a missing directory should fail")
	}
}

func TestGenerateMisc(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	spec := generate(t, &SpecGenerator{
		Sysctls:     map[string]string{"net.ipv4.ip_forward": "1"},
		Annotations: map[string]string{"a": "b", ManagerAnnotation: "mine"},
		Security:    Security{NoNewPrivileges: true},
	}, testImage, env)
	if spec.Linux.Sysctl["net.ipv4.ip_forward"] != "1" || spec.Annotations["a"] != "b" || spec.Annotations[ManagerAnnotation] != "mine" || !spec.Process.NoNewPrivileges {
		t.Errorf("sysctl %v annotations %v nnp %v", spec.Linux.Sysctl, spec.Annotations, spec.Process.NoNewPrivileges)
	}
	// Validation runs first.
	_, err := Generate(&SpecGenerator{Image: "x", PublishPorts: []string{"80:80"}, Namespaces: Namespaces{Network: "none"}}, testImage, env)
	wantErr(t, err, define.ErrInvalidArg, "-p")
	_, err = Generate(&SpecGenerator{Image: "x"}, testImage, GenerateEnv{ID: "x", RootFS: "rel", CgroupVersion: 2})
	wantErr(t, err, define.ErrInvalidArg, "RootFS")
}

func TestCgroupsPath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env  GenerateEnv
		want string
	}{
		{GenerateEnv{ID: "abc", CgroupVersion: 2}, ""},
		{GenerateEnv{ID: "abc", CgroupVersion: 2, CgroupParent: "machine.slice"}, "machine.slice:engine:abc"},
		{GenerateEnv{ID: "abc", CgroupVersion: 1, CgroupParent: "/engine"}, "/engine/engine-abc"},
		{GenerateEnv{ID: "abc", CgroupVersion: 1, CgroupParent: "/engine", Rootless: true}, ""},
		{GenerateEnv{ID: "abc", CgroupVersion: 2, CgroupParent: "user.slice", Rootless: true}, "user.slice:engine:abc"},
	} {
		if got := cgroupsPath(tc.env); got != tc.want {
			t.Errorf("cgroupsPath(%+v) = %q, want %q", tc.env, got, tc.want)
		}
	}
}
