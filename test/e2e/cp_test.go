package e2e

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeHostFile writes content to dir/name and returns the path.
func writeHostFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func readHostFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCpBothDirections(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	name := runningCtr(t, e, img)
	host := t.TempDir()
	file := writeHostFile(t, host, "file.txt", "hello\n")
	if err := os.Chown(file, 1234, 1234); err != nil {
		t.Fatal(err)
	}

	// A file into a directory keeps its name, to a new path takes that
	// name, and is owned by the container's user unless --archive=false.
	e.Must("cp", file, name+":/tmp/")
	e.Must("container", "cp", file, name+":/tmp/renamed")
	e.Must("cp", "--archive=false", file, name+":/tmp/kept")
	out := e.Must("exec", name, "sh", "-c", "cat /tmp/file.txt /tmp/renamed; stat -c '%u %a' /tmp/file.txt /tmp/kept")
	if out != "hello\nhello\n0 644\n1234 644\n" {
		t.Fatalf("after copying in: %q", out)
	}
	e.MustFail(125, "cp", file, name+":/no/such/dir/file")
	e.MustFail(125, "cp", filepath.Join(host, "missing"), name+":/tmp/")

	// A directory to a new path becomes it; into an existing one it
	// becomes a subdirectory; with "/." its content is merged.
	writeHostFile(t, host, "tree/a", "a\n")
	writeHostFile(t, host, "tree/sub/b", "b\n")
	if err := os.Symlink("sub/b", filepath.Join(host, "tree", "link")); err != nil {
		t.Fatal(err)
	}
	e.Must("cp", filepath.Join(host, "tree"), name+":/tmp/newtree")
	e.Must("cp", filepath.Join(host, "tree"), name+":/tmp/")
	e.Must("exec", name, "mkdir", "/tmp/merged")
	e.Must("cp", filepath.Join(host, "tree")+"/.", name+":/tmp/merged")
	out = e.Must("exec", name, "sh", "-c", "cat /tmp/newtree/sub/b /tmp/tree/a /tmp/merged/link; readlink /tmp/merged/link")
	if out != "b\na\nb\nsub/b\n" {
		t.Fatalf("after copying directories in: %q", out)
	}
	e.MustFail(125, "cp", filepath.Join(host, "tree"), name+":/tmp/file.txt")

	// Out of the container.
	e.Must("exec", name, "sh", "-c", "mkdir -p /data/d && echo inside > /data/d/f && ln -s /etc/passwd /data/abs")
	e.Must("cp", name+":/data/d/f", host+"/")
	e.Must("cp", name+":/data", filepath.Join(host, "datacopy"))
	e.Must("cp", name+":/data", host)
	if got := readHostFile(t, filepath.Join(host, "f")) + readHostFile(t, filepath.Join(host, "datacopy", "d", "f")) +
		readHostFile(t, filepath.Join(host, "data", "d", "f")); got != "inside\ninside\ninside\n" {
		t.Fatalf("after copying out: %q", got)
	}
	// A symbolic link is copied as a link; -L copies what it points to.
	if target, err := os.Readlink(filepath.Join(host, "data", "abs")); err != nil || target != "/etc/passwd" {
		t.Fatalf("link copied as %q, %v", target, err)
	}
	e.Must("cp", "-L", name+":/data/abs", filepath.Join(host, "passwd"))
	if got := readHostFile(t, filepath.Join(host, "passwd")); !strings.HasPrefix(got, "root:") {
		t.Fatalf("-L copied %q", got)
	}
	e.MustFail(125, "cp", file, filepath.Join(host, "x"))
}

func TestCpStdinStdout(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	name := runningCtr(t, e, img)
	e.Must("exec", name, "sh", "-c", "mkdir -p /src/sub && echo one > /src/sub/one && echo two > /src/two")
	archive := e.Must("cp", name+":/src", "-")
	var names []string
	tr := tar.NewReader(strings.NewReader(archive))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
	slices.Sort(names)
	if want := []string{"src/", "src/sub/", "src/sub/one", "src/two"}; !slices.Equal(names, want) {
		t.Fatalf("tar entries %q, want %q", names, want)
	}
	e.Must("exec", name, "mkdir", "/dst")
	if r := e.RunStdin(strings.NewReader(archive), "cp", "-", name+":/dst"); r.ExitCode != 0 {
		t.Fatalf("cp - : %+v", r)
	}
	if out := e.Must("exec", name, "cat", "/dst/src/sub/one", "/dst/src/two"); out != "one\ntwo\n" {
		t.Fatalf("after the round trip: %q", out)
	}
	if r := e.RunStdin(strings.NewReader(archive), "cp", "-", name+":/dst/src/two"); r.ExitCode != 125 {
		t.Fatalf("cp - onto a file: %+v", r)
	}
}

