package specgen

import (
	"encoding/json"
	"reflect"
	"syscall"
	"testing"

	"github.com/engine-oss/engine/pkg/libengine/define"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func ptr[T any](v T) *T { return &v }

func TestValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		mod  func(s *SpecGenerator)
		err  error
		say  []string
	}{
		{"minimal", func(*SpecGenerator) {}, nil, nil},
		{"everything that works", func(s *SpecGenerator) {
			s.Name = "web-1"
			s.Entrypoint = ptr([]string{})
			s.Env = map[string]string{"A": "1"}
			s.User = "1000:1000"
			s.GroupAdd = []string{"wheel", "10"}
			s.WorkDir = "/srv"
			s.Hostname = "web"
			s.HostAdd = []string{"db:10.0.0.5"}
			s.DNSServers = []string{"1.1.1.1", "2606:4700::1111"}
			s.Mounts = []Mount{{Type: "bind", Source: "/srv", Destination: "/srv", Options: []string{"ro"}}}
			s.Tmpfs = map[string]string{"/run": "size=64m"}
			s.Resources = Resources{Memory: ptr(int64(512 << 20)), MemorySwap: ptr(int64(-1)), CPUs: ptr(1.5), CPUShares: ptr(uint64(512)), CPUSetCPUs: "0-1,3", PidsLimit: ptr(int64(-1))}
			s.Security = Security{CapAdd: []string{"NET_ADMIN"}, CapDrop: []string{"KILL"}, SeccompProfilePath: "unconfined", ReadOnly: true}
			s.Namespaces = Namespaces{Network: "host", PID: "host", IPC: "private", UTS: "private", Cgroup: "ns:/proc/1/ns/cgroup"}
			s.Ulimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 2048}}
			s.Sysctls = map[string]string{"kernel.shmmax": "1"}
			s.Devices = []string{"/dev/fuse"}
			s.StopSignal = syscall.SIGQUIT
			s.RestartPolicy, s.RestartRetries = "on-failure", ptr(uint(3))
			s.LogDriver, s.LogOpts = "json-file", map[string]string{"max-size": "10m", "path": "/var/log/x", "tag": "x"}
			s.Init, s.InitPath = true, "/usr/bin/catatonit"
			s.ShmSize = ptr(int64(0))
			s.Pull = "never"
			s.Expose = []string{"8080", "53/udp", "9000-9001/tcp,udp"}
		}, nil, nil},
		{"no image", func(s *SpecGenerator) { s.Image = "" }, define.ErrInvalidArg, []string{"image"}},
		{"bad name", func(s *SpecGenerator) { s.Name = "-x" }, define.ErrInvalidArg, []string{"--name"}},
		{"bad env name", func(s *SpecGenerator) { s.Env = map[string]string{"A=B": "1"} }, define.ErrInvalidArg, []string{"--env"}},
		{"bad user", func(s *SpecGenerator) { s.User = ":0" }, define.ErrInvalidArg, []string{"--user"}},
		{"keep-groups", func(s *SpecGenerator) { s.GroupAdd = []string{"keep-groups"} }, define.ErrNotImplemented, []string{"--group-add"}},
		{"relative workdir", func(s *SpecGenerator) { s.WorkDir = "srv" }, define.ErrInvalidArg, []string{"--workdir"}},
		{"bad add-host", func(s *SpecGenerator) { s.HostAdd = []string{"db"} }, define.ErrInvalidArg, []string{"--add-host"}},
		{"bad dns", func(s *SpecGenerator) { s.DNSServers = []string{"dns.google"} }, define.ErrInvalidArg, []string{"--dns"}},
		{"network slirp4netns options", func(s *SpecGenerator) { s.Namespaces.Network = "slirp4netns:port_handler=slirp4netns" }, define.ErrInvalidArg, []string{"--network slirp4netns"}},
		{"network container without name", func(s *SpecGenerator) { s.Namespaces.Network = "container:" }, define.ErrInvalidArg, []string{"container:NAME"}},
		{"named network as mode", func(s *SpecGenerator) { s.Namespaces.Network = "mynet" }, define.ErrInvalidArg, []string{"--network \"mynet\""}},
		{"networks without bridge", func(s *SpecGenerator) {
			s.Namespaces.Network, s.Networks = "host", []NetworkAttach{{Name: "app"}}
		}, define.ErrInvalidArg, []string{"bridge network mode"}},
		{"bad network name", func(s *SpecGenerator) { s.Networks = []NetworkAttach{{Name: "a b"}} }, define.ErrInvalidArg, []string{"--network \"a b\""}},
		{"network twice", func(s *SpecGenerator) { s.Networks = []NetworkAttach{{Name: "a"}, {Name: "a"}} }, define.ErrInvalidArg, []string{"--network a given twice"}},
		{"bad ip", func(s *SpecGenerator) { s.Networks = []NetworkAttach{{IPs: []string{"10.0.0.300"}}} }, define.ErrInvalidArg, []string{"--ip"}},
		{"bad mac", func(s *SpecGenerator) { s.Networks = []NetworkAttach{{MAC: "01:00:5e:00:00:01"}} }, define.ErrInvalidArg, []string{"--mac-address"}},
		{"bad alias", func(s *SpecGenerator) { s.Networks = []NetworkAttach{{Aliases: []string{"a b"}}} }, define.ErrInvalidArg, []string{"--network-alias"}},
		{"publish without network", func(s *SpecGenerator) { s.PublishPorts, s.Namespaces.Network = []string{"8080:80"}, "none" }, define.ErrInvalidArg,
			[]string{"-p 8080:80", "--network none"}},
		{"publish all with host", func(s *SpecGenerator) { s.PublishAll, s.Namespaces.Network = true, "host" }, define.ErrInvalidArg, []string{"-P"}},
		{"network ns relative", func(s *SpecGenerator) { s.Namespaces.Network = "ns:blue" }, define.ErrInvalidArg, []string{"--network"}},
		{"bad pid mode", func(s *SpecGenerator) { s.Namespaces.PID = "shared" }, define.ErrInvalidArg, []string{"--pid"}},
		{"ipc container", func(s *SpecGenerator) { s.Namespaces.IPC = "container:x" }, define.ErrNotImplemented, []string{"--ipc"}},
		{"uts container in a pod without id", func(s *SpecGenerator) { s.Pod, s.Namespaces.UTS = "p", "container:" }, define.ErrNotImplemented, []string{"--uts"}},
		{"hostname with the pod's uts", func(s *SpecGenerator) { s.Pod, s.Hostname, s.Namespaces.UTS = "p", "x", "container:abc" }, define.ErrInvalidArg,
			[]string{"--hostname", "--uts container:abc"}},
		{"hostname with uts host", func(s *SpecGenerator) { s.Hostname, s.Namespaces.UTS = "x", "host" }, define.ErrInvalidArg, []string{"--hostname", "--uts host"}},
		{"sysctl not namespaced", func(s *SpecGenerator) { s.Sysctls = map[string]string{"vm.swappiness": "1"} }, define.ErrInvalidArg, []string{"--sysctl vm.swappiness"}},
		{"net sysctl with host network", func(s *SpecGenerator) {
			s.Sysctls, s.Namespaces.Network = map[string]string{"net.ipv4.ip_forward": "1"}, "host"
		}, define.ErrInvalidArg, []string{"--sysctl net.ipv4.ip_forward", "--network host"}},
		{"ipc sysctl with host ipc", func(s *SpecGenerator) {
			s.Sysctls, s.Namespaces.IPC = map[string]string{"kernel.msgmax": "1"}, "host"
		}, define.ErrInvalidArg, []string{"--sysctl kernel.msgmax", "--ipc host"}},
		{"shm-size with host ipc", func(s *SpecGenerator) { s.ShmSize, s.Namespaces.IPC = ptr(int64(1)), "host" }, define.ErrInvalidArg, []string{"--shm-size"}},
		{"negative shm-size", func(s *SpecGenerator) { s.ShmSize = ptr(int64(-1)) }, define.ErrInvalidArg, []string{"--shm-size"}},
		{"bad volume name", func(s *SpecGenerator) { s.Mounts = []Mount{{Type: "volume", Source: "a/b", Destination: "/d"}} }, define.ErrInvalidArg, []string{"mount on /d", "invalid volume name"}},
		{"image mount without image", func(s *SpecGenerator) { s.Mounts = []Mount{{Type: "image", Destination: "/d"}} }, define.ErrInvalidArg, []string{"mount on /d", "image is missing"}},
		{"rw image mount", func(s *SpecGenerator) {
			s.Mounts = []Mount{{Type: "image", Source: "busybox", Destination: "/d", Options: []string{"rw"}}}
		}, define.ErrInvalidArg, []string{"always read-only"}},
		{"bad volumes-from", func(s *SpecGenerator) { s.VolumesFrom = []string{"web:bogus"} }, define.ErrInvalidArg, []string{"--volumes-from", "bogus"}},
		{"relative bind source", func(s *SpecGenerator) { s.Mounts = []Mount{{Type: "bind", Source: "data", Destination: "/d"}} }, define.ErrInvalidArg, []string{"mount on /d"}},
		{"duplicate destination", func(s *SpecGenerator) {
			s.Mounts = []Mount{{Type: "tmpfs", Destination: "/run/"}}
			s.Tmpfs = map[string]string{"/run": ""}
		}, define.ErrInvalidArg, []string{"--tmpfs /run", "already a mount destination"}},
		{"bad tmpfs option", func(s *SpecGenerator) { s.Tmpfs = map[string]string{"/run": "size=huge"} }, define.ErrInvalidArg, []string{"--tmpfs /run"}},
		{"bad device", func(s *SpecGenerator) { s.Devices = []string{"/dev/fuse:/dev/fuse:rwx"} }, define.ErrInvalidArg, []string{"--device"}},
		{"memory too small", func(s *SpecGenerator) { s.Resources.Memory = ptr(int64(1 << 20)) }, define.ErrInvalidArg, []string{"--memory", "6m"}},
		{"swap without memory", func(s *SpecGenerator) { s.Resources.MemorySwap = ptr(int64(1 << 30)) }, define.ErrInvalidArg, []string{"--memory-swap", "--memory"}},
		{"swap below memory", func(s *SpecGenerator) {
			s.Resources.Memory, s.Resources.MemorySwap = ptr(int64(1<<30)), ptr(int64(1<<29))
		}, define.ErrInvalidArg, []string{"--memory-swap"}},
		{"cpus too small", func(s *SpecGenerator) { s.Resources.CPUs = ptr(0.001) }, define.ErrInvalidArg, []string{"--cpus"}},
		{"cpu shares zero", func(s *SpecGenerator) { s.Resources.CPUShares = ptr(uint64(0)) }, define.ErrInvalidArg, []string{"--cpu-shares"}},
		{"bad cpuset", func(s *SpecGenerator) { s.Resources.CPUSetCPUs = "0-" }, define.ErrInvalidArg, []string{"--cpuset-cpus"}},
		{"bad pids limit", func(s *SpecGenerator) { s.Resources.PidsLimit = ptr(int64(-2)) }, define.ErrInvalidArg, []string{"--pids-limit"}},
		{"unknown cap", func(s *SpecGenerator) { s.Security.CapAdd = []string{"FLY"} }, define.ErrInvalidArg, []string{"--cap-add CAP_FLY"}},
		{"relative seccomp", func(s *SpecGenerator) { s.Security.SeccompProfilePath = "p.json" }, define.ErrInvalidArg, []string{"seccomp=p.json"}},
		{"ulimit soft above hard", func(s *SpecGenerator) {
			s.Ulimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 10, Hard: 5}}
		}, define.ErrInvalidArg, []string{"--ulimit nofile"}},
		{"ulimit unknown", func(s *SpecGenerator) { s.Ulimits = []specs.POSIXRlimit{{Type: "RLIMIT_FOO"}} }, define.ErrInvalidArg, []string{"--ulimit"}},
		{"ulimit twice", func(s *SpecGenerator) {
			s.Ulimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1, Hard: 1}, {Type: "RLIMIT_NOFILE", Soft: 2, Hard: 2}}
		}, define.ErrInvalidArg, []string{"--ulimit nofile"}},
		{"stop signal out of range", func(s *SpecGenerator) { s.StopSignal = 65 }, define.ErrInvalidArg, []string{"--stop-signal"}},
		{"bad restart", func(s *SpecGenerator) { s.RestartPolicy = "sometimes" }, define.ErrInvalidArg, []string{"--restart"}},
		{"retries without on-failure", func(s *SpecGenerator) { s.RestartPolicy, s.RestartRetries = "always", ptr(uint(2)) }, define.ErrInvalidArg, []string{"--restart always"}},
		{"rm with restart", func(s *SpecGenerator) { s.Remove, s.RestartPolicy = true, "always" }, define.ErrInvalidArg, []string{"--rm", "--restart always"}},
		{"bad log driver", func(s *SpecGenerator) { s.LogDriver = "syslog" }, define.ErrInvalidArg, []string{"--log-driver"}},
		{"journald", func(s *SpecGenerator) { s.LogDriver = "journald" }, define.ErrNotImplemented, []string{"--log-driver journald"}},
		{"bad log opt", func(s *SpecGenerator) { s.LogOpts = map[string]string{"max-file": "3"} }, define.ErrInvalidArg, []string{"--log-opt max-file"}},
		{"bad log max-size", func(s *SpecGenerator) { s.LogOpts = map[string]string{"max-size": "big"} }, define.ErrInvalidArg, []string{"--log-opt max-size"}},
		{"relative init path", func(s *SpecGenerator) { s.InitPath = "catatonit" }, define.ErrInvalidArg, []string{"--init-path"}},
		{"bad pull", func(s *SpecGenerator) { s.Pull = "sometimes" }, define.ErrInvalidArg, []string{"--pull"}},
		{"bad publish", func(s *SpecGenerator) { s.PublishPorts = []string{"80:http"} }, define.ErrInvalidArg, []string{"-p"}},
		{"bad expose", func(s *SpecGenerator) { s.Expose = []string{"80/icmp"} }, define.ErrInvalidArg, []string{`--expose "80/icmp"`}},
		{"tz outside zoneinfo", func(s *SpecGenerator) { s.Timezone = "../../etc/passwd" }, define.ErrInvalidArg, []string{"--tz", "not a zone name"}},
		{"tz absolute", func(s *SpecGenerator) { s.Timezone = "/etc/localtime" }, define.ErrInvalidArg, []string{"--tz", "not a zone name"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := &SpecGenerator{Image: "busybox"}
			tc.mod(s)
			wantErr(t, s.Validate(), tc.err, tc.say...)
		})
	}
}

func TestSpecGeneratorJSON(t *testing.T) {
	t.Parallel()
	for _, s := range []SpecGenerator{
		{Image: "busybox"},
		{Image: "busybox", Entrypoint: ptr([]string{}), Command: []string{"true"}},
		{Image: "busybox", Entrypoint: ptr([]string{"/bin/sh", "-c"}), Resources: Resources{Memory: ptr(int64(1 << 30)), CPUs: ptr(0.5)},
			Security: Security{ReadOnly: true, ReadOnlyTmpfs: ptr(false)}, StopTimeout: ptr(uint(0)), StopSignal: syscall.SIGINT,
			Mounts: []Mount{{Type: "tmpfs", Destination: "/x", Options: []string{"size=1m"}}}},
	} {
		data, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var back SpecGenerator
		if err := json.Unmarshal(data, &back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, s) {
			t.Errorf("JSON round trip of %s lost something:\n got %+v\nwant %+v", data, back, s)
		}
	}
}
