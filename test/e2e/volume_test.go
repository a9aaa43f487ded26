package e2e

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/engine-oss/engine/test/testimage"
)

// volumeImage pulls a busybox image with /data (a directory, a file and a
// symbolic link owned by 1000:1000, the directory mode 0750) and a VOLUME
// at /imgvol.
func volumeImage(t *testing.T, e *Engine) string {
	t.Helper()
	ref, _ := pulledImage(t, e, "vol", testimage.Options{
		CustomLayers: [][]testimage.Entry{{
			{Name: "data/", Type: tar.TypeDir, Mode: 0o750, UID: 1000, GID: 1000},
			{Name: "data/file", Content: []byte("from image\n"), UID: 1000, GID: 1000},
			{Name: "data/link", Type: tar.TypeSymlink, Linkname: "file", UID: 1000, GID: 1000},
		}},
		Volumes: []string{"/imgvol"},
	})
	return ref
}

type volumeDoc struct {
	Name, Driver, Mountpoint string
	Labels, Options          map[string]string
	Anonymous                bool
	MountCount               int
	NeedsCopyUp              bool
}

func inspectVolume(t *testing.T, e *Engine, name string) volumeDoc {
	t.Helper()
	var docs []volumeDoc
	if err := json.Unmarshal([]byte(e.Must("volume", "inspect", name)), &docs); err != nil || len(docs) != 1 {
		t.Fatalf("volume inspect %s: %v %+v", name, err, docs)
	}
	return docs[0]
}

func volumeNames(t *testing.T, e *Engine, args ...string) []string {
	t.Helper()
	return strings.Fields(e.Must(append([]string{"volume", "ls", "-q"}, args...)...))
}

func TestVolumeNamedPersists(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	vol := uniqueName(t)
	// A named volume that does not exist is created by run.
	e.Must("run", "--rm", "-v", vol+":/data", img, "sh", "-c", "echo kept > /data/f")
	if out := e.Must("run", "--rm", "-v", vol+":/data:ro", img, "cat", "/data/f"); out != "kept\n" {
		t.Fatalf("second container read %q", out)
	}
	doc := inspectVolume(t, e, vol)
	if doc.Driver != "local" || doc.Anonymous || doc.Mountpoint != filepath.Join(e.Root, "volumes", vol, "_data") {
		t.Errorf("inspect: %+v", doc)
	}
	if b, err := os.ReadFile(filepath.Join(doc.Mountpoint, "f")); err != nil || string(b) != "kept\n" {
		t.Errorf("host copy: %q %v", b, err)
	}
	// --rm removes anonymous volumes only.
	if names := volumeNames(t, e); !slices.Equal(names, []string{vol}) {
		t.Errorf("volumes after --rm runs: %q", names)
	}
	rows := tableRows(e.Must("volume", "ls"))
	if !slices.Equal(rows[0], []string{"DRIVER", "VOLUME NAME"}) || !slices.Equal(rows[1], []string{"local", vol}) {
		t.Errorf("volume ls: %q", rows)
	}
	e.Must("create", "--name", vol+"-ctr", "-v", vol+":/data:ro", img, "true")
	mounts := e.Must("container", "inspect", "--format", "{{range .Mounts}}{{.Type}} {{.Name}} {{.Source}} {{.Destination}} {{.RW}}{{end}}", vol+"-ctr")
	if want := "volume " + vol + " " + doc.Mountpoint + " /data false\n"; mounts != want {
		t.Errorf("container inspect Mounts: %q, want %q", mounts, want)
	}
	e.Must("volume", "exists", vol)
	if r := e.Run("volume", "exists", vol+"-not"); r.ExitCode != 1 || r.Stderr != "" {
		t.Errorf("exists of a missing volume: %+v", r)
	}
}

