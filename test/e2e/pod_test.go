package e2e

// Pod tests need root and catatonit (Debian package catatonit), from which
// the engine builds its pause image. Most pods use --network none, whose
// shared loopback is all that "reaching each other on localhost" needs;
// TestPodPublishesPorts uses the default bridge network.

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/sys/mountinfo"
)

// requirePods skips the test unless it runs as root on a host with
// catatonit.
func requirePods(t *testing.T) {
	t.Helper()
	requireRoot(t)
	for _, p := range []string{"/usr/libexec/podman/catatonit", "/usr/bin/catatonit", "/usr/libexec/catatonit/catatonit", "/usr/local/bin/catatonit"} {
		if _, err := os.Stat(p); err == nil {
			return
		}
	}
	t.Skip("needs catatonit (apt-get install catatonit)")
}

type podRow struct {
	ID         string `json:"Id"`
	Name       string
	Status     string
	InfraID    string `json:"InfraId"`
	Labels     map[string]string
	Containers []struct {
		ID     string `json:"Id"`
		Names  string
		Status string
	}
}

func podList(t *testing.T, e *Engine, args ...string) []podRow {
	t.Helper()
	var rows []podRow
	if err := json.Unmarshal([]byte(e.Must(append([]string{"pod", "ps", "--format", "json"}, args...)...)), &rows); err != nil {
		t.Fatal(err)
	}
	return rows
}

type podDoc struct {
	ID               string `json:"Id"`
	Name             string
	State            string
	ExitPolicy       string
	Hostname         string
	Labels           map[string]string
	InfraContainerID string
	SharedNamespaces []string
	NumContainers    int
	InfraConfig      struct {
		PortBindings map[string][]struct{ HostPort string }
	}
	Containers []struct {
		ID    string `json:"Id"`
		Name  string
		State string
	}
}

func podInspect(t *testing.T, e *Engine, name string) podDoc {
	t.Helper()
	var d podDoc
	if err := json.Unmarshal([]byte(e.Must("pod", "inspect", name)), &d); err != nil {
		t.Fatalf("pod inspect %s: %v", name, err)
	}
	return d
}

// newPod creates a pod named after the test, with the given options, and
// removes it with its containers at the end.
func newPod(t *testing.T, e *Engine, args ...string) string {
	t.Helper()
	name := uniqueName(t)
	e.Must(append([]string{"pod", "create", "--name", name}, args...)...)
	t.Cleanup(func() { e.Run("pod", "rm", "-f", "-i", "-t", "0", name) })
	return name
}

// states maps each container of the store to its state.
func states(t *testing.T, e *Engine) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, r := range psAll(t, e) {
		out[r.Names[0]] = r.State
	}
	return out
}

func TestPodSharesNetIPCAndUTS(t *testing.T) {
	requirePods(t)
	e := newEngine(t)
	img := webImage(t, e)
	pod := newPod(t, e, "--network", "none")
	web, cli := pod+"-web", pod+"-cli"
	e.Must(append([]string{"run", "-d", "--pod", pod, "--name", web, img}, httpd...)...)
	e.Must("run", "-d", "--pod", pod, "--name", cli, img, "sleep", "1000")

	// The members reach each other on localhost.
	var page string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		r := e.Run("exec", cli, "wget", "-qO-", "http://127.0.0.1:80/index.html")
		if page = r.Stdout; r.ExitCode == 0 || time.Now().After(deadline) {
			break
		}
	}
	if page != webPage {
		t.Fatalf("wget 127.0.0.1 from the other member: %q, want %q", page, webPage)
	}
	// They see one hostname, the pod's name, and one IPC and UTS namespace.
	for _, c := range []string{web, cli} {
		if h := strings.TrimSpace(e.Must("exec", c, "hostname")); h != pod {
			t.Errorf("hostname in %s = %q, want the pod's name %q", c, h, pod)
		}
	}
	for _, ns := range []string{"ipc", "uts", "net"} {
		a := e.Must("exec", web, "readlink", "/proc/self/ns/"+ns)
		if b := e.Must("exec", cli, "readlink", "/proc/self/ns/"+ns); a != b {
			t.Errorf("%s namespaces differ: %s %s", ns, a, b)
		}
	}
	// Sharing IPC shares /dev/shm, as in podman.
	e.Must("exec", web, "sh", "-c", "echo shm-ok > /dev/shm/probe")
	if out := e.Must("exec", cli, "cat", "/dev/shm/probe"); out != "shm-ok\n" {
		t.Errorf("/dev/shm/probe in the other member: %q", out)
	}
	// The members are named in the pod's hosts file.
	if hosts := e.Must("exec", cli, "cat", "/etc/hosts"); !strings.Contains(hosts, "\t"+web+"\n") {
		t.Errorf("/etc/hosts does not name %s:\n%s", web, hosts)
	}
	// A container outside the pod shares none of it.
	out := e.Must("run", "--rm", "--network", "none", img, "sh", "-c", "hostname; readlink /proc/self/ns/ipc; cat /dev/shm/probe 2>&1; true")
	if strings.Contains(out, pod+"\n") || strings.Contains(out, "shm-ok") || strings.Contains(out, strings.TrimSpace(e.Must("exec", cli, "readlink", "/proc/self/ns/ipc"))) {
		t.Errorf("a container outside the pod sees the pod's namespaces: %q", out)
	}
}

