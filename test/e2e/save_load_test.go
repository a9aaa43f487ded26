package e2e

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/engine-oss/engine/test/testimage"
)

// loadedNames returns the names `load` reported, sorted.
func loadedNames(t *testing.T, stdout string) []string {
	t.Helper()
	var names []string
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
		n, ok := strings.CutPrefix(l, "Loaded image: ")
		if !ok {
			t.Fatalf("load printed %q, want only Loaded image: lines", stdout)
		}
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func TestSaveLoadRoundTrip(t *testing.T) {
	t.Parallel()
	src := newEngine(t)
	idA := loadTestImage(t, src, "localhost/a:v1", testimage.Options{Labels: map[string]string{"img": "a"}})
	src.Must("tag", "a:v1", "quay.io/org/a:also")
	idB := loadTestImage(t, src, "localhost/b:v1", testimage.Options{Layers: 2, Labels: map[string]string{"img": "b"}})

	for _, tc := range []struct {
		format string
		args   []string
		want   []string // names after load
		ids    []string
	}{
		{"docker-archive", []string{"-m", "a:v1", "quay.io/org/a:also", "b:v1"},
			[]string{"localhost/a:v1", "localhost/b:v1", "quay.io/org/a:also"}, []string{idA, idB}},
		{"oci-archive", []string{"-m", "a:v1", "quay.io/org/a:also", "b:v1"},
			[]string{"localhost/a:v1", "localhost/b:v1", "quay.io/org/a:also"}, []string{idA, idB}},
		{"oci-dir", []string{"--multi-image-archive", "a:v1", "b:v1"},
			[]string{"localhost/a:v1", "localhost/b:v1"}, []string{idA, idB}},
		{"docker-dir", []string{"b:v1"}, nil, []string{idB}},
		// Without -m, names after the first are extra tags for the first image.
		{"docker-archive", []string{"a:v1", "extra:tag", "example.com/x/y:z"},
			[]string{"example.com/x/y:z", "localhost/a:v1", "localhost/extra:tag"}, []string{idA}},
		{"oci-archive", []string{"a:v1", "extra:tag"},
			[]string{"localhost/a:v1", "localhost/extra:tag"}, []string{idA}},
		// By ID, an image is saved without a name.
		{"docker-archive", []string{idB[:12]}, nil, []string{idB}},
	} {
		t.Run(tc.format+" "+strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "saved")
			src.Must(append([]string{"save", "-q", "--format", tc.format, "-o", out}, tc.args...)...)
			dst := newEngine(t)
			loaded := loadedNames(t, dst.Must("load", "-i", out))
			if got := imageNames(t, dst); !slices.Equal(got, tc.want) {
				t.Errorf("names after load: %q, want %q", got, tc.want)
			}
			ids := strings.Fields(dst.Must("images", "-q", "--no-trunc"))
			for i := range ids {
				ids[i] = strings.TrimPrefix(ids[i], "sha256:")
			}
			slices.Sort(ids)
			ids = slices.Compact(ids)
			want := slices.Sorted(slices.Values(tc.ids))
			if !slices.Equal(ids, want) {
				t.Errorf("IDs after load: %q, want %q", ids, want)
			}
			if tc.want != nil && !slices.Equal(loaded, tc.want) {
				t.Errorf("load reported %q, want %q", loaded, tc.want)
			}
			if tc.want == nil && (len(loaded) != 1 || loaded[0] != "sha256:"+tc.ids[0]) {
				t.Errorf("load of an unnamed image reported %q, want sha256:%s", loaded, tc.ids[0])
			}
		})
	}
}

func TestSaveStdoutLoadStdin(t *testing.T) {
	t.Parallel()
	src := newEngine(t)
	id := loadTestImage(t, src, "localhost/piped:v1", testimage.Options{})
	for _, format := range []string{"docker-archive", "oci-archive"} {
		r := src.Run("image", "save", "--format", format, "piped:v1")
		if r.ExitCode != 0 {
			t.Fatalf("save to stdout: exit %d\n%s", r.ExitCode, r.Stderr)
		}
		dst := newEngine(t)
		lr := dst.RunStdin(strings.NewReader(r.Stdout), "image", "load")
		if lr.ExitCode != 0 || strings.TrimSpace(lr.Stdout) != "Loaded image: localhost/piped:v1" {
			t.Fatalf("load from stdin: exit %d, stdout %q\n%s", lr.ExitCode, lr.Stdout, lr.Stderr)
		}
		if got := inspectImage(t, dst, "piped:v1").ID; got != id {
			t.Errorf("%s through a pipe: ID %s, want %s", format, got, id)
		}
	}
}

