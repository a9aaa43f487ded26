package libengine

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/distribution/registry/api/errcode"
	"github.com/engine-oss/engine/pkg/libengine/define"
	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/signature"
	"go.podman.io/image/v5/types"
)

func TestParseSourceReference(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	for _, tc := range []struct {
		// within is StringWithinTransport, or the image name for the docker transport.
		in, transport, within, short string
	}{
		{"busybox", "docker", "docker.io/library/busybox:latest", "busybox"},
		{"busybox:1.36", "docker", "docker.io/library/busybox:1.36", "busybox:1.36"},
		{"docker:latest", "docker", "docker.io/library/docker:latest", "docker:latest"},
		{"quay.io/podman/stable", "docker", "quay.io/podman/stable:latest", ""},
		{"localhost:5000/a/b:v1", "docker", "localhost:5000/a/b:v1", ""},
		{"docker://busybox", "docker", "docker.io/library/busybox:latest", ""},
		{"oci:/tmp/layout:foo:1", "oci", "/tmp/layout:foo:1", ""},
		{"oci-archive:/tmp/a.tar", "oci-archive", "/tmp/a.tar:", ""},
		{"docker-archive:/tmp/a.tar:busybox:latest", "docker-archive", "/tmp/a.tar:docker.io/library/busybox:latest", ""},
		{"dir:/tmp/d", "dir", "/tmp/d", ""},
		{"containers-storage:localhost/x:1", "containers-storage", "", ""},
	} {
		ref, short, err := e.parseSourceReference(tc.in)
		if err != nil {
			t.Errorf("parseSourceReference(%q): %v", tc.in, err)
			continue
		}
		if got := ref.Transport().Name(); got != tc.transport {
			t.Errorf("parseSourceReference(%q) transport %q, want %q", tc.in, got, tc.transport)
		}
		within := ref.StringWithinTransport()
		if tc.transport == "docker" {
			within = ref.DockerReference().String()
		}
		if tc.within != "" && within != tc.within {
			t.Errorf("parseSourceReference(%q) = %q, want %q", tc.in, within, tc.within)
		}
		if short != tc.short {
			t.Errorf("parseSourceReference(%q) short name %q, want %q", tc.in, short, tc.short)
		}
	}
	// containers-storage without a store specifier means the engine's store.
	ref, _, err := e.parseSourceReference("containers-storage:localhost/x:1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ref.StringWithinTransport(), e.Store().GraphRoot()) {
		t.Errorf("containers-storage reference %q is not in the engine's store %s", ref.StringWithinTransport(), e.Store().GraphRoot())
	}
	for _, bad := range []string{"", "UPPER/case", "docker://", "oci:/tmp/x:Bad Name"} {
		if _, _, err := e.parseSourceReference(bad); !errors.Is(err, define.ErrInvalidArg) {
			t.Errorf("parseSourceReference(%q) = %v, want ErrInvalidArg", bad, err)
		}
	}
}

