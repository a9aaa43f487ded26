package libengine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/libengine/state"
	"github.com/engine-oss/engine/pkg/specgen"
	"github.com/sirupsen/logrus"
	"go.podman.io/storage"
	"golang.org/x/sys/unix"
)

// Health statuses, as podman and docker name them.
const (
	HealthStarting  = "starting"
	HealthHealthy   = "healthy"
	HealthUnhealthy = "unhealthy"
)

// Health checks. Without a daemon, the container's monitor runs
// `engine healthcheck run ID` every interval (see monitor.Config's
// HealthCommand); each run execs the check in the container, records the
// result in the state database, and carries out --health-on-failure. Under
// systemd podman uses a transient timer instead; the monitor's ticker does
// the same job without one, and works where systemd does not run.
const (
	// healthKillGrace is how long a check that timed out is given to end
	// after it was sent SIGTERM.
	healthKillGrace = 2 * time.Second
)

// dockerHealthcheck is the HEALTHCHECK of a Docker image config, which
// the OCI image config has no field for.
type dockerHealthcheck struct {
	Config struct {
		Healthcheck *struct {
			Test        []string
			Interval    time.Duration
			Timeout     time.Duration
			StartPeriod time.Duration
			Retries     int
		}
	} `json:"config"`
}

// parseImageHealthcheck returns the HEALTHCHECK of an image's raw config,
// with podman's defaults for the durations and retries it leaves at 0, or
// nil when there is none.
func parseImageHealthcheck(config []byte) (*specgen.HealthConfig, error) {
	var d dockerHealthcheck
	if err := json.Unmarshal(config, &d); err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	hc := d.Config.Healthcheck
	if hc == nil || len(hc.Test) == 0 {
		return nil, nil
	}
	if !slices.Contains([]string{"CMD", "CMD-SHELL", "NONE"}, hc.Test[0]) || (hc.Test[0] != "NONE" && len(hc.Test) < 2) {
		return nil, fmt.Errorf("image config: HEALTHCHECK test %q: want CMD, CMD-SHELL or NONE and a command: %w", hc.Test, define.ErrInvalidArg)
	}
	h := &specgen.HealthConfig{Test: hc.Test, Interval: hc.Interval, Timeout: hc.Timeout, StartPeriod: hc.StartPeriod, Retries: hc.Retries}
	if h.Interval <= 0 {
		h.Interval = specgen.DefaultHealthInterval
	}
	if h.Timeout <= 0 {
		h.Timeout = specgen.DefaultHealthTimeout
	}
	if h.Retries <= 0 {
		h.Retries = specgen.DefaultHealthRetries
	}
	return h, nil
}

// imageHealthcheck gives a container without --health-cmd its image's
// HEALTHCHECK, and checks that --sdnotify=healthy has a check to wait for.
func (e *Engine) imageHealthcheck(img *storage.Image, s *specgen.SpecGenerator) error {
	if s.HealthConfig == nil {
		if key := configKey(img); key != "" {
			blob, err := e.store.ImageBigData(img.ID, key)
			if err != nil {
				return fmt.Errorf("read config of image %s: %w", img.ID, err)
			}
			if s.HealthConfig, err = parseImageHealthcheck(blob); err != nil {
				return fmt.Errorf("image %s: %w", img.ID, err)
			}
		}
	}
	if s.SdNotifyMode == specgen.SdNotifyHealthy {
		if h := s.HealthConfig; !h.Enabled() || h.Interval == 0 {
			return fmt.Errorf("--sdnotify=healthy waits for a health check the monitor runs: add --health-cmd (and an interval other than disable): %w", define.ErrInvalidArg)
		}
	}
	return nil
}

// resetHealth marks a container that was just started as starting; the
// results of its earlier checks are kept.
func (e *Engine) resetHealth(ctx context.Context, c *ctr) {
	if !c.cfg.Spec.HealthConfig.Enabled() {
		return
	}
	h, err := e.db.Health(ctx, c.ID)
	if err != nil || h == nil {
		h = &state.Health{}
	}
	h.Status, h.FailingStreak = HealthStarting, 0
	if err := e.db.SetHealth(ctx, c.ID, h); err != nil {
		logrus.Warnf("container %s: reset health: %v", c.Name, err)
	}
}

