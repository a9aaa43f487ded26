package e2e

import (
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/engine-oss/engine/pkg/systemd"
)

// notifySocket plays systemd's part: a datagram socket whose path goes in
// NOTIFY_SOCKET, and the messages sent to it.
type notifySocket struct {
	path string
	conn *net.UnixConn
}

func newNotifySocket(t *testing.T) *notifySocket {
	t.Helper()
	dir, err := os.MkdirTemp("", "notify-") // short: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	path := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &notifySocket{path: path, conn: conn}
}

// next returns the next message, or "" when none comes within timeout.
func (n *notifySocket) next(t *testing.T, timeout time.Duration) string {
	t.Helper()
	buf := make([]byte, 4096)
	_ = n.conn.SetReadDeadline(time.Now().Add(timeout))
	k, err := n.conn.Read(buf)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(buf[:k])
}

// unitExec turns an Exec line of a unit into argv, expanding the
// specifiers it uses as systemd would: %t (runtimeDir), %n (unit), %%.
func unitExec(t *testing.T, line, unit, runtimeDir string) []string {
	t.Helper()
	line = strings.TrimPrefix(line, "-")
	words, err := systemd.SplitWords(line)
	if err != nil {
		t.Fatalf("split %q: %v", line, err)
	}
	r := strings.NewReplacer("%%", "%", "%t", runtimeDir, "%n", unit, "$$", "$")
	for i, w := range words {
		words[i] = r.Replace(w)
	}
	return words
}

// unitValues returns the values of key in a unit file, in order.
func unitValues(unit, key string) []string {
	var out []string
	for _, line := range strings.Split(unit, "\n") {
		if v, ok := strings.CutPrefix(line, key+"="); ok {
			out = append(out, v)
		}
	}
	return out
}

// generateUnits runs generate systemd --format json with args.
func generateUnits(t *testing.T, e *Engine, args ...string) map[string]string {
	t.Helper()
	units := map[string]string{}
	out := e.Must(append([]string{"generate", "systemd", "--format", "json"}, args...)...)
	if err := json.Unmarshal([]byte(out), &units); err != nil {
		t.Fatalf("generate systemd printed %q: %v", out, err)
	}
	return units
}

// runUnitCommand runs an Exec line of a unit with env added, as systemd would.
func runUnitCommand(t *testing.T, e *Engine, argv []string, env ...string) {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(append([]string{}, e.Env...), env...)
	cmd.WaitDelay = stdioWaitDelay
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
}

// TestGenerateSystemdNew plays systemd for a --new unit: ExecStart with
// NOTIFY_SOCKET set must report the monitor as MAINPID and READY=1 before
// it returns, and ExecStop/ExecStopPost must remove the container and its
// ID file so the unit can start again.
func TestGenerateSystemdNew(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	name := uniqueName(t)
	e.Must("create", "--name", name, "--network", "none", "-e", "PCT=100%", img, "sh", "-c", "echo $PCT; exec sleep 1000")
	units := generateUnits(t, e, "--new", "--name", "--stop-timeout", "1", name)
	unitName := "container-" + name + ".service"
	unit, ok := units[unitName]
	if !ok || len(units) != 1 {
		t.Fatalf("units %v, want %s", units, unitName)
	}
	start := unitValues(unit, "ExecStart")
	if len(start) != 1 || !strings.Contains(start[0], " run --cidfile=%t/%n.ctr-id --cgroups=no-conmon --rm --sdnotify=conmon -d --replace --name="+name) ||
		!strings.Contains(start[0], "PCT=100%%") || !strings.Contains(start[0], `"echo $$PCT; exec sleep 1000"`) {
		t.Fatalf("ExecStart=%q", start)
	}
	if got := unitValues(unit, "Type"); len(got) != 1 || got[0] != "notify" {
		t.Fatalf("Type=%q", got)
	}
	e.Must("rm", name) // the unit creates its own

	runtimeDir := t.TempDir()
	sock := newNotifySocket(t)
	for round := 1; round <= 2; round++ { // the second start finds no stale ID file
		runUnitCommand(t, e, unitExec(t, start[0], unitName, runtimeDir), "NOTIFY_SOCKET="+sock.path, "PODMAN_SYSTEMD_UNIT="+unitName)
		msg := sock.next(t, time.Second) // sent before ExecStart returned
		d := inspectCtr(t, e, name)
		if want := "MAINPID=" + strconv.Itoa(d.State.ConmonPid) + "\nREADY=1"; msg != want {
			t.Fatalf("round %d: notify message %q, want %q", round, msg, want)
		}
		if d.Config.Labels["PODMAN_SYSTEMD_UNIT"] != unitName {
			t.Errorf("labels %v lack PODMAN_SYSTEMD_UNIT=%s", d.Config.Labels, unitName)
		}
		if b, err := os.ReadFile(filepath.Join(runtimeDir, unitName+".ctr-id")); err != nil || string(b) != d.ID {
			t.Fatalf("ID file: %q, %v; want %s", b, err, d.ID)
		}
		waitFor(t, func() bool { return strings.Contains(e.Must("logs", name), "100%") })
		for _, key := range []string{"ExecStop", "ExecStopPost"} {
			for _, line := range unitValues(unit, key) {
				runUnitCommand(t, e, unitExec(t, line, unitName, runtimeDir))
			}
		}
		if rows := psAll(t, e); len(rows) != 0 {
			t.Fatalf("round %d: containers left after ExecStop: %+v", round, rows)
		}
		if _, err := os.Stat(filepath.Join(runtimeDir, unitName+".ctr-id")); !os.IsNotExist(err) {
			t.Fatalf("round %d: the ID file outlived the container: %v", round, err)
		}
	}
}

