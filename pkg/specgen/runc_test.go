package specgen

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	imgspec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// runcHost returns the runc binary and the host facts for Generate, or
// skips the test when it cannot run a container here.
func runcHost(t *testing.T) (string, GenerateEnv) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("running a container with runc needs root")
	}
	runc, err := exec.LookPath("runc")
	if err != nil {
		t.Skip("runc is not installed")
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("no static /bin/busybox to build a root filesystem from")
	}
	var env GenerateEnv
	env.CgroupVersion = 1
	var fs unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &fs); err == nil && fs.Type == unix.CGROUP2_SUPER_MAGIC {
		env.CgroupVersion = 2
	}
	for _, r := range []struct {
		name string
		res  int
	}{{"RLIMIT_NOFILE", unix.RLIMIT_NOFILE}, {"RLIMIT_NPROC", unix.RLIMIT_NPROC}} {
		var rl unix.Rlimit
		if err := unix.Getrlimit(r.res, &rl); err != nil {
			t.Fatal(err)
		}
		env.HostRlimits = append(env.HostRlimits, specs.POSIXRlimit{Type: r.name, Soft: rl.Cur, Hard: rl.Max})
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			env.BoundingSet = CapabilitiesFromMask(mask)
		}
	}
	env.Debugf = t.Logf
	return runc, env
}

// containerID names the test's container after the test, unique per process.
func containerID(t *testing.T) string {
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, strings.ToLower(t.Name()))
	return fmt.Sprintf("specgen-%d-%s", os.Getpid(), name)
}

