package main

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/spf13/cobra"
)

// Quadlet files of each kind but .container (see everyContainerKey) with
// every key of their section that the generator turns into a flag (some
// conflict with each other: only the command lines are checked).
const (
	everyPodKey = `[Pod]
PodName=app
ExitPolicy=stop
Network=bridge
Volume=/srv:/srv:ro
UserNS=auto
UIDMap=0:1:1000
GIDMap=0:1:1000
SubUIDMap=app
SubGIDMap=app
PublishPort=8080:80
Label=a=b
IP=10.88.0.5
IP6=fd00::5
ShmSize=128m
NetworkAlias=www
DNS=1.1.1.1
DNSOption=ndots:2
DNSSearch=example.com
AddHost=db:10.0.0.5
HostName=app
`
	everyNetworkKey = `[Network]
NetworkName=appnet
NetworkDeleteOnStop=true
Subnet=10.89.7.0/24
Gateway=10.89.7.1
IPRange=10.89.7.128/25
DisableDNS=false
Internal=true
IPv6=true
Driver=bridge
IPAMDriver=host-local
InterfaceName=appbr0
DNS=1.1.1.1
Options=mtu=1400
Label=a=b
`
	everyImageKey = `[Image]
Image=` + quadletImage + `
ImageTag=localhost/app:latest
AllTags=false
Arch=amd64
OS=linux
Variant=v2
AuthFile=/etc/auth.json
CertDir=/etc/certs
Creds=user:secret
DecryptionKey=/etc/key.pem
TLSVerify=false
Retry=5
RetryDelay=3s
`
	everyBuildKey = `[Build]
ImageTag=localhost/app:1
File=/src/Containerfile
SetWorkingDirectory=/src
Network=host
Volume=/srv:/srv:ro
Pull=never
Arch=amd64
Variant=v2
Target=prod
AuthFile=/etc/auth.json
TLSVerify=false
ForceRM=true
Retry=5
RetryDelay=3s
DNS=1.1.1.1
DNSOption=ndots:2
DNSSearch=example.com
GroupAdd=wheel
Environment=A=1
Label=a=b
Annotation=c=d
Secret=id=token,src=/etc/token
`
)

// TestQuadletUnitFlags checks that every engine command line the quadlet
// generator writes for .pod, .network, .image and .build files is one the
// engine accepts: a known command, known flags, the operands it takes. A
// unit must not fail with "unknown flag" when it starts.
func TestQuadletUnitFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file, data, unit string
		want             []string // the commands of the unit, in order
	}{
		{"app.pod", everyPodKey, "app-pod.service", []string{"pod create", "pod start", "pod stop", "pod rm"}},
		{"app.network", everyNetworkKey, "app-network.service", []string{"network rm", "network create"}},
		{"app.image", everyImageKey, "app-image.service", []string{"image pull"}},
		{"app.build", everyBuildKey, "app-build.service", []string{"build"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, x := range quadletExecs(t, map[string]string{tc.file: tc.data}, tc.unit) {
				line := "engine " + strings.Join(x.args, " ")
				cmd, rest, err := newRootCommand().Find(x.args)
				if err != nil {
					t.Fatalf("%s=%s: %v", x.key, line, err)
				}
				got = append(got, strings.TrimPrefix(cmd.CommandPath(), "engine "))
				if err := cmd.ParseFlags(rest); err != nil {
					t.Errorf("%s=%s: %v", x.key, line, err)
					continue
				}
				if err := cmd.ValidateArgs(cmd.Flags().Args()); err != nil {
					t.Errorf("%s=%s: operands %q: %v", x.key, line, cmd.Flags().Args(), err)
				}
			}
			if strings.Join(got, ", ") != strings.Join(tc.want, ", ") {
				t.Errorf("commands %q, want %q", got, tc.want)
			}
		})
	}
}