func TestVolumeCopyUp(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	e := newEngine(t)
	img := volumeImage(t, e)
	vol := uniqueName(t)
	out := e.Must("run", "--rm", "-v", vol+":/data", img, "sh", "-c",
		"stat -c '%u:%g %a %n' /data /data/file && readlink /data/link && cat /data/link && touch /data/new")
	want := "1000:1000 750 /data\n1000:1000 644 /data/file\nfile\nfrom image\n"
	if out != want {
		t.Fatalf("copied-up volume:\n%s\nwant:\n%s", out, want)
	}
	doc := inspectVolume(t, e, vol)
	if doc.NeedsCopyUp {
		t.Error("NeedsCopyUp still set after the copy")
	}
	fi, err := os.Lstat(filepath.Join(doc.Mountpoint, "link"))
	if err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("link on the host: %v %v", fi, err)
	}
	// A volume with content is not copied into again.
	e.Must("run", "--rm", "-v", vol+":/data", img, "rm", "/data/file")
	if out := e.Must("run", "--rm", "-v", vol+":/data", img, "ls", "/data"); out != "link\nnew\n" {
		t.Errorf("second use copied again: %q", out)
	}

	// nocopy leaves the volume empty, owned by the image's directory owner.
	e.Must("volume", "create", vol+"-nocopy")
	if out := e.Must("run", "--rm", "-v", vol+"-nocopy:/data:nocopy", img, "sh", "-c", "ls -A /data; stat -c %u /data"); out != "1000\n" {
		t.Errorf("nocopy volume: %q", out)
	}
	// A volume created with nocopy never copies.
	e.Must("volume", "create", "-o", "nocopy", vol+"-optnocopy")
	if out := e.Must("run", "--rm", "-v", vol+"-optnocopy:/data", img, "ls", "-A", "/data"); out != "" {
		t.Errorf("volume created with -o nocopy: %q", out)
	}
	// --mount type=volume and the U option: everything belongs to the user.
	out = e.Must("run", "--rm", "--user", "4242:4343", "--mount", "type=volume,source="+vol+"-u,target=/data,U", img,
		"sh", "-c", "stat -c '%u:%g' /data /data/file; touch /data/mine")
	if out != "4242:4343\n4242:4343\n" {
		t.Errorf("U: %q", out)
	}
}

func TestVolumeAnonymous(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	e := newEngine(t)
	img := volumeImage(t, e)
	name := uniqueName(t)
	e.Must("create", "--name", name, "-v", "/anon", "-v", name+"-named:/named", img, "true")
	names := volumeNames(t, e)
	if len(names) != 3 {
		t.Fatalf("want an anonymous volume for -v /anon and for VOLUME /imgvol, and the named one: %q", names)
	}
	anon := 0
	for _, n := range names {
		if inspectVolume(t, e, n).Anonymous {
			anon++
		}
	}
	if anon != 2 {
		t.Fatalf("%d anonymous volumes, want 2", anon)
	}
	if got := volumeNames(t, e, "--filter", "dangling=false"); len(got) != 3 {
		t.Errorf("in use: %q", got)
	}
	e.Must("rm", "-v", name)
	if names := volumeNames(t, e); !slices.Equal(names, []string{name + "-named"}) {
		t.Fatalf("rm -v left %q, want only the named volume", names)
	}
	// Without -v, anonymous volumes stay; run --rm removes them.
	e.Must("create", "--name", name, img, "true")
	e.Must("rm", name)
	if n := len(volumeNames(t, e)); n != 2 {
		t.Errorf("rm without -v: %d volumes, want 2", n)
	}
	e.Must("run", "--rm", img, "true")
	if n := len(volumeNames(t, e)); n != 2 {
		t.Errorf("run --rm kept its anonymous volume: %d volumes", n)
	}
	// A mount on the image's VOLUME replaces the anonymous volume.
	e.Must("run", "--rm", "--tmpfs", "/imgvol", img, "true")
	if n := len(volumeNames(t, e)); n != 2 {
		t.Errorf("mounted VOLUME still got a volume: %d volumes", n)
	}
}

func TestVolumeBindReadOnly(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	dir := filepath.Join(e.TmpDir, "bind")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := e.Must("run", "--rm", "-v", dir+":/b:ro", img, "cat", "/b/f"); out != "host\n" {
		t.Fatalf("read through :ro: %q", out)
	}
	r := e.Run("run", "--rm", "-v", dir+":/b:ro", img, "sh", "-c", "echo x > /b/f")
	if r.ExitCode == 0 || !strings.Contains(r.Stderr, "Read-only file system") {
		t.Fatalf("write to a :ro bind mount: %+v", r)
	}
	e.Must("run", "--rm", "--mount", "type=bind,source="+dir+",target=/b", img, "sh", "-c", "echo changed > /b/f")
	if b, _ := os.ReadFile(filepath.Join(dir, "f")); string(b) != "changed\n" {
		t.Errorf("write through --mount type=bind: %q", b)
	}
	r = e.Run("run", "--rm", "--mount", "type=bind,source="+dir+",target=/b,readonly", img, "touch", "/b/g")
	if r.ExitCode == 0 {
		t.Errorf("--mount readonly allowed a write")
	}
}