// HealthcheckReport is the outcome of one health check.
type HealthcheckReport struct {
	// Status is the container's health after the check: starting,
	// healthy or unhealthy.
	Status string
	// ExitCode is the check's exit code, -1 when it timed out.
	ExitCode int
	// Action is the --health-on-failure action taken, if any.
	Action string
}

// ContainerHealthcheckRun runs a running container's health check once,
// records the result (inspect's State.Health), and, when the container is
// found unhealthy, carries out its --health-on-failure action. A check
// that exits 0 passes; one that fails counts toward the retries unless the
// container is in its start period. Errors wrap define.ErrNoSuchContainer,
// define.ErrCtrStateInvalid when it is not running, and
// define.ErrInvalidArg when it has no health check.
func (e *Engine) ContainerHealthcheckRun(ctx context.Context, nameOrID string) (*HealthcheckReport, error) {
	c, err := e.lookupCtr(ctx, nameOrID)
	if err != nil {
		return nil, err
	}
	hc := c.cfg.Spec.HealthConfig
	if !hc.Enabled() {
		return nil, fmt.Errorf("container %s has no defined healthcheck: %w", c.Name, define.ErrInvalidArg)
	}
	if c.State.Status != define.StatusRunning {
		return nil, fmt.Errorf("container %s is not running: %w", c.Name, define.ErrCtrStateInvalid)
	}
	start := time.Now()
	code, output, err := e.execHealthcheck(ctx, c, hc)
	if err != nil {
		return nil, err
	}
	end := time.Now()
	inStartPeriod := hc.StartPeriod > 0 && start.Before(c.State.StartedAt.Add(hc.StartPeriod))

	rep := &HealthcheckReport{ExitCode: code}
	err = e.withCtr(ctx, c.ID, func(c *ctr) error {
		if c.State.Status != define.StatusRunning {
			return fmt.Errorf("container %s stopped during its health check: %w", c.Name, define.ErrCtrStateInvalid)
		}
		h, err := e.db.Health(ctx, c.ID)
		if err != nil {
			return err
		}
		if h == nil {
			h = &state.Health{Status: HealthStarting}
		}
		updateHealth(h, state.HealthLog{Start: start, End: end, ExitCode: code, Output: output}, inStartPeriod, hc)
		rep.Status = h.Status
		return e.db.SetHealth(ctx, c.ID, h)
	})
	if err != nil {
		return nil, err
	}
	e.ctrEvent(ctx, c.Container, "health_status", map[string]string{"health_status": rep.Status})
	if rep.Status == HealthUnhealthy && code != 0 {
		rep.Action, err = e.healthOnFailure(ctx, c)
	}
	return rep, err
}

// updateHealth adds a check's result to h as podman does: a pass makes the
// container healthy; failures outside the start period add to the failing
// streak, which at retries makes it unhealthy.
func updateHealth(h *state.Health, l state.HealthLog, inStartPeriod bool, hc *specgen.HealthConfig) {
	if l.ExitCode == 0 {
		h.Status, h.FailingStreak = HealthHealthy, 0
	} else if !inStartPeriod {
		h.FailingStreak++
		if h.FailingStreak >= hc.Retries {
			h.Status = HealthUnhealthy
		}
	}
	h.Log = append(h.Log, l)
	if n := orDefault(hc.MaxLogCount, specgen.DefaultHealthLogCount); n > 0 && len(h.Log) > n {
		h.Log = h.Log[len(h.Log)-n:]
	}
}

// orDefault applies HealthConfig's convention for limits: 0 is the
// default, negative is none (returned as 0).
func orDefault(n, def int) int {
	switch {
	case n == 0:
		return def
	case n < 0:
		return 0
	}
	return n
}

// execHealthcheck runs the check in the container and returns its exit
// code and the start of its output. A check that runs past its timeout is
// sent SIGTERM and counts as failed (-1); one the runtime cannot start
// (command missing: 126, 127) fails with that code.
func (e *Engine) execHealthcheck(ctx context.Context, c *ctr, hc *specgen.HealthConfig) (int, string, error) {
	out := &limitedBuffer{max: orDefault(hc.MaxLogSize, specgen.DefaultHealthLogSize)}
	sigs := make(chan os.Signal, 1)
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		code, err := e.ContainerExec(ctx, c.ID, ContainerExecOptions{Cmd: hc.Command(), Stdout: out, Stderr: out, Signals: sigs})
		done <- result{code, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-time.After(hc.Timeout):
		sigs <- unix.SIGTERM
		select {
		case <-done:
		case <-time.After(healthKillGrace):
		}
		return -1, fmt.Sprintf("healthcheck command exceeded timeout of %s", hc.Timeout), nil
	}
	var ee *define.ExitError
	switch {
	case errors.As(r.err, &ee):
		return ee.Code, ee.Error(), nil
	case r.err != nil:
		return 0, "", r.err
	}
	return r.code, out.String(), nil
}

