package main

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/specgen"
	"github.com/engine-oss/engine/pkg/systemd"
	"github.com/engine-oss/engine/pkg/systemd/quadlet"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"
)

const quadletImage = "localhost/app:1"

// everyContainerKey is a .container file with every key that becomes an
// `engine run` flag (some conflict with each other: only the flags'
// names are checked).
const everyContainerKey = `[Container]
Image=` + quadletImage + `
Exec=sleep 100
ContainerName=app
Notify=healthy
CgroupsMode=split
Pod=app.pod
User=1000
Group=1000
Network=host
Volume=/srv:/srv:ro
Mount=type=tmpfs,destination=/scratch
AddDevice=/dev/null
EnvironmentFile=/etc/app.env
Entrypoint=/bin/sh
WorkingDir=/srv
HostName=app
Timezone=UTC
UserNS=keep-id
UIDMap=0:1:1000
GIDMap=0:1:1000
SubUIDMap=app
SubGIDMap=app
GroupAdd=wheel
Environment=A=1
EnvironmentHost=true
Label=a=b
Annotation=c=d
AutoUpdate=registry
PublishPort=8080:80
ExposeHostPort=9000-9001/udp
NetworkAlias=www
IP=10.88.0.5
IP6=fd00::5
DNS=1.1.1.1
DNSSearch=example.com
DNSOption=ndots:2
AddHost=db:10.0.0.5
Tmpfs=/run
ReadOnly=true
ReadOnlyTmpfs=false
RunInit=true
NoNewPrivileges=true
SeccompProfile=/etc/seccomp.json
SecurityLabelDisable=true
SecurityLabelNested=true
SecurityLabelType=spc_t
SecurityLabelFileType=usr_t
SecurityLabelLevel=s0:c1
Mask=/proc/foo
Unmask=ALL
DropCapability=KILL
AddCapability=NET_ADMIN
Sysctl=net.ipv4.ip_forward=1
Ulimit=nofile=1024:2048
ShmSize=128m
Memory=1g
PidsLimit=100
LogDriver=json-file
LogOpt=max-size=10m
Secret=token
StopSignal=SIGINT
StopTimeout=20
Pull=newer
Retry=5
RetryDelay=3s
HealthCmd=true
HealthInterval=10s
HealthRetries=2
HealthStartPeriod=5s
HealthTimeout=3s
HealthOnFailure=kill
HealthLogDestination=local
HealthMaxLogCount=5
HealthMaxLogSize=100
HealthStartupCmd=true
HealthStartupInterval=1s
HealthStartupRetries=3
HealthStartupSuccess=1
HealthStartupTimeout=2s
`

// quadletExec is one Exec*= command line of a generated unit: the key
// (ExecStart, ExecStopPost…) and the arguments after the engine binary.
type quadletExec struct {
	key  string
	args []string
}

// quadletExecs generates the units of the quadlet files and returns the
// engine command lines of the unit called unit, in order.
func quadletExecs(t *testing.T, files map[string]string, unit string) []quadletExec {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err := quadlet.Generate(quadlet.Options{Dirs: []string{dir}, Binary: "/usr/bin/engine"})
	if err != nil || len(res.Errors) > 0 {
		t.Fatalf("generate: %v %v", err, res.Errors)
	}
	var out []quadletExec
	for _, u := range res.Units {
		if u.Name != unit {
			continue
		}
		for _, line := range strings.Split(string(u.Data), "\n") {
			key, cmdline, ok := strings.Cut(line, "=")
			if !ok || !strings.HasPrefix(key, "Exec") {
				continue
			}
			words, err := systemd.SplitWords(strings.TrimPrefix(cmdline, "-")) // "-": failure is ignored
			if err != nil || len(words) < 2 || words[0] != "/usr/bin/engine" {
				t.Fatalf("%s: %v", line, err)
			}
			out = append(out, quadletExec{key: key, args: words[1:]})
		}
	}
	if len(out) == 0 {
		t.Fatalf("no engine command in %s", unit)
	}
	return out
}

// quadletRunArgs returns the arguments after `engine run` of app.service's
// ExecStart.
func quadletRunArgs(t *testing.T, files map[string]string) []string {
	t.Helper()
	for _, x := range quadletExecs(t, files, "app.service") {
		if x.key == "ExecStart" {
			if x.args[0] != "run" {
				t.Fatalf("ExecStart runs engine %q, want run", x.args)
			}
			return x.args[1:]
		}
	}
	t.Fatal("no ExecStart in app.service")
	return nil
}

// TestQuadletRunFlags checks that `engine run` has every flag the quadlet
// generator writes for a .container: a unit must not fail with "unknown
// flag" when it starts.
func TestQuadletRunFlags(t *testing.T) {
	t.Parallel()
	args := quadletRunArgs(t, map[string]string{"app.container": everyContainerKey, "app.pod": "[Pod]\n"})
	cmd := newRunCommand(&globalOptions{})
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatalf("engine run %s: %v", strings.Join(args, " "), err)
	}
	if rest := cmd.Flags().Args(); len(rest) == 0 || rest[0] != quadletImage {
		t.Errorf("arguments after the flags: %q, want the image first", rest)
	}
}