// TestQuadletPodCreateOptions checks that the flags the generator writes
// for a .pod reach pod create's options: the fixed ones (the infra's
// monitor pid file for systemd, the exit policy, --replace) and those of
// IP6=, ShmSize= and Volume=.
func TestQuadletPodCreateOptions(t *testing.T) {
	t.Parallel()
	execs := quadletExecs(t, map[string]string{"app.pod": "[Pod]\nPodName=app\nIP6=fd00::5\nShmSize=128m\nVolume=/srv:/data:ro\n"}, "app-pod.service")
	args := execs[0].args
	if execs[0].key != "ExecStartPre" || strings.Join(args[:2], " ") != "pod create" {
		t.Fatalf("first command %s=%q, want ExecStartPre=pod create", execs[0].key, args)
	}
	f := &podCreateFlags{}
	cmd := &cobra.Command{Use: "create"}
	f.add(cmd)
	if err := cmd.ParseFlags(args[2:]); err != nil {
		t.Fatal(err)
	}
	o, err := f.options(cmd, cmd.Flags().Args())
	if err != nil {
		t.Fatal(err)
	}
	if o.Name != "app" || o.InfraConmonPidFile != "%t/%N.pid" || o.ExitPolicy != libengine.PodExitPolicyStop || !o.Replace {
		t.Errorf("name %q, pid file %q, exit policy %q, replace %v", o.Name, o.InfraConmonPidFile, o.ExitPolicy, o.Replace)
	}
	if len(o.Networks) != 1 || !slices.Equal(o.Networks[0].IPs, []string{"fd00::5"}) {
		t.Errorf("networks %+v, want the default one with fd00::5", o.Networks)
	}
	if o.ShmSize == nil || *o.ShmSize != 128<<20 {
		t.Errorf("shm size %v, want 128 MiB", o.ShmSize)
	}
	if len(o.Volumes) != 1 || o.Volumes[0].Source != "/srv" || o.Volumes[0].Destination != "/data" {
		t.Errorf("volumes %+v, want /srv on /data", o.Volumes)
	}
}

// TestUnsupportedPodFlags checks that pod create's user namespace flags
// fail in one line that names them and the quadlet keys (exit code 125),
// before any pod is made.
func TestUnsupportedPodFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--userns", "auto"}, {"--uidmap", "0:100000:65536"}, {"--gidmap", "0:100000:65536"},
		{"--subuidname", "app"}, {"--subgidname", "app"},
	} {
		cmd := newPodCreateCommand(&globalOptions{})
		cmd.SetArgs(append(args, "web"))
		cmd.SilenceErrors, cmd.SilenceUsage = true, true
		err := cmd.Execute()
		if !errors.Is(err, define.ErrNotImplemented) || strings.Contains(err.Error(), "\n") ||
			!strings.HasPrefix(err.Error(), args[0]+":") || !strings.Contains(err.Error(), "UserNS=") {
			t.Errorf("pod create %q: %v, want a one-line ErrNotImplemented naming the flag", args, err)
		}
	}
}

// TestPullDecryptionKey checks that --decryption-key (the DecryptionKey=
// key of .image files), which the engine refuses, fails in one line naming
// the flag and the key (not the passphrase), before anything is pulled.
func TestPullDecryptionKey(t *testing.T) {
	t.Parallel()
	cmd := newPullCommand(&globalOptions{})
	cmd.SetArgs([]string{"--decryption-key", "/etc/key.pem:secret", quadletImage})
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.Execute()
	if !errors.Is(err, define.ErrNotImplemented) || strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "secret") ||
		!strings.HasPrefix(err.Error(), "--decryption-key:") || !strings.Contains(err.Error(), "DecryptionKey=") {
		t.Errorf("pull --decryption-key: %v, want a one-line ErrNotImplemented naming the flag and DecryptionKey=, not the passphrase", err)
	}
}

func TestParseBuildEnv(t *testing.T) {
	t.Setenv("ENGINE_TEST_BUILD_ENV", "from-host")
	for _, tc := range []struct {
		in   []string
		want map[string]string
		bad  bool
	}{
		{in: []string{"A=1", "B=", "A=2"}, want: map[string]string{"A": "2", "B": ""}},
		{in: []string{"ENGINE_TEST_BUILD_ENV", "ENGINE_TEST_UNSET_ENV"}, want: map[string]string{"ENGINE_TEST_BUILD_ENV": "from-host"}},
		{in: []string{"=1"}, bad: true},
	} {
		got, err := parseBuildEnv(tc.in)
		if tc.bad {
			if !errors.Is(err, define.ErrInvalidArg) || !strings.Contains(err.Error(), "--env") {
				t.Errorf("%q: %v, want an ErrInvalidArg naming --env", tc.in, err)
			}
			continue
		}
		if err != nil || !maps.Equal(got, tc.want) {
			t.Errorf("%q: %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}