// TestCpSymlinkEscape checks that links in the container, and in a tar
// stream given to it, are resolved inside the container.
func TestCpSymlinkEscape(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	name := runningCtr(t, e, img)
	marker := "engine-e2e-" + uniqueName(t)
	hostTarget := filepath.Join("/etc", marker)
	t.Cleanup(func() { _ = os.Remove(hostTarget) })
	file := writeHostFile(t, t.TempDir(), "file", "confined\n")

	e.Must("exec", name, "sh", "-c", "ln -s / /escape && ln -s ../../../../.. /up")
	e.Must("cp", file, name+":/escape/etc/"+marker)
	e.Must("cp", file, name+":/up/tmp/"+marker)
	assertNoHostFile(t, hostTarget)
	assertNoHostFile(t, filepath.Join("/tmp", marker))
	if out := e.Must("exec", name, "cat", "/etc/"+marker, "/tmp/"+marker); out != "confined\nconfined\n" {
		t.Fatalf("in the container: %q", out)
	}

	// A tar stream whose link is followed by a file through it.
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "/etc", Mode: 0o777},
		{Name: "link/" + marker + ".tar", Typeflag: tar.TypeReg, Mode: 0o644, Size: 3},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tw.Write([]byte("in\n")); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	e.Must("exec", name, "mkdir", "/x")
	if r := e.RunStdin(bytes.NewReader(buf.Bytes()), "cp", "-", name+":/x"); r.ExitCode != 0 {
		t.Fatalf("cp - with a link: %+v", r)
	}
	assertNoHostFile(t, hostTarget+".tar")
	if out := e.Must("exec", name, "cat", "/etc/"+marker+".tar"); out != "in\n" {
		t.Fatalf("file written through the link: %q", out)
	}

	// Names climbing out are refused.
	buf.Reset()
	tw = tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "../../" + marker, Typeflag: tar.TypeReg, Mode: 0o644}); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if r := e.RunStdin(bytes.NewReader(buf.Bytes()), "cp", "-", name+":/x"); r.ExitCode != 125 || !strings.Contains(r.Stderr, "escapes") {
		t.Fatalf("cp - with ../: %+v", r)
	}
}

func assertNoHostFile(t *testing.T, p string) {
	t.Helper()
	if _, err := os.Lstat(p); err == nil {
		t.Fatalf("%s was written on the host", p)
	}
}

func TestCpStoppedContainer(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	name := uniqueName(t)
	e.Must("create", "--name", name, img, "cat", "/copied")
	file := writeHostFile(t, t.TempDir(), "f", "before start\n")
	e.Must("cp", file, name+":/copied")
	dir := t.TempDir()
	e.Must("cp", name+":/copied", dir)
	if got := readHostFile(t, filepath.Join(dir, "copied")); got != "before start\n" {
		t.Fatalf("copied out of a created container: %q", got)
	}
	if r := e.Run("start", "-a", name); r.ExitCode != 0 || r.Stdout != "before start\n" {
		t.Fatalf("start -a: %+v", r)
	}
	// The copy released its mount: the stopped container is not mounted.
	if out := e.Must("mount"); strings.Contains(out, name) || out != "" {
		t.Fatalf("mount lists %q", out)
	}
	e.Must("rm", name)
}

// TestCpFollowsMounts checks that paths under a running container's
// volume, bind and tmpfs mounts are their content, both ways.
func TestCpFollowsMounts(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	vol := uniqueName(t)
	bindDir, roDir := t.TempDir(), t.TempDir()
	name := runningCtr(t, e, img, "-v", vol+":/data", "-v", bindDir+":/mnt", "-v", roDir+":/ro:ro", "--tmpfs", "/t",
		"--mount", "type=image,source="+img+",target=/img")
	volDir := inspectVolume(t, e, vol).Mountpoint
	host := t.TempDir()
	file := writeHostFile(t, host, "in.txt", "copied in\n")
	e.Must("exec", name, "ln", "-s", "/data", "/datalink")

	for _, tc := range []struct {
		name    string
		dest    string // a directory in the container
		hostDir string // where it is on the host, "" for a tmpfs
	}{
		{"named volume", "/data", volDir},
		{"bind mount", "/mnt", bindDir},
		{"tmpfs", "/t", ""},
		{"link in the root filesystem to a volume", "/datalink/sub", filepath.Join(volDir, "sub")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.Must("exec", name, "mkdir", "-p", tc.dest+"/out")
			e.Must("cp", file, name+":"+tc.dest+"/")
			if out := e.Must("exec", name, "cat", tc.dest+"/in.txt"); out != "copied in\n" {
				t.Fatalf("the container sees %q", out)
			}
			if tc.hostDir != "" {
				if got := readHostFile(t, filepath.Join(tc.hostDir, "in.txt")); got != "copied in\n" {
					t.Fatalf("on the host: %q", got)
				}
			}
			e.Must("exec", name, "sh", "-c", "echo made inside > "+tc.dest+"/out/f")
			dst := t.TempDir()
			e.Must("cp", name+":"+tc.dest+"/out", dst)
			e.Must("cp", name+":"+tc.dest, filepath.Join(dst, "whole"))
			if got := readHostFile(t, filepath.Join(dst, "out", "f")) + readHostFile(t, filepath.Join(dst, "whole", "out", "f")); got != "made inside\nmade inside\n" {
				t.Fatalf("copied out: %q", got)
			}
		})
	}

	r := e.MustFail(125, "cp", file, name+":/ro/")
	if !strings.Contains(r.Stderr, "read-only") {
		t.Errorf("cp into a read-only mount: %q", r.Stderr)
	}
	if _, err := os.Stat(filepath.Join(roDir, "in.txt")); err == nil {
		t.Error("cp wrote into the read-only mount")
	}
	// An image mount is read-only too, but can be copied from.
	e.MustFail(125, "cp", file, name+":/img/")
	e.Must("cp", name+":/img/notexec", host)
	if got := readHostFile(t, filepath.Join(host, "notexec")); got != "echo hi\n" {
		t.Errorf("copied out of the image mount: %q", got)
	}
}