func TestPodStopStartRemove(t *testing.T) {
	requirePods(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	pod := newPod(t, e, "--network", "none")
	id := podInspect(t, e, pod).ID
	infra := shortID(id) + "-infra"
	for _, n := range []string{"a", "b"} {
		e.Must("run", "-d", "--pod", pod, "--name", pod+"-"+n, img, "sleep", "1000")
	}
	want := func(state string) {
		t.Helper()
		st := states(t, e)
		for _, n := range []string{pod + "-a", pod + "-b", infra} {
			if st[n] != state {
				t.Errorf("%s is %q, want %s (all: %v)", n, st[n], state, st)
			}
		}
	}
	want("running")
	if rows := podList(t, e); len(rows) != 1 || rows[0].Status != "Running" || len(rows[0].Containers) != 3 {
		t.Fatalf("pod ps: %+v", rows)
	}
	start := time.Now()
	if out := e.Must("pod", "stop", "-t", "1", pod); out != id+"\n" {
		t.Errorf("pod stop printed %q, want the pod's ID", out)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("pod stop -t 1 took %s: the members are not stopped together", d)
	}
	want("exited")
	if rows := podList(t, e); rows[0].Status != "Exited" {
		t.Errorf("pod ps after stop: %s", rows[0].Status)
	}
	e.Must("pod", "start", pod)
	want("running")
	e.Must("pod", "restart", "-t", "0", pod)
	want("running")
	e.MustFail(2, "pod", "rm", pod)
	want("running")
	e.Must("pod", "rm", "-f", "-t", "0", pod)
	if rows := psAll(t, e); len(rows) != 0 {
		t.Errorf("pod rm -f left containers: %+v", rows)
	}
	if rows := podList(t, e); len(rows) != 0 {
		t.Errorf("pod rm -f left the pod: %+v", rows)
	}
	if r := e.Run("pod", "exists", pod); r.ExitCode != 1 || r.Stderr != "" {
		t.Errorf("pod exists after rm: %+v", r)
	}
	mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(e.RunRoot))
	if err != nil || len(mounts) != 0 {
		t.Errorf("mounts left under the run root: %d (%v)", len(mounts), err)
	}
}

