package e2e

// Tests of the pod create and network create flags that quadlet's .pod and
// .network units use: --replace, --exit-policy, --infra-conmon-pidfile,
// --volume and --shm-size; --interface-name and --dns.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestPodCreateReplace(t *testing.T) {
	requirePods(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	pod := newPod(t, e, "--network", "none")
	old := podInspect(t, e, pod).ID
	e.Must("run", "-d", "--pod", pod, "--name", pod+"-old", "--stop-timeout", "0", img, "sleep", "1000")

	r := e.MustFail(125, "pod", "create", "--name", pod)
	if !strings.Contains(r.Stderr, pod) {
		t.Errorf("pod create of a taken name: %q does not name the pod", r.Stderr)
	}
	out := e.Must("pod", "create", "--replace", "--network", "none", "--name", pod)
	doc := podInspect(t, e, pod)
	if doc.ID == old || strings.TrimSpace(out) != doc.ID {
		t.Errorf("pod create --replace printed %q; the pod is %s, was %s", out, doc.ID, old)
	}
	// The old pod went with its containers, infra included.
	st := states(t, e)
	if _, ok := st[pod+"-old"]; ok || len(st) != 1 {
		t.Errorf("containers after --replace: %v, want only the new pod's infra", st)
	}
	// A name no pod has is no error.
	other := pod + "-new"
	e.Must("pod", "create", "--replace", "--network", "none", "--name", other)
	t.Cleanup(func() { e.Run("pod", "rm", "-f", "-i", "-t", "0", other) })
}

