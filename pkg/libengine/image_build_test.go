package libengine

import (
	"errors"
	"strings"
	"testing"

	"github.com/engine-oss/engine/pkg/libengine/define"
)

func TestCheckBuildArch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		arch, host string
		ok         bool
	}{
		{"", "amd64", true},
		{"amd64", "amd64", true},
		{"x86_64", "amd64", true},
		{"aarch64", "arm64", true},
		{"arm64", "amd64", false},
		{"riscv64", "arm64", false},
	} {
		err := checkBuildArch(tc.arch, tc.host)
		if tc.ok != (err == nil) {
			t.Errorf("--arch %q on %s: %v", tc.arch, tc.host, err)
		}
		if err != nil && (!errors.Is(err, define.ErrNotImplemented) || !strings.Contains(err.Error(), "--arch "+tc.arch) || !strings.Contains(err.Error(), "Arch=")) {
			t.Errorf("--arch %q on %s: %q does not name the flag and the quadlet key", tc.arch, tc.host, err)
		}
	}
}
