package libengine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/libengine/lock"
	"github.com/engine-oss/engine/pkg/specgen"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// podShmDir is the directory in an infra container's run directory where
// the engine mounts the pod's /dev/shm, a tmpfs its members bind-mount.
const podShmDir = "shm"

// podJoin is a container being created in a pod: the pod stays locked
// until the container is recorded, so it cannot be removed meanwhile.
type podJoin struct {
	pod   *pod
	infra bool
	lock  *lock.File
	// created is the pod --pod new: made, which goes again if the
	// container cannot be created.
	created string
}

// joinPod resolves --pod for a container being created: it creates the
// pod for "new:NAME" (moving the container's network settings to it),
// locks the pod and checks that the container asks for none of what the
// pod shares. infra is set for the pod's infra container, whose pod
// PodCreate holds locked. The caller calls leavePod once the container is
// recorded, or failed to be. Errors wrap define.ErrNoSuchPod or
// define.ErrInvalidArg.
func (e *Engine) joinPod(ctx context.Context, s *specgen.SpecGenerator, infra bool) (*podJoin, error) {
	if s.Pod == "" {
		return nil, nil
	}
	if infra {
		p, err := e.lookupPod(ctx, s.Pod)
		if err != nil {
			return nil, err
		}
		return &podJoin{pod: p, infra: true}, nil
	}
	j := &podJoin{}
	name := s.Pod
	if n, ok := strings.CutPrefix(s.Pod, "new:"); ok {
		rep, err := e.PodCreate(ctx, PodCreateOptions{Name: n, Network: s.Namespaces.Network, Networks: s.Networks,
			Publish: s.PublishPorts, HostAdd: s.HostAdd, DNSServers: s.DNSServers, DNSSearch: s.DNSSearch, DNSOptions: s.DNSOptions})
		if err != nil {
			return nil, fmt.Errorf("--pod %s: %w", s.Pod, err)
		}
		name, j.created = rep.ID, rep.ID
	}
	p, err := e.lookupPod(ctx, name)
	if err == nil {
		if j.lock, err = e.lockPod(p.ID); err == nil {
			p, err = e.lookupPod(ctx, p.ID)
		}
	}
	if err == nil {
		j.pod = p
		err = j.check(s)
	}
	if err != nil {
		e.leavePod(ctx, j, err)
		if errors.Is(err, define.ErrNoSuchPod) {
			return nil, fmt.Errorf("--pod %s: %w (create it with engine pod create --name %s, or use --pod new:%s)", name, err, name, name)
		}
		return nil, err
	}
	return j, nil
}

// check rejects a container's own settings for what its pod shares.
func (j *podJoin) check(s *specgen.SpecGenerator) error {
	p := j.pod
	if p.InfraID == "" {
		return nil
	}
	conflict := func(flag, what, fix string) error {
		return fmt.Errorf("%s cannot be set for a container in a pod: the pod shares its %s namespace: %s: %w", flag, what, fix, define.ErrInvalidArg)
	}
	if p.shares(ShareNet) && j.created == "" {
		switch {
		case s.Namespaces.Network != "" || len(s.Networks) > 0:
			return conflict("--network", "network", "set it on the pod with pod create --network")
		case len(s.PublishPorts) > 0 || s.PublishAll:
			return conflict("-p/--publish", "network", "publish ports on the pod with pod create -p")
		case len(s.DNSServers)+len(s.DNSSearch)+len(s.DNSOptions) > 0:
			return conflict("--dns", "network", "set it on the pod with pod create --dns")
		case len(s.HostAdd) > 0:
			return conflict("--add-host", "network", "set it on the pod with pod create --add-host")
		}
	}
	for _, m := range []struct{ ns, flag, mode string }{
		{ShareIPC, "--ipc", s.Namespaces.IPC}, {ShareUTS, "--uts", s.Namespaces.UTS},
		{SharePID, "--pid", s.Namespaces.PID}, {ShareCgroup, "--cgroupns", s.Namespaces.Cgroup},
	} {
		if m.mode != "" && p.shares(m.ns) {
			return conflict(m.flag, m.ns, "drop it, or create the pod without it in --share")
		}
	}
	if s.Hostname != "" && p.shares(ShareUTS) {
		return conflict("--hostname", "UTS", "set it on the pod with pod create --hostname")
	}
	if s.ShmSize != nil && p.shares(ShareIPC) {
		return conflict("--shm-size", "IPC", "the members use the pod's /dev/shm")
	}
	return nil
}