func TestSaveErrors(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	loadTestImage(t, e, "localhost/s:v1", testimage.Options{})
	dir := t.TempDir()
	for _, args := range [][]string{
		{"no-such-image"},
		{"--format", "tarball", "s:v1"},
		{"--compress", "s:v1"},
		{"--format", "docker-dir", "-o", filepath.Join(dir, "d1"), "-m", "s:v1", "s:v1"},
		{"--format", "oci-dir", "s:v1"}, // a directory format needs -o
		{"-o", dir, "s:v1"},             // an archive cannot be a directory
	} {
		r := e.MustFail(125, append([]string{"save"}, args...)...)
		if r.Stdout != "" {
			t.Errorf("save %v failed but wrote %d bytes to stdout", args, len(r.Stdout))
		}
	}
	// A failed save leaves no partial archive behind.
	out := filepath.Join(dir, "partial.tar")
	e.MustFail(125, "save", "-o", out, "-m", "s:v1", "no-such-image")
	if _, err := os.Stat(out); err == nil {
		t.Errorf("failed save left %s", out)
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(text, []byte("these are not the images you are looking for\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := e.MustFail(125, "load", "-i", text)
	if !strings.Contains(r.Stderr, text) || !strings.Contains(r.Stderr, "payload does not match any of the supported image formats") {
		t.Errorf("load of a text file: stderr %q should name the file and the supported formats", r.Stderr)
	}
	r = e.RunStdin(strings.NewReader("garbage"), "load")
	if r.ExitCode != 125 || !strings.Contains(r.Stderr, "standard input") {
		t.Errorf("load of garbage from stdin: exit %d, stderr %q; want 125 naming standard input", r.ExitCode, r.Stderr)
	}
	e.MustFail(125, "load", "-i", filepath.Join(dir, "missing.tar"))
	e.MustFail(125, "load", "-i", dir) // a directory that is no layout
	requireEmptyStore(t, e)
}

// hostileTar writes a tar of entries into a new file and returns its path.
func hostileTar(t *testing.T, entries []testimage.Entry) string {
	t.Helper()
	var buf bytes.Buffer
	if err := testimage.WriteLayerTar(&buf, entries); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "hostile.tar")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// escapeTarget is a path outside every directory the engine writes to; a
// test checks that no archive managed to create it.
func escapeTarget(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(os.TempDir(), "engine-escape-"+uniqueName(t))
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func requireNotWritten(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s was written outside the engine's directories", p)
		}
	}
}

// TestLoadHostileArchives loads archives whose entries try to leave the
// extraction directory; each is refused and nothing appears outside.
func TestLoadHostileArchives(t *testing.T) {
	t.Parallel()
	target := escapeTarget(t)
	depth := strings.Repeat("../", 20)
	manifest := []byte(`[{"Config":"` + depth + target[1:] + `/config.json","RepoTags":["x:1"],"Layers":["` + target + `/layer.tar"]}]`)
	for _, tc := range []struct {
		name    string
		entries []testimage.Entry
	}{
		{"oci dot dot", []testimage.Entry{
			{Name: "oci-layout", Content: []byte(`{"imageLayoutVersion":"1.0.0"}`)},
			{Name: "index.json", Content: []byte(`{"schemaVersion":2,"manifests":[]}`)},
			{Name: depth + target[1:] + "/pwned", Content: []byte("x")},
		}},
		{"oci absolute", []testimage.Entry{
			{Name: "index.json", Content: []byte(`{"schemaVersion":2,"manifests":[]}`)},
			{Name: target + "/pwned", Content: []byte("x")},
		}},
		{"oci symlink escape", []testimage.Entry{
			{Name: "index.json", Content: []byte(`{"schemaVersion":2,"manifests":[]}`)},
			{Name: "blobs", Type: tar.TypeSymlink, Linkname: target},
			{Name: "blobs/pwned", Content: []byte("x")},
		}},
		{"docker archive pointing outside", []testimage.Entry{
			{Name: "manifest.json", Content: manifest},
			{Name: depth + target[1:] + "/pwned", Content: []byte("x")},
			{Name: "evil", Type: tar.TypeSymlink, Linkname: target},
			{Name: "evil/pwned2", Content: []byte("x")},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEngine(t)
			e.MustFail(125, "load", "-i", hostileTar(t, tc.entries))
			requireNotWritten(t, target, filepath.Join(filepath.Dir(e.TmpDir), "pwned"), filepath.Join(e.TmpDir, "pwned"))
			requireEmptyStore(t, e)
		})
	}
}

// TestLoadHostileLayer loads images whose layer holds entries escaping
// the root: the store either refuses the layer or applies it confined to
// the layer's own directory; nothing lands outside it either way.
func TestLoadHostileLayer(t *testing.T) {
	t.Parallel()
	target := escapeTarget(t)
	for _, tc := range []struct {
		name    string
		entries []testimage.Entry
	}{
		{"dot dot", []testimage.Entry{{Name: strings.Repeat("../", 20) + target[1:], Content: []byte("x")}}},
		{"symlink then write through it", []testimage.Entry{
			{Name: "evil", Type: tar.TypeSymlink, Linkname: target},
			{Name: "evil/pwned", Content: []byte("x")},
		}},
		{"relative symlink then write through it", []testimage.Entry{
			{Name: "evil", Type: tar.TypeSymlink, Linkname: strings.Repeat("../", 20) + target[1:]},
			{Name: "evil/pwned", Content: []byte("x")},
		}},
		{"hard link out", []testimage.Entry{{Name: "hard", Type: tar.TypeLink, Linkname: strings.Repeat("../", 20) + "etc/passwd"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			layout := writeLayout(t, testimage.Options{CustomLayers: [][]testimage.Entry{tc.entries}})
			e := newEngine(t)
			r := e.Run("load", "-i", layout)
			t.Logf("exit %d\n%s", r.ExitCode, r.Stderr)
			requireNotWritten(t, target)
			if r.ExitCode != 0 {
				requireEmptyStore(t, e)
			}
		})
	}
}

// TestLoadOCIIndexNames checks names taken from an index written by others:
// containerd's full-name annotation wins over the bare ref name.
func TestLoadOCIIndexNames(t *testing.T) {
	t.Parallel()
	layout := writeLayout(t, testimage.Options{RefName: "latest"})
	idx := filepath.Join(layout, "index.json")
	data, err := os.ReadFile(idx)
	if err != nil {
		t.Fatal(err)
	}
	var index map[string]any
	if err := json.Unmarshal(data, &index); err != nil {
		t.Fatal(err)
	}
	m := index["manifests"].([]any)[0].(map[string]any)
	m["annotations"].(map[string]any)["io.containerd.image.name"] = "docker.io/library/busybox:1.36"
	if data, err = json.Marshal(index); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(idx, data, 0o644); err != nil {
		t.Fatal(err)
	}
	e := newEngine(t)
	if got := loadedNames(t, e.Must("load", "-i", layout)); !slices.Equal(got, []string{"docker.io/library/busybox:1.36"}) {
		t.Errorf("loaded %q, want docker.io/library/busybox:1.36", got)
	}
}

// TestSaveRefusesTerminal runs save with its standard output on a terminal
// (script(1) provides one): it must refuse rather than print an archive.
func TestSaveRefusesTerminal(t *testing.T) {
	t.Parallel()
	script, err := exec.LookPath("script")
	if err != nil {
		t.Skip("script(1) is needed to give the engine a terminal")
	}
	e := newEngine(t)
	loadTestImage(t, e, "localhost/tty:v1", testimage.Options{})
	line := strings.Join([]string{engineBinary, "--root", e.Root, "--runroot", e.RunRoot, "save", "tty:v1"}, " ")
	cmd := exec.CommandContext(t.Context(), script, "-qec", line, "/dev/null")
	cmd.Env = e.Env
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 125 {
		t.Fatalf("save to a terminal: %v, want exit 125\n%s", err, out)
	}
	if !strings.Contains(string(out), "refusing to save to terminal") || len(out) > 1024 {
		t.Errorf("save to a terminal printed %q, want the refusal only", out)
	}
}