func TestVolumeExportImport(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	e := newEngine(t)
	img := volumeImage(t, e)
	vol := uniqueName(t)
	e.Must("run", "--rm", "-v", vol+":/data", img, "sh", "-c",
		"mkdir -p /data/sub && echo deep > /data/sub/f && chown 7:8 /data/sub/f && chmod 4750 /data/sub/f && ln /data/sub/f /data/hard")
	archive := filepath.Join(e.TmpDir, "vol.tar")
	e.Must("volume", "export", "-o", archive, vol)
	e.Must("volume", "create", vol+"-copy")
	e.Must("volume", "import", vol+"-copy", archive)
	out := e.Must("run", "--rm", "-v", vol+"-copy:/data", img, "sh", "-c",
		"cat /data/file /data/sub/f; stat -c '%u:%g %a %h' /data/sub/f; readlink /data/link")
	if want := "from image\ndeep\n7:8 4750 2\nfile\n"; out != want {
		t.Fatalf("imported volume:\n%s\nwant:\n%s", out, want)
	}
	// Export to standard output, import from standard input.
	tarball := e.Must("volume", "export", vol)
	e.Must("volume", "create", vol+"-stdin")
	if r := e.RunStdin(strings.NewReader(tarball), "volume", "import", vol+"-stdin", "-"); r.ExitCode != 0 {
		t.Fatalf("import from stdin: %+v", r)
	}
	if b, err := os.ReadFile(filepath.Join(inspectVolume(t, e, vol+"-stdin").Mountpoint, "sub", "f")); err != nil || string(b) != "deep\n" {
		t.Errorf("stdin import: %q %v", b, err)
	}

	// Hostile and broken archives.
	notTar := filepath.Join(e.TmpDir, "not.tar")
	if err := os.WriteFile(notTar, []byte("this is not a tar archive\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := e.MustFail(125, "volume", "import", vol+"-copy", notTar)
	if !strings.Contains(r.Stderr, "not a tar archive") {
		t.Errorf("non-tar import: %q", r.Stderr)
	}
	for name, entries := range map[string][]testimage.Entry{
		"dotdot":   {{Name: "../escaped", Content: []byte("x")}},
		"absolute": {{Name: "/escaped", Content: []byte("x")}},
		"symlink":  {{Name: "out", Type: tar.TypeSymlink, Linkname: "/"}, {Name: "out/escaped", Content: []byte("x")}},
		"hardlink": {{Name: "h", Type: tar.TypeLink, Linkname: "../../../../etc/passwd"}},
	} {
		var buf bytes.Buffer
		if err := testimage.WriteLayerTar(&buf, entries); err != nil {
			t.Fatal(err)
		}
		r := e.RunStdin(&buf, "volume", "import", vol+"-copy", "-")
		if r.ExitCode != 125 || !strings.Contains(r.Stderr, "escapes the destination") {
			t.Errorf("%s: %+v", name, r)
		}
	}
	for _, p := range []string{filepath.Join(e.Root, "volumes", vol+"-copy", "escaped"), filepath.Join(e.Root, "volumes", "escaped"), "/escaped"} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s was written", p)
		}
	}
	e.MustFail(125, "volume", "import", "no-such-volume", archive)
}

func TestVolumeRemoveForce(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	vol, ctr := uniqueName(t), uniqueName(t)+"-ctr"
	e.Must("run", "-d", "--name", ctr, "-v", vol+":/data", img, "sleep", "1000")
	r := e.MustFail(2, "volume", "rm", vol)
	if !strings.Contains(r.Stderr, "being used") || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
		t.Errorf("rm in use: %q", r.Stderr)
	}
	if out := e.Must("volume", "rm", "-f", "-t", "0", vol); out != vol+"\n" {
		t.Errorf("rm -f printed %q", out)
	}
	if rows := psAll(t, e); len(rows) != 0 {
		t.Errorf("rm -f left the container: %+v", rows)
	}
	if _, err := os.Stat(filepath.Join(e.Root, "volumes", vol)); err == nil {
		t.Error("the volume's directory is still there")
	}
	e.MustFail(1, "volume", "rm", vol)
	e.Must("volume", "create", vol)
	e.Must("volume", "create", vol+"-2")
	if out := e.Must("volume", "rm", "--all"); out != vol+"\n"+vol+"-2\n" {
		t.Errorf("rm --all printed %q", out)
	}
}

func TestVolumePrune(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	base := uniqueName(t)
	e.Must("volume", "create", "-l", "keep=yes", base+"-labelled")
	e.Must("volume", "create", base+"-free")
	e.Must("create", "--name", base+"-ctr", "-v", base+"-used:/d", img, "true")
	r := e.RunStdin(strings.NewReader("n\n"), "volume", "prune")
	if r.ExitCode != 0 || !strings.Contains(r.Stdout, base+"-free") || strings.Contains(r.Stdout, base+"-used\n") {
		t.Fatalf("prune answered no: %+v", r)
	}
	if out := e.Must("volume", "prune", "-f", "--filter", "label!=keep"); out != base+"-free\n" {
		t.Errorf("prune with label!= removed %q", out)
	}
	if out := e.Must("volume", "prune", "-f"); out != base+"-labelled\n" {
		t.Errorf("prune removed %q", out)
	}
	if names := volumeNames(t, e); !slices.Equal(names, []string{base + "-used"}) {
		t.Errorf("left %q", names)
	}
}

