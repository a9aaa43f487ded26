package libengine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"syscall"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/libengine/monitor"
	"github.com/engine-oss/engine/pkg/specgen"
	"github.com/sirupsen/logrus"
)

// ContainerRunOptions configure ContainerRun.
type ContainerRunOptions struct {
	Create ContainerCreateOptions
	// Detach returns once the container runs; otherwise Streams are
	// attached until it exits or the user detaches.
	Detach  bool
	Streams monitor.AttachStreams
	// Signals received by the caller are forwarded to the container while
	// attached (podman's --sig-proxy); nil forwards none.
	Signals <-chan os.Signal
}

// ContainerRunReport says what happened to a run.
type ContainerRunReport struct {
	ID   string
	Name string
	// ExitCode is the container's, for a run that waited for it.
	ExitCode int
	// Detached is set when the user typed the detach keys.
	Detached bool
}

// ContainerRun creates and starts a container and, unless detached, attaches
// to it and waits for its exit. A container with --rm is gone when it
// returns, even when it failed to start.
func (e *Engine) ContainerRun(ctx context.Context, s *specgen.SpecGenerator, opts ContainerRunOptions) (*ContainerRunReport, error) {
	created, err := e.ContainerCreate(ctx, s, opts.Create)
	if err != nil {
		return nil, err
	}
	rep := &ContainerRunReport{ID: created.ID, Name: created.Name}
	var started *startedCtr
	var streams *monitor.AttachStreams
	if !opts.Detach {
		streams = &opts.Streams
	}
	err = e.withCtr(ctx, created.ID, func(c *ctr) error {
		started, err = e.startLocked(ctx, c, streams)
		return err
	})
	if err != nil {
		if s.Remove {
			if _, rerr := e.ContainerRemove(context.WithoutCancel(ctx), []string{created.ID}, ContainerRemoveOptions{Force: true, Volumes: true}); rerr != nil {
				logrus.Warnf("remove %s after failed start: %v", created.Name, rerr)
			}
		}
		return nil, err
	}
	if opts.Detach {
		return rep, nil
	}
	code, detached, err := e.attachAndWait(ctx, started, opts.Signals)
	rep.ExitCode, rep.Detached = code, detached
	return rep, err
}

// forwardSignals sends each signal to the container until stop is closed.
func (e *Engine) forwardSignals(ctx context.Context, id string, sigs <-chan os.Signal, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case s := <-sigs:
			if sig, ok := s.(syscall.Signal); ok {
				if _, err := e.ContainerKill(ctx, []string{id}, ContainerKillOptions{Signal: sig}); err != nil {
					logrus.Debugf("forward %v to %s: %v", sig, id, err)
				}
			}
		}
	}
}

// attachAndWait waits for the attach session to end, then for the
// container's exit, and cleans it up (which removes a --rm container),
// returning the exit code. Signals, when not nil, are forwarded to the
// container meanwhile (podman's --sig-proxy).
func (e *Engine) attachAndWait(ctx context.Context, s *startedCtr, signals <-chan os.Signal) (int, bool, error) {
	c := s.c
	if signals != nil {
		stop := make(chan struct{})
		defer close(stop)
		go e.forwardSignals(ctx, c.ID, signals, stop)
	}
	err := <-s.attached
	if errors.Is(err, monitor.ErrDetached) {
		s.claim.Release()
		return 0, true, nil
	}
	if err != nil {
		logrus.Debugf("attach to %s: %v", c.Name, err)
	}
	if !e.waitExit(ctx, c, math.MaxInt64) {
		s.claim.Release()
		return -1, false, fmt.Errorf("wait for %s: %w", c.Name, ctx.Err())
	}
	st, _ := e.readExit(c)
	logrus.Debugf("%s exited with %d: cleaning up", c.Name, st.ExitCode)
	if err := e.ContainerCleanup(context.WithoutCancel(ctx), c.ID); err != nil && !errors.Is(err, define.ErrNoSuchContainer) {
		s.claim.Release()
		return st.ExitCode, false, err
	}
	s.claim.Done()
	return st.ExitCode, false, nil
}

// ContainerStartOptions configure ContainerStart.
type ContainerStartOptions struct {
	// Attach streams the (single) container's output and waits for it.
	Attach  bool
	Streams monitor.AttachStreams
	// Signals are forwarded to the attached container; nil forwards none.
	Signals <-chan os.Signal
	All     bool
}

// ContainerStart starts created or exited containers. Starting a running
// one succeeds and changes nothing, as podman. With Attach, the exit code
// of the one container is in its report's ExitCode.
func (e *Engine) ContainerStart(ctx context.Context, names []string, opts ContainerStartOptions) ([]StartReport, error) {
	if opts.Attach && (len(names) != 1 || opts.All) {
		return nil, fmt.Errorf("you cannot attach to more than one container at a time: %w", define.ErrInvalidArg)
	}
	var reports []StartReport
	var toAttach *startedCtr
	base, err := e.eachCtr(ctx, names, opts.All, false, func(c *ctr) error {
		if c.State.Status == define.StatusRunning || c.State.Status == define.StatusPaused {
			if opts.All || !opts.Attach {
				return nil
			}
		}
		var streams *monitor.AttachStreams
		if opts.Attach {
			streams = &opts.Streams
		}
		started, err := e.startLocked(ctx, c, streams)
		toAttach = started
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, b := range base {
		reports = append(reports, StartReport{ContainerReport: b})
	}
	if opts.Attach && toAttach != nil && base[0].Err == nil {
		code, detached, err := e.attachAndWait(ctx, toAttach, opts.Signals)
		reports[0].ExitCode, reports[0].Detached, reports[0].Err = code, detached, err
	}
	return reports, nil
}

// StartReport is one container's start, with its exit code when attached.
type StartReport struct {
	ContainerReport
	ExitCode int
	Detached bool
}

// ContainerAttachOptions configure ContainerAttach.
type ContainerAttachOptions struct {
	Streams monitor.AttachStreams
	// Signals are forwarded to the container; nil forwards none.
	Signals <-chan os.Signal
}

// ContainerAttach attaches to a running container until it exits (its
// exit code is returned) or the user detaches.
func (e *Engine) ContainerAttach(ctx context.Context, name string, opts ContainerAttachOptions) (*ContainerRunReport, error) {
	c, err := e.lookupCtr(ctx, name)
	if err != nil {
		return nil, err
	}
	if c.State.Status != define.StatusRunning {
		return nil, fmt.Errorf("you can only attach to running containers: %s is %s: %w", c.Name, c.State.Status, define.ErrCtrStateInvalid)
	}
	if c.cfg.Spec.LogDriver == monitor.LogDriverPassthrough {
		return nil, fmt.Errorf("container %s uses the passthrough log driver: there is nothing to attach to: %w", c.Name, define.ErrInvalidArg)
	}
	attached := make(chan error, 1)
	go func() { attached <- monitor.Attach(ctx, filepath.Join(e.runDir(c.ID), attachSocket), opts.Streams) }()
	code, detached, err := e.attachAndWait(ctx, &startedCtr{c: c, attached: attached}, opts.Signals)
	return &ContainerRunReport{ID: c.ID, Name: c.Name, ExitCode: code, Detached: detached}, err
}
