package specgen

import (
	"reflect"
	"testing"

	"github.com/engine-oss/engine/pkg/libengine/define"
)

func TestParseNetworks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   NetworkFlags
		mode string
		nets []NetworkAttach
		err  string
	}{
		{name: "default", in: NetworkFlags{}, mode: ""},
		{name: "none", in: NetworkFlags{Network: []string{"none"}}, mode: "none"},
		{name: "container", in: NetworkFlags{Network: []string{"container:web"}}, mode: "container:web"},
		{name: "pasta with args", in: NetworkFlags{Network: []string{"pasta:-T,5000"}}, mode: "pasta:-T,5000"},
		{name: "private is bridge", in: NetworkFlags{Network: []string{"private"}}, mode: NetworkBridge},
		{name: "bridge", in: NetworkFlags{Network: []string{"bridge"}}, mode: NetworkBridge, nets: []NetworkAttach{{}}},
		{name: "names", in: NetworkFlags{Network: []string{"a,b", "c"}, Aliases: []string{"x"}}, mode: NetworkBridge,
			nets: []NetworkAttach{{Name: "a", Aliases: []string{"x"}}, {Name: "b", Aliases: []string{"x"}}, {Name: "c", Aliases: []string{"x"}}}},
		{name: "options", in: NetworkFlags{Network: []string{"app:ip=10.89.0.5,mac=92:d0:c6:0a:29:33,alias=w,interface_name=net0"}}, mode: NetworkBridge,
			nets: []NetworkAttach{{Name: "app", IPs: []string{"10.89.0.5"}, MAC: "92:d0:c6:0a:29:33", Aliases: []string{"w"}, Interface: "net0"}}},
		{name: "ip on default", in: NetworkFlags{IP: "10.88.0.9"}, mode: NetworkBridge, nets: []NetworkAttach{{IPs: []string{"10.88.0.9"}}}},
		{name: "ip with two networks", in: NetworkFlags{Network: []string{"a", "b"}, IP: "10.0.0.1"}, err: "single network"},
		{name: "ip6 on default", in: NetworkFlags{IP6: "fd00:88::9"}, mode: NetworkBridge, nets: []NetworkAttach{{IPs: []string{"fd00:88::9"}}}},
		{name: "ip and ip6", in: NetworkFlags{Network: []string{"app"}, IP: "10.89.0.5", IP6: "fd00:89::5"}, mode: NetworkBridge,
			nets: []NetworkAttach{{Name: "app", IPs: []string{"10.89.0.5", "fd00:89::5"}}}},
		{name: "ip6 not v6", in: NetworkFlags{IP6: "10.0.0.1"}, err: "--ip6"},
		{name: "ip6 mapped v4", in: NetworkFlags{IP6: "::ffff:10.0.0.1"}, err: "--ip6"},
		{name: "ip6 with two networks", in: NetworkFlags{Network: []string{"a", "b"}, IP6: "fd00::1"}, err: "single network"},
		{name: "ip6 with none", in: NetworkFlags{Network: []string{"none"}, IP6: "fd00::1"}, err: "need a bridge network"},
		{name: "none and a name", in: NetworkFlags{Network: []string{"app", "none"}}, err: "cannot be combined"},
		{name: "alias with host", in: NetworkFlags{Network: []string{"host"}, Aliases: []string{"x"}}, err: "need a bridge network"},
		{name: "bad option", in: NetworkFlags{Network: []string{"app:color=red"}}, err: "unknown option"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mode, nets, err := ParseNetworks(tc.in)
			if tc.err != "" {
				wantErr(t, err, define.ErrInvalidArg, tc.err)
				return
			}
			if err != nil || mode != tc.mode || !reflect.DeepEqual(nets, tc.nets) {
				t.Errorf("got %q %+v %v, want %q %+v", mode, nets, err, tc.mode, tc.nets)
			}
		})
	}
}

func TestGenerateNetNSPath(t *testing.T) {
	env := testEnv(t)
	env.NetNSPath = "/run/engine/netns/x"
	spec := generate(t, &SpecGenerator{}, testImage, env)
	found := false
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == "network" {
			found = ns.Path == env.NetNSPath
		}
	}
	if !found {
		t.Errorf("namespaces %+v: want the network one at %s", spec.Linux.Namespaces, env.NetNSPath)
	}
	env.HostsAddress, env.HostGateway = "10.88.0.5", "10.88.0.1"
	files, err := RunDirFiles(&SpecGenerator{Name: "web", Hostname: "web"}, testImage, env)
	if err != nil {
		t.Fatal(err)
	}
	want := "10.88.0.1\thost.containers.internal host.docker.internal\n127.0.0.1\tlocalhost\n::1\tlocalhost\n10.88.0.5\tweb\n"
	if got := string(files[HostsFile]); got != want {
		t.Errorf("hosts:\n%s\nwant:\n%s", got, want)
	}
}