// apply makes the container a member: the pod's ID, and the namespaces
// the pod shares those of its infra container.
func (j *podJoin) apply(s *specgen.SpecGenerator) {
	if j == nil {
		return
	}
	p := j.pod
	s.Pod = p.ID
	if j.infra || p.InfraID == "" {
		return
	}
	join := "container:" + p.InfraID
	if p.shares(ShareNet) {
		s.Namespaces.Network, s.Networks, s.PublishPorts, s.PublishAll = join, nil, nil, false
		s.HostAdd, s.DNSServers, s.DNSSearch, s.DNSOptions = nil, nil, nil, nil
	}
	for ns, mode := range map[string]*string{ShareIPC: &s.Namespaces.IPC, ShareUTS: &s.Namespaces.UTS,
		SharePID: &s.Namespaces.PID, ShareCgroup: &s.Namespaces.Cgroup} {
		if p.shares(ns) {
			*mode = join
		}
	}
}

// leavePod releases the pod's lock; a pod --pod new: created goes again
// when the container was not created (err set).
func (e *Engine) leavePod(ctx context.Context, j *podJoin, err error) {
	if j == nil {
		return
	}
	j.lock.Release()
	if err != nil && j.created != "" {
		if _, rerr := e.PodRemove(context.WithoutCancel(ctx), []string{j.created}, PodRemoveOptions{Force: true}); rerr != nil {
			logrus.Warnf("remove pod %s after failed create: %v", shortID(j.created), rerr)
		}
	}
}

// infraOf returns the ID of the infra container whose namespaces c joins:
// its pod's, for a member of a pod with one; else "".
func (c *ctr) infraOf() string {
	if c.Pod == "" || c.cfg.Infra {
		return ""
	}
	ns := c.cfg.Spec.Namespaces
	for _, mode := range []string{ns.Network, ns.IPC, ns.UTS, ns.PID, ns.Cgroup} {
		if id, ok := strings.CutPrefix(mode, "container:"); ok {
			return id
		}
	}
	return ""
}

// startPodInfra starts the infra container of c's pod unless it runs, as
// c joins its namespaces, and names c in the pod's hosts file. The caller
// holds c's lock; the infra's is taken after it.
func (e *Engine) startPodInfra(ctx context.Context, c *ctr) error {
	id := c.infraOf()
	if id == "" {
		return nil
	}
	return e.withCtr(ctx, id, func(infra *ctr) error {
		if infra.running() {
			// The database may call it running after its monitor died.
			if _, err := e.cleanupLocked(ctx, infra, false); err != nil {
				return err
			}
		}
		switch infra.State.Status {
		case define.StatusPaused:
			return fmt.Errorf("the infra container %s of pod %s is paused: unpause the pod with engine pod unpause: %w", infra.Name, c.Pod, define.ErrCtrStateInvalid)
		case define.StatusRunning:
		default:
			if _, err := e.startLocked(ctx, infra, nil); err != nil {
				return fmt.Errorf("start the infra container of pod %s: %w", shortID(c.Pod), err)
			}
		}
		if k, _ := c.netMode(); k == "container" {
			addHostsName(filepath.Join(e.runDir(infra.ID), specgen.HostsFile), c.Name)
		}
		return nil
	})
}

