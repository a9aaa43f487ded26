package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/engine-oss/engine/test/testimage"
)

// idRe matches a full image ID as pull, import and images --no-trunc print it.
var idRe = regexp.MustCompile(`^[0-9a-f]{64}$`)

// imageNames lists "REPOSITORY:TAG" of every named image in e's store.
func imageNames(t *testing.T, e *Engine) []string {
	t.Helper()
	out := e.Must("images", "--format", "{{.Repository}}:{{.Tag}}")
	var names []string
	for _, l := range strings.Fields(out) {
		if l != "<none>:<none>" {
			names = append(names, l)
		}
	}
	slices.Sort(names)
	return names
}

// inspectImage returns `image inspect` of one image as a generic document.
type inspected struct {
	ID           string `json:"Id"`
	Digest       string
	RepoTags     []string
	Architecture string
	Os           string
	Config       struct {
		Cmd, Entrypoint, Env []string
		ExposedPorts         map[string]struct{}
		Volumes              map[string]struct{}
		Labels               map[string]string
		WorkingDir, User     string
		StopSignal           string
	}
	History []struct {
		CreatedBy  string `json:"created_by"`
		Comment    string `json:"comment"`
		EmptyLayer bool   `json:"empty_layer"`
	}
}

func inspectImage(t *testing.T, e *Engine, name string) inspected {
	t.Helper()
	var docs []inspected
	if err := json.Unmarshal([]byte(e.Must("image", "inspect", name)), &docs); err != nil || len(docs) != 1 {
		t.Fatalf("image inspect %s: %d documents, %v", name, len(docs), err)
	}
	return docs[0]
}

// storeLayers counts the layers in e's store by reading the store's own
// layer list, so layers no image references are counted too.
func storeLayers(t *testing.T, e *Engine) int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(e.Root, "*-layers", "layers.json"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var layers []json.RawMessage
		if err := json.Unmarshal(data, &layers); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		n += len(layers)
	}
	return n
}

// requireEmptyStore fails unless e holds no image and no layer at all.
func requireEmptyStore(t *testing.T, e *Engine) {
	t.Helper()
	if out := strings.TrimSpace(e.Must("images", "-a", "-q")); out != "" {
		t.Errorf("images -a -q: %q, want no image", out)
	}
	if n := storeLayers(t, e); n != 0 {
		t.Errorf("store holds %d layers, want none", n)
	}
}

// writeLayout writes a test image layout into a new directory and returns it.
func writeLayout(t *testing.T, opts testimage.Options) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := testimage.WriteOCILayout(dir, opts); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestPullRegistry(t *testing.T) {
	t.Parallel()
	reg := plainRegistry(t)
	ref := pushTestImage(t, reg, uniqueName(t)+":v1", testimage.Options{Layers: 2, Labels: map[string]string{"test": t.Name()}})
	e := newEngine(t)
	r := e.Run(append([]string{"pull"}, append(registryFlags(reg), ref)...)...)
	if r.ExitCode != 0 {
		t.Fatalf("pull: exit %d\n%s", r.ExitCode, r.Stderr)
	}
	id := strings.TrimSpace(r.Stdout)
	if !idRe.MatchString(id) {
		t.Fatalf("pull printed %q, want the image ID", r.Stdout)
	}
	for _, want := range []string{"Trying to pull " + ref, "Copying blob", "Writing manifest"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("progress on stderr %q lacks %q", r.Stderr, want)
		}
	}
	if got := imageNames(t, e); !slices.Equal(got, []string{ref}) {
		t.Errorf("images after pull: %q, want %q", got, ref)
	}
	img := inspectImage(t, e, ref)
	if img.ID != id || img.Config.Labels["test"] != t.Name() {
		t.Errorf("inspect: ID %s labels %v; want ID %s and the test label", img.ID, img.Config.Labels, id)
	}

	// -q prints the ID alone; a second pull of the same image is cheap and gives the same ID.
	r = e.Run(append([]string{"image", "pull", "-q"}, append(registryFlags(reg), ref)...)...)
	if r.ExitCode != 0 || strings.TrimSpace(r.Stdout) != id || r.Stderr != "" {
		t.Errorf("pull -q: exit %d, stdout %q, stderr %q; want %s and silence", r.ExitCode, r.Stdout, r.Stderr, id)
	}
}

