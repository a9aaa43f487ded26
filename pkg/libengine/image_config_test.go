package libengine

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/storage"
	"go.podman.io/storage/pkg/reexec"
)

// TestMain lets containers/storage re-execute the test binary to apply
// layers in a chroot; it is the package's only TestMain.
func TestMain(m *testing.M) {
	if reexec.Init() {
		return
	}
	os.Exit(m.Run())
}

// newTestEngine opens an engine on a fresh vfs store under t.TempDir().
func newTestEngine(t testing.TB) *Engine {
	t.Helper()
	return openTestEngine(t, t.TempDir())
}

func openTestEngine(t testing.TB, dir string) *Engine {
	t.Helper()
	e, err := Open(context.Background(), Options{
		Root:          filepath.Join(dir, "root"),
		RunRoot:       filepath.Join(dir, "run"),
		StorageDriver: "vfs",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	})
	return e
}

// testImage describes an image addTestImage writes straight into the
// store, as a pull would leave it: one layer of its own (on the parent's
// layers, if any), an OCI config and manifest as big data.
type testImage struct {
	names   []string
	parent  *storage.Image
	labels  map[string]string
	created time.Time
	// emptySteps adds config-only history steps after the layer's.
	emptySteps int
	// noHistory leaves the config's history empty.
	noHistory bool
}

var layerSeq atomic.Int64

func addTestImage(t testing.TB, e *Engine, ti testImage) *storage.Image {
	t.Helper()
	if ti.created.IsZero() {
		ti.created = time.Now().UTC().Truncate(time.Second)
	}
	parentLayer, parentCfg := "", &imageConfig{}
	if ti.parent != nil {
		parentLayer = ti.parent.TopLayer
		var err error
		if parentCfg, err = e.readImageConfig(context.Background(), ti.parent); err != nil {
			t.Fatal(err)
		}
	}
	layer, _, err := e.store.PutLayer("", parentLayer, nil, "", false, nil, tarOf(t, fmt.Sprintf("file-%d", layerSeq.Add(1))))
	if err != nil {
		t.Fatal(err)
	}
	cfg := imgspecv1.Image{
		Created:  &ti.created,
		Author:   "tester",
		Platform: imgspecv1.Platform{Architecture: "amd64", OS: "linux"},
		Config:   imgspecv1.ImageConfig{Labels: ti.labels, Cmd: []string{"/bin/sh"}, Env: []string{"PATH=/bin"}},
		RootFS:   imgspecv1.RootFS{Type: "layers", DiffIDs: append(append([]digest.Digest{}, parentCfg.RootFS.DiffIDs...), layer.UncompressedDigest)},
	}
	if !ti.noHistory {
		cfg.History = append(append([]imgspecv1.History{}, parentCfg.History...), imgspecv1.History{Created: &ti.created, CreatedBy: "ADD file-" + layer.ID[:6]})
		for i := 0; i < ti.emptySteps; i++ {
			cfg.History = append(cfg.History, imgspecv1.History{Created: &ti.created, CreatedBy: fmt.Sprintf("LABEL step=%d", i), EmptyLayer: true})
		}
	}
	cfgBlob, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfgDigest := digest.FromBytes(cfgBlob)
	man := imgspecv1.Manifest{
		Versioned:   specs.Versioned{SchemaVersion: 2},
		MediaType:   imgspecv1.MediaTypeImageManifest,
		Config:      imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageConfig, Digest: cfgDigest, Size: int64(len(cfgBlob))},
		Annotations: map[string]string{"org.example.test": t.Name()},
	}
	for _, d := range cfg.RootFS.DiffIDs {
		man.Layers = append(man.Layers, imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageLayer, Digest: d})
	}
	manBlob, err := json.Marshal(man)
	if err != nil {
		t.Fatal(err)
	}
	manDigest := digest.FromBytes(manBlob)
	img, err := e.store.CreateImage(cfgDigest.Encoded(), ti.names, layer.ID, "", &storage.ImageOptions{
		CreationDate: ti.created,
		Digest:       manDigest,
		BigData: []storage.ImageBigDataOption{
			{Key: cfgDigest.String(), Data: cfgBlob, Digest: cfgDigest},
			{Key: manifestKey(manDigest), Data: manBlob, Digest: manDigest},
			{Key: manifestFallbackKey, Data: manBlob, Digest: manDigest},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// tarOf is a layer holding one small file named name.
func tarOf(t testing.TB, name string) *bytes.Reader {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	body := []byte("content of " + name + "\n")
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(buf.Bytes())
}

func TestReadImageConfigAndManifest(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	img := addTestImage(t, e, testImage{names: []string{"localhost/cfg:1"}, labels: map[string]string{"k": "v"}})
	cfg, err := e.readImageConfig(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Config.Labels["k"] != "v" || cfg.Author != "tester" || len(cfg.RootFS.DiffIDs) != 1 {
		t.Errorf("config = %+v", cfg)
	}
	man, err := e.readImageManifest(img)
	if err != nil {
		t.Fatal(err)
	}
	if man.MediaType != imgspecv1.MediaTypeImageManifest || man.Annotations["org.example.test"] != t.Name() {
		t.Errorf("manifest = %+v", man)
	}
}

func TestSplitName(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, repo, tag string }{
		{"localhost/base:1", "localhost/base", "1"},
		{"quay.io/other/base:2", "quay.io/other/base", "2"},
		{"127.0.0.1:5000/x/y:latest", "127.0.0.1:5000/x/y", "latest"},
		{"127.0.0.1:5000/x/y@sha256:" + fmt.Sprintf("%064d", 0), "127.0.0.1:5000/x/y", "<none>"},
		{"localhost:5000/noTag", "localhost:5000/noTag", "<none>"},
	}
	for _, tc := range tests {
		repo, tag := splitName(tc.name)
		if repo != tc.repo || tag != tc.tag {
			t.Errorf("splitName(%q) = %q, %q; want %q, %q", tc.name, repo, tag, tc.repo, tc.tag)
		}
	}
}

func TestRepoDigests(t *testing.T) {
	t.Parallel()
	d1, d2 := digest.FromString("a"), digest.FromString("b")
	img := &storage.Image{Names: []string{"r.io/a:1", "r.io/a:2", "r.io/b:1"}, Digest: d1, Digests: []digest.Digest{d1, d2}}
	got := fmt.Sprint(repoDigests(img))
	want := fmt.Sprint([]string{"r.io/a@" + d1.String(), "r.io/a@" + d2.String(), "r.io/b@" + d1.String(), "r.io/b@" + d2.String()})
	if got != want {
		t.Errorf("repoDigests = %s, want %s", got, want)
	}
}
