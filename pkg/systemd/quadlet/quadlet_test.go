package quadlet

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/engine-oss/engine/pkg/systemd"
)

// testBinary stands for the engine in generated units; it exists, as
// systemd-analyze verify wants.
const testBinary = "/usr/bin/true"

// writeTree creates files (relative path -> content) in a new directory.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// generateTree generates the units of files written into one directory.
func generateTree(t *testing.T, files map[string]string, user bool) (string, *Result) {
	t.Helper()
	dir := writeTree(t, files)
	res, err := Generate(Options{User: user, Dirs: []string{dir}, Binary: testBinary})
	if err != nil {
		t.Fatal(err)
	}
	return dir, res
}

func unitNamed(t *testing.T, res *Result, name string) *Unit {
	t.Helper()
	for _, u := range res.Units {
		if u.Name == name {
			return u
		}
	}
	var names []string
	for _, u := range res.Units {
		names = append(names, u.Name)
	}
	t.Fatalf("no unit %s among %v; errors: %v", name, names, res.Errors)
	return nil
}

// values returns every value of "Section.Key" in the unit, in order.
func values(t *testing.T, u *Unit, field string) []string {
	t.Helper()
	f, err := systemd.Parse(u.Name, u.Data)
	if err != nil {
		t.Fatalf("generated %s does not parse: %v", u.Name, err)
	}
	name, key, _ := strings.Cut(field, ".")
	var out []string
	if s := f.Section(name); s != nil {
		for _, e := range s.Entries {
			if e.Key == key {
				out = append(out, e.Value)
			}
		}
	}
	return out
}

// argv returns the words of the one [Service] command line key holds.
func argv(t *testing.T, u *Unit, key string) []string {
	t.Helper()
	v := values(t, u, "Service."+key)
	if len(v) != 1 {
		t.Fatalf("%s: %s = %q, want one command", u.Name, key, v)
	}
	w, err := systemd.SplitWords(v[0])
	if err != nil {
		t.Fatalf("%s: %s=%s: %v", u.Name, key, v[0], err)
	}
	return w
}

// B starts an expected command line.
func B(args ...string) []string { return append([]string{testBinary}, args...) }

// runArgs is the start of every container's ExecStart.
var runArgs = B("run", "--name=systemd-%N", "--cidfile=%t/%N.cid", "--replace", "--rm", "--cgroups=split", "--sdnotify=conmon", "-d")

