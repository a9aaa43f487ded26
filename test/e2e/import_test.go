package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/engine-oss/engine/test/testimage"
)

// rootfsTar writes a small root filesystem tarball, gzip-compressed if gz.
func rootfsTar(t *testing.T, gz bool, entries []testimage.Entry) string {
	t.Helper()
	var buf bytes.Buffer
	var w = &buf
	if err := testimage.WriteLayerTar(w, entries); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	name := "rootfs.tar"
	if gz {
		var zbuf bytes.Buffer
		zw := gzip.NewWriter(&zbuf)
		if _, err := zw.Write(data); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		data, name = zbuf.Bytes(), "rootfs.tar.gz"
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

var rootfs = []testimage.Entry{
	{Name: "etc/", Type: tar.TypeDir},
	{Name: "etc/hostname", Content: []byte("imported\n")},
	{Name: "bin/", Type: tar.TypeDir},
}

func TestImportWithChanges(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	r := e.Run("import",
		"--change", `CMD ["/bin/sh", "-c", "echo hi"]`,
		"-c", "ENTRYPOINT /init",
		"-c", `ENV GREETING="hello world" EMPTY=`,
		"-c", "LABEL org.example.test=yes",
		"-c", "EXPOSE 8080 53/udp",
		"-c", `VOLUME ["/data"]`,
		"-c", "WORKDIR /srv",
		"-c", "USER nobody",
		"-c", "STOPSIGNAL SIGINT",
		"--message", "made by "+t.Name(),
		rootfsTar(t, true, rootfs), "imported:v1")
	if r.ExitCode != 0 {
		t.Fatalf("import: exit %d\n%s", r.ExitCode, r.Stderr)
	}
	id := strings.TrimSpace(r.Stdout)
	if !idRe.MatchString(id) {
		t.Fatalf("import printed %q, want the image ID", r.Stdout)
	}
	img := inspectImage(t, e, "imported:v1")
	c := img.Config
	for _, check := range []struct {
		what      string
		got, want any
	}{
		{"ID", img.ID, id},
		{"RepoTags", img.RepoTags, []string{"localhost/imported:v1"}},
		{"Cmd", c.Cmd, []string{"/bin/sh", "-c", "echo hi"}},
		{"Entrypoint", c.Entrypoint, []string{"/bin/sh", "-c", "/init"}},
		{"Env", c.Env, []string{"GREETING=hello world", "EMPTY="}},
		{"Labels", c.Labels["org.example.test"], "yes"},
		{"ExposedPorts", len(c.ExposedPorts), 2},
		{"Volumes", len(c.Volumes), 1},
		{"WorkingDir", c.WorkingDir, "/srv"},
		{"User", c.User, "nobody"},
		{"StopSignal", c.StopSignal, "SIGINT"},
		{"History", len(img.History), 1},
	} {
		if !equal(check.got, check.want) {
			t.Errorf("%s = %v, want %v", check.what, check.got, check.want)
		}
	}
	if _, ok := c.ExposedPorts["53/udp"]; !ok {
		t.Errorf("ExposedPorts %v lack 53/udp", c.ExposedPorts)
	}
	if len(img.History) == 1 && img.History[0].Comment != "made by "+t.Name() {
		t.Errorf("history comment %q, want the --message", img.History[0].Comment)
	}
}

func equal(a, b any) bool {
	as, aok := a.([]string)
	bs, bok := b.([]string)
	if aok && bok {
		return slices.Equal(as, bs)
	}
	return a == b
}

func TestImportStdinAndDefaults(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	data, err := os.ReadFile(rootfsTar(t, false, rootfs))
	if err != nil {
		t.Fatal(err)
	}
	r := e.RunStdin(bytes.NewReader(data), "image", "import", "-q", "-")
	if r.ExitCode != 0 || r.Stderr != "" {
		t.Fatalf("import -q -: exit %d, stderr %q", r.ExitCode, r.Stderr)
	}
	id := strings.TrimSpace(r.Stdout)
	img := inspectImage(t, e, id)
	if len(img.RepoTags) != 0 {
		t.Errorf("import without a name gave names %q", img.RepoTags)
	}
	if img.Os != "linux" || img.Architecture == "" {
		t.Errorf("platform %s/%s, want the host's", img.Os, img.Architecture)
	}
	if len(img.History) != 1 || img.History[0].Comment == "" {
		t.Errorf("history %+v, want one entry with a default comment", img.History)
	}

	// The same tarball, compressed, gives the same layer; --arch is recorded.
	id2 := strings.TrimSpace(e.Must("import", "-q", "--arch", "arm64", rootfsTar(t, true, rootfs), "quay.io/org/other"))
	img2 := inspectImage(t, e, id2)
	if img2.Architecture != "arm64" || !slices.Equal(img2.RepoTags, []string{"quay.io/org/other:latest"}) {
		t.Errorf("second import: %s %q, want arm64 quay.io/org/other:latest", img2.Architecture, img2.RepoTags)
	}
}

func TestImportErrors(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(text, []byte(strings.Repeat("not a tarball\n", 100)), 0o644); err != nil {
		t.Fatal(err)
	}
	good := rootfsTar(t, false, rootfs)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{filepath.Join(dir, "missing.tar")}, "missing.tar"},
		{[]string{text}, "notes.txt"},
		{[]string{"-c", "RUN make", good}, "RUN"},
		{[]string{"-c", "EXPOSE 99999", good}, "99999"},
		{[]string{good, "Bad:Name:x"}, "Bad:Name:x"},
		{[]string{"https://example.com/rootfs.tar"}, "URL"},
	} {
		r := e.MustFail(125, append([]string{"import"}, tc.args...)...)
		if !strings.Contains(r.Stderr, tc.want) {
			t.Errorf("import %v: stderr %q lacks %q", tc.args, r.Stderr, tc.want)
		}
	}
	requireEmptyStore(t, e)
}

// TestImportHostileTarball imports tarballs whose entries try to leave the
// root: the store applies them confined to the layer or refuses them, and
// nothing appears outside.
func TestImportHostileTarball(t *testing.T) {
	t.Parallel()
	target := escapeTarget(t)
	for _, tc := range []struct {
		name    string
		entries []testimage.Entry
	}{
		{"dot dot", []testimage.Entry{{Name: strings.Repeat("../", 20) + target[1:], Content: []byte("x")}}},
		{"absolute", []testimage.Entry{{Name: target, Content: []byte("x")}}},
		{"symlink then write through it", []testimage.Entry{
			{Name: "evil", Type: tar.TypeSymlink, Linkname: target},
			{Name: "evil/pwned", Content: []byte("x")},
		}},
		{"hard link out", []testimage.Entry{{Name: "hard", Type: tar.TypeLink, Linkname: strings.Repeat("../", 20) + "etc/passwd"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEngine(t)
			r := e.Run("import", "-q", rootfsTar(t, false, tc.entries))
			t.Logf("exit %d\n%s", r.ExitCode, r.Stderr)
			requireNotWritten(t, target)
			if r.ExitCode != 0 {
				requireEmptyStore(t, e)
			}
		})
	}
}
