package libengine

import (
	"context"
	"fmt"
	"os/exec"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/specgen"
)

// rootlessNetworkMode is the default mode of rootless containers: the
// configured command, pasta falling back to slirp4netns when missing.
func rootlessNetworkMode(cmd string) string {
	if cmd == specgen.NetworkSlirp4netns {
		return cmd
	}
	if _, err := exec.LookPath("pasta"); err != nil {
		return specgen.NetworkSlirp4netns
	}
	return specgen.NetworkPasta
}

func (e *Engine) setupUserNetwork(_ context.Context, c *ctr, kind, _ string) (*netSetup, error) {
	return nil, fmt.Errorf("container %s: --network %s: %w", c.Name, kind, define.ErrNotImplemented)
}

func (e *Engine) teardownUserNetwork(_ *ctr) error { return nil }
