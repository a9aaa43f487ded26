package specgen

import (
	"reflect"
	"testing"

	"github.com/engine-oss/engine/pkg/libengine/define"
	imgspec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestRenderHosts(t *testing.T) {
	t.Parallel()
	imageHosts := []byte("# image hosts\n127.0.0.1 localhost localhost.localdomain\n10.1.1.1\tgateway gw # the router\nbadline\n")
	for _, tc := range []struct {
		name      string
		base      []byte
		hostnames []string
		extra     []string
		want      string
	}{
		{"empty base", nil, []string{"abc123", "web"}, nil,
			"127.0.0.1\tlocalhost\n::1\tlocalhost\n127.0.0.1\tabc123 web\n"},
		{"image base", imageHosts, []string{"abc123"}, nil,
			"127.0.0.1\tlocalhost localhost.localdomain\n10.1.1.1\tgateway gw\n127.0.0.1\tabc123\n"},
		{"add-host first and wins", imageHosts, []string{"abc123"}, []string{"db;cache:10.0.0.5", "abc123:10.0.0.9", "v6:fd00::1"},
			"10.0.0.5\tdb cache\n10.0.0.9\tabc123\nfd00::1\tv6\n127.0.0.1\tlocalhost localhost.localdomain\n10.1.1.1\tgateway gw\n"},
		{"host network", []byte("127.0.0.1 localhost\n::1 localhost ip6-localhost\n"), nil, nil,
			"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n"},
	} {
		got, err := RenderHosts(tc.base, "127.0.0.1", tc.hostnames, tc.extra)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if string(got) != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
	for _, bad := range []string{"db", "db:", ":10.0.0.1", "db:not-an-ip"} {
		_, err := RenderHosts(nil, "127.0.0.1", nil, []string{bad})
		wantErr(t, err, define.ErrInvalidArg, "--add-host", bad)
	}
}

func TestRenderResolvConf(t *testing.T) {
	t.Parallel()
	host := []byte("# generated\nnameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch corp.example example.com\noptions edns0 trust-ad\n")
	local := []byte("nameserver 127.0.0.53\nnameserver ::1\noptions edns0\n")
	for _, tc := range []struct {
		name                 string
		host                 []byte
		dns, search, options []string
		hostNetwork          bool
		want                 string
	}{
		{"loopback dropped", host, nil, nil, nil, false,
			"search corp.example example.com\nnameserver 10.0.0.2\noptions edns0 trust-ad\n"},
		{"host network keeps loopback", host, nil, nil, nil, true,
			"search corp.example example.com\nnameserver 127.0.0.53\nnameserver 10.0.0.2\noptions edns0 trust-ad\n"},
		{"only loopback falls back", local, nil, nil, nil, false,
			"nameserver 8.8.8.8\nnameserver 8.8.4.4\noptions edns0\n"},
		{"user values replace", host, []string{"1.1.1.1"}, []string{"my.example"}, []string{"ndots:2"}, false,
			"search my.example\nnameserver 1.1.1.1\noptions ndots:2\n"},
		{"search dot means none", host, nil, []string{"."}, nil, false,
			"nameserver 10.0.0.2\noptions edns0 trust-ad\n"},
		{"no host file", nil, nil, nil, nil, false,
			"nameserver 8.8.8.8\nnameserver 8.8.4.4\n"},
	} {
		got := RenderResolvConf(tc.host, tc.dns, tc.search, tc.options, tc.hostNetwork)
		if string(got) != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

var (
	testPasswd = []byte("root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n# comment\nbroken\nalice:x:1000:1000:Alice:/home/alice:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
	testGroup  = []byte("root:x:0:\nbin:x:1:root,daemon\nwheel:x:10:root,alice\nalice:x:1000:\nstaff:x:50:\nnogroup:x:65534:\n")
)

func TestPasswdEntry(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		user, workDir, want string
		err                 error
	}{
		{"", "", "", nil},
		{"alice", "", "", nil},
		{"1000", "", "", nil},
		{"0", "/", "", nil},
		{"4242", "", "4242:*:4242:0:container user:/:/bin/sh\n", nil},
		{"4242:50", "/work", "4242:*:4242:50:container user:/work:/bin/sh\n", nil},
		{"4242:staff", "/", "4242:*:4242:50:container user:/:/bin/sh\n", nil},
		{"4242:nosuch", "/", "", define.ErrInvalidArg},
	} {
		got, err := PasswdEntry(testPasswd, testGroup, tc.user, tc.workDir)
		wantErr(t, err, tc.err, "--user")
		if got != tc.want {
			t.Errorf("PasswdEntry(%q) = %q, want %q", tc.user, got, tc.want)
		}
	}
	// No passwd file at all: every numeric UID needs a line.
	if got, _ := PasswdEntry(nil, nil, "0", "/"); got != "0:*:0:0:container user:/:/bin/sh\n" {
		t.Errorf("PasswdEntry without passwd = %q", got)
	}
}

func TestResolveUser(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		spec     string
		groupAdd []string
		want     execUser
		err      error
	}{
		{"", nil, execUser{0, 0, []uint32{1, 10}, "/root"}, nil},
		{"root", nil, execUser{0, 0, []uint32{1, 10}, "/root"}, nil},
		{"alice", nil, execUser{1000, 1000, []uint32{10}, "/home/alice"}, nil},
		{"1000", nil, execUser{1000, 1000, []uint32{10}, "/home/alice"}, nil},
		{"alice:staff", nil, execUser{1000, 50, nil, "/home/alice"}, nil},
		{"alice:77", nil, execUser{1000, 77, nil, "/home/alice"}, nil},
		{"4242", nil, execUser{4242, 0, nil, "/"}, nil},
		{"4242:4242", []string{"staff", "99", "10"}, execUser{4242, 4242, []uint32{50, 99, 10}, "/"}, nil},
		{"nobody", []string{"wheel"}, execUser{65534, 65534, []uint32{10}, "/nonexistent"}, nil},
		{"bob", nil, execUser{}, define.ErrInvalidArg},
		{"alice:nosuch", nil, execUser{}, define.ErrInvalidArg},
		{"alice", []string{"nosuch"}, execUser{}, define.ErrInvalidArg},
	} {
		got, err := resolveUser("--user", tc.spec, testPasswd, testGroup, tc.groupAdd)
		wantErr(t, err, tc.err)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("resolveUser(%q, %v) = %+v, want %+v", tc.spec, tc.groupAdd, got, tc.want)
		}
	}
	// An image without passwd and group runs as root with HOME=/.
	if got, err := resolveUser("--user", "", nil, nil, nil); err != nil || !reflect.DeepEqual(got, execUser{home: "/"}) {
		t.Errorf("resolveUser without files = %+v, %v", got, err)
	}
}

func TestRunDirFiles(t *testing.T) {
	t.Parallel()
	env := GenerateEnv{
		ID: testID, EtcPasswd: []byte("root:x:0:0:root:/root:/bin/sh"), EtcGroup: testGroup,
		EtcHosts:       []byte("10.9.9.9 image-host\n"),
		HostEtcHosts:   []byte("127.0.0.1 localhost\n192.168.1.5 myhost\n"),
		HostResolvConf: []byte("nameserver 127.0.0.53\nnameserver 10.0.0.2\n"),
		HostHostname:   "myhost",
	}
	img := imgspec.ImageConfig{WorkingDir: "/app"}

	files, err := RunDirFiles(&SpecGenerator{Name: "web", User: "4242", HostAdd: []string{"db:10.0.0.5"}}, img, env)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		HostnameFile:   testID[:12] + "\n",
		HostsFile:      "10.0.0.5\tdb\n10.9.9.9\timage-host\n127.0.0.1\tlocalhost\n::1\tlocalhost\n127.0.0.1\t" + testID[:12] + " web\n",
		ResolvConfFile: "nameserver 10.0.0.2\n",
		PasswdFile:     "root:x:0:0:root:/root:/bin/sh\n4242:*:4242:0:container user:/app:/bin/sh\n",
	}
	if got := stringMap(files); !reflect.DeepEqual(got, want) {
		t.Errorf("RunDirFiles:\n got %q\nwant %q", got, want)
	}

	files, err = RunDirFiles(&SpecGenerator{Namespaces: Namespaces{Network: "host", UTS: "host"}}, img, env)
	if err != nil {
		t.Fatal(err)
	}
	want = map[string]string{
		HostnameFile:   "myhost\n",
		HostsFile:      "127.0.0.1\tlocalhost\n192.168.1.5\tmyhost\n",
		ResolvConfFile: "nameserver 127.0.0.53\nnameserver 10.0.0.2\n",
	}
	if got := stringMap(files); !reflect.DeepEqual(got, want) {
		t.Errorf("RunDirFiles with host namespaces:\n got %q\nwant %q", got, want)
	}

	// The networks' name servers replace the host's, the container's own
	// replace both.
	netEnv := env
	netEnv.NetworkDNSServers = []string{"10.1.1.1"}
	for s, want := range map[*SpecGenerator]string{
		{}:                                 "nameserver 10.1.1.1\n",
		{DNSServers: []string{"10.2.2.2"}}: "nameserver 10.2.2.2\n",
	} {
		files, err = RunDirFiles(s, img, netEnv)
		if err != nil || string(files[ResolvConfFile]) != want {
			t.Errorf("resolv.conf with --dns %q on a network with DNS servers: %q, %v; want %q", s.DNSServers, files[ResolvConfFile], err, want)
		}
	}

	_, err = RunDirFiles(&SpecGenerator{User: "4242:nosuch"}, img, env)
	wantErr(t, err, define.ErrInvalidArg, "nosuch")
}

func stringMap(m map[string][]byte) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = string(v)
	}
	return out
}