// addHostsName lists name on 127.0.0.1 in a pod's shared hosts file unless
// a line names it already, as podman lists a pod's containers.
func addHostsName(path, name string) {
	b, err := os.ReadFile(path)
	if err != nil {
		logrus.Debugf("hosts file of the pod: %v", err)
		return
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		fields := strings.Fields(string(line))
		for _, f := range fields[min(1, len(fields)):] {
			if f == name {
				return
			}
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err == nil {
		_, err = fmt.Fprintf(f, "127.0.0.1\t%s\n", name)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		logrus.Warnf("add %s to the pod's hosts file: %v", name, err)
	}
}

// podEnv fills in what a pod's container needs from the pod: for the
// infra container, the pod's /dev/shm (mounted here) unless it uses the
// host's IPC; for a member, the paths of the infra's namespaces it joins,
// the pod's /dev/shm and hostname.
func (e *Engine) podEnv(ctx context.Context, c *ctr, env *specgen.GenerateEnv) error {
	if c.cfg.Infra {
		if ipc := c.cfg.Spec.Namespaces.IPC; ipc == "" || ipc == "private" {
			dir := filepath.Join(e.runDir(c.ID), podShmDir)
			if err := mountShm(dir); err != nil {
				return err
			}
			env.ShmDir = dir
		}
		return nil
	}
	id := c.infraOf()
	if id == "" {
		return nil
	}
	infra, err := e.lookupCtr(ctx, id)
	if err != nil {
		return fmt.Errorf("infra container of pod %s: %w", shortID(c.Pod), err)
	}
	if !infra.running() || infra.State.Pid == 0 {
		return fmt.Errorf("the infra container %s of pod %s is %s: start the pod with engine pod start: %w", infra.Name, shortID(c.Pod), infra.State.Status, define.ErrCtrStateInvalid)
	}
	ns := c.cfg.Spec.Namespaces
	env.JoinPaths = map[specs.LinuxNamespaceType]string{}
	for typ, mode := range map[specs.LinuxNamespaceType]string{specs.IPCNamespace: ns.IPC, specs.UTSNamespace: ns.UTS,
		specs.PIDNamespace: ns.PID, specs.CgroupNamespace: ns.Cgroup} {
		if strings.HasPrefix(mode, "container:") {
			env.JoinPaths[typ] = fmt.Sprintf("/proc/%d/ns/%s", infra.State.Pid, typ)
		}
	}
	if strings.HasPrefix(ns.IPC, "container:") {
		if dir := filepath.Join(e.runDir(infra.ID), podShmDir); isMountPoint(dir) {
			env.ShmDir = dir
		}
	}
	if strings.HasPrefix(ns.UTS, "container:") {
		env.HostHostname = firstNonEmpty(infra.cfg.Spec.Hostname, shortID(infra.ID))
	}
	return nil
}

// sharePodEtc makes a member that joins its pod's network use the infra
// container's /etc/hosts and /etc/resolv.conf, which hold the pod's
// --add-host and --dns settings and its containers' names, as podman.
func (e *Engine) sharePodEtc(c *ctr, spec *specs.Spec) {
	kind, id := c.netMode()
	if c.Pod == "" || c.cfg.Infra || kind != "container" {
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

// mountShm mounts a fresh tmpfs of the default /dev/shm size on dir,
// replacing one a failed start may have left.
func mountShm(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("pod /dev/shm: %w", err)
	}
	unmountShm(dir)
	opts := fmt.Sprintf("mode=1777,size=%dk", specgen.DefaultShmSize/1024)
	if err := unix.Mount("shm", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, opts); err != nil {
		return fmt.Errorf("mount the pod's /dev/shm on %s: %w", dir, err)
	}
	return nil
}

// releasePodShm unmounts an infra container's /dev/shm after it stopped.
func (e *Engine) releasePodShm(c *ctr) {
	if c.cfg.Infra {
		unmountShm(filepath.Join(e.runDir(c.ID), podShmDir))
	}
}

func unmountShm(dir string) {
	if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, fs.ErrNotExist) {
		logrus.Warnf("unmount %s: %v", dir, err)
	}
}

// isMountPoint reports whether dir is on another device than its parent.
func isMountPoint(dir string) bool {
	var st, parent unix.Stat_t
	return unix.Stat(dir, &st) == nil && unix.Stat(filepath.Dir(dir), &parent) == nil && st.Dev != parent.Dev
}
