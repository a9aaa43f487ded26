package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The quadlet generator needs neither root nor a store: it reads files and
// prints or writes units.

// quadletDir writes quadlet files into a directory of the test's own and
// points the engine's QUADLET_UNIT_DIRS at it.
func quadletDir(t *testing.T, e *Engine, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(e.TmpDir, "quadlets")
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e.Env = append(e.Env, "QUADLET_UNIT_DIRS="+dir)
	return dir
}

// unitText returns the unit called name from `quadlet --dryrun` output.
func unitText(t *testing.T, out, name string) string {
	t.Helper()
	_, rest, ok := strings.Cut(out, "---"+name+"---\n")
	if !ok {
		t.Fatalf("no %s in:\n%s", name, out)
	}
	text, _, _ := strings.Cut(rest, "\n---")
	return text
}

func TestQuadletDryRun(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	dir := quadletDir(t, e, map[string]string{
		"web.container":               "[Unit]\nDescription=web\n[Container]\nImage=quay.io/example/web:1\nPublishPort=8080:80\nVolume=data.volume:/data\nNetwork=app.network\n[Install]\nWantedBy=default.target\n",
		"web.container.d/10-env.conf": "[Container]\nEnvironment=MODE=prod\n",
		"data.volume":                 "[Volume]\n",
		"app.network":                 "[Network]\nSubnet=10.89.0.0/24\n",
	})
	e.Env = append(e.Env, "ENGINE_BINARY=") // the units run this very binary

	out := e.Must("quadlet", "--dryrun")
	web := unitText(t, out, "web.service")
	for _, want := range []string{
		"Description=web\n",
		"SourcePath=" + filepath.Join(dir, "web.container") + "\n",
		"Requires=app-network.service\n",
		"Requires=data-volume.service\n",
		"Environment=PODMAN_SYSTEMD_UNIT=%n\n",
		"ExecStart=" + engineBinary + " run --name=systemd-%N --cidfile=%t/%N.cid --replace --rm --cgroups=split --sdnotify=conmon -d" +
			" --env=MODE=prod --publish=8080:80 --network=systemd-app --volume=systemd-data:/data quay.io/example/web:1\n",
		"ExecStop=" + engineBinary + " rm -v -f -i --cidfile=%t/%N.cid\n",
		"WantedBy=default.target\n",
	} {
		if !strings.Contains(web, want) {
			t.Errorf("web.service lacks %q:\n%s", want, web)
		}
	}
	if vol := unitText(t, out, "data-volume.service"); !strings.Contains(vol, "ExecStart="+engineBinary+" volume create --ignore systemd-data\n") {
		t.Errorf("data-volume.service:\n%s", vol)
	}
	if net := unitText(t, out, "app-network.service"); !strings.Contains(net, " network create --ignore --subnet=10.89.0.0/24 systemd-app\n") {
		t.Errorf("app-network.service:\n%s", net)
	}

	// --user units cannot wait for the system's network-online.target.
	if user := e.Must("quadlet", "--dryrun", "--user"); strings.Contains(user, "network-online.target") {
		t.Errorf("user units depend on network-online.target:\n%s", user)
	}
	e.Env = append(e.Env, "ENGINE_BINARY=/usr/local/bin/engine")
	if out := e.Must("quadlet", "--dryrun"); !strings.Contains(out, "ExecStart=/usr/local/bin/engine run ") {
		t.Errorf("ENGINE_BINARY is not in the units:\n%s", out)
	}
}

// A broken file is reported with its line and produces no unit; the others
// are still generated, and the exit code is 1.
func TestQuadletErrors(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	dir := quadletDir(t, e, map[string]string{
		"good.container":  "[Container]\nImage=alpine\n",
		"bad.container":   "[Container]\nImage=alpine\nFoo=bar\nPublishPort=abc\n",
		"empty.container": "[Container]\nNotify=maybe\n",
	})
	r := e.MustFail(1, "quadlet", "--dryrun")
	for _, want := range []string{
		filepath.Join(dir, "bad.container") + `:3: unknown key "Foo" in section [Container]`,
		filepath.Join(dir, "bad.container") + ":4: invalid PublishPort=abc: ",
		filepath.Join(dir, "empty.container") + ":2: invalid Notify=maybe: want true, false or healthy",
		filepath.Join(dir, "empty.container") + ": no Image= in section [Container]",
	} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.Stderr)
		}
	}
	if !strings.Contains(r.Stdout, "---good.service---\n") || strings.Contains(r.Stdout, "---bad.service---") || strings.Contains(r.Stdout, "---empty.service---") {
		t.Errorf("stdout:\n%s", r.Stdout)
	}
	e.MustFail(125, "quadlet") // neither an output directory nor --dryrun
}

// As systemd runs it: the output directories as arguments, units and the
// [Install] symlinks written into the first.
func TestQuadletGeneratorDirs(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	quadletDir(t, e, map[string]string{
		"web.container": "[Container]\nImage=alpine\n[Install]\nWantedBy=multi-user.target\n",
	})
	out := filepath.Join(e.TmpDir, "generator")
	normal, early, late := filepath.Join(out, "normal"), filepath.Join(out, "early"), filepath.Join(out, "late")
	for _, d := range []string{normal, early, late} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e.Must("quadlet", normal, early, late)
	checkGenerated(t, normal)

	// Installed as engine-user-generator, the binary is the user generator.
	bin := filepath.Join(e.TmpDir, "engine-user-generator")
	if err := os.Symlink(engineBinary, bin); err != nil {
		t.Fatal(err)
	}
	userOut := filepath.Join(out, "user")
	ctx, cancel := context.WithTimeout(t.Context(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, userOut, early, late)
	cmd.Env = e.Env
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("engine-user-generator: %v\n%s", err, msg)
	}
	data := checkGenerated(t, userOut)
	if strings.Contains(data, "network-online.target") {
		t.Errorf("the user generator made a system unit:\n%s", data)
	}
}

// checkGenerated checks web.service and its WantedBy link in dir and
// returns the unit.
func checkGenerated(t *testing.T, dir string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "web.service"))
	if err != nil || !strings.Contains(string(data), " run --name=systemd-%N ") {
		t.Fatalf("web.service: %v\n%s", err, data)
	}
	if target, err := os.Readlink(filepath.Join(dir, "multi-user.target.wants", "web.service")); err != nil || target != "../web.service" {
		t.Errorf("WantedBy link -> %q, %v", target, err)
	}
	return string(data)
}