func TestGenerate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		files map[string]string
		user  bool
		unit  string
		// want maps "Section.Key" to all its values; nil means absent.
		want map[string][]string
		// argv maps a [Service] command key to its words.
		argv    map[string][]string
		links   []string
		dropins []string
	}{
		{
			name: "container with most keys",
			files: map[string]string{
				"web.container": `[Unit]
Description=Web
Wants=db.container
After=db.container

[Container]
Image=quay.io/example/web:1
ContainerName=web
HostName=web.example
Entrypoint=/entry
Exec=serve --port 80 "--title=My site"
WorkingDir=/srv
User=101
Group=102
UserNS=keep-id
Environment=A=1 "B=two words"
EnvironmentFile=web.env
EnvironmentHost=true
PublishPort=8080:80
PublishPort=127.0.0.1:8443:443/tcp
Volume=/srv/data:/data:ro
Volume=cache.volume:/cache
Mount=type=tmpfs,destination=/scratch
Tmpfs=/run:size=10m
Network=front.network
Label=app=web
Annotation=note=hi
Timezone=UTC
Notify=true
HealthCmd=curl -f http://localhost/
HealthInterval=30s
HealthRetries=3
HealthStartPeriod=10s
HealthTimeout=5s
HealthOnFailure=kill
AutoUpdate=registry
ReadOnly=true
ReadOnlyTmpfs=false
RunInit=yes
NoNewPrivileges=true
DropCapability=all
AddCapability=CAP_NET_BIND_SERVICE CAP_CHOWN
SeccompProfile=/etc/seccomp.json
SecurityLabelDisable=true
AddDevice=/dev/null
AddDevice=-/dev/does-not-exist
AddDevice=-/dev/zero:/dev/z
Ulimit=nofile=1024:2048
Sysctl=net.ipv4.ip_forward=1
ShmSize=64m
Memory=512m
PidsLimit=100
LogDriver=journald
Secret=token,type=env,target=TOKEN
DNS=192.0.2.53
DNSSearch=example.com
DNSOption=ndots:2
AddHost=db.local:192.0.2.10
IP=10.88.0.5
IP6=fd00::5
StopSignal=SIGINT
StopTimeout=20
Pull=newer
GlobalArgs=--log-level=debug
PodmanArgs=--cpus=2
EngineArgs=--memory-swap=1g

[Service]
Restart=always
TimeoutStartSec=900

[Install]
WantedBy=multi-user.target
`,
				"db.container":  "[Container]\nImage=db\n",
				"cache.volume":  "[Volume]\n",
				"front.network": "[Network]\nNetworkName=frontend\n",
			},
			unit: "web.service",
			want: map[string][]string{
				"Unit.Description":         {"Web"},
				"Unit.Wants":               {"db.service", "network-online.target"},
				"Unit.Requires":            {"front-network.service", "cache-volume.service"},
				"Unit.After":               {"db.service", "network-online.target", "front-network.service", "cache-volume.service"},
				"Unit.RequiresMountsFor":   {"%t/containers", "/srv/data"},
				"Unit.SourcePath":          {"@DIR@/web.container"},
				"Service.Environment":      {"PODMAN_SYSTEMD_UNIT=%n", "ENGINE_SYSTEMD_UNIT=%n"},
				"Service.KillMode":         {"mixed"},
				"Service.Type":             {"notify"},
				"Service.NotifyAccess":     {"all"},
				"Service.Delegate":         {"yes"},
				"Service.SyslogIdentifier": {"%N"},
				"Service.Restart":          {"always"},
				"Service.TimeoutStartSec":  {"900"},
				"Service.ExecStopPost":     {"-/usr/bin/true --log-level=debug rm -v -f -i --cidfile=%t/%N.cid"},
				"Install.WantedBy":         {"multi-user.target"},
				"Container.Image":          nil,
				"X-Container.Image":        nil,
			},
			argv: map[string][]string{
				"ExecStart": B("--log-level=debug", "run", "--name=web", "--cidfile=%t/%N.cid", "--replace", "--rm", "--cgroups=split", "--sdnotify=container", "-d",
					"--entrypoint=/entry", "--workdir=/srv", "--hostname=web.example", "--tz=UTC", "--userns=keep-id",
					"--env=A=1", "--env=B=two words", "--env-host", "--label=app=web", "--annotation=note=hi", "--label=io.containers.autoupdate=registry",
					"--publish=8080:80", "--publish=127.0.0.1:8443:443/tcp", "--ip=10.88.0.5", "--ip6=fd00::5",
					"--dns=192.0.2.53", "--dns-search=example.com", "--dns-option=ndots:2", "--add-host=db.local:192.0.2.10", "--tmpfs=/run:size=10m",
					"--read-only", "--read-only-tmpfs=false", "--init", "--security-opt=no-new-privileges",
					"--security-opt=seccomp=/etc/seccomp.json", "--security-opt=label=disable",
					"--cap-drop=all", "--cap-add=CAP_NET_BIND_SERVICE", "--cap-add=CAP_CHOWN", "--sysctl=net.ipv4.ip_forward=1",
					"--ulimit=nofile=1024:2048", "--shm-size=64m", "--memory=512m", "--pids-limit=100", "--log-driver=journald",
					"--secret=token,type=env,target=TOKEN", "--stop-signal=SIGINT", "--stop-timeout=20", "--pull=newer",
					"--health-cmd=curl -f http://localhost/", "--health-interval=30s", "--health-retries=3",
					"--health-start-period=10s", "--health-timeout=5s", "--health-on-failure=kill",
					"--user=101:102", "--network=frontend", "--volume=/srv/data:/data:ro", "--volume=systemd-cache:/cache",
					"--mount=type=tmpfs,destination=/scratch", "--device=/dev/null", "--device=/dev/zero:/dev/z",
					"--env-file=@DIR@/web.env", "--cpus=2", "--memory-swap=1g",
					"quay.io/example/web:1", "serve", "--port", "80", "--title=My site"),
				"ExecStop": B("--log-level=debug", "rm", "-v", "-f", "-i", "--cidfile=%t/%N.cid"),
			},
			links: []string{"multi-user.target.wants/web.service"},
		},
		{
			name: "drop-ins override and add, the most specific directory wins",
			files: map[string]string{
				"my-web.container":                  "[Container]\nImage=a\nPublishPort=1000:80\nLabel=base=1\n",
				"my-web.container.d/10-image.conf":  "[Container]\nImage=b\n",
				"my-web.container.d/20-ports.conf":  "[Container]\nPublishPort=\nPublishPort=2000:80\n",
				"my-web.container.d/notes.txt":      "[Container]\nImage=ignored\n",
				"my-.container.d/20-ports.conf":     "[Container]\nPublishPort=3000:80\n",
				"my-.container.d/30-env.conf":       "[Container]\nEnvironment=PREFIX=1\n",
				"container.d/40-all.conf":           "[Container]\nLabel=all=1\n[Install]\nWantedBy=default.target\n",
				"volume.d/40-all.conf":              "[Volume]\nLabel=not-for-containers=1\n",
				"other-web.container.d/10-img.conf": "[Container]\nImage=not-mine\n",
			},
			unit: "my-web.service",
			argv: map[string][]string{
				"ExecStart": append(runArgs[:len(runArgs):len(runArgs)], "--env=PREFIX=1", "--label=base=1", "--label=all=1", "--publish=2000:80", "b"),
			},
			links:   []string{"default.target.wants/my-web.service"},
			dropins: []string{"my-web.container.d/10-image.conf", "my-web.container.d/20-ports.conf", "my-.container.d/30-env.conf", "container.d/40-all.conf"},
		},
		{
			name: "volume",
			files: map[string]string{
				"data.volume": "[Volume]\nVolumeName=appdata\nUser=1000\nGroup=1000\nCopy=false\nDevice=/srv/disk\nType=bind\nOptions=noexec\nLabel=tier=db\nGlobalArgs=--log-level=info\nEngineArgs=--opt=extra=1\n",
			},
			unit: "data-volume.service",
			want: map[string][]string{
				"Unit.RequiresMountsFor":   {"%t/containers", "/srv/disk"},
				"Service.Type":             {"oneshot"},
				"Service.RemainAfterExit":  {"yes"},
				"Service.SyslogIdentifier": {"%N"},
				"Service.KillMode":         nil,
				"Service.Environment":      nil,
			},
			argv: map[string][]string{
				"ExecStart": B("--log-level=info", "volume", "create", "--ignore", "--opt=nocopy", "--opt=device=/srv/disk", "--opt=type=bind",
					"--opt=o=uid=1000,gid=1000,noexec", "--label=tier=db", "--opt=extra=1", "appdata"),
			},
		},
		{
			name: "image volume from an .image",
			files: map[string]string{
				"img.volume":  "[Volume]\nDriver=image\nImage=tools.image\n",
				"tools.image": "[Image]\nImage=quay.io/x/tools:1\nImageTag=localhost/tools:1\nArch=arm64\nTLSVerify=false\nRetry=3\nAuthFile=/etc/auth.json\nCreds=u:p\n",
			},
			unit: "img-volume.service",
			want: map[string][]string{"Unit.Requires": {"tools-image.service"}},
			argv: map[string][]string{"ExecStart": B("volume", "create", "--ignore", "--driver=image", "--opt=image=localhost/tools:1", "systemd-img")},
		},
		{
			name:  "image",
			files: map[string]string{"tools.image": "[Image]\nImage=quay.io/x/tools:1\nArch=arm64\nTLSVerify=false\nRetry=3\nAuthFile=/etc/auth.json\nCreds=u:p\n"},
			unit:  "tools-image.service",
			want:  map[string][]string{"Service.Type": {"oneshot"}, "Service.RemainAfterExit": {"yes"}},
			argv: map[string][]string{
				"ExecStart": B("image", "pull", "--arch=arm64", "--authfile=/etc/auth.json", "--creds=u:p", "--tls-verify=false", "--retry=3", "quay.io/x/tools:1"),
			},
		},
		{
			name: "network",
			files: map[string]string{
				"back.network": "[Network]\nSubnet=10.10.0.0/24\nGateway=10.10.0.1\nSubnet=fd10::/64\nIPRange=10.10.0.128/25\nInternal=true\nIPv6=true\nDriver=bridge\nDNS=10.10.0.53\nOptions=isolate=true mtu=1400\nLabel=env=test\nNetworkDeleteOnStop=true\n",
			},
			unit: "back-network.service",
			want: map[string][]string{"Service.Type": {"oneshot"}, "Service.RemainAfterExit": {"yes"}},
			argv: map[string][]string{
				"ExecStart": B("network", "create", "--ignore", "--internal", "--ipv6", "--driver=bridge", "--dns=10.10.0.53",
					"--opt=isolate=true", "--opt=mtu=1400", "--label=env=test",
					"--subnet=10.10.0.0/24", "--gateway=10.10.0.1", "--ip-range=10.10.0.128/25", "--subnet=fd10::/64", "systemd-back"),
				"ExecStopPost": B("network", "rm", "systemd-back"),
			},
		},
		{
			name: "container networks: a .network with options, a .container, a plain one",
			files: map[string]string{
				"back.network":      "[Network]\n",
				"api.container":     "[Container]\nImage=api\nNetwork=back.network:ip=10.10.0.7\nNetwork=host\n",
				"sidecar.container": "[Container]\nImage=side\nNetwork=api.container\n",
			},
			unit: "sidecar.service",
			want: map[string][]string{"Unit.Requires": {"api.service"}},
			argv: map[string][]string{"ExecStart": append(runArgs[:len(runArgs):len(runArgs)], "--network=container:systemd-api", "side")},
		},
		{
			name: "pod",
			files: map[string]string{
				"app.pod":         "[Pod]\nPodName=app\nPublishPort=8080:80\nNetwork=podnet.network\nVolume=shared.volume:/shared\nLabel=x=y\n",
				"podnet.network":  "[Network]\n",
				"shared.volume":   "[Volume]\n",
				"front.container": "[Container]\nImage=nginx\nPod=app.pod\n",
				"job.container":   "[Container]\nImage=busybox\nPod=app.pod\nStartWithPod=false\n",
			},
			unit: "app-pod.service",
			want: map[string][]string{
				"Unit.Wants":          {"network-online.target", "front.service"},
				"Unit.Before":         {"front.service"},
				"Unit.Requires":       {"podnet-network.service", "shared-volume.service"},
				"Unit.After":          {"network-online.target", "podnet-network.service", "shared-volume.service"},
				"Service.Type":        {"forking"},
				"Service.Restart":     {"on-failure"},
				"Service.PIDFile":     {"%t/%N.pid"},
				"Service.Environment": {"PODMAN_SYSTEMD_UNIT=%n", "ENGINE_SYSTEMD_UNIT=%n"},
			},
			argv: map[string][]string{
				"ExecStartPre": B("pod", "create", "--infra-conmon-pidfile=%t/%N.pid", "--exit-policy=stop", "--replace", "--publish=8080:80",
					"--label=x=y", "--network=systemd-podnet", "--volume=systemd-shared:/shared", "--infra-name=app-infra", "--name=app"),
				"ExecStart":    B("pod", "start", "app"),
				"ExecStop":     B("pod", "stop", "--ignore", "--time=10", "app"),
				"ExecStopPost": B("pod", "rm", "--ignore", "--force", "app"),
			},
		},
		{
			name: "pod member container",
			files: map[string]string{
				"app.pod":         "[Pod]\nPodName=app\n",
				"front.container": "[Container]\nImage=nginx\nPod=app.pod\n",
			},
			unit: "front.service",
			want: map[string][]string{"Unit.BindsTo": {"app-pod.service"}, "Unit.After": {"network-online.target", "app-pod.service"}},
			argv: map[string][]string{"ExecStart": append(runArgs[:len(runArgs):len(runArgs)], "--pod=app", "nginx")},
		},
		{
			name: "build, and a container of the built image",
			files: map[string]string{
				"web.build":      "[Build]\nImageTag=localhost/web:latest\nImageTag=localhost/web:1\nFile=Containerfile\nSetWorkingDirectory=unit\nPull=never\nLabel=built=yes\nEnvironment=X=1\nTarget=prod\n",
				"site.container": "[Container]\nImage=web.build\n",
			},
			unit: "web-build.service",
			want: map[string][]string{"Service.WorkingDirectory": {"@DIR@"}, "Service.Type": {"oneshot"}, "Service.RemainAfterExit": nil},
			argv: map[string][]string{
				"ExecStart": B("build", "--tag=localhost/web:latest", "--tag=localhost/web:1", "--pull=never", "--target=prod",
					"--env=X=1", "--label=built=yes", "--file=Containerfile", "@DIR@"),
			},
		},
		{
			name: "container of a built image",
			files: map[string]string{
				"web.build":      "[Build]\nImageTag=localhost/web:latest\nSetWorkingDirectory=/src\n",
				"site.container": "[Container]\nImage=web.build\n",
			},
			unit: "site.service",
			want: map[string][]string{"Unit.Requires": {"web-build.service"}},
			argv: map[string][]string{"ExecStart": append(runArgs[:len(runArgs):len(runArgs)], "localhost/web:latest")},
		},
		{
			name:  "oneshot container for a user: no notify, no network-online",
			files: map[string]string{"task.container": "[Container]\nImage=busybox\nExec=true\n[Service]\nType=oneshot\nRemainAfterExit=yes\n"},
			user:  true,
			unit:  "task.service",
			want: map[string][]string{
				"Unit.Wants":           nil,
				"Unit.After":           nil,
				"Service.Type":         {"oneshot"},
				"Service.NotifyAccess": nil,
			},
			argv: map[string][]string{"ExecStart": B("run", "--name=systemd-%N", "--cidfile=%t/%N.cid", "--replace", "--rm", "--cgroups=split", "busybox", "true")},
		},
		{
			name:  "template with a default instance",
			files: map[string]string{"sleep@.container": "[Container]\nImage=busybox\nExec=sleep %i\n[Install]\nWantedBy=default.target\nDefaultInstance=100\n"},
			unit:  "sleep@.service",
			argv: map[string][]string{
				"ExecStart": B("run", "--name=systemd-%p_%i", "--cidfile=%t/%N.cid", "--replace", "--rm", "--cgroups=split", "--sdnotify=conmon", "-d", "busybox", "sleep", "%i"),
			},
			links: []string{"default.target.wants/sleep@100.service"},
		},
		{
			name: "ServiceName, dependency names, reload, no default dependencies",
			files: map[string]string{
				"db.container":  "[Container]\nImage=db\nServiceName=database\nReloadSignal=SIGHUP\nNotify=healthy\n",
				"app.container": "[Unit]\nRequires=db.container\nAfter=db.container local-fs.target\n[Quadlet]\nDefaultDependencies=false\n[Container]\nImage=app\nNetwork=db.container\nReloadCmd=/bin/reload --all\n[Install]\nAlias=application.service\n",
			},
			unit: "app.service",
			want: map[string][]string{
				"Unit.Requires":               {"database.service", "database.service"},
				"Unit.After":                  {"database.service local-fs.target", "database.service"},
				"Unit.Wants":                  nil,
				"Quadlet.DefaultDependencies": nil,
			},
			argv: map[string][]string{
				"ExecStart":  append(runArgs[:len(runArgs):len(runArgs)], "--network=container:systemd-database", "app"),
				"ExecReload": B("exec", "systemd-%N", "/bin/reload", "--all"),
			},
			links: []string{"application.service"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir, res := generateTree(t, tc.files, tc.user)
			if len(res.Errors) > 0 {
				t.Fatalf("errors: %v", res.Errors)
			}
			u := unitNamed(t, res, tc.unit)
			fill := func(s []string) []string {
				out := make([]string, len(s))
				for i := range s {
					out[i] = strings.ReplaceAll(s[i], "@DIR@", dir)
				}
				return out
			}
			for field, want := range tc.want {
				if got := values(t, u, field); !slices.Equal(got, fill(want)) {
					t.Errorf("%s = %q, want %q", field, got, fill(want))
				}
			}
			for key, want := range tc.argv {
				if got := argv(t, u, key); !slices.Equal(got, fill(want)) {
					t.Errorf("%s:\n got %q\nwant %q", key, got, fill(want))
				}
			}
			if !slices.Equal(u.Links, tc.links) {
				t.Errorf("links = %q, want %q", u.Links, tc.links)
			}
			if tc.dropins != nil {
				var got []string
				for _, d := range u.DropIns {
					rel, _ := filepath.Rel(dir, d)
					got = append(got, rel)
				}
				if !slices.Equal(got, tc.dropins) {
					t.Errorf("drop-ins = %q, want %q", got, tc.dropins)
				}
			}
		})
	}
}

