package libengine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

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

// ensureRootlessNetNS makes the user's rootless namespace, where rootless
// bridges live, when it is missing.
func ensureRootlessNetNS(ctx context.Context, mgr *network.Manager) error {
	release, err := mgr.LockRootless()
	if err != nil {
		return err
	}
	defer release()
	return mgr.EnsureRootlessNetNS(ctx)
}

// startPortForwarder publishes a rootless bridge container's ports: a
// detached `engine network port-forwarder` process (network.RunPortForwarder)
// whose pid goes to the container's run directory. It returns once the
// ports are bound.
func (e *Engine) startPortForwarder(c *ctr, rootlessNS string, ports []network.PortMapping, addrs []netip.Addr) error {
	var target netip.Addr
	for _, a := range addrs {
		if a.Is4() && !target.IsValid() {
			target = a
		}
	}
	if !target.IsValid() && len(addrs) > 0 {
		target = addrs[0]
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("locate engine binary for the port forwarder: %w", err)
	}
	b, err := json.Marshal(ports)
	if err != nil {
		return fmt.Errorf("encode ports: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("port forwarder: %w", err)
	}
	defer func() { _ = r.Close() }()
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		_ = w.Close()
		return err
	}
	defer func() { _ = devnull.Close() }()
	cmd := exec.Command(self, "network", "port-forwarder", rootlessNS, target.String(), string(b))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, w
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	_ = w.Close()
	if err != nil {
		return fmt.Errorf("start the port forwarder: %w", err)
	}
	pid := cmd.Process.Pid
	go func() { _, _ = cmd.Process.Wait() }() // reap it if it fails while this process lives
	if err := os.WriteFile(filepath.Join(e.runDir(c.ID), userModePidFile), []byte(strconv.Itoa(pid)), 0o600); err != nil {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		return fmt.Errorf("port forwarder pid file: %w", err)
	}
	// The forwarder closes its stderr once the ports are bound; anything
	// written before is its error.
	_ = r.SetReadDeadline(time.Now().Add(10 * time.Second))
	msg, err := io.ReadAll(r)
	if len(msg) > 0 || err != nil {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		return fmt.Errorf("port forwarder: %s%w", msg, err)
	}
	return nil
}

// removePorts undoes the publishing of a container's ports: its DNAT
// rules, or for a rootless bridge container its port forwarder.
func (e *Engine) removePorts(mgr *network.Manager, id string) error {
	if mgr.UserMode {
		return network.StopUserMode(filepath.Join(e.runDir(id), userModePidFile))
	}
	return mgr.RemovePorts(id)
}
