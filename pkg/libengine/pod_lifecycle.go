package libengine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/specgen"
	"golang.org/x/sys/unix"
)

// eachCtrParallel runs fn on each container under its lock, all at once,
// and returns one report per ID in order: a pod's members start and stop
// together, so a pod takes as long as its slowest container.
func (e *Engine) eachCtrParallel(ctx context.Context, ids []string, fn func(*ctr) error) []ContainerReport {
	reps := make([]ContainerReport, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			rep := ContainerReport{RawInput: id}
			rep.Err = e.withCtr(ctx, id, func(c *ctr) error {
				rep.ID, rep.Name = c.ID, c.Name
				return fn(c)
			})
			reps[i] = rep
		})
	}
	wg.Wait()
	return reps
}

// ctrErrors joins the errors of container reports, each naming its
// container.
func ctrErrors(reps []ContainerReport) error {
	var errs []error
	for _, r := range reps {
		if r.Err != nil {
			errs = append(errs, r.Err)
		}
	}
	return errors.Join(errs...)
}

// PodStartOptions configure PodStart.
type PodStartOptions struct {
	// All starts every pod; names are ignored.
	All bool
}

// PodStart starts each pod's containers that do not run: its infra
// container, then its members (see startPodLocked). A member that fails to
// start fails the pod's report; the others keep running. Errors wrap
// define.ErrNoSuchPod.
func (e *Engine) PodStart(ctx context.Context, names []string, opts PodStartOptions) ([]PodReport, error) {
	return e.eachPod(ctx, names, opts.All, false, func(p *pod, _ *PodReport) error {
		if err := e.startPodLocked(ctx, p); err != nil {
			return err
		}
		e.event(ctx, "pod", "start", p.ID, p.Name, nil)
		return nil
	})
}

// startPodLocked starts the containers of a locked pod that do not run:
// the infra container first, as the members join its namespaces, then the
// members together. When the members join only namespaces the engine makes
// before the infra container is created (IPC, UTS, network), they start as soon as those are made, while
// the infra container is created: a pod starts in about the time of one
// container. A PID or cgroup namespace exists only once the infra runs.
func (e *Engine) startPodLocked(ctx context.Context, p *pod) error {
	members, infra, err := e.podCtrs(ctx, p)
	if err != nil {
		return err
	}
	start := func(ctx context.Context) func(*ctr) error {
		return func(c *ctr) error {
			if c.running() {
				return nil
			}
			_, err := e.startLocked(ctx, c, nil)
			return err
		}
	}
	if infra == "" || len(members) == 0 || !e.membersStartWithInfra(ctx, p) {
		if infra != "" {
			if err := e.withCtr(ctx, infra, start(ctx)); err != nil {
				return err
			}
		}
		return ctrErrors(e.eachCtrParallel(ctx, members, start(ctx)))
	}
	ready := make(chan struct{})
	var once sync.Once
	infraCtx := context.WithValue(ctx, podStartKey{}, &podStarting{ready: func() { once.Do(func() { close(ready) }) }})
	infraDone := make(chan error, 1)
	go func() { infraDone <- e.withCtr(infraCtx, infra, start(infraCtx)) }()
	var infraErr error
	select {
	case <-ready:
	case infraErr = <-infraDone: // failed, or ran already
		if infraErr != nil {
			return infraErr
		}
		infraDone <- nil
	}
	memberCtx := context.WithValue(ctx, podStartKey{}, &podStarting{infraID: infra})
	reps := e.eachCtrParallel(memberCtx, members, start(memberCtx))
	if infraErr = <-infraDone; infraErr != nil {
		// The members joined the namespaces of an infra container that
		// failed: stop them, as they would not have started without it.
		var started []string
		for _, r := range reps {
			if r.Err == nil {
				started = append(started, r.ID)
			}
		}
		bg := context.WithoutCancel(ctx)
		e.eachCtrParallel(bg, started, func(c *ctr) error { return e.stopLocked(bg, c, 0) })
		return infraErr
	}
	if err := e.withCtr(ctx, infra, func(ic *ctr) error {
		for _, r := range reps {
			if c, err := e.lookupCtr(ctx, r.ID); err == nil && r.Err == nil {
				e.namePodMember(ic, c)
			}
		}
		return nil
	}); err != nil {
		return err
	}
	return ctrErrors(reps)
}

// membersStartWithInfra reports whether the members of a pod join only
// namespaces that exist before its infra container is created.
func (e *Engine) membersStartWithInfra(ctx context.Context, p *pod) bool {
	if p.shares(SharePID) || p.shares(ShareCgroup) {
		return false
	}
	if !p.shares(ShareNet) {
		return true
	}
	infra, err := e.lookupCtr(ctx, p.InfraID)
	if err != nil {
		return false
	}
	switch kind, _ := infra.netMode(); kind {
	case specgen.NetworkBridge, specgen.NetworkPasta, specgen.NetworkSlirp4netns, "host", "none":
		return true
	}
	return false
}