func TestPodExitPolicy(t *testing.T) {
	requirePods(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	stop := newPod(t, e, "--network", "none", "--exit-policy", "stop")
	if p := podInspect(t, e, stop).ExitPolicy; p != "stop" {
		t.Errorf("inspect ExitPolicy %q, want stop", p)
	}
	e.Must("run", "-d", "--pod", stop, "--name", stop+"-a", img, "sleep", "1000")
	e.Must("run", "-d", "--pod", stop, "--name", stop+"-b", img, "sh", "-c", "sleep 0.5")
	// A member is left: the pod runs on.
	time.Sleep(2 * time.Second)
	if s := podInspect(t, e, stop).State; s != "Running" && s != "Degraded" {
		t.Fatalf("pod with a running member is %s", s)
	}
	// The last member exits (stopped by the user counts): the pod stops.
	e.Must("stop", "-t", "0", stop+"-a")
	waitFor(t, func() bool { return podInspect(t, e, stop).State == "Exited" })
	for name, state := range states(t, e) {
		if state != "exited" {
			t.Errorf("%s is %s after the last member exited, want exited", name, state)
		}
	}

	// A pod with one member that exits by itself stops, as a .pod unit's
	// (ExitPolicy=stop, the generator's default) should.
	one := stop + "-one"
	e.Must("pod", "create", "--network", "none", "--exit-policy", "stop", "--name", one)
	t.Cleanup(func() { e.Run("pod", "rm", "-f", "-i", "-t", "0", one) })
	e.Must("run", "-d", "--pod", one, "--name", one+"-a", img, "sh", "-c", "sleep 0.5")
	waitFor(t, func() bool { return podInspect(t, e, one).State == "Exited" })

	// continue, the default, keeps the infra container running.
	cont := stop + "-continue"
	e.Must("pod", "create", "--network", "none", "--name", cont)
	t.Cleanup(func() { e.Run("pod", "rm", "-f", "-i", "-t", "0", cont) })
	if p := podInspect(t, e, cont).ExitPolicy; p != "continue" {
		t.Errorf("inspect ExitPolicy %q, want continue", p)
	}
	e.Must("run", "--pod", cont, "--name", cont+"-a", img, "true")
	time.Sleep(time.Second)
	if s := states(t, e)[shortID(podInspect(t, e, cont).ID)+"-infra"]; s != "running" {
		t.Errorf("infra of a pod with exit policy continue is %s after its member exited, want running", s)
	}
	e.MustFail(125, "pod", "create", "--exit-policy", "restart", "--name", cont+"-bad")
}

func TestPodInfraConmonPidfile(t *testing.T) {
	requirePods(t)
	e := newEngine(t)
	pidFile := filepath.Join(e.TmpDir, "pod.pid")
	pod := newPod(t, e, "--network", "none", "--infra-conmon-pidfile", pidFile)
	if _, err := os.Stat(pidFile); err == nil {
		t.Errorf("%s exists before the pod started", pidFile)
	}
	monitorPid := func() int {
		t.Helper()
		b, err := os.ReadFile(pidFile)
		if err != nil {
			t.Fatal(err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatalf("%s holds %q", pidFile, b)
		}
		return pid
	}
	for range 2 { // each start writes the new monitor's pid
		e.Must("pod", "start", pod)
		pid := monitorPid()
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil || !strings.Contains(string(cmdline), "engine-monitor") {
			t.Fatalf("pid %d of %s: %q, %v; want the running infra container's monitor", pid, pidFile, cmdline, err)
		}
		e.Must("pod", "stop", "-t", "0", pod)
		waitFor(t, func() bool { return !procAlive(pid) })
	}
}

func TestPodVolumeAndShmSize(t *testing.T) {
	requirePods(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	dir := filepath.Join(e.TmpDir, "shared")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("from host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pod := newPod(t, e, "--network", "none", "-v", dir+":/data:ro", "--shm-size", "3m")
	out := e.Must("run", "--rm", "--pod", pod, img, "sh", "-c", "cat /data/f; grep ' /dev/shm ' /proc/mounts")
	if !strings.HasPrefix(out, "from host\n") || !strings.Contains(out, "size=3072k") {
		t.Errorf("member of a pod with -v and --shm-size 3m sees:\n%s", out)
	}
	e.MustFail(125, "pod", "create", "--userns", "auto", "--name", pod+"-userns")
}

func TestNetworkInterfaceNameAndDNS(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	bridge := fmt.Sprintf("e2ebr%d", os.Getpid()%1000000)
	name := newNetwork(t, e, "", "--interface-name", bridge, "--dns", "10.1.2.3", "--ipam-driver", "host-local")
	var nets []struct {
		Interface  string   `json:"network_interface"`
		DNSServers []string `json:"network_dns_servers"`
	}
	if err := json.Unmarshal([]byte(e.Must("network", "inspect", name)), &nets); err != nil || len(nets) != 1 {
		t.Fatalf("network inspect %s: %v", name, err)
	}
	if nets[0].Interface != bridge || strings.Join(nets[0].DNSServers, " ") != "10.1.2.3" {
		t.Errorf("network inspect: bridge %s, DNS %q; want %s, 10.1.2.3", nets[0].Interface, nets[0].DNSServers, bridge)
	}
	ctr := name + "-ctr"
	e.Must("run", "-d", "--network", name, "--name", ctr, img, "sleep", "1000")
	if out := e.Must("exec", ctr, "grep", "nameserver", "/etc/resolv.conf"); out != "nameserver 10.1.2.3\n" {
		t.Errorf("resolv.conf of a container on the network: %q, want only the network's server", out)
	}
	if !strings.Contains(hostCmd(t, "ip", "-o", "link", "show", "type", "bridge"), bridge+":") {
		t.Errorf("no bridge %s on the host while a container uses the network", bridge)
	}
	e.Must("rm", "-f", "-t", "0", ctr)
	// The container's own --dns wins.
	if out := e.Must("run", "--rm", "--network", name, "--dns", "10.9.9.9", img, "grep", "nameserver", "/etc/resolv.conf"); out != "nameserver 10.9.9.9\n" {
		t.Errorf("resolv.conf with --dns: %q", out)
	}
	e.MustFail(125, "network", "create", "--interface-name", bridge, name+"-2")
	e.MustFail(125, "network", "create", "--ipam-driver", "dhcp", name+"-3")
}

// TestBuildQuadletFlags checks the build flags of .build units: --env in
// the RUN steps and the image (not from a cache of a build without it),
// --dns and --group-add in the RUN steps, --arch of the host accepted and
// another refused.
func TestBuildQuadletFlags(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	base := buildImage(t, e)
	dir := buildContext(t, map[string]string{"Containerfile": "FROM " + base + "\n" +
		"RUN echo \"A=$A\" > /a && grep nameserver /etc/resolv.conf > /dns && id -G > /groups\n"})
	tag := "localhost/" + uniqueName(t)
	e.Must("build", "-q", "-t", tag+":plain", dir) // fills the cache without --env
	arch := strings.TrimSpace(e.Must("info", "--format", "{{.Host.Arch}}"))
	e.Must("build", "-q", "-t", tag, "--env", "A=1", "--dns", "10.3.3.3", "--group-add", "4242",
		"--arch", arch, "--retry", "1", "--retry-delay", "1s", dir)
	out := e.Must("run", "--rm", tag, "sh", "-c", "cat /a /dns /groups; echo env=$A")
	lines := strings.Split(out, "\n")
	if len(lines) != 5 || lines[0] != "A=1" || lines[1] != "nameserver 10.3.3.3" || !slices.Contains(strings.Fields(lines[2]), "4242") || lines[3] != "env=1" {
		t.Errorf("image built with --env A=1, --dns 10.3.3.3 and --group-add 4242 has /a, /dns, /groups and $A:\n%s", out)
	}
	other := "arm64"
	if arch == "arm64" {
		other = "amd64"
	}
	r := e.MustFail(125, "build", "-t", tag+":other", "--arch", other, dir)
	if !strings.Contains(r.Stderr, "--arch "+other) {
		t.Errorf("build --arch %s on %s: %q", other, arch, r.Stderr)
	}
}

// TestQuadletPodUnit runs the commands of a .pod unit and of a .container
// in it as systemd would: the pod is created (again, replacing it, as a
// restarted unit does), systemd's PIDFile= holds the infra container's
// monitor, and when the pod's only container exits the pod stops (the
// generator's ExitPolicy=stop), so the monitor systemd follows exits.
func TestQuadletPodUnit(t *testing.T) {
	requirePods(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	name := uniqueName(t)
	quadletDir(t, e, map[string]string{
		"app.pod":       "[Pod]\nPodName=" + name + "\nNetwork=none\n",
		"app.container": "[Container]\nImage=" + img + "\nContainerName=" + name + "-ctr\nPod=app.pod\nExec=sleep 2\n",
	})
	out := e.Must("quadlet", "--dryrun")
	// What systemd would run, its specifiers expanded.
	execs := func(unit, n string) map[string][]string {
		cmds := map[string][]string{}
		for _, line := range strings.Split(unitText(t, out, unit), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok && strings.HasPrefix(k, "Exec") {
				v = strings.NewReplacer("%t", e.TmpDir, "%N", n, "%n", unit).Replace(strings.TrimPrefix(v, "-"))
				cmds[k] = strings.Fields(v)[1:]
			}
		}
		return cmds
	}
	pod, ctr := execs("app-pod.service", "app-pod"), execs("app.service", "app")
	t.Cleanup(func() { e.Run(pod["ExecStopPost"]...) })
	e.Must(pod["ExecStartPre"]...)
	e.Must(pod["ExecStartPre"]...) // a restarted unit: --replace
	e.Must(pod["ExecStart"]...)
	b, err := os.ReadFile(filepath.Join(e.TmpDir, "app-pod.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || !procAlive(pid) {
		t.Fatalf("PIDFile holds %q: want the pid of the running infra container's monitor", b)
	}
	e.Must(ctr["ExecStart"]...)
	if s := podInspect(t, e, name).State; s != "Running" {
		t.Errorf("pod with a running container is %s", s)
	}
	waitFor(t, func() bool { return !procAlive(pid) })
	if s := podInspect(t, e, name).State; s != "Exited" {
		t.Errorf("pod is %s after its only container exited, want Exited", s)
	}
	e.Must(pod["ExecStopPost"]...)
	if r := e.Run("pod", "exists", name); r.ExitCode != 1 {
		t.Errorf("pod exists after the unit's ExecStopPost: %+v", r)
	}
}
