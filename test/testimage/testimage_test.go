package testimage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/engine-oss/engine/test/registry"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestWriteOCILayout(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		opts   Options
		layers int
		want   ocispec.ImageConfig
	}{
		{
			name:   "zero",
			layers: 1,
			want:   ocispec.ImageConfig{Env: []string{DefaultPath}, Cmd: []string{"sh"}},
		},
		{
			name: "every field",
			opts: Options{
				Layers:       3,
				ExtraFiles:   map[string][]byte{"/srv/run.sh": []byte("#!/bin/sh\n"), "srv/data": []byte("x")},
				CustomLayers: [][]Entry{{{Name: "a"}}, {{Name: "b"}}},
				Entrypoint:   []string{"/bin/sh", "-c"},
				Cmd:          []string{"echo hi"},
				Env:          []string{"A=1"},
				WorkingDir:   "/srv",
				User:         "nobody",
				StopSignal:   "SIGINT",
				Labels:       map[string]string{"k": "v"},
				ExposedPorts: []string{"80/tcp", "53/udp"},
				Volumes:      []string{"/data"},
				Created:      time.Date(2020, 2, 2, 0, 0, 0, 0, time.UTC),
				Arch:         "arm64",
				OS:           "linux",
				RefName:      "v1",
			},
			layers: 6,
			want: ocispec.ImageConfig{
				User:         "nobody",
				ExposedPorts: map[string]struct{}{"80/tcp": {}, "53/udp": {}},
				Env:          []string{"A=1"},
				Entrypoint:   []string{"/bin/sh", "-c"},
				Cmd:          []string{"echo hi"},
				Volumes:      map[string]struct{}{"/data": {}},
				WorkingDir:   "/srv",
				Labels:       map[string]string{"k": "v"},
				StopSignal:   "SIGINT",
			},
		},
		{
			name:   "entrypoint only",
			opts:   Options{Entrypoint: []string{"/bin/true"}, Env: []string{}, PadBytes: 1 << 20},
			layers: 2,
			want:   ocispec.ImageConfig{Entrypoint: []string{"/bin/true"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			d1, err := WriteOCILayout(dir, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			d2, err := WriteOCILayout(t.TempDir(), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if d1 != d2 {
				t.Errorf("two writes gave %s and %s", d1, d2)
			}
			var index ocispec.Index
			if err := readJSON(dir+"/index.json", &index); err != nil {
				t.Fatal(err)
			}
			if len(index.Manifests) != 1 || index.Manifests[0].Digest != d1 {
				t.Fatalf("index.json lists %+v, want only %s", index.Manifests, d1)
			}
			if got := index.Manifests[0].Annotations[ocispec.AnnotationRefName]; got != tc.opts.RefName {
				t.Errorf("ref name %q, want %q", got, tc.opts.RefName)
			}
			m, err := readManifest(dir)
			if err != nil {
				t.Fatal(err)
			}
			var img ocispec.Image
			if err := readJSON(BlobPath(dir, m.Config.Digest), &img); err != nil {
				t.Fatal(err)
			}
			if len(m.Layers) != tc.layers || len(img.RootFS.DiffIDs) != tc.layers || len(img.History) != tc.layers {
				t.Errorf("%d layers, %d diff IDs, %d history entries; want %d", len(m.Layers), len(img.RootFS.DiffIDs), len(img.History), tc.layers)
			}
			for i, l := range m.Layers {
				if diffID := verifyBlob(t, dir, l); diffID != img.RootFS.DiffIDs[i] {
					t.Errorf("layer %d: diff ID %s, config says %s", i+1, diffID, img.RootFS.DiffIDs[i])
				}
			}
			if !reflect.DeepEqual(img.Config, tc.want) {
				t.Errorf("config %+v, want %+v", img.Config, tc.want)
			}
			wantCreated := tc.opts.Created
			if wantCreated.IsZero() {
				wantCreated = epoch
			}
			if !img.Created.Equal(wantCreated) {
				t.Errorf("created %v, want %v", img.Created, wantCreated)
			}
			if img.Architecture != orDefault(tc.opts.Arch, runtime.GOARCH) || img.OS != "linux" {
				t.Errorf("platform %s/%s", img.OS, img.Architecture)
			}
		})
	}
}

// verifyBlob checks a layer blob against its descriptor and returns the
// digest of its uncompressed content.
func verifyBlob(t *testing.T, dir string, desc ocispec.Descriptor) digest.Digest {
	t.Helper()
	b, err := os.ReadFile(BlobPath(dir, desc.Digest))
	if err != nil {
		t.Fatal(err)
	}
	if digest.FromBytes(b) != desc.Digest || int64(len(b)) != desc.Size {
		t.Fatalf("blob %s: %d bytes with digest %s", desc.Digest, len(b), digest.FromBytes(b))
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	d, err := digest.FromReader(zr)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestBaseLayer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := WriteOCILayout(dir, Options{}); err != nil {
		t.Fatal(err)
	}
	layers, err := Layers(dir)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(BlobPath(dir, layers[0].Digest))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	got := map[string]*tar.Header{}
	var names []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !h.ModTime.Equal(epoch) || h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s: mtime %v, owner %d:%d", h.Name, h.ModTime, h.Uid, h.Gid)
		}
		if h.Name == "etc/passwd" {
			b, _ := io.ReadAll(tr)
			if !strings.Contains(string(b), "root:x:0:0:") || !strings.Contains(string(b), "nobody:x:65534:65534:") {
				t.Errorf("etc/passwd: %q", b)
			}
		}
		got[h.Name] = h
		names = append(names, h.Name)
	}
	if !slices.IsSorted(names) {
		t.Errorf("entries not sorted: %v", names)
	}
	bb, err := os.Stat(BusyboxPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		typ      byte
		mode     int64
		linkname string
	}{
		{"bin/busybox", tar.TypeReg, 0o755, ""},
		{"bin/sh", tar.TypeSymlink, 0o777, "busybox"},
		{"bin/httpd", tar.TypeSymlink, 0o777, "busybox"},
		{"usr/bin/env", tar.TypeSymlink, 0o777, "/bin/busybox"},
		{"tmp/", tar.TypeDir, 0o1777, ""},
		{"root/", tar.TypeDir, 0o700, ""},
		{"etc/group", tar.TypeReg, 0o644, ""},
		{"var/", tar.TypeDir, 0o755, ""},
	} {
		h := got[tc.name]
		if h == nil {
			t.Errorf("%s missing", tc.name)
			continue
		}
		if h.Typeflag != tc.typ || h.Mode != tc.mode || h.Linkname != tc.linkname {
			t.Errorf("%s: type %c mode %o link %q, want %c %o %q", tc.name, h.Typeflag, h.Mode, h.Linkname, tc.typ, tc.mode, tc.linkname)
		}
	}
	if h := got["bin/busybox"]; h != nil && h.Size != bb.Size() {
		t.Errorf("bin/busybox is %d bytes, host's %d", h.Size, bb.Size())
	}
}

func TestWriteLayerTar(t *testing.T) {
	t.Parallel()
	// A hostile archive: every entry must come out exactly as written.
	entries := []Entry{
		{Name: "../escape", Content: []byte("out")},
		{Name: "/abs", Content: []byte("abs")},
		{Name: "link", Type: tar.TypeSymlink, Linkname: "/etc"},
		{Name: "link/passwd", Content: []byte("through the link")},
		{Name: "hard", Type: tar.TypeLink, Linkname: "../escape"},
		{Name: "setuid", Mode: 0o4755, UID: 1000, GID: 1000},
		{Name: "d/.wh.gone"},
	}
	var buf bytes.Buffer
	if err := WriteLayerTar(&buf, entries); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&buf)
	for _, want := range entries {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s: %v", want.Name, err)
		}
		body, _ := io.ReadAll(tr)
		wantType := want.Type
		if wantType == 0 {
			wantType = tar.TypeReg
		}
		if h.Name != want.Name || h.Typeflag != wantType || h.Linkname != want.Linkname || !bytes.Equal(body, want.Content) ||
			h.Uid != want.UID || (want.Mode != 0 && h.Mode != want.Mode) {
			t.Errorf("got %+v %q, want %+v", h, body, want)
		}
	}
	if _, err := tr.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("after the last entry: %v", err)
	}
}