// TestGenerateSystemdExisting checks a unit for an existing container:
// engine start reports to systemd too, and --files writes the unit.
func TestGenerateSystemdExisting(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	name := uniqueName(t)
	id := strings.TrimSpace(e.Must("create", "--name", name, "--network", "none", img, "sleep", "1000"))

	dir := t.TempDir()
	cmd := exec.Command(engineBinary, "--root", e.Root, "--runroot", e.RunRoot, "generate", "systemd", "--files", "--restart-policy", "always", "--stop-timeout", "1",
		"--after", "db.service", "--no-header", id)
	cmd.Dir, cmd.Env = dir, e.Env
	out, err := cmd.Output()
	unitName := "container-" + id + ".service"
	if err != nil || strings.TrimSpace(string(out)) != filepath.Join(dir, unitName) {
		t.Fatalf("generate --files printed %q, %v", out, err)
	}
	b, err := os.ReadFile(filepath.Join(dir, unitName))
	if err != nil {
		t.Fatal(err)
	}
	unit := string(b)
	if !strings.HasPrefix(unit, "[Unit]\n") || !strings.Contains(unit, "\nRestart=always\n") || !strings.Contains(unit, "\nAfter=db.service\n") {
		t.Fatalf("unit:\n%s", unit)
	}
	start := unitValues(unit, "ExecStart")
	if len(start) != 1 || !strings.HasSuffix(start[0], " start "+id) {
		t.Fatalf("ExecStart=%q", start)
	}
	systemdVerify(t, dir)

	sock := newNotifySocket(t)
	runUnitCommand(t, e, unitExec(t, start[0], unitName, dir), "NOTIFY_SOCKET="+sock.path)
	d := inspectCtr(t, e, name)
	if msg := sock.next(t, time.Second); msg != "MAINPID="+strconv.Itoa(d.State.ConmonPid)+"\nREADY=1" {
		t.Fatalf("notify message %q (monitor %d)", msg, d.State.ConmonPid)
	}
	for _, line := range unitValues(unit, "ExecStop") {
		runUnitCommand(t, e, unitExec(t, line, unitName, dir))
	}
	if d := inspectCtr(t, e, name); d.State.Status != "exited" {
		t.Fatalf("after ExecStop: %s", d.State.Status)
	}
}