// TestCpLinksInVolume checks that links in a volume, absolute or climbing
// with "..", resolve inside the volume: never on the host, nor in the
// container's root filesystem.
func TestCpLinksInVolume(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	vol := uniqueName(t)
	name := runningCtr(t, e, img, "-v", vol+":/data")
	volDir := inspectVolume(t, e, vol).Mountpoint
	marker := "engine-e2e-" + uniqueName(t)
	t.Cleanup(func() { _ = os.Remove(filepath.Join("/etc", marker)) })
	hostPasswd := readHostFile(t, "/etc/passwd")
	e.Must("exec", name, "sh", "-c",
		"mkdir /data/etc && echo volume > /data/etc/passwd && ln -s /etc/passwd /data/pw && ln -s ../../../../etc /data/up")

	dst := t.TempDir()
	e.Must("cp", "-L", name+":/data/pw", filepath.Join(dst, "pw"))
	if got := readHostFile(t, filepath.Join(dst, "pw")); got != "volume\n" {
		t.Fatalf("cp -L of /data/pw -> /etc/passwd copied %q, want the volume's etc/passwd", got)
	}
	file := writeHostFile(t, t.TempDir(), "f", "through a link\n")
	e.Must("cp", file, name+":/data/pw")
	e.Must("cp", file, name+":/data/up/"+marker)
	assertNoHostFile(t, filepath.Join("/etc", marker))
	if got := readHostFile(t, "/etc/passwd"); got != hostPasswd {
		t.Fatal("cp through a link in a volume changed the host's /etc/passwd")
	}
	if got := readHostFile(t, filepath.Join(volDir, "etc", "passwd")) + readHostFile(t, filepath.Join(volDir, "etc", marker)); got != "through a link\nthrough a link\n" {
		t.Fatalf("in the volume: %q", got)
	}
	if out := e.Must("exec", name, "cat", "/etc/passwd"); strings.Contains(out, "through a link") {
		t.Fatalf("the container's /etc/passwd changed: %q", out)
	}
}

// TestCpStoppedContainerMounts checks copies into the volumes and bind
// mounts of a container that is not running, and that a device volume is
// mounted for the copy only.
func TestCpStoppedContainerMounts(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	name := uniqueName(t)
	vol, devVol := name+"-vol", name+"-dev"
	bindDir, devDir := t.TempDir(), t.TempDir()
	e.Must("volume", "create", "-o", "type=bind", "-o", "device="+devDir, devVol)
	r := e.Run("run", "--name", name, "-v", vol+":/data", "-v", devVol+":/dev-vol", "-v", bindDir+":/mnt", "--tmpfs", "/t",
		img, "sh", "-c", "cat /data/f /dev-vol/f /mnt/f")
	if r.ExitCode == 0 {
		t.Fatalf("first run found files: %+v", r)
	}
	t.Cleanup(func() { e.Run("rm", "-f", name) })

	for i, dest := range []string{"/data", "/dev-vol", "/mnt"} {
		file := writeHostFile(t, t.TempDir(), "f", fmt.Sprintf("file %d\n", i))
		e.Must("cp", file, name+":"+dest+"/")
	}
	if doc := inspectVolume(t, e, devVol); doc.MountCount != 0 {
		t.Errorf("device volume mount count %d after the copy, want 0", doc.MountCount)
	}
	if got := readHostFile(t, filepath.Join(devDir, "f")) + readHostFile(t, filepath.Join(bindDir, "f")); got != "file 1\nfile 2\n" {
		t.Errorf("on the host: %q", got)
	}
	dst := t.TempDir()
	e.Must("cp", name+":/dev-vol/f", dst)
	if got := readHostFile(t, filepath.Join(dst, "f")); got != "file 1\n" {
		t.Errorf("copied out of the device volume: %q", got)
	}
	r = e.MustFail(125, "cp", filepath.Join(dst, "f"), name+":/t/")
	if !strings.Contains(r.Stderr, "tmpfs") || !strings.Contains(r.Stderr, "start it first") {
		t.Errorf("cp into the tmpfs of a stopped container: %q", r.Stderr)
	}
	if r := e.Run("start", "-a", name); r.ExitCode != 0 || r.Stdout != "file 0\nfile 1\nfile 2\n" {
		t.Fatalf("start -a after the copies: %+v", r)
	}
}
