package network

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"golang.org/x/sys/unix"
)

// User-mode networking gives a rootless container's namespace a way out
// through a process of the user's: pasta (preferred: its -t/-u forwarding
// keeps the client's source address and splices loopback connections) or
// slirp4netns. The helper runs until the namespace goes or it is killed.

// UserModeOptions describe the helper to start for a namespace.
type UserModeOptions struct {
	// NetNS is the container's namespace (NewNetNS).
	NetNS string
	// PidFile receives the helper's pid, for StopUserMode.
	PidFile string
	// Ports are published through the helper.
	Ports []PortMapping
	// Args are extra pasta arguments (--network pasta:ARG,...).
	Args []string
	// APISocket is slirp4netns's API socket, used to publish ports.
	APISocket string
}

// CheckTun fails with a clear error when /dev/net/tun, which both helpers
// open, is not accessible to this user.
func CheckTun() error {
	f, err := os.OpenFile("/dev/net/tun", os.O_RDWR, 0)
	if err == nil {
		return f.Close()
	}
	mode := ""
	if fi, serr := os.Stat("/dev/net/tun"); serr == nil {
		mode = fmt.Sprintf(" (mode %#o)", fi.Mode().Perm())
	}
	return fmt.Errorf("/dev/net/tun%s cannot be opened by this user: %w: rootless networks need it: ask an administrator to run `chmod 0666 /dev/net/tun` (most distributions ship it so), or use --network none",
		mode, err)
}

// StartPasta starts pasta for o.NetNS: it configures the namespace's
// interface, address, routes and DNS forwarding like the host's, and
// forwards o.Ports from the host. It returns once the namespace is
// configured (pasta then runs in the background).
func StartPasta(ctx context.Context, o UserModeOptions) error {
	if err := CheckTun(); err != nil {
		return err
	}
	args := []string{"--config-net", "--quiet", "--no-map-gw", "--netns-only", "--netns", o.NetNS, "--pid", o.PidFile,
		"-T", "none", "-U", "none"}
	var tcp, udp []string
	for _, p := range o.Ports {
		spec := strconv.Itoa(int(p.HostPort))
		if p.Range > 1 {
			spec += "-" + strconv.Itoa(int(p.HostPort+p.Range-1))
		}
		spec += ":" + strconv.Itoa(int(p.ContainerPort))
		if p.Range > 1 {
			spec += "-" + strconv.Itoa(int(p.ContainerPort+p.Range-1))
		}
		if p.HostIP.IsValid() {
			spec = p.HostIP.String() + "/" + spec
		}
		switch p.Protocol {
		case "tcp":
			tcp = append(tcp, "-t", spec)
		case "udp":
			udp = append(udp, "-u", spec)
		default:
			return fmt.Errorf("-p %d/%s: pasta forwards tcp and udp only: %w", p.ContainerPort, p.Protocol, define.ErrInvalidArg)
		}
	}
	if tcp == nil {
		tcp = []string{"-t", "none"}
	}
	if udp == nil {
		udp = []string{"-u", "none"}
	}
	args = append(append(append(args, tcp...), udp...), o.Args...)
	cmd := exec.CommandContext(ctx, "pasta", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return fmt.Errorf("pasta not found in $PATH: install the passt package (apt-get install passt), or use --network slirp4netns: %w", err)
		}
		return fmt.Errorf("pasta %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// StartSlirp4netns starts slirp4netns for o.NetNS, waits until it has
// configured the namespace, and publishes o.Ports through its API socket.
func StartSlirp4netns(ctx context.Context, o UserModeOptions) (retErr error) {
	if err := CheckTun(); err != nil {
		return err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("slirp4netns: %w", err)
	}
	defer func() { _ = r.Close() }()
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		_ = w.Close()
		return err
	}
	defer func() { _ = devnull.Close() }()
	_ = os.Remove(o.APISocket)
	if err := os.MkdirAll(filepath.Dir(o.APISocket), 0o700); err != nil {
		return fmt.Errorf("slirp4netns: %w", err)
	}
	cmd := exec.Command("slirp4netns", "--configure", "--mtu=65520", "--disable-host-loopback", "--ready-fd=3",
		"--api-socket", o.APISocket, "--netns-type=path", o.NetNS, "tap0")
	cmd.ExtraFiles = []*os.File{w}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, devnull
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	_ = w.Close()
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return fmt.Errorf("slirp4netns not found in $PATH: install slirp4netns, or passt for pasta: %w", err)
		}
		return fmt.Errorf("start slirp4netns: %w", err)
	}
	pid := cmd.Process.Pid
	_ = cmd.Process.Release()
	defer func() {
		if retErr != nil {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	}()
	if err := os.WriteFile(o.PidFile, []byte(strconv.Itoa(pid)), 0o600); err != nil {
		return fmt.Errorf("slirp4netns pid file: %w", err)
	}
	_ = r.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 1)
	if _, err := r.Read(buf); err != nil {
		return fmt.Errorf("slirp4netns did not configure the namespace: %w", err)
	}
	for _, p := range o.Ports {
		for i := uint16(0); i < p.Range; i++ {
			host := "0.0.0.0"
			if p.HostIP.IsValid() {
				host = p.HostIP.String()
			}
			if err := slirpAPI(ctx, o.APISocket, map[string]any{"execute": "add_hostfwd", "arguments": map[string]any{
				"proto": p.Protocol, "host_addr": host, "host_port": p.HostPort + i, "guest_port": p.ContainerPort + i,
			}}); err != nil {
				return err
			}
		}
	}
	return nil
}

func slirpAPI(ctx context.Context, socket string, req map[string]any) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return fmt.Errorf("slirp4netns API: %w", err)
	}
	defer func() { _ = c.Close() }()
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return fmt.Errorf("slirp4netns API: %w", err)
	}
	if uc, ok := c.(*net.UnixConn); ok {
		_ = uc.CloseWrite()
	}
	var resp struct {
		Error any `json:"error"`
	}
	if err := json.NewDecoder(c).Decode(&resp); err != nil {
		return fmt.Errorf("slirp4netns API: %w", err)
	}
	if resp.Error != nil {
		return fmt.Errorf("slirp4netns: publish a port: %v: %w", resp.Error, define.ErrPortInUse)
	}
	return nil
}

// helperPid returns the pid in pidFile when it is a running helper (pasta,
// slirp4netns or the engine's port forwarder), else 0: a helper that ended
// by itself may have left its pid to another process.
func helperPid(pidFile string) int {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	comm, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	for _, name := range []string{"pas", "slirp4netns", "engine"} {
		if bytes.HasPrefix(comm, []byte(name)) {
			return pid
		}
	}
	return 0
}

func helperAlive(pidFile string) bool { return helperPid(pidFile) != 0 }

// StopUserMode ends the helper whose pid is in pidFile, if it runs, and
// removes the file.
func StopUserMode(pidFile string) error {
	if pid := helperPid(pidFile); pid != 0 {
		if err := unix.Kill(pid, unix.SIGTERM); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("stop network helper %d: %w", pid, err)
		}
	}
	if err := os.Remove(pidFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", pidFile, err)
	}
	return nil
}