// TestLoadPolicy is not parallel: the fallback case points HOME away.
func TestLoadPolicy(t *testing.T) {
	write := func(t *testing.T, content string) *types.SystemContext {
		dir := t.TempDir()
		if content != "" {
			p := filepath.Join(dir, "policy.json")
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			return &types.SystemContext{SignaturePolicyPath: p}
		}
		// No file anywhere: the system path lives under an empty root and
		// the per-user one is not consulted for an explicit empty root.
		t.Setenv("HOME", dir)
		t.Setenv("XDG_CONFIG_HOME", dir)
		t.Setenv("CONTAINERS_POLICY_JSON", "")
		return &types.SystemContext{RootForImplicitAbsolutePaths: dir}
	}
	t.Run("missing falls back to accept anything", func(t *testing.T) {
		p, err := loadPolicy(write(t, ""))
		if err != nil {
			t.Fatal(err)
		}
		if got := policyJSON(t, p); got != `[{"type":"insecureAcceptAnything"}]` {
			t.Errorf("fallback policy %s, want insecureAcceptAnything", got)
		}
	})
	t.Run("file is used", func(t *testing.T) {
		t.Parallel()
		p, err := loadPolicy(write(t, `{"default":[{"type":"reject"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		if got := policyJSON(t, p); got != `[{"type":"reject"}]` {
			t.Errorf("policy %s, want the file's reject", got)
		}
	})
	t.Run("invalid file is an error", func(t *testing.T) {
		t.Parallel()
		if _, err := loadPolicy(write(t, `{"default": 1}`)); err == nil {
			t.Error("loadPolicy accepted an invalid policy.json")
		}
	})
}

func policyJSON(t *testing.T, p *signature.Policy) string {
	t.Helper()
	b, err := json.Marshal(p.Default)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPlatformMismatch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		haveOS, haveArch, haveVariant, wantOS, wantArch, wantVariant string
		mismatch                                                     bool
	}{
		{"linux", "amd64", "", "", "", "", false},
		{"linux", "amd64", "", "linux", "amd64", "", false},
		{"linux", "arm64", "v8", "", "arm64", "", false},
		{"linux", "arm64", "v8", "linux", "arm64", "v8", false},
		{"linux", "amd64", "", "", "arm64", "", true},
		{"linux", "amd64", "", "windows", "", "", true},
		{"linux", "arm", "v6", "linux", "arm", "v7", true},
	} {
		err := platformMismatch(tc.haveOS, tc.haveArch, tc.haveVariant, tc.wantOS, tc.wantArch, tc.wantVariant)
		if (err != nil) != tc.mismatch {
			t.Errorf("platformMismatch(%+v) = %v, want mismatch %v", tc, err, tc.mismatch)
		}
		if err != nil && !errors.Is(err, define.ErrNoSuchImage) {
			t.Errorf("platformMismatch error %v does not wrap ErrNoSuchImage", err)
		}
	}
}

func TestClassifyRegistryError(t *testing.T) {
	t.Parallel()
	manifestUnknown := errcode.Error{Code: errcode.ParseErrorCode("MANIFEST_UNKNOWN"), Message: "manifest unknown"}
	for _, tc := range []struct {
		name     string
		err      error
		sentinel error
		hint     string
	}{
		{"unauthorized", docker.ErrUnauthorizedForCredentials{Err: errors.New("401")}, define.ErrNotAuthenticated, "engine login reg.example:5000"},
		{"manifest unknown", fmt.Errorf("reading manifest: %w", manifestUnknown), define.ErrNoSuchImage, "image reg.example:5000/a:b"},
		{"denied", errcode.ErrorCodeDenied.WithMessage("denied"), define.ErrNotAuthenticated, "--creds"},
		{"unknown CA", fmt.Errorf("ping: %w", x509.UnknownAuthorityError{}), nil, "--cert-dir"},
		{"plain http", fmt.Errorf("ping: %w", http.ErrSchemeMismatch), nil, "--tls-verify=false"},
		{"other", errors.New("boom"), nil, "boom"},
	} {
		err := classifyRegistryError("reg.example:5000/a:b", tc.err)
		if !errors.Is(err, tc.err) {
			t.Errorf("%s: %v does not wrap the original error", tc.name, err)
		}
		if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
			t.Errorf("%s: %v does not wrap %v", tc.name, err, tc.sentinel)
		}
		if !strings.Contains(err.Error(), tc.hint) {
			t.Errorf("%s: %q does not mention %q", tc.name, err, tc.hint)
		}
	}
}

// TestRemoveNewLayers checks the cleanup after a failed copy: only layers
// created since the snapshot and used by nothing go, children first.
func TestRemoveNewLayers(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	put := func(parent string) string {
		t.Helper()
		l, _, err := e.store.PutLayer("", parent, nil, "", false, nil, tarOf(t, "f"))
		if err != nil {
			t.Fatal(err)
		}
		return l.ID
	}
	old := put("")
	before, err := e.layerIDs()
	if err != nil {
		t.Fatal(err)
	}
	kept := put(old) // used by an image created below
	if _, err := e.store.CreateImage("", []string{"localhost/kept:1"}, kept, "", nil); err != nil {
		t.Fatal(err)
	}
	orphan := put(old)
	orphanChild := put(orphan)
	orphanGrandchild := put(orphanChild)

	lock, err := e.transferLock()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.removeNewLayers(lock, before); err != nil {
		t.Fatal(err)
	}
	after, err := e.layerIDs()
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]bool{old: true, kept: true, orphan: false, orphanChild: false, orphanGrandchild: false} {
		if after[id] != want {
			t.Errorf("layer %s present=%v, want %v", id[:12], after[id], want)
		}
	}
}
