package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/engine-oss/engine/test/registry"
	"github.com/engine-oss/engine/test/testimage"
	"github.com/opencontainers/go-digest"
)

// manifestAccept lists every manifest type a registry may hold.
const manifestAccept = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, " +
	"application/vnd.docker.distribution.manifest.v1+prettyjws, application/vnd.oci.image.index.v1+json"

// registryManifest fetches repo:tag's manifest from reg and returns its
// media type, digest (as the registry computed it) and layer media types.
func registryManifest(t *testing.T, reg *registry.Registry, repo, tag string) (mediaType string, d digest.Digest, layerTypes []string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, reg.URL("/v2/"+repo+"/manifests/"+tag), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", manifestAccept)
	if reg.User != "" {
		req.SetBasicAuth(reg.User, reg.Password)
	}
	resp, err := reg.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET manifest %s:%s: HTTP %d, %v", repo, tag, resp.StatusCode, err)
	}
	var m struct {
		Layers []struct{ MediaType string }
	}
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	for _, l := range m.Layers {
		layerTypes = append(layerTypes, l.MediaType)
	}
	return resp.Header.Get("Content-Type"), digest.FromBytes(body), layerTypes
}

// loadTestImage puts a test image into e's store under name and returns its ID.
func loadTestImage(t *testing.T, e *Engine, name string, opts testimage.Options) string {
	t.Helper()
	id := strings.TrimSpace(e.Must("pull", "-q", "oci:"+writeLayout(t, opts)))
	e.Must("tag", id, name)
	return id
}

func TestPushRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		reg  func(*testing.T) *registry.Registry
	}{
		{"plain", plainRegistry},
		{"auth", authRegistry},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg := tc.reg(t)
			e := newEngine(t)
			id := loadTestImage(t, e, "localhost/pushme:v1", testimage.Options{Layers: 2, Labels: map[string]string{"test": t.Name()}})
			repo := uniqueName(t)
			dest := reg.Addr + "/" + repo + ":v1"
			digestFile := filepath.Join(t.TempDir(), "digest")
			r := e.Run(append(append([]string{"push", "--digestfile", digestFile}, registryFlags(reg)...), "pushme:v1", dest)...)
			if r.ExitCode != 0 {
				t.Fatalf("push: exit %d\n%s", r.ExitCode, r.Stderr)
			}
			if r.Stdout != "" || !strings.Contains(r.Stderr, "Writing manifest") {
				t.Errorf("push: stdout %q, stderr %q; want progress on stderr only", r.Stdout, r.Stderr)
			}
			written, err := os.ReadFile(digestFile)
			if err != nil {
				t.Fatal(err)
			}
			_, regDigest, _ := registryManifest(t, reg, repo, "v1")
			if string(written) != regDigest.String() {
				t.Errorf("--digestfile holds %q, the registry serves %s", written, regDigest)
			}

			back := newEngine(t)
			backID := strings.TrimSpace(back.Must(append(append([]string{"pull", "-q"}, registryFlags(reg)...), dest)...))
			if backID != id {
				t.Errorf("pulled back ID %s, pushed %s", backID, id)
			}
			if img := inspectImage(t, back, dest); img.Digest != regDigest.String() {
				t.Errorf("pulled back digest %s, pushed %s", img.Digest, regDigest)
			}
		})
	}
}

func TestPushDefaultDestination(t *testing.T) {
	t.Parallel()
	reg := plainRegistry(t)
	e := newEngine(t)
	repo := uniqueName(t)
	id := loadTestImage(t, e, reg.Addr+"/"+repo+":v1", testimage.Options{})
	e.Must(append(append([]string{"push", "-q"}, registryFlags(reg)...), reg.Addr+"/"+repo+":v1")...)
	registryManifest(t, reg, repo, "v1")
	r := e.MustFail(125, append(append([]string{"push"}, registryFlags(reg)...), id[:12])...)
	if !strings.Contains(r.Stderr, "destination") {
		t.Errorf("push by ID without destination: stderr %q should ask for a destination", r.Stderr)
	}
}

func TestPushFormats(t *testing.T) {
	t.Parallel()
	reg := plainRegistry(t)
	e := newEngine(t)
	loadTestImage(t, e, "localhost/fmt:v1", testimage.Options{})
	repo := uniqueName(t)
	for _, tc := range []struct {
		flags             []string
		mediaType, layer0 string
	}{
		{[]string{"--format", "v2s2"}, "application/vnd.docker.distribution.manifest.v2+json", "application/vnd.docker.image.rootfs.diff.tar.gzip"},
		{[]string{"-f", "oci"}, "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.layer.v1.tar+gzip"},
		{[]string{"--format", "oci", "--compression-format", "zstd"}, "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.layer.v1.tar+zstd"},
	} {
		tag := strings.Join(tc.flags, "")
		tag = strings.NewReplacer("-", "", ":", "").Replace(tag)
		e.Must(append(append(append([]string{"push", "-q"}, tc.flags...), registryFlags(reg)...), "fmt:v1", reg.Addr+"/"+repo+":"+tag)...)
		mt, _, layers := registryManifest(t, reg, repo, tag)
		if mt != tc.mediaType || len(layers) == 0 || layers[0] != tc.layer0 {
			t.Errorf("push %v: manifest %s with layers %v, want %s with %s", tc.flags, mt, layers, tc.mediaType, tc.layer0)
		}
	}
	for _, bad := range [][]string{{"--format", "v3"}, {"--compression-format", "lz4"}} {
		e.MustFail(125, append(append(append([]string{"push"}, bad...), registryFlags(reg)...), "fmt:v1", reg.Addr+"/"+repo+":bad")...)
	}
}

func TestPushErrors(t *testing.T) {
	t.Parallel()
	reg := authRegistry(t)
	e := newEngine(t)
	loadTestImage(t, e, "localhost/denied:v1", testimage.Options{})
	dest := reg.Addr + "/" + uniqueName(t) + ":v1"
	r := e.MustFail(125, "push", "--cert-dir", reg.CertDir, "--creds", reg.User+":wrong", "denied:v1", dest)
	if !strings.Contains(r.Stderr, "authentication failed") {
		t.Errorf("push with wrong password: stderr %q should say authentication failed", r.Stderr)
	}
	r = e.MustFail(125, "push", "--creds", reg.User+":"+reg.Password, "denied:v1", dest)
	if !strings.Contains(r.Stderr, "--cert-dir") {
		t.Errorf("push to a self-signed registry: stderr %q should suggest --cert-dir", r.Stderr)
	}
	r = e.MustFail(125, append([]string{"push"}, append(registryFlags(reg), "no-such-image:v1", dest)...)...)
	if !strings.Contains(r.Stderr, "no-such-image") {
		t.Errorf("push of an unknown image: stderr %q should name it", r.Stderr)
	}
}

func TestPushToTransports(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	id := loadTestImage(t, e, "localhost/local:v1", testimage.Options{Layers: 2})
	tmp := t.TempDir()
	for _, dest := range []string{
		"oci:" + filepath.Join(tmp, "layout") + ":local",
		"docker-archive:" + filepath.Join(tmp, "d.tar") + ":localhost/local:v1",
		"oci-archive:" + filepath.Join(tmp, "o.tar"),
		"dir:" + filepath.Join(tmp, "dir"),
	} {
		e.Must("push", "-q", "local:v1", dest)
		back := newEngine(t)
		if got := strings.TrimSpace(back.Must("pull", "-q", dest)); got != id {
			t.Errorf("push to %s and pull back: ID %s, want %s", dest, got, id)
		}
	}
}