func TestPullUnknownImage(t *testing.T) {
	t.Parallel()
	reg := plainRegistry(t)
	ref := pushTestImage(t, reg, uniqueName(t)+":v1", testimage.Options{})
	e := newEngine(t)
	repo := strings.TrimSuffix(ref, ":v1")
	for _, name := range []string{repo + ":no-such-tag", reg.Addr + "/" + uniqueName(t) + "-missing:v1"} {
		r := e.MustFail(125, append([]string{"pull"}, append(registryFlags(reg), name)...)...)
		if !strings.Contains(r.Stderr, name) || !strings.Contains(r.Stderr, "unknown") {
			t.Errorf("pull %s: stderr %q should name the image and say it is unknown", name, r.Stderr)
		}
	}
	requireEmptyStore(t, e)
}

func TestPullShortNameWithoutSearchRegistries(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	r := e.MustFail(125, "pull", "no-such-short-name")
	if !strings.Contains(r.Stderr, "no-such-short-name") || !strings.Contains(r.Stderr, "fully qualified") {
		t.Errorf("stderr %q should name the short name and suggest a fully qualified one", r.Stderr)
	}
}

func TestPullAuthentication(t *testing.T) {
	t.Parallel()
	reg := authRegistry(t)
	ref := pushTestImage(t, reg, uniqueName(t)+":v1", testimage.Options{})
	e := newEngine(t)
	for _, tc := range []struct {
		name  string
		creds []string
	}{
		{"wrong password", []string{"--creds", reg.User + ":not-" + reg.Password}},
		{"unknown user", []string{"--creds", "nobody:" + reg.Password}},
		{"no credentials", nil},
	} {
		args := append([]string{"pull", "--cert-dir", reg.CertDir}, tc.creds...)
		r := e.MustFail(125, append(args, ref)...)
		if !strings.Contains(r.Stderr, "authentication failed") || !strings.Contains(r.Stderr, "engine login "+reg.Addr) || !strings.Contains(r.Stderr, "--creds") {
			t.Errorf("%s: stderr %q should say authentication failed and suggest engine login or --creds", tc.name, r.Stderr)
		}
	}
	requireEmptyStore(t, e)
	e.Must(append([]string{"pull", "-q"}, append(registryFlags(reg), ref)...)...)
}

func TestPullSelfSignedRegistry(t *testing.T) {
	t.Parallel()
	reg := authRegistry(t)
	ref := pushTestImage(t, reg, uniqueName(t)+":v1", testimage.Options{})
	creds := reg.User + ":" + reg.Password

	e := newEngine(t)
	r := e.MustFail(125, "pull", "--creds", creds, ref)
	for _, want := range []string{"not trusted", "--cert-dir", "--tls-verify=false"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("stderr %q lacks %q", r.Stderr, want)
		}
	}
	// --tls-verify=true is the default made explicit: same failure.
	e.MustFail(125, "pull", "--tls-verify=true", "--creds", creds, ref)
	requireEmptyStore(t, e)

	id1 := strings.TrimSpace(e.Must("pull", "-q", "--cert-dir", reg.CertDir, "--creds", creds, ref))
	e2 := newEngine(t)
	id2 := strings.TrimSpace(e2.Must("pull", "-q", "--tls-verify=false", "--creds", creds, ref))
	if !idRe.MatchString(id1) || id1 != id2 {
		t.Errorf("pull with --cert-dir gave %q, with --tls-verify=false %q; want the same ID", id1, id2)
	}
}