// TestMinimalContainer pins the whole unit of the smallest .container.
func TestMinimalContainer(t *testing.T) {
	t.Parallel()
	dir, res := generateTree(t, map[string]string{"min.container": "[Container]\nImage=alpine\n"}, false)
	want := `# Generated by engine quadlet from @DIR@/min.container.
# Edit that file or a drop-in for it, not this one, then run systemctl daemon-reload.
[Unit]
Wants=network-online.target
After=network-online.target
SourcePath=@DIR@/min.container
RequiresMountsFor=%t/containers

[Service]
Environment=PODMAN_SYSTEMD_UNIT=%n
Environment=ENGINE_SYSTEMD_UNIT=%n
KillMode=mixed
ExecStop=/usr/bin/true rm -v -f -i --cidfile=%t/%N.cid
ExecStopPost=-/usr/bin/true rm -v -f -i --cidfile=%t/%N.cid
Delegate=yes
Type=notify
NotifyAccess=all
SyslogIdentifier=%N
ExecStart=/usr/bin/true run --name=systemd-%N --cidfile=%t/%N.cid --replace --rm --cgroups=split --sdnotify=conmon -d alpine
`
	want = strings.ReplaceAll(want, "@DIR@", dir)
	if len(res.Units) != 1 || string(res.Units[0].Data) != want {
		t.Fatalf("got %v\n%s\nwant\n%s", res.Errors, unitsText(res), want)
	}
}