func TestPodPsAndInspect(t *testing.T) {
	requirePods(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	pod := newPod(t, e, "--network", "none", "--hostname", "podhost", "--label", "tier=web")
	member := pod + "-m"
	e.Must("create", "--pod", pod, "--name", member, img, "sleep", "1000")

	d := podInspect(t, e, pod)
	infra := shortID(d.ID) + "-infra"
	switch {
	case d.Name != pod || d.State != "Created" || d.Hostname != "podhost" || d.Labels["tier"] != "web":
		t.Errorf("pod inspect: %+v", d)
	case !slices.Equal(d.SharedNamespaces, []string{"ipc", "net", "uts"}) || d.NumContainers != 2 || len(d.Containers) != 2:
		t.Errorf("pod inspect: shared %v, %d containers", d.SharedNamespaces, d.NumContainers)
	}
	ic := inspectCtr(t, e, infra)
	if ic.ID != d.InfraContainerID {
		t.Errorf("infra container %s is %s, pod inspect says %s", infra, ic.ID, d.InfraContainerID)
	}
	var docs []struct {
		Pod     string
		IsInfra bool
	}
	if err := json.Unmarshal([]byte(e.Must("container", "inspect", member, infra)), &docs); err != nil || len(docs) != 2 {
		t.Fatalf("container inspect: %v", err)
	}
	if docs[0].Pod != d.ID || docs[0].IsInfra || docs[1].Pod != d.ID || !docs[1].IsInfra {
		t.Errorf("container inspect Pod/IsInfra: %+v", docs)
	}

	rows := tableRows(e.Must("pod", "ps"))
	if len(rows) != 2 || strings.Join(rows[0], "|") != "POD ID|NAME|STATUS|CREATED|INFRA ID|# OF CONTAINERS" {
		t.Fatalf("pod ps table: %q", rows)
	}
	if r := rows[1]; r[0] != shortID(d.ID) || r[1] != pod || r[2] != "Created" || r[4] != shortID(d.InfraContainerID) || r[5] != "2" {
		t.Errorf("pod ps row: %q", r)
	}
	rows = tableRows(e.Must("pod", "ps", "--ctr-names", "--ctr-status"))
	if strings.Join(rows[0], "|") != "POD ID|NAME|STATUS|CREATED|INFRA ID|NAMES|STATUS" ||
		rows[1][5] != infra+","+member || rows[1][6] != "created,created" {
		t.Errorf("pod ps --ctr-names --ctr-status: %q", rows)
	}
	if out := e.Must("pod", "ps", "--ctr-ids", "--no-trunc", "--format", "{{.Name}} {{.ContainerIds}}"); out != pod+" "+d.InfraContainerID+","+inspectCtr(t, e, member).ID+"\n" {
		t.Errorf("pod ps --ctr-ids template: %q", out)
	}
	if l := podList(t, e); len(l) != 1 || l[0].ID != d.ID || l[0].InfraID != d.InfraContainerID || l[0].Labels["tier"] != "web" {
		t.Errorf("pod ps --format json: %+v", l)
	}
	for filter, n := range map[string]int{
		"name=" + pod: 1, "label=tier=web": 1, "status=created": 1, "status=running": 0,
		"ctr-names=" + member: 1, "ctr-number=2": 1, "ctr-status=running": 0, "id=" + d.ID[:6]: 1,
	} {
		if got := len(podList(t, e, "--filter", filter)); got != n {
			t.Errorf("pod ps --filter %s: %d pods, want %d", filter, got, n)
		}
	}
	if out := e.Must("pod", "inspect", "--format", "{{.Name}} {{.State}}", pod); out != pod+" Created\n" {
		t.Errorf("pod inspect --format: %q", out)
	}
	if out := e.Must("ps", "-a", "--pod", "--format", "{{.Names}} {{.PodName}}", "--filter", "name="+member); out != member+" "+pod+"\n" {
		t.Errorf("ps --pod: %q", out)
	}
	if out := e.Must("pod", "ps", "-q", "--no-trunc"); out != d.ID+"\n" {
		t.Errorf("pod ps -q --no-trunc: %q", out)
	}
}

func TestPodBadInput(t *testing.T) {
	requirePods(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	pod := newPod(t, e, "--network", "none")
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"--pod", "no-such-pod"}, "no such pod"},
		{[]string{"--pod", pod, "--network", "none"}, "--network cannot be set for a container in a pod"},
		{[]string{"--pod", pod, "--network", "host"}, "pod create --network"},
		{[]string{"--pod", pod, "-p", "8080:80"}, "pod create -p"},
		{[]string{"--pod", pod, "--hostname", "x"}, "pod create --hostname"},
		{[]string{"--pod", pod, "--ipc", "host"}, "--ipc cannot be set"},
	} {
		r := e.MustFail(125, append(append([]string{"run", "--rm"}, tc.args...), img, "true")...)
		if !strings.Contains(r.Stderr, tc.says) || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
			t.Errorf("%v: stderr %q does not say %q on one line", tc.args, r.Stderr, tc.says)
		}
	}
	if rows := psAll(t, e); len(rows) != 1 {
		t.Errorf("bad input left containers: %+v", rows)
	}
	infra := podInspect(t, e, pod).InfraContainerID
	for _, args := range [][]string{
		{"pod", "create", "--name", pod},
		{"pod", "create", "--share", "mnt"},
		{"pod", "create", "--infra=false", "--share", "ipc"},
		{"pod", "create", "--share", "ipc", "-p", "8080:80"},
		{"pod", "create", "-p", "bad"},
		{"rm", "-f", infra},
		{"pod", "start", "no-such-pod"},
		{"pod", "inspect", "no-such-pod"},
	} {
		e.MustFail(125, args...)
	}
	e.MustFail(1, "pod", "rm", "no-such-pod")
	if rows := podList(t, e); len(rows) != 1 {
		t.Errorf("bad input left pods: %+v", rows)
	}
}

func TestPodPublishesPorts(t *testing.T) {
	requirePods(t)
	e := newEngine(t)
	img := webImage(t, e)
	port := freePort(t)
	pod := newPod(t, e, "-p", fmt.Sprintf("127.0.0.1:%d:80", port))
	e.Must(append([]string{"run", "-d", "--pod", pod, img}, httpd...)...)
	if got := fetch(t, fmt.Sprintf("http://127.0.0.1:%d/index.html", port)); got != webPage {
		t.Errorf("GET through the pod's published port: %q", got)
	}
	if b := podInspect(t, e, pod).InfraConfig.PortBindings["80/tcp"]; len(b) != 1 || b[0].HostPort != fmt.Sprint(port) {
		t.Errorf("pod inspect PortBindings: %+v", b)
	}
}