// PodStopOptions configure PodStop.
type PodStopOptions struct {
	// Timeout is the seconds to wait after the stop signal before
	// SIGKILL; nil uses each container's stop timeout.
	Timeout *uint
	All     bool
	// Ignore treats a missing pod as success.
	Ignore bool
}

// PodStop stops each pod's members together, then its infra container.
// Stopping a pod that does not run succeeds.
func (e *Engine) PodStop(ctx context.Context, names []string, opts PodStopOptions) ([]PodReport, error) {
	return e.eachPod(ctx, names, opts.All, opts.Ignore, func(p *pod, _ *PodReport) error {
		if err := e.stopPod(ctx, p, opts.Timeout); err != nil {
			return err
		}
		e.event(ctx, "pod", "stop", p.ID, p.Name, nil)
		return nil
	})
}

// stopPod stops the members of a locked pod, then its infra container.
func (e *Engine) stopPod(ctx context.Context, p *pod, timeout *uint) error {
	members, infra, err := e.podCtrs(ctx, p)
	if err != nil {
		return err
	}
	stop := func(c *ctr) error {
		t := c.stopTimeout()
		if timeout != nil {
			t = *timeout
		}
		return e.stopLocked(ctx, c, t)
	}
	if err := ctrErrors(e.eachCtrParallel(ctx, members, stop)); err != nil {
		return err
	}
	if infra != "" {
		return e.withCtr(ctx, infra, stop)
	}
	return nil
}

// stopPodIfDone applies the exit policy of the pod of c, a container that
// exited for good (no restart): when the pod's is PodExitPolicyStop and c
// is a member, and no member is running, paused or created (waiting to
// start), it stops the pod's infra container, which ends the pod, as
// podman does (a systemd unit of the pod follows the infra's monitor). A
// member stopped by `engine stop` counts as exited, as in podman. It takes
// the pod's lock: the caller holds no container lock. A pod removed
// meanwhile is no error.
func (e *Engine) stopPodIfDone(ctx context.Context, c *ctr) error {
	if c.Pod == "" || c.cfg.Infra || c.State.Status != define.StatusExited {
		return nil
	}
	err := e.withPod(ctx, c.Pod, func(p *pod) error {
		if p.cfg.ExitPolicy != PodExitPolicyStop || p.InfraID == "" {
			return nil
		}
		members, infra, err := e.podCtrs(ctx, p)
		if err != nil {
			return err
		}
		// c too: a pod restart may have started it again meanwhile.
		for _, id := range members {
			m, err := e.lookupCtr(ctx, id)
			switch {
			case errors.Is(err, define.ErrNoSuchContainer):
				continue
			case err != nil:
				return err
			}
			if st := e.refreshStale(ctx, m).State.Status; st != define.StatusExited && st != define.StatusRemoving {
				return nil
			}
		}
		stopped := false
		if err := e.withCtr(ctx, infra, func(ic *ctr) error {
			if !ic.running() { // pod stop did it
				return nil
			}
			stopped = true
			return e.stopLocked(ctx, ic, ic.stopTimeout())
		}); err != nil {
			return fmt.Errorf("pod %s: exit policy stop: %w", p.Name, err)
		}
		if stopped {
			e.event(ctx, "pod", "stop", p.ID, p.Name, nil)
		}
		return nil
	})
	if errors.Is(err, define.ErrNoSuchPod) || errors.Is(err, define.ErrNoSuchContainer) {
		return nil
	}
	return err
}

// PodRestartOptions configure PodRestart.
type PodRestartOptions struct {
	Timeout *uint
	All     bool
}

// PodRestart stops each pod (see PodStop), then starts it (PodStart).
func (e *Engine) PodRestart(ctx context.Context, names []string, opts PodRestartOptions) ([]PodReport, error) {
	return e.eachPod(ctx, names, opts.All, false, func(p *pod, _ *PodReport) error {
		if err := e.stopPod(ctx, p, opts.Timeout); err != nil {
			return err
		}
		if err := e.startPodLocked(ctx, p); err != nil {
			return err
		}
		e.event(ctx, "pod", "restart", p.ID, p.Name, nil)
		return nil
	})
}

// PodKillOptions configure PodKill.
type PodKillOptions struct {
	// Signal defaults to SIGKILL.
	Signal syscall.Signal
	All    bool
}

// PodKill sends a signal to each running container of each pod, members
// and infra together. A pod with no running container is left alone.
func (e *Engine) PodKill(ctx context.Context, names []string, opts PodKillOptions) ([]PodReport, error) {
	sig := opts.Signal
	if sig == 0 {
		sig = unix.SIGKILL
	}
	return e.eachPod(ctx, names, opts.All, false, func(p *pod, _ *PodReport) error {
		members, infra, err := e.podCtrs(ctx, p)
		if err != nil {
			return err
		}
		if infra != "" {
			members = append(members, infra)
		}
		rt, err := e.runtime(ctx)
		if err != nil {
			return err
		}
		if err := ctrErrors(e.eachCtrParallel(ctx, members, func(c *ctr) error {
			if !c.running() {
				return nil
			}
			if err := rt.Kill(ctx, c.ID, sig, false); err != nil && !gone(err) {
				return fmt.Errorf("kill %s: %w", c.Name, err)
			}
			e.ctrEvent(ctx, c.Container, "kill", map[string]string{"signal": unix.SignalName(sig)})
			return nil
		})); err != nil {
			return err
		}
		e.event(ctx, "pod", "kill", p.ID, p.Name, map[string]string{"signal": unix.SignalName(sig)})
		return nil
	})
}