func unitsText(res *Result) string {
	var b strings.Builder
	for _, u := range res.Units {
		b.WriteString("---" + u.Name + "---\n")
		b.Write(u.Data)
	}
	return b.String()
}

func TestGenerateErrors(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"good.container":             "[Container]\nImage=alpine\n",
		"good.volume":                "[Volume]\n",
		"unknown.container":          "[Container]\nImage=a\nFoo=bar\nimage=b\n",
		"noimage.container":          "[Container]\nExec=true\n",
		"port.container":             "[Container]\nImage=a\nPublishPort=abc\nPublishPort=1.2.3.4:80\nPublishPort=80:${PORT}\n",
		"notify.container":           "[Container]\nImage=a\nNotify=maybe\n",
		"broken.container":           "[Container]\nImage=a\nthis is not a key\n",
		"net.container":              "[Container]\nImage=a\nNetwork=missing.network\n",
		"group.container":            "[Container]\nImage=a\nGroup=10\n",
		"type.container":             "[Container]\nImage=a\n[Service]\nType=simple\n",
		"quote.container":            "[Container]\nImage=a\nExec=sh -c \"unbalanced\n",
		"dropbad.container":          "[Container]\nImage=a\n",
		"dropbad.container.d/1.conf": "[Container]\nPull=sometimes\n",
		"dd.volume":                  "[Quadlet]\nDefaultDependencies=maybe\n",
		"dep.container":              "[Unit]\nAfter=nothere.container\n[Container]\nImage=a\n",
		"pod.container":              "[Container]\nImage=a\nPod=mypod\n",
		"nofile.build":               "[Build]\nImageTag=x\n",
		"stack.kube":                 "[Kube]\nYaml=stack.yaml\n",
	}
	dir, res := generateTree(t, files, false)
	want := []string{
		`@DIR@/broken.container:3: line "this is not a key" is not KEY=VALUE`,
		`@DIR@/dd.volume:2: invalid DefaultDependencies=maybe: want true or false (or yes/no, on/off, 1/0)`,
		`@DIR@/dep.container:2: After=nothere.container: no quadlet file nothere.container on the search path (@DIR@)`,
		`@DIR@/dropbad.container.d/1.conf:2: invalid Pull=sometimes: want one of always, missing, never, newer`,
		`@DIR@/group.container:3: Group= needs User=: add User= with the user (name or UID) to run as`,
		`@DIR@/net.container:3: Network=missing.network: no quadlet file missing.network on the search path (@DIR@)`,
		`@DIR@/nofile.build: section [Build] does not say where to build: add SetWorkingDirectory= (unit, file, a path or a URL) or File= with an absolute path`,
		`@DIR@/noimage.container: no Image= in section [Container]: add Image=IMAGE (or Rootfs=PATH)`,
		`@DIR@/notify.container:3: invalid Notify=maybe: want true, false or healthy`,
		`@DIR@/pod.container:3: Pod=mypod: name a .pod quadlet file, e.g. Pod=web.pod`,
		`@DIR@/port.container:3: invalid PublishPort=abc: want [[IP:][HOST_PORT]:]CONTAINER_PORT[/PROTOCOL], e.g. 8080:80 or 127.0.0.1:8080:80/tcp`,
		`@DIR@/port.container:4: invalid PublishPort=1.2.3.4:80: want [[IP:][HOST_PORT]:]CONTAINER_PORT[/PROTOCOL], e.g. 8080:80 or 127.0.0.1:8080:80/tcp`,
		`@DIR@/quote.container:3: invalid Exec=sh -c "unbalanced: unbalanced quotes`,
		`@DIR@/stack.kube: .kube files are not supported: the engine has no kube play: write a .pod file and a .container file for each container of the YAML instead`,
		`@DIR@/type.container:4: Type=simple is not supported for a .container file: leave Type= out (notify) or set Type=oneshot`,
		`@DIR@/unknown.container:3: unknown key "Foo" in section [Container]`,
		`@DIR@/unknown.container:4: unknown key "image" in section [Container]: did you mean "Image"?`,
	}
	var got []string
	for _, err := range res.Errors {
		var fe *systemd.FileError
		if !errors.As(err, &fe) {
			t.Errorf("%v is not a *systemd.FileError", err)
		}
		got = append(got, strings.ReplaceAll(err.Error(), dir, "@DIR@"))
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var names []string
	for _, u := range res.Units {
		names = append(names, u.Name)
	}
	if !slices.Equal(names, []string{"good-volume.service", "good.service"}) {
		t.Errorf("units = %v: the broken files must produce none, the good ones theirs", names)
	}
}