// runBusybox runs s in a container whose root filesystem holds only
// /bin/busybox and returns its output and exit code.
func runBusybox(t *testing.T, runc string, env GenerateEnv, s *SpecGenerator) (string, int) {
	t.Helper()
	bundle := t.TempDir()
	env.RootFS = filepath.Join(bundle, "rootfs")
	env.ID = containerID(t)
	if err := os.MkdirAll(filepath.Join(env.RootFS, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, "/bin/busybox", filepath.Join(env.RootFS, "bin", "busybox"))

	// Write the run directory's files, as the engine does.
	s.Image = "busybox"
	env.RunDir = filepath.Join(bundle, "run")
	if err := os.Mkdir(env.RunDir, 0o755); err != nil {
		t.Fatal(err)
	}
	files, err := RunDirFiles(s, imgspec.ImageConfig{}, env)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(env.RunDir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	spec, err := Generate(s, imgspec.ImageConfig{}, env)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	t.Cleanup(func() {
		_ = exec.Command(runc, "--root", state, "delete", "--force", env.ID).Run()
	})
	var out bytes.Buffer
	cmd := exec.Command(runc, "--root", state, "run", "--bundle", bundle, env.ID)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, &out, &out
	err = cmd.Run()
	if exit := (*exec.ExitError)(nil); errors.As(err, &exit) {
		return out.String(), exit.ExitCode()
	}
	if err != nil {
		t.Fatalf("runc run: %v\n%s", err, out.String())
	}
	return out.String(), 0
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestRuncRunsGeneratedSpec checks that runc accepts a default spec.
func TestRuncRunsGeneratedSpec(t *testing.T) {
	runc, env := runcHost(t)
	out, code := runBusybox(t, runc, env, &SpecGenerator{
		Command:    []string{"/bin/busybox", "true"},
		Namespaces: Namespaces{Network: "none"},
	})
	if code != 0 {
		t.Fatalf("exit code %d, want 0; output:\n%s", code, out)
	}
}

// TestRuncDefaults checks podman's defaults from inside a container.
func TestRuncDefaults(t *testing.T) {
	runc, env := runcHost(t)
	// A masked file reads empty; pick one this kernel has.
	masked := ""
	for _, p := range DefaultMaskedPaths {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			masked = p
			break
		}
	}
	script := `bb=/bin/busybox
$bb grep -E '^(CapEff|CapBnd|Seccomp|NoNewPrivs):' /proc/self/status
echo "nofile $(ulimit -Hn)"
echo "hostname $($bb hostname)"
[ -n "$MASKED" ] && echo "masked $($bb wc -c < $MASKED)"
$bb touch /sys/x 2>/dev/null && echo "sys writable" || echo "sys read-only"
$bb touch /proc/sys/x 2>/dev/null && echo "proc/sys writable" || echo "proc/sys read-only"
$bb ip link 2>/dev/null | $bb grep -c '^[0-9]*:' | $bb sed 's/^/links /'
`
	out, code := runBusybox(t, runc, env, &SpecGenerator{
		Command:    []string{"/bin/busybox", "sh", "-c", script},
		Env:        map[string]string{"MASKED": masked},
		Namespaces: Namespaces{Network: "none"},
	})
	if code != 0 {
		t.Fatalf("exit code %d; output:\n%s", code, out)
	}
	nofile := uint64(DefaultNofile)
	for _, h := range env.HostRlimits {
		if h.Type == "RLIMIT_NOFILE" {
			nofile = min(nofile, h.Hard)
		}
	}
	for _, want := range []string{
		fmt.Sprintf("CapEff:\t%016x", podmanDefaultCapMask),
		fmt.Sprintf("CapBnd:\t%016x", podmanDefaultCapMask),
		"Seccomp:\t2",
		"NoNewPrivs:\t0",
		fmt.Sprintf("nofile %d", nofile),
		"hostname " + containerID(t)[:12],
		"sys read-only",
		"proc/sys read-only",
		"links 1", // loopback only: --network none
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if masked != "" && !strings.Contains(out, "masked 0\n") {
		t.Errorf("masked %s is readable:\n%s", masked, out)
	}
}

// TestRuncVariants checks that runc accepts the specs of common flags and
// that they take effect.
func TestRuncVariants(t *testing.T) {
	runc, env := runcHost(t)
	hostDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(hostDir, "hello"), []byte("hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sh := func(script string) []string { return []string{"/bin/busybox", "sh", "-c", script} }
	for _, tc := range []struct {
		name string
		s    SpecGenerator
		want string
	}{
		{"read-only with tmpfs", SpecGenerator{
			Command:  sh("/bin/busybox touch /tmp/x /run/x /var/tmp/x && ! /bin/busybox touch /x 2>/dev/null && echo ok"),
			Security: Security{ReadOnly: true},
		}, "ok\n"},
		{"non-root user", SpecGenerator{
			Command: sh("/bin/busybox grep CapEff /proc/self/status; /bin/busybox id -u"),
			User:    "1000:1000",
		}, "CapEff:\t0000000000000000\n1000\n"},
		{"non-root user with cap-add", SpecGenerator{
			Command:  sh("/bin/busybox grep CapEff /proc/self/status"),
			User:     "1000",
			Security: Security{CapAdd: []string{"net_bind_service"}},
		}, "CapEff:\t0000000000000400\n"},
		{"cap-drop all", SpecGenerator{
			Command:  sh("/bin/busybox grep CapEff /proc/self/status"),
			Security: Security{CapDrop: []string{"ALL"}, NoNewPrivileges: true},
		}, "CapEff:\t0000000000000000\n"},
		{"privileged", SpecGenerator{
			Command:  sh("/bin/busybox grep Seccomp: /proc/self/status; /bin/busybox touch /sys/kernel/x 2>/dev/null; echo done"),
			Security: Security{Privileged: true},
		}, "Seccomp:\t0\ndone\n"},
		{"seccomp unconfined", SpecGenerator{
			Command:  sh("/bin/busybox grep Seccomp: /proc/self/status"),
			Security: Security{SeccompProfilePath: "unconfined"},
		}, "Seccomp:\t0\n"},
		{"device and bind mount", SpecGenerator{
			Command: sh("echo x > /dev/mynull && /bin/busybox cat /data/hello && ! /bin/busybox touch /data/y 2>/dev/null && echo ok"),
			Devices: []string{"/dev/null:/dev/mynull:rw"},
			Mounts:  []Mount{{Type: "bind", Source: hostDir, Destination: "/data", Options: []string{"ro"}}},
		}, "hi\nok\n"},
		{"host network", SpecGenerator{
			Command:    sh("/bin/busybox ip link | /bin/busybox grep -c '^[0-9]*:' | /bin/busybox awk '{print ($1 >= 1) ? \"ok\" : \"none\"}'"),
			Namespaces: Namespaces{Network: "host"},
		}, "ok\n"},
		{"limits", SpecGenerator{
			Command:   sh("ulimit -Sn; ulimit -Hn; /bin/busybox cat /proc/sys/kernel/msgmax; /bin/busybox df -k /dev/shm | /bin/busybox awk 'NR==2{print $2}'"),
			Ulimits:   []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 512, Hard: 1024}},
			Sysctls:   map[string]string{"kernel.msgmax": "4096"},
			ShmSize:   ptr(int64(8 << 20)),
			Resources: Resources{Memory: ptr(int64(64 << 20)), PidsLimit: ptr(int64(50)), CPUs: ptr(0.5)},
			Tmpfs:     map[string]string{"/scratch": "size=1m"},
		}, "512\n1024\n4096\n8192\n"},
		{"files of the run directory", SpecGenerator{
			Command:    sh("/bin/busybox id -un; /bin/busybox cat /etc/hostname; /bin/busybox grep -c box /etc/hosts; /bin/busybox cat /etc/resolv.conf"),
			User:       "4242",
			Hostname:   "box",
			DNSServers: []string{"192.0.2.1"},
		}, "4242\nbox\n1\nnameserver 192.0.2.1\n"},
		{"workdir, hostname and env", SpecGenerator{
			Command:  sh(`echo "$PWD $HOSTNAME $HOME $FOO"`),
			WorkDir:  "/bin",
			Hostname: "box",
			Env:      map[string]string{"FOO": "bar"},
		}, "/bin box / bar\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, code := runBusybox(t, runc, env, &tc.s)
			if code != 0 || out != tc.want {
				t.Errorf("exit %d, output %q; want 0, %q", code, out, tc.want)
			}
		})
	}
}