// PodPause freezes every running container of each pod.
func (e *Engine) PodPause(ctx context.Context, names []string, all bool) ([]PodReport, error) {
	return e.pausePods(ctx, names, all, true)
}

// PodUnpause thaws every paused container of each pod.
func (e *Engine) PodUnpause(ctx context.Context, names []string, all bool) ([]PodReport, error) {
	return e.pausePods(ctx, names, all, false)
}

func (e *Engine) pausePods(ctx context.Context, names []string, all, pause bool) ([]PodReport, error) {
	return e.eachPod(ctx, names, all, false, func(p *pod, _ *PodReport) error {
		members, infra, err := e.podCtrs(ctx, p)
		if err != nil {
			return err
		}
		if infra != "" {
			members = append(members, infra)
		}
		if err := ctrErrors(e.eachCtrParallel(ctx, members, func(c *ctr) error {
			return e.setPaused(ctx, c, pause, true)
		})); err != nil {
			return err
		}
		action := "pause"
		if !pause {
			action = "unpause"
		}
		e.event(ctx, "pod", action, p.ID, p.Name, nil)
		return nil
	})
}

// PodRemoveOptions configure PodRemove.
type PodRemoveOptions struct {
	// Force stops running containers first; without it a pod with a
	// running or paused container is not removed.
	Force bool
	// Timeout overrides the containers' stop timeouts with Force.
	Timeout *uint
	All     bool
	// Ignore treats a missing pod as success.
	Ignore bool
}

// PodRemove removes each pod with its containers, members first, then the
// infra container. Each report lists the containers removed. Errors wrap
// define.ErrNoSuchPod, or define.ErrCtrStateInvalid for a running pod
// without Force.
func (e *Engine) PodRemove(ctx context.Context, names []string, opts PodRemoveOptions) ([]PodReport, error) {
	return e.eachPod(ctx, names, opts.All, opts.Ignore, func(p *pod, rep *PodReport) error {
		return e.removePod(ctx, p, opts, rep)
	})
}

func (e *Engine) removePod(ctx context.Context, p *pod, opts PodRemoveOptions, rep *PodReport) error {
	members, infra, err := e.podCtrs(ctx, p)
	if err != nil {
		return err
	}
	if !opts.Force {
		for _, id := range append(members, infra) {
			if c, err := e.lookupCtr(ctx, id); err == nil && e.refreshStale(ctx, c).running() {
				return fmt.Errorf("pod %s has running or paused containers: stop it with engine pod stop %s, or remove it with --force: %w", p.Name, p.Name, define.ErrCtrStateInvalid)
			}
		}
	}
	ropts := ContainerRemoveOptions{Force: opts.Force, Timeout: opts.Timeout, inPodRemoval: true}
	remove := func(c *ctr) error { return e.removeLocked(ctx, c, ropts) }
	rep.Containers = e.eachCtrParallel(ctx, members, remove)
	if err := ctrErrors(rep.Containers); err != nil {
		return err
	}
	if infra != "" {
		r := ContainerReport{RawInput: infra}
		r.Err = e.withCtr(ctx, infra, func(c *ctr) error {
			r.ID, r.Name = c.ID, c.Name
			return remove(c)
		})
		if r.Err != nil && !errors.Is(r.Err, define.ErrNoSuchContainer) {
			return r.Err
		}
		rep.Containers = append(rep.Containers, r)
	}
	if err := e.db.RemovePod(ctx, p.ID); err != nil {
		return err
	}
	e.event(ctx, "pod", "remove", p.ID, p.Name, nil)
	return nil
}

// PodPrune removes every pod whose containers all stopped (state Exited
// or Stopped), as podman; created and running pods stay.
func (e *Engine) PodPrune(ctx context.Context) ([]PodReport, error) {
	pods, err := e.PodList(ctx, PodListOptions{})
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, p := range pods {
		if prunablePod(define.PodStatus(p.Status)) {
			ids = append(ids, p.ID)
		}
	}
	errBusy := errors.New("started meanwhile")
	reps, err := e.eachPod(ctx, ids, false, true, func(p *pod, rep *PodReport) error {
		if st, err := e.podStatus(ctx, p); err != nil || !prunablePod(st) {
			return errBusy
		}
		return e.removePod(ctx, p, PodRemoveOptions{}, rep)
	})
	out := reps[:0]
	for _, r := range reps {
		if !errors.Is(r.Err, errBusy) {
			out = append(out, r)
		}
	}
	return out, err
}

func prunablePod(s define.PodStatus) bool {
	return s == define.PodStatusExited || s == define.PodStatusStopped
}