func TestCorruptLayer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := WriteOCILayout(dir, Options{Layers: 2}); err != nil {
		t.Fatal(err)
	}
	layers, err := Layers(dir)
	if err != nil {
		t.Fatal(err)
	}
	top := layers[len(layers)-1]
	before, err := os.ReadFile(BlobPath(dir, top.Digest))
	if err != nil {
		t.Fatal(err)
	}
	d, err := CorruptLayer(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d != top.Digest {
		t.Errorf("corrupted %s, want the top layer %s", d, top.Digest)
	}
	after, err := os.ReadFile(BlobPath(dir, d))
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) || digest.FromBytes(after) == d {
		t.Errorf("after: %d bytes with digest %s; want %d bytes, any digest but %s", len(after), digest.FromBytes(after), len(before), d)
	}
	if gunzip(t, after) != gunzip(t, before) {
		t.Error("the uncompressed content changed")
	}
	if err := CorruptBlob(BlobPath(dir, layersConfig(t, dir))); err == nil {
		t.Error("CorruptBlob accepted a JSON blob")
	}

	// A real copy refuses the layer on its digest, and on nothing else.
	reg, err := registry.Start(context.Background(), t.TempDir(), registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Stop)
	err = Push(context.Background(), dir, reg.Addr+"/corrupt:v1", PushOptions{Insecure: true})
	if err == nil || !strings.Contains(err.Error(), "Digest did not match") {
		t.Errorf("push of a corrupt layout: %v, want a digest mismatch", err)
	}
}

func gunzip(t *testing.T, b []byte) string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func layersConfig(t *testing.T, dir string) digest.Digest {
	t.Helper()
	m, err := readManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	return m.Config.Digest
}

// TestPush checks that a push keeps the layout's manifest digest, so tests
// may compare what they pull against WriteOCILayout's result.
func TestPush(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	want, err := WriteOCILayout(dir, Options{Layers: 2})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := registry.Start(context.Background(), t.TempDir(), registry.Options{TLS: true, Htpasswd: map[string]string{"u": "p"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Stop)
	if err := Push(context.Background(), dir, reg.Addr+"/img:v1", PushOptions{CertDir: reg.CertDir, Username: "u", Password: "p"}); err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodHead, reg.URL("/v2/img/manifests/v1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("u", "p")
	req.Header.Set("Accept", ocispec.MediaTypeImageManifest)
	resp, err := reg.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if got := resp.Header.Get("Docker-Content-Digest"); resp.StatusCode != http.StatusOK || got != want.String() {
		t.Errorf("HEAD manifest: HTTP %d, digest %q, want %s", resp.StatusCode, got, want)
	}
}