// systemdVerify runs systemd-analyze verify on the units in dir.
func systemdVerify(t *testing.T, dir string) {
	t.Helper()
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze is not installed: units not verified")
		return
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.service"))
	out, err := exec.Command(analyze, append([]string{"verify", "--man=no"}, files...)...).CombinedOutput()
	if err != nil || strings.Contains(string(out), dir) {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestGenerateSystemdVerify checks the units of the generator's variants
// with systemd-analyze.
func TestGenerateSystemdVerify(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	name := uniqueName(t)
	e.Must("create", "--name", name, "--network", "none", "--health-cmd", "true", "--cgroups", "split", img, "sleep", "1000")
	dir := t.TempDir()
	for i, args := range [][]string{
		{"--new", "--name", "--restart-sec", "5", "--start-timeout", "300", "--stop-timeout", "20", "-e", "A=b c", "--wants", "x.service"},
		{"--name", "--container-prefix", "ctr", "--separator", "_"},
		{"--template", "--name"},
	} {
		for unitName, unit := range generateUnits(t, e, append(args, name)...) {
			if strings.Contains(unitName, "@") {
				unitName = strings.Replace(unitName, "@.", "@instance.", 1)
			}
			if i == 0 && !strings.Contains(unit, "\nDelegate=yes\n") {
				t.Errorf("a --cgroups=split container's unit lacks Delegate=yes:\n%s", unit)
			}
			if err := os.WriteFile(filepath.Join(dir, unitName), []byte(unit), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	systemdVerify(t, dir)
}

func TestGenerateSystemdErrors(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	name := uniqueName(t)
	r := e.MustFail(125, "generate", "systemd", "no-such-container")
	if !strings.Contains(r.Stderr, `no container or pod "no-such-container"`) {
		t.Errorf("stderr %q", r.Stderr)
	}
	e.Must("create", "--name", name, "--network", "none", "--rm", img, "true")
	e.MustFail(125, "generate", "systemd", name) // --rm needs --new
	e.MustFail(125, "generate", "systemd", "--new", "--restart-policy", "sometimes", name)
	e.MustFail(125, "generate", "systemd", "--new", "--format", "yaml", name)
	e.MustFail(125, "generate", "systemd", "--template", "--new=false", name)
}

// TestSdNotifyModes checks --sdnotify with NOTIFY_SOCKET set: the bad
// mode, ignore (nothing sent), healthy (READY=1 once the check passes) and
// container (the container's own messages, relayed).
func TestSdNotifyModes(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	name := uniqueName(t)
	r := e.MustFail(125, "run", "--sdnotify", "bogus", img, "true")
	if !strings.Contains(r.Stderr, "--sdnotify") {
		t.Errorf("stderr %q", r.Stderr)
	}
	e.MustFail(125, "run", "--sdnotify", "healthy", img, "true") // no health check to wait for
	e.MustFail(125, "run", "--cgroups", "sometimes", img, "true")
	e.MustFail(125, "run", "--cgroups", "disabled", "--memory", "64m", img, "true")

	sock := newNotifySocket(t)
	withSocket := *e
	withSocket.Env = append(append([]string{}, e.Env...), "NOTIFY_SOCKET="+sock.path)

	withSocket.Must("run", "-d", "--name", name+"-ignore", "--network", "none", "--sdnotify", "ignore", img, "sleep", "1000")
	if msg := sock.next(t, 300*time.Millisecond); msg != "" {
		t.Errorf("--sdnotify=ignore sent %q", msg)
	}

	withSocket.Must("run", "-d", "--name", name+"-healthy", "--network", "none", "--sdnotify", "healthy",
		"--health-cmd", "test -e /tmp/ready", "--health-interval", "500ms", img, "sleep", "1000")
	mpid := strconv.Itoa(inspectCtr(t, e, name+"-healthy").State.ConmonPid)
	if msg := sock.next(t, time.Second); msg != "MAINPID="+mpid {
		t.Fatalf("--sdnotify=healthy: first message %q, want MAINPID=%s", msg, mpid)
	}
	if msg := sock.next(t, 1500*time.Millisecond); msg != "" {
		t.Fatalf("READY before the check passed: %q", msg)
	}
	e.Must("exec", name+"-healthy", "touch", "/tmp/ready")
	if msg := sock.next(t, 5*time.Second); msg != "MAINPID="+mpid+"\nREADY=1" {
		t.Fatalf("--sdnotify=healthy: %q, want READY=1", msg)
	}

	// A container sends its own READY=1 with a static helper (busybox has
	// no sd_notify client), and the monitor relays it.
	helper := notifyHelper(t)
	withSocket.Must("run", "-d", "--name", name+"-ctr", "--network", "none", "--sdnotify", "container",
		"-v", helper+":/notify:ro", img, "sh", "-c", `test -S "$NOTIFY_SOCKET" && /notify "READY=1
STATUS=up at $NOTIFY_SOCKET
MAINPID=1"; exec sleep 1000`)
	mpid = strconv.Itoa(inspectCtr(t, e, name+"-ctr").State.ConmonPid)
	got := []string{sock.next(t, 5*time.Second), sock.next(t, 5*time.Second)}
	want := "MAINPID=" + mpid + "\nREADY=1\nSTATUS=up at /run/notify/notify.sock"
	if got[0] != "MAINPID="+mpid && got[1] != "MAINPID="+mpid || got[0] != want && got[1] != want {
		t.Fatalf("--sdnotify=container: messages %q, want MAINPID=%s and %q", got, mpid, want)
	}
}

// notifyHelper builds a static program that sends its argument to
// $NOTIFY_SOCKET, for containers to run.
func notifyHelper(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	code := `package main

import (
	"net"
	"os"
)

func main() {
	c, err := net.Dial("unixgram", os.Getenv("NOTIFY_SOCKET"))
	if err != nil {
		panic(err)
	}
	if _, err := c.Write([]byte(os.Args[1])); err != nil {
		panic(err)
	}
}
`
	if err := os.WriteFile(src, []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "notify")
	cmd := exec.Command("go", "build", "-o", bin, src)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=", "GO111MODULE=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the notify helper: %v\n%s", err, out)
	}
	return bin
}

// TestGenerateSystemdPod plays systemd for a pod's units: the pod's starts
// its infra container, each member's is bound to it.
func TestGenerateSystemdPod(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	pod := uniqueName(t)
	e.Must("pod", "create", "--name", pod, "--network", "none")
	e.Must("create", "--pod", pod, "--name", pod+"-app", img, "sleep", "1000")
	e.MustFail(125, "generate", "systemd", "--new", pod) // not yet
	units := generateUnits(t, e, "--name", "--stop-timeout", "1", pod)
	podUnit, appUnit := units["pod-"+pod+".service"], units["container-"+pod+"-app.service"]
	if len(units) != 2 || podUnit == "" || appUnit == "" {
		t.Fatalf("units %v", units)
	}
	if got := unitValues(appUnit, "BindsTo"); len(got) != 1 || got[0] != "pod-"+pod+".service" {
		t.Errorf("member BindsTo=%q", got)
	}
	dir := t.TempDir()
	for name, u := range units {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(u), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	systemdVerify(t, dir)

	sock := newNotifySocket(t)
	for _, u := range []string{podUnit, appUnit} {
		runUnitCommand(t, e, unitExec(t, unitValues(u, "ExecStart")[0], "x.service", dir), "NOTIFY_SOCKET="+sock.path)
		if msg := sock.next(t, time.Second); !strings.HasSuffix(msg, "\nREADY=1") {
			t.Fatalf("notify message %q", msg)
		}
	}
	if d := inspectCtr(t, e, pod+"-app"); d.State.Status != "running" {
		t.Fatalf("member %s", d.State.Status)
	}
	for _, u := range []string{appUnit, podUnit} {
		runUnitCommand(t, e, unitExec(t, unitValues(u, "ExecStop")[0], "x.service", dir))
	}
	if d := inspectCtr(t, e, pod+"-app"); d.State.Status != "exited" {
		t.Fatalf("member after ExecStop: %s", d.State.Status)
	}
}

// TestQuadletUnitNotify plays systemd for a quadlet .container unit, whose
// ExecStart carries the flags the generator emits (--cgroups=split,
// --sdnotify, health checks, the auto-update label): with Notify=healthy,
// MAINPID comes before run -d returns and READY=1 when the check passes.
func TestQuadletUnitNotify(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	quadletDir(t, e, map[string]string{"web.container": "[Container]\nImage=" + img + "\nExec=sleep 1000\nNetwork=none\n" +
		"Notify=healthy\nHealthCmd=test -e /tmp/ready\nHealthInterval=300ms\nAutoUpdate=registry\nStopTimeout=1\n" +
		"GlobalArgs=--root " + e.Root + " --runroot " + e.RunRoot + "\n"})
	unit := unitText(t, e.Must("quadlet", "--dryrun"), "web.service")
	runtimeDir := t.TempDir()
	expand := func(line string) []string {
		return unitExec(t, strings.ReplaceAll(line, "%N", "web"), "web.service", runtimeDir)
	}
	sock := newNotifySocket(t)
	runUnitCommand(t, e, expand(unitValues(unit, "ExecStart")[0]), "NOTIFY_SOCKET="+sock.path, "PODMAN_SYSTEMD_UNIT=web.service")
	d := inspectCtr(t, e, "systemd-web")
	mainPID := "MAINPID=" + strconv.Itoa(d.State.ConmonPid)
	if msg := sock.next(t, time.Second); msg != mainPID {
		t.Fatalf("first message %q, want %s", msg, mainPID)
	}
	if d.Config.Labels["io.containers.autoupdate"] != "registry" || d.Config.Labels["PODMAN_SYSTEMD_UNIT"] != "web.service" {
		t.Errorf("labels %v", d.Config.Labels)
	}
	e.Must("exec", "systemd-web", "touch", "/tmp/ready")
	if msg := sock.next(t, 5*time.Second); msg != mainPID+"\nREADY=1" {
		t.Fatalf("after the check passed: %q", msg)
	}
	runUnitCommand(t, e, expand(unitValues(unit, "ExecStop")[0]))
	if rows := psAll(t, e); len(rows) != 0 {
		t.Fatalf("containers left after ExecStop: %+v", rows)
	}
}
