package libengine

import (
	"errors"
	"testing"

	"github.com/engine-oss/engine/pkg/libengine/define"
)

func TestCredentialsKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, key, host string }{
		{"quay.io", "quay.io", "quay.io"},
		{"127.0.0.1:5000", "127.0.0.1:5000", "127.0.0.1:5000"},
		{"https://127.0.0.1:5000/", "127.0.0.1:5000", "127.0.0.1:5000"},
		{"https://registry.example/v2/", "registry.example", "registry.example"},
		{"http://registry.example", "registry.example", "registry.example"},
		{"registry.example/team/app", "registry.example/team/app", "registry.example"},
	} {
		key, host, err := credentialsKey(nil, tc.in)
		if err != nil || key != tc.key || host != tc.host {
			t.Errorf("credentialsKey(%q) = %q, %q, %v; want %q, %q", tc.in, key, host, err, tc.key, tc.host)
		}
	}
	for _, bad := range []string{"https://", "/repo", "a b", "reg.example/x@sha256:00"} {
		if _, _, err := credentialsKey(nil, bad); !errors.Is(err, define.ErrInvalidArg) {
			t.Errorf("credentialsKey(%q) = %v, want ErrInvalidArg", bad, err)
		}
	}
}