func TestPodPrune(t *testing.T) {
	requirePods(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	stopped := newPod(t, e, "--network", "none")
	running := stopped + "-running"
	created := stopped + "-created"
	e.Must("pod", "create", "--name", running, "--network", "none")
	e.Must("pod", "create", "--name", created, "--network", "none")
	e.Must("run", "-d", "--pod", stopped, img, "true")
	e.Must("pod", "stop", stopped)
	e.Must("run", "-d", "--pod", running, img, "sleep", "1000")
	id := podInspect(t, e, stopped).ID
	if r := e.RunStdin(strings.NewReader("n\n"), "pod", "prune"); r.ExitCode != 0 || len(podList(t, e)) != 3 {
		t.Fatalf("pod prune answered no: %+v", r)
	}
	if out := e.Must("pod", "prune", "-f"); out != id+"\n" {
		t.Errorf("pod prune -f printed %q, want %s", out, id)
	}
	var left []string
	for _, p := range podList(t, e) {
		left = append(left, p.Name)
	}
	slices.Sort(left)
	if !slices.Equal(left, []string{running, created}) && !slices.Equal(left, []string{created, running}) {
		t.Errorf("pods after prune: %v", left)
	}
	if st := states(t, e); len(st) != 3 {
		t.Errorf("containers after prune: %v", st)
	}
}

func TestPodLogsTopStats(t *testing.T) {
	requirePods(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	pod := newPod(t, e, "--network", "none")
	one, two := pod+"-one", pod+"-two"
	e.Must("run", "-d", "--pod", pod, "--name", one, img, "sh", "-c", "echo first; echo second; sleep 1000")
	e.Must("run", "-d", "--pod", pod, "--name", two, img, "sh", "-c", "echo third; sleep 1000")
	var out string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if out = e.Must("pod", "logs", "--names", pod); strings.Count(out, "\n") == 3 {
			break
		}
	}
	if out != one+" first\n"+one+" second\n"+two+" third\n" {
		t.Errorf("pod logs --names: %q", out)
	}
	if out := e.Must("pod", "logs", "--names", "-c", two, pod); out != two+" third\n" {
		t.Errorf("pod logs --names -c: %q", out)
	}
	// Without --names, podman's short IDs.
	twoID := strings.TrimSpace(e.Must("inspect", "--format", "{{.Id}}", two))
	if out := e.Must("pod", "logs", "-c", two, pod); out != twoID[:12]+" third\n" {
		t.Errorf("pod logs -c: %q, want the line prefixed with %s", out, twoID[:12])
	}
	top := e.Must("pod", "top", pod, "pid", "args")
	for _, cmd := range []string{"/catatonit -P", "sleep 1000"} {
		if !strings.Contains(top, cmd) {
			t.Errorf("pod top does not list %q:\n%s", cmd, top)
		}
	}
	var stats []struct{ Pod, CID, Name string }
	if err := json.Unmarshal([]byte(e.Must("pod", "stats", "--no-stream", "--format", "json", pod)), &stats); err != nil || len(stats) != 3 {
		t.Fatalf("pod stats: %v %+v", err, stats)
	}
	for _, s := range stats {
		if s.Pod != shortID(podInspect(t, e, pod).ID) {
			t.Errorf("pod stats row of another pod: %+v", s)
		}
	}
}

func TestPodNewAndRmAll(t *testing.T) {
	requirePods(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	pod := uniqueName(t)
	if out := e.Must("run", "--rm", "--pod", "new:"+pod, img, "hostname"); out != pod+"\n" {
		t.Errorf("run --pod new: hostname %q, want %q", out, pod)
	}
	e.Must("pod", "exists", pod)
	e.Must("run", "-d", "--pod", pod, img, "sleep", "1000")
	e.Must("run", "-d", "--name", pod+"-alone", "--network", "none", img, "sleep", "1000")
	e.Must("rm", "-a", "-f", "-t", "0")
	if rows := psAll(t, e); len(rows) != 0 {
		t.Errorf("rm -a -f left containers: %+v", rows)
	}
	if rows := podList(t, e); len(rows) != 0 {
		t.Errorf("rm -a -f left pods: %+v", rows)
	}
}

// shortID is the 12-character form of an ID.
func shortID(id string) string { return id[:min(12, len(id))] }
