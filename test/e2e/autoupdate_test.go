package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/engine-oss/engine/test/testimage"
)

// autoUpdateRow is auto-update's JSON.
type autoUpdateRow struct {
	Unit, ContainerName, Image, Policy, Updated string
}

func autoUpdate(t *testing.T, e *Engine, args ...string) []autoUpdateRow {
	t.Helper()
	var rows []autoUpdateRow
	out := e.Must(append([]string{"auto-update", "--format", "json"}, args...)...)
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("auto-update printed %q: %v", out, err)
	}
	return rows
}

// fakeSystemctl writes a script that stands in for systemctl: it logs its
// arguments to log and fails its first `fail` calls.
func fakeSystemctl(t *testing.T, fail int) (script, log string) {
	t.Helper()
	dir := t.TempDir()
	script, log = filepath.Join(dir, "systemctl"), filepath.Join(dir, "log")
	body := "#!/bin/sh\necho \"$@\" >> " + log + "\n[ $(wc -l < " + log + ") -gt " + strconv.Itoa(fail) + " ]\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return script, log
}

// TestAutoUpdateRegistry checks that auto-update sees a new image pushed
// under the container's image name, pulls it and restarts the unit through
// systemctl (here a stand-in), and rolls back when the unit fails.
func TestAutoUpdateRegistry(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	reg := plainRegistry(t)
	ref, oldID := pulledImage(t, e, "latest", testimage.Options{Env: []string{"VERSION=1"}})
	name := uniqueName(t)
	unit := name + ".service"
	inUnit := *e
	inUnit.Env = append(append([]string{}, e.Env...), "PODMAN_SYSTEMD_UNIT="+unit)
	inUnit.Must("run", "-d", "--name", name, "--network", "none", "--label", "io.containers.autoupdate=registry", ref, "sleep", "1000")

	want := autoUpdateRow{Unit: unit, ContainerName: name, Image: ref, Policy: "registry", Updated: "false"}
	if rows := autoUpdate(t, e, "--dry-run", "--tls-verify=false"); len(rows) != 1 || rows[0] != want {
		t.Fatalf("before a new image: %+v, want %+v", rows, want)
	}
	pushTestImage(t, reg, uniqueName(t)+":latest", testimage.Options{Env: []string{"VERSION=2"}})
	want.Updated = "pending"
	if rows := autoUpdate(t, e, "--dry-run", "--tls-verify=false"); len(rows) != 1 || rows[0] != want {
		t.Fatalf("after pushing a new image: %+v, want %+v", rows, want)
	}
	table := e.Must("auto-update", "--dry-run", "--tls-verify=false")
	if lines := tableRows(table); len(lines) != 2 || strings.Join(lines[0], " ") != "UNIT CONTAINER IMAGE POLICY UPDATED" ||
		lines[1][0] != unit || !strings.HasSuffix(lines[1][1], "("+name+")") || lines[1][4] != "pending" {
		t.Fatalf("table:\n%s", table)
	}
	if id := localImageID(t, e, ref); id != oldID {
		t.Fatalf("--dry-run changed the image: %s", id)
	}

	script, log := fakeSystemctl(t, 0)
	withSystemctl := *e
	withSystemctl.Env = append(append([]string{}, e.Env...), "ENGINE_AUTO_UPDATE_SYSTEMCTL="+script)
	want.Updated = "true"
	if rows := autoUpdate(t, &withSystemctl, "--tls-verify=false"); len(rows) != 1 || rows[0] != want {
		t.Fatalf("update: %+v, want %+v", rows, want)
	}
	newID := localImageID(t, e, ref)
	if b, _ := os.ReadFile(log); newID == oldID || string(b) != "restart "+unit+"\n" {
		t.Fatalf("after the update: image %s (old %s), systemctl called with %q", newID, oldID, b)
	}

	// The next version fails to start: the name goes back to the image
	// the container ran, and the unit is restarted on it.
	pushTestImage(t, reg, uniqueName(t)+":latest", testimage.Options{Env: []string{"VERSION=3"}})
	script, log = fakeSystemctl(t, 1)
	withSystemctl.Env = append(append([]string{}, e.Env...), "ENGINE_AUTO_UPDATE_SYSTEMCTL="+script)
	want.Updated = "rolled back"
	if rows := autoUpdate(t, &withSystemctl, "--tls-verify=false"); len(rows) != 1 || rows[0] != want {
		t.Fatalf("failed update: %+v, want %+v", rows, want)
	}
	if b, _ := os.ReadFile(log); localImageID(t, e, ref) != oldID || string(b) != "restart "+unit+"\nrestart "+unit+"\n" {
		t.Fatalf("after the rollback: image %s (old %s), systemctl called with %q", localImageID(t, e, ref), oldID, b)
	}
}

// TestAutoUpdateLocal checks the local policy and the reports of
// containers that auto-update cannot handle.
func TestAutoUpdateLocal(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	ref, _ := pulledImage(t, e, "v1", testimage.Options{Env: []string{"VERSION=1"}})
	other, _ := pulledImage(t, e, "v2", testimage.Options{Env: []string{"VERSION=2"}})
	name := uniqueName(t)
	inUnit := *e
	inUnit.Env = append(append([]string{}, e.Env...), "PODMAN_SYSTEMD_UNIT="+name+".service")
	inUnit.Must("run", "-d", "--name", name, "--network", "none", "--label", "io.containers.autoupdate=local", ref, "sleep", "1000")
	if rows := autoUpdate(t, e, "--dry-run"); len(rows) != 1 || rows[0].Updated != "false" || rows[0].Policy != "local" {
		t.Fatalf("before tagging: %+v", rows)
	}
	e.Must("tag", other, ref)
	if rows := autoUpdate(t, e, "--dry-run"); len(rows) != 1 || rows[0].Updated != "pending" {
		t.Fatalf("after tagging a new image: %+v", rows)
	}

	// Not run by a unit: reported, and the exit code says so.
	e.Must("run", "-d", "--name", name+"-nounit", "--network", "none", "--label", "io.containers.autoupdate=local", ref, "sleep", "1000")
	r := e.MustFail(125, "auto-update", "--dry-run")
	if !strings.Contains(r.Stderr, "PODMAN_SYSTEMD_UNIT") || !strings.Contains(r.Stdout, name+"-nounit") {
		t.Fatalf("container without a unit: %+v", r)
	}
}

func localImageID(t *testing.T, e *Engine, ref string) string {
	t.Helper()
	return strings.TrimSpace(e.Must("image", "inspect", "--format", "{{.Id}}", ref))
}
