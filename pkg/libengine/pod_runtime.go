package libengine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/network"
	"github.com/engine-oss/engine/pkg/specgen"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// Files in an infra container's run directory: the pod's /dev/shm (a
// tmpfs its members bind-mount) and the IPC, UTS and (with --network none)
// network namespaces the engine makes for the pod, kept by bind mounts,
// which the infra container and the members join. Made before the infra
// container is created, they let the members start while it is (see
// startPodLocked).
const (
	podShmDir = "shm"
	podIPCNS  = "ns-ipc"
	podUTSNS  = "ns-uts"
	podNetNS  = "ns-net"
)

// podStartKey marks the context of the container starts a pod start makes
// (see startPodLocked): the infra's gets a podStarting whose ready
// function says when members can join it, the members' one naming the
// infra, which they do not wait for.
type podStartKey struct{}

type podStarting struct {
	infraID string
	ready   func()
}

// startPodInfra starts the infra container of c's pod unless it runs or a
// pod start is starting it, as c joins its namespaces, and names c in the
// pod's hosts file. The caller holds c's lock; the infra's is taken after
// it.
func (e *Engine) startPodInfra(ctx context.Context, c *ctr) error {
	id := c.infraOf()
	if ps, ok := ctx.Value(podStartKey{}).(*podStarting); id == "" || ok && ps.infraID == id {
		return nil
	}
	return e.withCtr(ctx, id, func(infra *ctr) error {
		if infra.running() {
			// The database may call it running after its monitor died.
			if _, err := e.cleanupLocked(ctx, infra, false, nil); err != nil {
				return err
			}
		}
		switch infra.State.Status {
		case define.StatusPaused:
			return fmt.Errorf("the infra container %s of pod %s is paused: unpause the pod with engine pod unpause: %w", infra.Name, shortID(c.Pod), define.ErrCtrStateInvalid)
		case define.StatusRunning:
		default:
			if _, err := e.startLocked(ctx, infra, nil); err != nil {
				return fmt.Errorf("start the infra container of pod %s: %w", shortID(c.Pod), err)
			}
		}
		e.namePodMember(infra, c)
		return nil
	})
}