func TestVolumesFrom(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	name := uniqueName(t)
	dir := filepath.Join(e.TmpDir, "bind")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	e.Must("run", "--name", name, "-v", name+":/vol", "-v", dir+":/bind", "-v", "/anon", img, "sh", "-c",
		"echo v > /vol/f; echo b > /bind/f; echo a > /anon/f")
	if out := e.Must("run", "--rm", "--volumes-from", name, img, "cat", "/vol/f", "/bind/f", "/anon/f"); out != "v\nb\na\n" {
		t.Fatalf("--volumes-from read %q", out)
	}
	r := e.Run("run", "--rm", "--volumes-from", name+":ro", img, "touch", "/vol/g")
	if r.ExitCode == 0 {
		t.Error("--volumes-from :ro allowed a write")
	}
	// The other container's anonymous volume is shared, not removed with this one.
	e.Must("run", "--rm", "--volumes-from", name, img, "true")
	if n := len(volumeNames(t, e)); n != 2 {
		t.Errorf("%d volumes, want 2", n)
	}
	e.MustFail(125, "run", "--rm", "--volumes-from", "no-such-ctr", img, "true")
}

func TestVolumeMountFlagAndDevices(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	name := uniqueName(t)
	out := e.Must("run", "--rm", "--mount", "type=tmpfs,target=/t,tmpfs-size=1m", "--mount", "type=volume,target=/v",
		"--mount", "type=image,source="+img+",target=/img", img, "sh", "-c", "grep ' /t ' /proc/mounts; ls /img/bin/busybox; touch /img/x || echo ro")
	if !strings.Contains(out, "tmpfs /t tmpfs") || !strings.Contains(out, "size=1024k") || !strings.Contains(out, "/img/bin/busybox\nro\n") {
		t.Errorf("--mount tmpfs, volume and image: %q", out)
	}
	// A tmpfs volume is mounted while a container uses it, and counted.
	e.Must("volume", "create", "-o", "type=tmpfs", "-o", "o=size=2m,uid=33", name)
	e.Must("run", "-d", "--name", name, "-v", name+":/data", img, "sleep", "1000")
	if doc := inspectVolume(t, e, name); doc.MountCount != 1 {
		t.Errorf("mount count %d while used, want 1", doc.MountCount)
	}
	if out := e.Must("run", "--rm", "-v", name+":/data", img, "sh", "-c", "grep ' /data ' /proc/mounts; stat -c %u /data"); !strings.Contains(out, "size=2048k") || !strings.HasSuffix(out, "\n33\n") {
		t.Errorf("tmpfs volume in a second container: %q", out)
	}
	e.Must("rm", "-f", "-t", "0", name)
	if doc := inspectVolume(t, e, name); doc.MountCount != 0 {
		t.Errorf("mount count %d after the containers went, want 0", doc.MountCount)
	}
	mp := strings.TrimSpace(e.Must("volume", "mount", name))
	if doc := inspectVolume(t, e, name); mp != doc.Mountpoint || doc.MountCount != 1 {
		t.Errorf("volume mount printed %q: %+v", mp, doc)
	}
	e.Must("volume", "unmount", name)
	e.MustFail(125, "volume", "unmount", name)
}

func TestVolumeBadInput(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	for _, args := range [][]string{
		{"volume", "create", "bad/name"},
		{"volume", "create", "-o", "bogus=1", "x"},
		{"volume", "create", "--driver", "nfs", "x"},
		{"volume", "inspect", "no-such-volume"},
		{"run", "--rm", "-v", "relative/path:/x", img, "true"},
		{"run", "--rm", "-v", "x:/y:bogus", img, "true"},
		{"run", "--rm", "-v", "/no/such/host/dir:/y", img, "true"},
		{"run", "--rm", "--mount", "type=bind,source=/no/such/host/dir,target=/y", img, "true"},
		{"run", "--rm", "--mount", "source=x,target=/y", img, "true"},
		{"run", "--rm", "--mount", "type=volume,source=x,target=/y,bogus", img, "true"},
		{"run", "--rm", "--volumes-from", "x:bogus", img, "true"},
		// Fails after the volume was made: the volume goes too.
		{"run", "--rm", "--pull", "never", "-v", "made:/d", "--mount", "type=image,source=no-such-image,target=/i", img, "true"},
	} {
		r := e.MustFail(125, args...)
		if strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
			t.Errorf("%v: error is not one line: %q", args, r.Stderr)
		}
	}
	if rows := psAll(t, e); len(rows) != 0 {
		t.Errorf("bad input left containers: %+v", rows)
	}
	if names := volumeNames(t, e); len(names) != 0 {
		t.Errorf("bad input left volumes: %q", names)
	}
}