func TestPullPlainHTTPNeedsTLSVerifyFalse(t *testing.T) {
	t.Parallel()
	reg := plainRegistry(t)
	ref := pushTestImage(t, reg, uniqueName(t)+":v1", testimage.Options{})
	e := newEngine(t)
	r := e.MustFail(125, "pull", ref)
	if !strings.Contains(r.Stderr, "--tls-verify=false") {
		t.Errorf("stderr %q should suggest --tls-verify=false", r.Stderr)
	}
}

// TestPullCorruptLayer pulls an image whose top layer's bytes no longer
// match its digest: the pull fails and leaves neither the image nor the
// lower layers it had already stored.
func TestPullCorruptLayer(t *testing.T) {
	t.Parallel()
	reg := plainRegistry(t)
	dir := writeLayout(t, testimage.Options{Layers: 3, ExtraFiles: map[string][]byte{"/test": []byte(t.Name())}})
	ref := reg.Addr + "/" + uniqueName(t) + ":v1"
	if err := testimage.Push(t.Context(), dir, ref, pushOptions(reg)); err != nil {
		t.Fatal(err)
	}
	layers, err := testimage.Layers(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := testimage.CorruptBlob(reg.BlobPath(layers[len(layers)-1].Digest)); err != nil {
		t.Fatal(err)
	}
	e := newEngine(t)
	r := e.MustFail(125, append([]string{"pull"}, append(registryFlags(reg), ref)...)...)
	if !strings.Contains(r.Stderr, ref) || !strings.Contains(strings.ToLower(r.Stderr), "digest") {
		t.Errorf("stderr %q should name the image and the digest mismatch", r.Stderr)
	}
	requireEmptyStore(t, e)

	// The same from an OCI layout on disk.
	if _, err := testimage.CorruptLayer(dir); err != nil {
		t.Fatal(err)
	}
	e.MustFail(125, "pull", "oci:"+dir)
	requireEmptyStore(t, e)
}

func TestPullTransports(t *testing.T) {
	t.Parallel()
	layout := writeLayout(t, testimage.Options{Layers: 2, RefName: "v1", Labels: map[string]string{"test": t.Name()}})
	src := newEngine(t)
	srcID := strings.TrimSpace(src.Must("pull", "-q", "oci:"+layout))
	src.Must("tag", srcID, "localhost/transports:v1")
	tmp := t.TempDir()
	dockerArchive := filepath.Join(tmp, "d.tar")
	ociArchive := filepath.Join(tmp, "o.tar")
	dirDest := filepath.Join(tmp, "dir")
	src.Must("save", "-q", "-o", dockerArchive, "localhost/transports:v1")
	src.Must("save", "-q", "--format", "oci-archive", "-o", ociArchive, "localhost/transports:v1")
	src.Must("save", "-q", "--format", "docker-dir", "-o", dirDest, "localhost/transports:v1")

	for _, tc := range []struct {
		name, source string
		names        []string
	}{
		{"oci layout", "oci:" + layout, []string{"localhost/v1:latest"}},
		{"oci layout by ref name", "oci:" + layout + ":v1", []string{"localhost/v1:latest"}},
		{"oci layout by index", "oci:" + layout + ":@0", []string{"localhost/v1:latest"}},
		{"oci archive", "oci-archive:" + ociArchive, []string{"localhost/transports:v1"}},
		{"docker archive", "docker-archive:" + dockerArchive, []string{"localhost/transports:v1"}},
		{"dir", "dir:" + dirDest, nil},
		{"other store", "containers-storage:[" + src.Root + "+" + src.RunRoot + "]localhost/transports:v1", []string{"localhost/transports:v1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEngine(t)
			id := strings.TrimSpace(e.Must("pull", "-q", tc.source))
			if id != srcID {
				t.Errorf("pull %s: ID %q, want %s", tc.source, id, srcID)
			}
			if got := imageNames(t, e); !slices.Equal(got, tc.names) {
				t.Errorf("pull %s: names %q, want %q", tc.source, got, tc.names)
			}
		})
	}
	t.Run("missing archive", func(t *testing.T) {
		t.Parallel()
		e := newEngine(t)
		for _, s := range []string{"oci-archive:" + filepath.Join(tmp, "nope.tar"), "docker-archive:" + filepath.Join(tmp, "nope.tar"), "oci:" + filepath.Join(tmp, "nope")} {
			e.MustFail(125, "pull", s)
		}
	})
}

func TestPullAllTags(t *testing.T) {
	t.Parallel()
	reg := plainRegistry(t)
	repo := uniqueName(t)
	ref1 := pushTestImage(t, reg, repo+":v1", testimage.Options{Labels: map[string]string{"v": "1"}})
	ref2 := pushTestImage(t, reg, repo+":v2", testimage.Options{Labels: map[string]string{"v": "2"}})
	ref3 := pushTestImage(t, reg, repo+":also-v2", testimage.Options{Labels: map[string]string{"v": "2"}})
	e := newEngine(t)
	out := e.Must(append([]string{"pull", "-q", "--all-tags"}, append(registryFlags(reg), reg.Addr+"/"+repo)...)...)
	ids := strings.Fields(out)
	if len(ids) != 2 {
		t.Errorf("pull --all-tags printed %q, want two distinct IDs", out)
	}
	want := []string{ref3, ref1, ref2}
	slices.Sort(want)
	if got := imageNames(t, e); !slices.Equal(got, want) {
		t.Errorf("images after --all-tags: %q, want %q", got, want)
	}
	r := e.MustFail(125, append([]string{"pull", "-a"}, append(registryFlags(reg), ref1)...)...)
	if !strings.Contains(r.Stderr, "--all-tags") {
		t.Errorf("pull -a with a tag: stderr %q should explain --all-tags", r.Stderr)
	}
}

func TestPullPlatform(t *testing.T) {
	t.Parallel()
	reg := plainRegistry(t)
	ref := pushTestImage(t, reg, uniqueName(t)+":v1", testimage.Options{Arch: "arm64"})
	e := newEngine(t)
	pull := func(extra ...string) []string {
		return append(append(append([]string{"pull", "-q"}, registryFlags(reg)...), extra...), ref)
	}
	r := e.MustFail(125, pull("--platform", "linux/riscv64")...)
	if !strings.Contains(r.Stderr, "linux/arm64") || !strings.Contains(r.Stderr, "linux/riscv64") {
		t.Errorf("stderr %q should name the image's and the requested platform", r.Stderr)
	}
	e.MustFail(125, pull("--arch", "riscv64")...)
	requireEmptyStore(t, e)
	for _, bad := range [][]string{{"--platform", "linux"}, {"--platform", "linux/arm64", "--arch", "arm64"}} {
		e.MustFail(125, pull(bad...)...)
	}
	id := strings.TrimSpace(e.Must(pull("--platform", "linux/arm64")...))
	if img := inspectImage(t, e, id); img.Architecture != "arm64" {
		t.Errorf("pulled architecture %q, want arm64", img.Architecture)
	}
}

// TestPullLargeImage measures the pull of a 50 MB image from the local
// registry; the time is logged for the project's notes.
func TestPullLargeImage(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("pushes 50 MB")
	}
	reg := plainRegistry(t)
	ref := pushTestImage(t, reg, uniqueName(t)+":v1", testimage.Options{PadBytes: 50 << 20})
	e := newEngine(t)
	start := time.Now()
	e.Must(append([]string{"pull", "-q"}, append(registryFlags(reg), ref)...)...)
	t.Logf("pull of a 50 MB image: %s", time.Since(start).Round(time.Millisecond))
	if _, err := exec.LookPath("du"); err == nil {
		out, _ := exec.Command("du", "-sh", e.Root).Output()
		t.Logf("store size: %s", strings.TrimSpace(string(out)))
	}
}
