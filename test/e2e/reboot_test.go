package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRefreshAfterReboot simulates a reboot: every process of the store
// dies and its run root (a tmpfs on a real host) is emptied. The next
// command finds containers that were running exited, not ghosts, and --rm
// ones gone with their volatile layers.
func TestRefreshAfterReboot(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	keep := uniqueName(t)
	gone := keep + "-rm"
	keepID := strings.TrimSpace(e.Must("run", "-d", "--name", keep, img, "sleep", "1000"))
	goneID := strings.TrimSpace(e.Must("run", "-d", "--rm", "--name", gone, img, "sleep", "1000"))
	layers := func() int {
		entries, err := os.ReadDir(filepath.Join(e.Root, "overlay"))
		if err != nil {
			t.Fatal(err)
		}
		return len(entries)
	}
	before := layers()

	// The "power cut": monitors first, so none records an exit.
	// (The store keeps the --rm container's volatile layer until then.)
	for _, id := range []string{keepID, goneID} {
		out, err := exec.Command("pgrep", "-f", "engine-monitor "+e.RunRoot+"/containers/"+id).Output()
		if err != nil {
			t.Fatalf("no monitor for %s: %v", id, err)
		}
		for _, pid := range strings.Fields(string(out)) {
			if err := exec.Command("kill", "-9", pid).Run(); err != nil {
				t.Fatal(err)
			}
		}
		// Kills the container and drops its cgroups, as the reboot would.
		if out, err := exec.Command("runc", "--root", filepath.Join(e.RunRoot, "runtime"), "delete", "--force", id).CombinedOutput(); err != nil {
			t.Fatalf("runc delete %s: %v: %s", id, err, out)
		}
	}
	waitMonitorsGone(e.RunRoot)
	unmountUnder(t, e.Root)
	unmountUnder(t, e.RunRoot)
	entries, err := os.ReadDir(e.RunRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, ent := range entries {
		if err := os.RemoveAll(filepath.Join(e.RunRoot, ent.Name())); err != nil {
			t.Fatal(err)
		}
	}

	rows := psAll(t, e)
	if len(rows) != 1 || rows[0].ID != keepID || rows[0].State != "exited" {
		t.Fatalf("after the reboot ps -a shows %+v, want only %s, exited", rows, keep)
	}
	if got := layers(); got != before-1 {
		t.Errorf("layer directories: %d before, %d after, want the --rm container's removed", before, got)
	}
	e.MustFail(125, "inspect", gone)
	e.Must("start", keep)
	if pid := strings.TrimSpace(e.Must("inspect", "--format", "{{.State.Pid}}", keep)); pid == "0" {
		t.Errorf("%s did not start again after the reboot", keep)
	}
	e.Must("rm", "-f", "-t", "0", keep)
}
