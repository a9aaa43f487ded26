package specgen

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// HealthConfig is a container's health check, in the shape of Docker's
// image config (and podman's): the image's HEALTHCHECK, or the --health-*
// flags. A SpecGenerator holds it with the defaults applied.
type HealthConfig struct {
	// Test is the check: ["CMD", ARG...] runs ARGs directly,
	// ["CMD-SHELL", COMMAND] runs COMMAND with /bin/sh -c, and ["NONE"]
	// turns off a check the image defines.
	Test []string `json:"test,omitempty"`
	// Interval is the time between two checks run by the container's
	// monitor; 0 runs none (--health-interval=disable), leaving checks to
	// `engine healthcheck run`.
	Interval time.Duration `json:"interval,omitempty"`
	// Timeout is how long one check may take before it counts as failed.
	Timeout time.Duration `json:"timeout,omitempty"`
	// StartPeriod is the time after a start during which failed checks
	// are not counted, until one passes.
	StartPeriod time.Duration `json:"startPeriod,omitempty"`
	// Retries is the number of consecutive failed checks that make the
	// container unhealthy.
	Retries int `json:"retries,omitempty"`
	// MaxLogCount is how many results are kept (--health-max-log-count),
	// and MaxLogSize how many bytes of each one's output
	// (--health-max-log-size): 0 means the default, a negative value no
	// limit.
	MaxLogCount int `json:"maxLogCount,omitempty"`
	MaxLogSize  int `json:"maxLogSize,omitempty"`
}

// Health check defaults, as podman's.
const (
	DefaultHealthInterval = 30 * time.Second
	DefaultHealthTimeout  = 30 * time.Second
	DefaultHealthRetries  = 3
	DefaultHealthLogCount = 5
	DefaultHealthLogSize  = 500
)

// Health check actions (--health-on-failure) taken by `engine healthcheck
// run` when a check finds the container unhealthy.
const (
	HealthOnFailureNone    = "none"
	HealthOnFailureKill    = "kill"
	HealthOnFailureRestart = "restart"
	HealthOnFailureStop    = "stop"
)

// --sdnotify modes: how a container started by a systemd Type=notify
// service tells systemd it is ready.
const (
	SdNotifyConmon    = "conmon"
	SdNotifyContainer = "container"
	SdNotifyHealthy   = "healthy"
	SdNotifyIgnore    = "ignore"
)

// --cgroups modes.
const (
	CgroupsEnabled  = "enabled"
	CgroupsDisabled = "disabled"
	CgroupsNoConmon = "no-conmon"
	CgroupsSplit    = "split"
)

// Enabled reports whether the check is to be run: it has a test other
// than NONE.
func (h *HealthConfig) Enabled() bool {
	return h != nil && len(h.Test) > 0 && h.Test[0] != "NONE"
}

// Command is the process a check runs: CMD's arguments, or CMD-SHELL's
// command under /bin/sh -c.
func (h *HealthConfig) Command() []string {
	if !h.Enabled() || len(h.Test) < 2 {
		return nil
	}
	if h.Test[0] == "CMD-SHELL" {
		return []string{"/bin/sh", "-c", strings.Join(h.Test[1:], " ")}
	}
	return slices.Clone(h.Test[1:])
}

// ParseHealthCmd parses --health-cmd as podman does: a JSON array is the
// test itself (["CMD", ...], ["CMD-SHELL", ...] or ["NONE"]; another first
// element means CMD), "none" turns the image's check off, and any other
// string is a shell command (CMD-SHELL).
func ParseHealthCmd(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return nil, invalid("--health-cmd is empty: give a command, or \"none\" to turn off the image's check")
	case strings.EqualFold(s, "none"):
		return []string{"NONE"}, nil
	case !strings.HasPrefix(s, "["):
		return []string{"CMD-SHELL", s}, nil
	}
	var test []string
	if err := json.Unmarshal([]byte(s), &test); err != nil || len(test) == 0 {
		return nil, invalid("--health-cmd %q: write a JSON array of strings, e.g. [\"CMD\",\"curl\",\"-f\",\"http://localhost/\"]", s)
	}
	switch test[0] {
	case "CMD", "CMD-SHELL", "NONE":
	default:
		test = append([]string{"CMD"}, test...)
	}
	return test, nil
}

// ParseHealthInterval parses --health-interval: a duration, or "disable"
// (returned as 0) for no automatic checks.
func ParseHealthInterval(s string) (time.Duration, error) {
	if s == "disable" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, invalid("--health-interval %q: use a positive duration such as 30s or 1m, or disable", s)
	}
	return d, nil
}

// ParseHealthDuration parses the --health-timeout and
// --health-start-period durations; timeout must be positive.
func ParseHealthDuration(flag, s string, positive bool) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 || (positive && d == 0) {
		return 0, invalid("%s %q: use a duration such as 30s or 1m", flag, s)
	}
	return d, nil
}

// validateSystemd checks --sdnotify, --cgroups and the health check.
func (s *SpecGenerator) validateSystemd() error {
	switch s.SdNotifyMode {
	case "", SdNotifyConmon, SdNotifyContainer, SdNotifyHealthy, SdNotifyIgnore:
	default:
		return invalid("--sdnotify %q: use conmon, container, healthy or ignore", s.SdNotifyMode)
	}
	switch s.CgroupsMode {
	case "", CgroupsEnabled, CgroupsNoConmon, CgroupsSplit:
	case CgroupsDisabled:
		r := s.Resources
		if r.Memory != nil || r.MemorySwap != nil || r.CPUs != nil || r.CPUShares != nil || r.CPUSetCPUs != "" || r.PidsLimit != nil {
			return invalid("--cgroups=disabled cannot limit resources: drop --memory, --cpus, --cpu-shares, --cpuset-cpus and --pids-limit, or use --cgroups=enabled")
		}
		if s.Namespaces.Cgroup != "" {
			return invalid("--cgroups=disabled conflicts with --cgroupns: drop one")
		}
	default:
		return invalid("--cgroups %q: use enabled, disabled, no-conmon or split", s.CgroupsMode)
	}
	switch s.HealthOnFailure {
	case "", HealthOnFailureNone, HealthOnFailureKill, HealthOnFailureRestart, HealthOnFailureStop:
	default:
		return invalid("--health-on-failure %q: use none, kill, restart or stop", s.HealthOnFailure)
	}
	if s.HealthOnFailure == HealthOnFailureRestart && s.Remove {
		return invalid("--health-on-failure=restart conflicts with --rm: the container would be removed, not restarted; use kill and let systemd restart it")
	}
	h := s.HealthConfig
	if h == nil {
		return nil
	}
	if len(h.Test) == 0 {
		return invalid("the health check has no command: set --health-cmd")
	}
	switch h.Test[0] {
	case "NONE":
		return nil
	case "CMD", "CMD-SHELL":
		if len(h.Test) < 2 || strings.TrimSpace(strings.Join(h.Test[1:], "")) == "" {
			return invalid("--health-cmd %q: give the command to run", strings.Join(h.Test, " "))
		}
	default:
		return invalid("health check test %q: start it with CMD, CMD-SHELL or NONE", h.Test[0])
	}
	switch {
	case h.Interval < 0:
		return invalid("--health-interval %s: must not be negative", h.Interval)
	case h.Timeout <= 0:
		return invalid("--health-timeout %s: must be positive", h.Timeout)
	case h.StartPeriod < 0:
		return invalid("--health-start-period %s: must not be negative", h.StartPeriod)
	case h.Retries < 1:
		return invalid("--health-retries %d: must be at least 1", h.Retries)
	}
	return nil
}
