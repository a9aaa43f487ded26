package e2e

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	name := uniqueName(t)
	e.Must("run", "--name", name, img, "sh", "-c", "touch /new && echo changed >> /etc/passwd && rm /notexec")
	lines := strings.Split(strings.TrimSpace(e.Must("diff", name)), "\n")
	for _, want := range []string{"A /new", "C /etc", "C /etc/passwd", "D /notexec"} {
		if !slices.Contains(lines, want) {
			t.Errorf("diff lacks %q: %q", want, lines)
		}
	}
	for _, l := range lines {
		if l == "A /etc/hosts" || l == "A /proc" {
			t.Errorf("diff lists the runtime's mount point %q", l)
		}
	}
	var doc struct{ Changed, Added, Deleted []string }
	if err := json.Unmarshal([]byte(e.Must("container", "diff", "--format", "json", name)), &doc); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(doc.Added, "/new") || !slices.Contains(doc.Changed, "/etc/passwd") || !slices.Contains(doc.Deleted, "/notexec") {
		t.Fatalf("diff --format json: %+v", doc)
	}
	e.MustFail(125, "diff", "no-such-container")
}

func TestExport(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	name := uniqueName(t)
	e.Must("run", "--name", name, img, "sh", "-c", "echo written > /written")
	out := filepath.Join(t.TempDir(), "ctr.tar")
	e.Must("export", "-o", out, name)
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		files[h.Name] = string(b)
	}
	if _, ok := files["bin/busybox"]; !ok || files["written"] != "written\n" {
		t.Fatalf("export holds %d entries; bin/busybox present: %v, written: %q", len(files), ok, files["written"])
	}
	// To standard output, the same archive.
	if stdout := e.Must("container", "export", name); len(stdout) < 512 || !strings.Contains(stdout, "written\n") {
		t.Fatalf("export to stdout: %d bytes", len(stdout))
	}
}

func TestMountUnmount(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	name := uniqueName(t)
	e.Must("run", "--name", name, img, "sh", "-c", "echo mounted > /file")
	id := psAll(t, e)[0].ID
	if out := e.Must("mount"); out != "" {
		t.Fatalf("mount lists %q before any mount", out)
	}
	mnt := strings.TrimSpace(e.Must("mount", name))
	if got := readHostFile(t, filepath.Join(mnt, "file")); got != "mounted\n" {
		t.Fatalf("%s/file holds %q", mnt, got)
	}
	if out := e.Must("mount"); out != id[:12]+"  "+mnt+"\n" {
		t.Fatalf("mount lists %q", out)
	}
	var list []struct {
		ID         string
		Mountpoint string
	}
	if err := json.Unmarshal([]byte(e.Must("container", "mount", "--format", "json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != id || list[0].Mountpoint != mnt {
		t.Fatalf("mount --format json: %+v", list)
	}
	// Mounts count: two mounts need two unmounts (or --force).
	e.Must("mount", name)
	e.Must("unmount", name)
	if _, err := os.Stat(filepath.Join(mnt, "file")); err != nil {
		t.Fatalf("one unmount of two unmounted: %v", err)
	}
	if out := e.Must("umount", name); strings.TrimSpace(out) != name {
		t.Fatalf("umount printed %q", out)
	}
	if _, err := os.Stat(filepath.Join(mnt, "file")); err == nil {
		t.Fatalf("%s/file still there after unmount", mnt)
	}
	if out := e.Must("mount"); out != "" {
		t.Fatalf("mount lists %q after unmount", out)
	}
	e.Must("unmount", name) // not mounted: nothing to do
	e.Must("mount", name)
	e.Must("mount", name)
	e.Must("unmount", "-a", "-f")
	if out := e.Must("mount"); out != "" {
		t.Fatalf("mount lists %q after unmount -a -f", out)
	}

	// A mount of the user's outlives a run of the container.
	mnt = strings.TrimSpace(e.Must("mount", name))
	e.Must("start", "-a", name)
	if got := readHostFile(t, filepath.Join(mnt, "file")); got != "mounted\n" {
		t.Fatalf("after a run, %s/file holds %q: the user's mount went with the run's", mnt, got)
	}
	if out := e.Must("mount"); !strings.Contains(out, id[:12]) {
		t.Fatalf("mount no longer lists %s after a run: %q", name, out)
	}
	e.Must("unmount", name)
	if out := e.Must("mount"); out != "" {
		t.Fatalf("mount lists %q after the run and one unmount", out)
	}

	// A running container is mounted by its runtime, which keeps it.
	run := runningCtr(t, e, img)
	if out := e.Must("mount"); !strings.Contains(out, "  ") {
		t.Fatalf("mount does not list the running container: %q", out)
	}
	e.MustFail(125, "unmount", run)
	e.Must("unmount", "--all")
	if out := e.Must("exec", run, "true"); out != "" {
		t.Fatalf("exec after unmount -a: %q", out)
	}
}
