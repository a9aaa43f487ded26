package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/engine-oss/engine/test/registry"
	"github.com/engine-oss/engine/test/testimage"
	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// These tests check the harness itself, so that a failure elsewhere points
// at the engine.

func TestHarnessVersion(t *testing.T) {
	t.Parallel()
	out := newEngine(t).Must("version")
	if !strings.Contains(out, "Version:") {
		t.Errorf("engine version printed %q, want a Version: line", out)
	}
}

func TestHarnessUnknownFlag(t *testing.T) {
	t.Parallel()
	r := newEngine(t).MustFail(125, "--no-such-flag", "version")
	if !strings.Contains(r.Stderr, "unknown flag") {
		t.Errorf("stderr %q does not say unknown flag", r.Stderr)
	}
}

func TestHarnessPush(t *testing.T) {
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
			repo := uniqueName(t)
			ref := pushTestImage(t, reg, repo+":v1", testimage.Options{Layers: 2, Labels: map[string]string{"test": t.Name()}})
			if want := reg.Addr + "/" + repo + ":v1"; ref != want {
				t.Errorf("pushTestImage returned %q, want %q", ref, want)
			}
			var tags struct{ Tags []string }
			if code := getJSON(t, reg, "/v2/"+repo+"/tags/list", reg.User, reg.Password, &tags); code != http.StatusOK {
				t.Fatalf("tags/list: HTTP %d", code)
			}
			if !slices.Contains(tags.Tags, "v1") {
				t.Errorf("tags/list: %v, want v1", tags.Tags)
			}
		})
	}
}

func TestHarnessWrongPassword(t *testing.T) {
	t.Parallel()
	reg := authRegistry(t)
	for _, tc := range []struct{ name, user, password string }{
		{"wrong password", reg.User, "not-" + reg.Password},
		{"anonymous", "", ""},
	} {
		if code := getJSON(t, reg, "/v2/", tc.user, tc.password, nil); code != http.StatusUnauthorized {
			t.Errorf("%s: HTTP %d, want 401", tc.name, code)
		}
	}
	dir := t.TempDir()
	if _, err := testimage.WriteOCILayout(dir, testimage.Options{}); err != nil {
		t.Fatal(err)
	}
	err := testimage.Push(context.Background(), dir, reg.Addr+"/"+uniqueName(t)+":v1",
		testimage.PushOptions{CertDir: reg.CertDir, Username: reg.User, Password: "not-" + reg.Password})
	if err == nil || !strings.Contains(err.Error(), "authentication required") {
		t.Errorf("push with a wrong password: %v, want authentication required", err)
	}
}

// TestHarnessCorruptRegistryBlob is the recipe for a registry that serves a
// layer whose bytes do not match its digest: push, then CorruptBlob the
// registry's copy of a layer no other test shares.
func TestHarnessCorruptRegistryBlob(t *testing.T) {
	t.Parallel()
	reg := plainRegistry(t)
	dir := t.TempDir()
	if _, err := testimage.WriteOCILayout(dir, testimage.Options{ExtraFiles: map[string][]byte{"/test": []byte(t.Name())}}); err != nil {
		t.Fatal(err)
	}
	if err := testimage.Push(context.Background(), dir, reg.Addr+"/"+uniqueName(t)+":v1", pushOptions(reg)); err != nil {
		t.Fatal(err)
	}
	layers, err := testimage.Layers(dir)
	if err != nil {
		t.Fatal(err)
	}
	top := layers[len(layers)-1]
	if err := testimage.CorruptBlob(reg.BlobPath(top.Digest)); err != nil {
		t.Fatal(err)
	}

	resp, err := reg.Client().Get(reg.URL("/v2/" + uniqueName(t) + "/blobs/" + top.Digest.String()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET blob: HTTP %d, %v", resp.StatusCode, err)
	}
	if n != top.Size {
		t.Errorf("served %d bytes, want the original size %d", n, top.Size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got == top.Digest.Encoded() {
		t.Errorf("registry still serves the intact blob %s", top.Digest)
	}
}

// TestHarnessCleanupUnmounts checks that newEngine's cleanup detaches
// mounts left under the store before removing it.
func TestHarnessCleanupUnmounts(t *testing.T) {
	requireRoot(t)
	var root string
	t.Run("mount", func(t *testing.T) {
		e := newEngine(t)
		root = e.Root
		dir := filepath.Join(e.Root, "overlay", "merged")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := unix.Mount("tmpfs", dir, "tmpfs", 0, ""); err != nil {
			t.Fatal(err)
		}
	})
	mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(root))
	if err != nil {
		t.Fatal(err)
	}
	if len(mounts) != 0 {
		t.Errorf("%d mounts remain under %s", len(mounts), root)
	}
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Errorf("%s still exists: %v", root, err)
	}
}

func TestHarnessRegistryFlags(t *testing.T) {
	t.Parallel()
	plain, auth := plainRegistry(t), authRegistry(t)
	for _, tc := range []struct {
		reg  *registry.Registry
		want []string
	}{
		{plain, []string{"--tls-verify=false"}},
		{auth, []string{"--cert-dir", auth.CertDir, "--creds", authUser + ":" + authPassword}},
	} {
		if got := registryFlags(tc.reg); !slices.Equal(got, tc.want) {
			t.Errorf("registryFlags(%s) = %q, want %q", tc.reg.URL(""), got, tc.want)
		}
	}
}

// getJSON GETs path from reg, with basic auth if user is set, decodes a 200
// answer into v (if not nil) and returns the status.
func getJSON(t *testing.T, reg *registry.Registry, path, user, password string, v any) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, reg.URL(path), nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := reg.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode == http.StatusOK && v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	return resp.StatusCode
}