func TestSearchPath(t *testing.T) {
	t.Parallel()
	root := writeTree(t, map[string]string{
		"run/web.container":          "[Container]\nImage=from-run\n",
		"etc/web.container":          "[Container]\nImage=from-etc\n",
		"etc/sub/deep/db.container":  "[Container]\nImage=db\n",
		"etc/users/all.container":    "[Container]\nImage=all-users\n",
		"etc/users/1000/a.container": "[Container]\nImage=mine\n",
		"etc/users/2000/b.container": "[Container]\nImage=not-mine\n",
		"usr/web.container":          "[Container]\nImage=from-usr\n",
		"usr/only.volume":            "[Volume]\n",
		"config/mine.container":      "[Container]\nImage=config\n",
	})
	p := func(rel string) string { return filepath.Join(root, rel) }
	tests := []struct {
		name  string
		opts  Options
		units map[string]string // unit -> the image or source it came from
	}{
		{
			name: "system: earlier directories win, subdirectories count, users/ is not read",
			opts: Options{Dirs: []string{p("run"), p("etc"), p("usr"), p("missing")}},
			units: map[string]string{
				"web.service": "from-run", "db.service": "db", "only-volume.service": p("usr/only.volume"),
			},
		},
		{
			name: "user: own directory, users/ but not other users'",
			opts: Options{User: true, Dirs: []string{p("config"), p("etc/users/1000"), p("etc/users")}},
			units: map[string]string{
				"mine.service": "config", "a.service": "mine", "all.service": "all-users",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.opts.Binary = testBinary
			res, err := generate(tc.opts, p("etc"))
			if err != nil || len(res.Errors) > 0 {
				t.Fatalf("%v %v", err, res.Errors)
			}
			got := map[string]string{}
			for _, u := range res.Units {
				if strings.HasSuffix(u.Source, ".container") {
					args := argv(t, u, "ExecStart")
					got[u.Name] = args[len(args)-1]
				} else {
					got[u.Name] = u.Source
				}
			}
			if len(got) != len(tc.units) {
				t.Errorf("units %v, want %v", got, tc.units)
			}
			for name, want := range tc.units {
				if got[name] != want {
					t.Errorf("%s from %q, want %q", name, got[name], want)
				}
			}
		})
	}
}