// healthOnFailure carries out the container's --health-on-failure action.
func (e *Engine) healthOnFailure(ctx context.Context, c *ctr) (string, error) {
	var reports []ContainerReport
	var err error
	action := c.cfg.Spec.HealthOnFailure
	switch action {
	case specgen.HealthOnFailureKill:
		reports, err = e.ContainerKill(ctx, []string{c.ID}, ContainerKillOptions{Signal: syscall.SIGKILL})
	case specgen.HealthOnFailureStop:
		reports, err = e.ContainerStop(ctx, []string{c.ID}, ContainerStopOptions{})
	case specgen.HealthOnFailureRestart:
		reports, err = e.ContainerRestart(ctx, []string{c.ID}, ContainerRestartOptions{})
	default:
		return "", nil
	}
	if err == nil && len(reports) == 1 {
		err = reports[0].Err
	}
	if err != nil {
		return action, fmt.Errorf("container %s is unhealthy: --health-on-failure=%s: %w", c.Name, action, err)
	}
	logrus.Infof("container %s is unhealthy: %s", c.Name, action)
	return action, nil
}

// limitedBuffer keeps the first max bytes written to it (all when max is
// 0), from any number of goroutines.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.max == 0 {
		b.buf.Write(p)
	} else if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// InspectHealth is inspect's State.Health: the container's health and its
// last checks, oldest first.
type InspectHealth struct {
	Status        string
	FailingStreak int
	Log           []InspectHealthLog
}

// InspectHealthLog is one check.
type InspectHealthLog struct {
	Start    time.Time
	End      time.Time
	ExitCode int
	Output   string
}

// InspectHealthConfig is inspect's Config.Healthcheck, Docker's shape:
// durations in nanoseconds.
type InspectHealthConfig struct {
	Test        []string
	Interval    time.Duration `json:",omitempty"`
	Timeout     time.Duration `json:",omitempty"`
	StartPeriod time.Duration `json:",omitempty"`
	Retries     int           `json:",omitempty"`
}

// inspectHealth returns a container's health for inspect: nil without a
// health check, starting before its first check.
func (e *Engine) inspectHealth(ctx context.Context, c *ctr) *InspectHealth {
	if !c.cfg.Spec.HealthConfig.Enabled() {
		return nil
	}
	h, err := e.db.Health(ctx, c.ID)
	if err != nil {
		logrus.Debugf("container %s: %v", c.Name, err)
	}
	out := &InspectHealth{Status: HealthStarting, Log: []InspectHealthLog{}}
	if h != nil {
		out.Status, out.FailingStreak = h.Status, h.FailingStreak
		for _, l := range h.Log {
			out.Log = append(out.Log, InspectHealthLog(l))
		}
	}
	return out
}

// inspectHealthConfig returns the health check for inspect's Config.
func inspectHealthConfig(s *specgen.SpecGenerator) (*InspectHealthConfig, string) {
	h := s.HealthConfig
	if h == nil {
		return nil, ""
	}
	action := s.HealthOnFailure
	if action == "" && h.Enabled() {
		action = specgen.HealthOnFailureNone
	}
	return &InspectHealthConfig{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod, Retries: h.Retries}, action
}

// healthStatuses returns the health status of each running container with
// a health check, by ID, for ps.
func (e *Engine) healthStatuses(ctx context.Context, ctrs []*ctr) map[string]string {
	out := map[string]string{}
	for _, c := range ctrs {
		if c.State.Status == define.StatusRunning && c.cfg.Spec.HealthConfig.Enabled() {
			out[c.ID] = HealthStarting
		}
	}
	if len(out) == 0 {
		return out
	}
	healths, err := e.db.Healths(ctx)
	if err != nil {
		logrus.Debugf("ps: %v", err)
	}
	for id := range out {
		if h := healths[id]; h != nil && h.Status != "" {
			out[id] = h.Status
		}
	}
	return out
}
