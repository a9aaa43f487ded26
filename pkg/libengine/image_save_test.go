package libengine

import (
	"testing"

	"go.podman.io/storage"
)

func TestResolvedName(t *testing.T) {
	t.Parallel()
	img := &storage.Image{
		ID:    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		Names: []string{"docker.io/library/busybox:latest", "localhost/mine:1", "quay.io/org/tool:2", "docker.io/library/busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
	}
	for _, tc := range []struct{ in, want string }{
		{"busybox", "docker.io/library/busybox:latest"},
		{"busybox:latest", "docker.io/library/busybox:latest"},
		{"docker.io/library/busybox", "docker.io/library/busybox:latest"},
		{"mine:1", "localhost/mine:1"},
		{"localhost/mine:1", "localhost/mine:1"},
		{"tool:2", "quay.io/org/tool:2"},
		{"org/tool:2", "quay.io/org/tool:2"},
		{"tool", ""},                // no tool:latest
		{"example.com/tool:2", ""},  // qualified names match exactly
		{"0123456789ab", ""},        // by ID: no name
		{"sha256:0123456789ab", ""}, // by ID: no name
		{"busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", ""},
	} {
		got := ""
		if n := resolvedName(tc.in, img); n != nil {
			got = n.String()
		}
		if got != tc.want {
			t.Errorf("resolvedName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