func TestDefaultSearchPath(t *testing.T) {
	t.Parallel()
	if got := SearchPath(false, 0, "/run/user/0", "/root/.config"); !slices.Equal(got, []string{RunDir, AdminDir, DistroDir}) {
		t.Errorf("system: %v", got)
	}
	want := []string{"/run/user/1000/containers/systemd", "/home/u/.config/containers/systemd", AdminDir + "/users/1000", AdminDir + "/users"}
	if got := SearchPath(true, 1000, "/run/user/1000", "/home/u/.config"); !slices.Equal(got, want) {
		t.Errorf("user: %v, want %v", got, want)
	}
}

func TestWrite(t *testing.T) {
	t.Parallel()
	_, res := generateTree(t, map[string]string{
		"web.container": "[Container]\nImage=a\n[Install]\nWantedBy=default.target multi-user.target\nRequiredBy=x.target\nAlias=www.service\n",
	}, false)
	out := t.TempDir()
	for range 2 { // a second run replaces the links
		if err := Write(out, res.Units); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(filepath.Join(out, "web.service"))
	if err != nil || string(data) != string(res.Units[0].Data) {
		t.Fatalf("web.service: %v", err)
	}
	for link, target := range map[string]string{
		"default.target.wants/web.service":    "../web.service",
		"multi-user.target.wants/web.service": "../web.service",
		"x.target.requires/web.service":       "../web.service",
		"www.service":                         "web.service",
	} {
		if got, err := os.Readlink(filepath.Join(out, link)); err != nil || got != target {
			t.Errorf("%s -> %q (%v), want %q", link, got, err, target)
		}
	}
}

func TestOptions(t *testing.T) {
	t.Parallel()
	if _, err := Generate(Options{Binary: "engine"}); err == nil {
		t.Error("a relative Binary must be refused")
	}
}
