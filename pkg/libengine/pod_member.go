package libengine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/libengine/lock"
	"github.com/engine-oss/engine/pkg/specgen"
	"github.com/sirupsen/logrus"
)

// podJoin is a container being created in a pod: the pod stays locked
// until the container is recorded, so it cannot be removed meanwhile.
type podJoin struct {
	pod   *pod
	infra bool
	lock  *lock.File
	// created is the pod --pod new: made, which goes again if the
	// container cannot be created.
	created string
	// hostNet is set when the pod's infra container uses the host's
	// network, which its members then use too.
	hostNet bool
	// infraMounts is set when the infra container has volumes or bind
	// mounts (pod create --volume), which its members then mount too.
	infraMounts bool
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
	if err == nil && p.InfraID != "" {
		var infra *ctr
		if infra, err = e.lookupCtr(ctx, p.InfraID); err == nil {
			kind, _ := infra.netMode()
			j.hostNet = kind == "host"
			j.infraMounts = slices.ContainsFunc(infra.cfg.Spec.Mounts, func(m specgen.Mount) bool {
				return m.Type == specgen.MountTypeVolume || m.Type == specgen.MountTypeBind
			})
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

// apply makes the container a member: the pod's ID, the namespaces the
// pod shares those of its infra container, and the infra's volumes and
// bind mounts its own (as --volumes-from, so the member's own mounts win).
func (j *podJoin) apply(s *specgen.SpecGenerator) {
	if j == nil {
		return
	}
	p := j.pod
	s.Pod = p.ID
	if j.infra || p.InfraID == "" {
		return
	}
	if j.infraMounts && !slices.Contains(s.VolumesFrom, p.InfraID) {
		s.VolumesFrom = append(slices.Clone(s.VolumesFrom), p.InfraID)
	}
	join := "container:" + p.InfraID
	if p.shares(ShareNet) {
		s.Namespaces.Network, s.Networks, s.PublishPorts, s.PublishAll = join, nil, nil, false
		s.HostAdd, s.DNSServers, s.DNSSearch, s.DNSOptions = nil, nil, nil, nil
		if j.hostNet {
			s.Namespaces.Network = "host"
		}
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
