package libengine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/engine-oss/engine/pkg/network"
	"github.com/engine-oss/engine/pkg/specgen"
)

// userModePidFile holds the pid of a rootless container's user-mode
// network helper, in its run directory.
const userModePidFile = "netns-helper.pid"

// slirpSocket is slirp4netns's API socket: in the network state directory,
// as a run directory's path is too long for a socket's.
func (e *Engine) slirpSocket(id string) string {
	return filepath.Join(e.netManager().StateDir, "slirp4netns-"+id[:min(16, len(id))]+".sock")
}

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

// setupUserNetwork gives a rootless container its own namespace, connected
// to the host and publishing its ports through pasta or slirp4netns.
func (e *Engine) setupUserNetwork(ctx context.Context, c *ctr, kind, arg string) (_ *netSetup, retErr error) {
	ports, err := portMappings(c)
	if err != nil {
		return nil, err
	}
	mgr := e.netManager()
	setup := &netSetup{netns: e.netnsPath(c.ID)}
	if len(ports) > 0 {
		if setup.release, err = mgr.Lock(nil, true); err != nil {
			return nil, err
		}
		defer setup.unlock() // the helper has bound the ports when this returns
		if ports, err = mgr.ReservePorts(ports); err != nil {
			return nil, err
		}
	}
	if err := network.RemoveNetNS(setup.netns); err != nil {
		return nil, err
	}
	if err := network.NewNetNS(setup.netns); err != nil {
		return nil, err
	}
	defer func() {
		if retErr != nil {
			_ = e.teardownUserNetwork(c)
		}
	}()
	runDir := e.runDir(c.ID)
	o := network.UserModeOptions{NetNS: setup.netns, PidFile: filepath.Join(runDir, userModePidFile), Ports: ports,
		APISocket: e.slirpSocket(c.ID)}
	if arg != "" {
		o.Args = strings.Split(arg, ",")
	}
	if kind == specgen.NetworkPasta {
		err = network.StartPasta(ctx, o)
	} else {
		err = network.StartSlirp4netns(ctx, o)
	}
	if err != nil {
		return nil, err
	}
	setup.status = &netStatus{NetNS: setup.netns, Ports: ports}
	if err := writeJSON(filepath.Join(runDir, netStatusFile), setup.status); err != nil {
		return nil, err
	}
	return setup, nil
}

// teardownUserNetwork stops the helper and removes the namespace.
func (e *Engine) teardownUserNetwork(c *ctr) error {
	runDir := e.runDir(c.ID)
	errs := []error{network.StopUserMode(filepath.Join(runDir, userModePidFile)), network.RemoveNetNS(e.netnsPath(c.ID))}
	for _, f := range []string{filepath.Join(runDir, netStatusFile), e.slirpSocket(c.ID)} {
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("container %s: %w", c.Name, err))
		}
	}
	return errors.Join(errs...)
}