// TestQuadletNewRunFlags checks the values of the keys whose flags the
// engine gained for quadlets: Timezone=, ExposeHostPort=, IP6=, Retry=,
// RetryDelay=.
func TestQuadletNewRunFlags(t *testing.T) {
	zones := t.TempDir()
	if err := os.WriteFile(filepath.Join(zones, "UTC"), []byte("TZif2"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TZDIR", zones)
	args := quadletRunArgs(t, map[string]string{"app.container": "[Container]\nContainerName=app\nImage=" + quadletImage +
		"\nTimezone=UTC\nExposeHostPort=8080\nExposeHostPort=9000-9001/udp\nIP6=fd00::5\nRetry=5\nRetryDelay=3s\n"})
	// run's own flags, into a struct the test can read.
	f := &runFlags{}
	cmd := &cobra.Command{Use: "run"}
	addCreateFlags(cmd, &f.createFlags)
	cmd.Flags().BoolVarP(&f.detach, "detach", "d", false, "")
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
	s, err := f.spec(cmd, cmd.Flags().Args())
	if err != nil {
		t.Fatalf("spec: %v", err)
	}
	if s.Timezone != "UTC" || !reflect.DeepEqual(s.Expose, []string{"8080", "9000-9001/udp"}) {
		t.Errorf("Timezone %q, Expose %q", s.Timezone, s.Expose)
	}
	if len(s.Networks) != 1 || !reflect.DeepEqual(s.Networks[0].IPs, []string{"fd00::5"}) {
		t.Errorf("networks %+v, want the default one with fd00::5", s.Networks)
	}
	opts, err := f.createOptions(cmd)
	if err != nil || opts.Pull.Retries == nil || *opts.Pull.Retries != 5 || opts.Pull.RetryDelay != 3*time.Second {
		t.Errorf("pull options %+v, %v: want 5 retries 3s apart", opts.Pull, err)
	}
}

// TestUnsupportedRunFlags checks that the flags the engine accepts but
// cannot honor yet fail in one line that names them (exit code 125),
// before any container is made.
func TestUnsupportedRunFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		say  []string
	}{
		{[]string{"--rootfs", "/srv/root", "sh"}, []string{"--rootfs", "Image="}},
		{[]string{"--secret", "token", quadletImage}, []string{"--secret token", "Secret="}},
		{[]string{"--health-startup-cmd", "true", quadletImage}, []string{"--health-startup-cmd", "HealthStartup"}},
		{[]string{"--health-startup-retries", "3", quadletImage}, []string{"--health-startup-retries"}},
	} {
		for _, newCmd := range []func(*globalOptions) *cobra.Command{newRunCommand, newCreateCommand} {
			cmd := newCmd(&globalOptions{})
			cmd.SetArgs(tc.args)
			cmd.SilenceErrors, cmd.SilenceUsage = true, true
			err := cmd.Execute()
			if !errors.Is(err, define.ErrNotImplemented) || strings.Contains(err.Error(), "\n") {
				t.Errorf("%s %q: %v, want a one-line ErrNotImplemented", cmd.Name(), tc.args, err)
				continue
			}
			for _, want := range tc.say {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%s %q: %q does not mention %q", cmd.Name(), tc.args, err, want)
				}
			}
		}
	}
}

func TestSubIDMappings(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	subuid, subgid := filepath.Join(dir, "subuid"), filepath.Join(dir, "subgid")
	for file, data := range map[string]string{
		subuid: "alice:100000:65536\napp:300000:1000\nbob:200000:65536\napp:250000:500\n",
		subgid: "app:400000:2000\n",
	} {
		if err := os.WriteFile(file, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	app := specgen.IDMappings{
		UIDMap: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 250000, Size: 500}, {ContainerID: 500, HostID: 300000, Size: 1000}},
		GIDMap: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 400000, Size: 2000}},
	}
	for _, tc := range []struct {
		name, uid, gid string
		want           specgen.IDMappings
		say            string
	}{
		{name: "both", uid: "app", gid: "app", want: app},
		{name: "uid name alone serves for both", uid: "app", want: app},
		{name: "gid name alone serves for both", gid: "app", want: app},
		{name: "no gid range", uid: "alice", say: "--subgidname alice: " + subgid + " has no range of alice"},
		{name: "unknown", uid: "nobody", gid: "app", say: "--subuidname nobody"},
	} {
		got, err := subIDMappings(tc.uid, tc.gid, subuid, subgid)
		if tc.say != "" {
			if !errors.Is(err, define.ErrInvalidArg) || !strings.Contains(err.Error(), tc.say) {
				t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.say)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
}