// namePodMember lists a member that shares the pod's network on 127.0.0.1
// in the pod's hosts file, as podman lists a pod's containers. The caller
// holds the infra container's lock.
func (e *Engine) namePodMember(infra, c *ctr) {
	if k, _ := c.netMode(); k != "container" {
		return
	}
	path := filepath.Join(e.runDir(infra.ID), specgen.HostsFile)
	b, err := os.ReadFile(path)
	if err != nil {
		logrus.Debugf("hosts file of pod %s: %v", shortID(c.Pod), err)
		return
	}
	for line := range bytes.Lines(b) {
		fields := strings.Fields(string(line))
		for _, f := range fields[min(1, len(fields)):] {
			if f == c.Name {
				return
			}
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err == nil {
		_, err = fmt.Fprintf(f, "127.0.0.1\t%s\n", c.Name)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		logrus.Warnf("add %s to the hosts file of pod %s: %v", c.Name, shortID(c.Pod), err)
	}
}

// podEnv fills in what a pod's container needs from the pod. For the
// infra container it makes the pod's /dev/shm and IPC and UTS namespaces,
// as the pod shares them; a member joins those, and for the PID and cgroup
// namespaces, which cannot be made ahead, the running infra's; it gets the
// pod's hostname.
func (e *Engine) podEnv(ctx context.Context, c *ctr, env *specgen.GenerateEnv) error {
	if c.cfg.Infra {
		return e.makePodNamespaces(ctx, c, env)
	}
	id := c.infraOf()
	if id == "" {
		return nil
	}
	infra, err := e.lookupCtr(ctx, id)
	if err != nil {
		return fmt.Errorf("infra container of pod %s: %w", shortID(c.Pod), err)
	}
	notRunning := func() error {
		return fmt.Errorf("the infra container %s of pod %s is %s: start the pod with engine pod start: %w", infra.Name, shortID(c.Pod), infra.State.Status, define.ErrCtrStateInvalid)
	}
	dir := e.runDir(id)
	ns := c.cfg.Spec.Namespaces
	env.JoinPaths = map[specs.LinuxNamespaceType]string{}
	for _, j := range []struct {
		typ  specs.LinuxNamespaceType
		mode string
		file string
	}{
		{specs.IPCNamespace, ns.IPC, podIPCNS}, {specs.UTSNamespace, ns.UTS, podUTSNS},
		{specs.PIDNamespace, ns.PID, ""}, {specs.CgroupNamespace, ns.Cgroup, ""},
	} {
		switch {
		case !strings.HasPrefix(j.mode, "container:"):
		case j.file != "":
			p := filepath.Join(dir, j.file)
			if !isMountPoint(p) {
				return notRunning()
			}
			env.JoinPaths[j.typ] = p
		case !infra.running() || infra.State.Pid == 0:
			return notRunning()
		default:
			env.JoinPaths[j.typ] = fmt.Sprintf("/proc/%d/ns/%s", infra.State.Pid, j.typ)
		}
	}
	if strings.HasPrefix(ns.IPC, "container:") {
		env.ShmDir = filepath.Join(dir, podShmDir)
	}
	if strings.HasPrefix(ns.UTS, "container:") {
		env.HostHostname = firstNonEmpty(infra.cfg.Spec.Hostname, shortID(infra.ID))
	}
	return nil
}

// makePodNamespaces makes, for an infra container being started, the
// pod's /dev/shm and IPC namespace when the pod shares IPC, its UTS
// namespace, with the pod's hostname, when it shares UTS, and its network
// namespace, with only a loopback interface, when it shares the network of
// an infra container with --network none (the networking code makes the
// others), replacing any a failed start left.
func (e *Engine) makePodNamespaces(ctx context.Context, c *ctr, env *specgen.GenerateEnv) error {
	p, err := e.lookupPod(ctx, c.Pod)
	if err != nil {
		return err
	}
	e.releasePodNamespaces(c)
	dir := e.runDir(c.ID)
	if kind, _ := c.netMode(); kind == "none" && p.shares(ShareNet) {
		env.NetNSPath = filepath.Join(dir, podNetNS)
		if err := network.NewNetNS(env.NetNSPath); err != nil {
			return err
		}
		// Members find it as they find a network the engine set up.
		if err := writeJSON(filepath.Join(dir, netStatusFile), &netStatus{NetNS: env.NetNSPath}); err != nil {
			return err
		}
	}
	env.JoinPaths = map[specs.LinuxNamespaceType]string{}
	flags := 0
	if p.shares(ShareIPC) {
		env.ShmDir = filepath.Join(dir, podShmDir)
		if err := mountShm(env.ShmDir, c.cfg.Spec.ShmSize); err != nil {
			return err
		}
		flags |= unix.CLONE_NEWIPC
		env.JoinPaths[specs.IPCNamespace] = filepath.Join(dir, podIPCNS)
	}
	if p.shares(ShareUTS) {
		flags |= unix.CLONE_NEWUTS
		env.JoinPaths[specs.UTSNamespace] = filepath.Join(dir, podUTSNS)
	}
	if flags == 0 {
		return nil
	}
	return newNamespaces(flags, env.JoinPaths, c.cfg.Spec.Hostname)
}

// newNamespaces makes the namespaces of flags (IPC and UTS) on a locked OS
// thread, which is never given back to the Go runtime, sets the UTS one's
// hostname, and keeps each alive by a bind mount on its file in paths.
func newNamespaces(flags int, paths map[specs.LinuxNamespaceType]string, hostname string) error {
	for _, p := range paths {
		if err := os.WriteFile(p, nil, 0o444); err != nil {
			return fmt.Errorf("pod namespace file: %w", err)
		}
	}
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		if err := unix.Unshare(flags); err != nil {
			done <- fmt.Errorf("create the pod's namespaces: %w", err)
			return
		}
		if flags&unix.CLONE_NEWUTS != 0 && hostname != "" {
			if err := unix.Sethostname([]byte(hostname)); err != nil {
				done <- fmt.Errorf("set the pod's hostname %s: %w", hostname, err)
				return
			}
		}
		for typ, p := range paths {
			src := fmt.Sprintf("/proc/%d/task/%d/ns/%s", os.Getpid(), unix.Gettid(), typ)
			if err := unix.Mount(src, p, "none", unix.MS_BIND, ""); err != nil {
				done <- fmt.Errorf("bind the pod's %s namespace to %s: %w", typ, p, err)
				return
			}
		}
		done <- nil
	}()
	return <-done
}

// podSpec finishes the OCI spec of a pod's container. A member that joins
// the pod's network uses the infra container's /etc/hosts and
// /etc/resolv.conf, which hold the pod's --add-host and --dns settings and
// its containers' names, as podman. For the infra container of a pod
// being started, everything its members join is ready now.
func (e *Engine) podSpec(ctx context.Context, c *ctr, spec *specs.Spec) {
	if c.cfg.Infra {
		if ps, ok := ctx.Value(podStartKey{}).(*podStarting); ok && ps.ready != nil {
			ps.ready()
		}
		return
	}
	kind, id := c.netMode()
	if c.Pod == "" || kind != "container" {
		return
	}
	own, infra := e.runDir(c.ID), e.runDir(id)
	for i, m := range spec.Mounts {
		for _, f := range []string{specgen.HostsFile, specgen.ResolvConfFile} {
			if m.Destination == "/etc/"+f && m.Source == filepath.Join(own, f) {
				spec.Mounts[i].Source = filepath.Join(infra, f)
			}
		}
	}
}

// mountShm mounts a tmpfs for /dev/shm on dir: of size bytes (the pod's
// --shm-size; nil is the default 64 MiB, 0 no limit).
func mountShm(dir string, size *int64) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("pod /dev/shm: %w", err)
	}
	opts := fmt.Sprintf("mode=1777,size=%dk", specgen.DefaultShmSize/1024)
	if size != nil {
		opts = "mode=1777"
		if *size > 0 {
			opts += fmt.Sprintf(",size=%d", *size)
		}
	}
	if err := unix.Mount("shm", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, opts); err != nil {
		return fmt.Errorf("mount the pod's /dev/shm on %s: %w", dir, err)
	}
	return nil
}

// releasePodNamespaces unmounts the /dev/shm and namespaces the engine
// made for an infra container's pod, once it stopped.
func (e *Engine) releasePodNamespaces(c *ctr) {
	if !c.cfg.Infra {
		return
	}
	if kind, _ := c.netMode(); kind == "none" {
		if err := network.RemoveNetNS(filepath.Join(e.runDir(c.ID), podNetNS)); err != nil {
			logrus.Warnf("%v", err)
		}
		if err := os.Remove(filepath.Join(e.runDir(c.ID), netStatusFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			logrus.Warnf("remove the network status of %s: %v", c.Name, err)
		}
	}
	for _, f := range []string{podShmDir, podIPCNS, podUTSNS} {
		p := filepath.Join(e.runDir(c.ID), f)
		if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			logrus.Warnf("unmount %s: %v", p, err)
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			logrus.Warnf("remove %s: %v", p, err)
		}
	}
}

// isMountPoint reports whether path is on another device than its
// directory: a namespace or tmpfs the engine mounted there.
func isMountPoint(path string) bool {
	var st, parent unix.Stat_t
	return unix.Stat(path, &st) == nil && unix.Stat(filepath.Dir(path), &parent) == nil && st.Dev != parent.Dev
}
