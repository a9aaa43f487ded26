package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/specgen"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// systemdFlags are the run and create flags for running under systemd and
// for health checks.
type systemdFlags struct {
	sdnotify          string
	cgroups           string
	healthCmd         string
	healthInterval    string
	healthRetries     uint
	healthStartPeriod string
	healthTimeout     string
	healthOnFailure   string
	healthLogDest     string
	healthLogCount    uint
	healthLogSize     uint
	noHealthcheck     bool
	startup           startupHealthFlags
}

// startupHealthFlags are podman's --health-startup-* flags, accepted so
// that they fail with a message rather than as unknown flags: the engine
// has no startup health check yet.
type startupHealthFlags struct {
	cmd, interval, timeout string
	retries, successes     uint
}

func (f *systemdFlags) add(fl *pflag.FlagSet) {
	fl.StringVar(&f.sdnotify, "sdnotify", specgen.SdNotifyConmon, "how a systemd Type=notify unit learns the container is ready: conmon, container, healthy or ignore")
	fl.StringVar(&f.cgroups, "cgroups", specgen.CgroupsEnabled, "the container's cgroup: enabled, disabled, no-conmon or split")
	fl.StringVar(&f.healthCmd, "health-cmd", "", "health check: a shell command, a JSON array of the command and its arguments, or none")
	fl.StringVar(&f.healthInterval, "health-interval", specgen.DefaultHealthInterval.String(), "time between health checks, or disable")
	fl.UintVar(&f.healthRetries, "health-retries", specgen.DefaultHealthRetries, "consecutive failed checks that make the container unhealthy")
	fl.StringVar(&f.healthStartPeriod, "health-start-period", "0s", "time after start during which failed checks do not count")
	fl.StringVar(&f.healthTimeout, "health-timeout", specgen.DefaultHealthTimeout.String(), "time a check may take before it counts as failed")
	fl.StringVar(&f.healthOnFailure, "health-on-failure", specgen.HealthOnFailureNone, "action when the container becomes unhealthy: none, kill, restart or stop")
	fl.StringVar(&f.healthLogDest, "health-log-destination", "local", "where health check results go: local (the state database, shown by inspect)")
	fl.UintVar(&f.healthLogCount, "health-max-log-count", specgen.DefaultHealthLogCount, "health check results kept (0: all)")
	fl.UintVar(&f.healthLogSize, "health-max-log-size", specgen.DefaultHealthLogSize, "bytes of a health check's output kept (0: all)")
	fl.BoolVar(&f.noHealthcheck, "no-healthcheck", false, "turn off the image's health check")
	const later = " (not supported yet)"
	fl.StringVar(&f.startup.cmd, "health-startup-cmd", "", "startup health check command"+later)
	fl.StringVar(&f.startup.interval, "health-startup-interval", "", "time between startup health checks"+later)
	fl.UintVar(&f.startup.retries, "health-startup-retries", 0, "failed startup checks before a restart"+later)
	fl.UintVar(&f.startup.successes, "health-startup-success", 0, "passed startup checks before the health check starts"+later)
	fl.StringVar(&f.startup.timeout, "health-startup-timeout", "", "time a startup check may take"+later)
}

// apply sets the flags' values on s; the other --health-* flags shape the
// check of --health-cmd only (the image's keeps its own settings). The
// systemd unit the engine runs in, as quadlet and generated units announce
// it in $PODMAN_SYSTEMD_UNIT (or $ENGINE_SYSTEMD_UNIT), is recorded as the
// PODMAN_SYSTEMD_UNIT label, which auto-update reads.
func (f *systemdFlags) apply(fl *pflag.FlagSet, s *specgen.SpecGenerator) error {
	if fl.Changed("sdnotify") {
		s.SdNotifyMode = f.sdnotify
	}
	if fl.Changed("cgroups") {
		s.CgroupsMode = f.cgroups
	}
	if fl.Changed("health-on-failure") {
		s.HealthOnFailure = f.healthOnFailure
	}
	for _, name := range []string{"health-startup-cmd", "health-startup-interval", "health-startup-retries", "health-startup-success", "health-startup-timeout"} {
		if fl.Changed(name) {
			return fmt.Errorf("--%s: startup health checks are not supported yet: drop the --health-startup-* flags (in a quadlet, the HealthStartup*= keys);"+
				" --health-start-period gives a check time before failures count: %w", name, define.ErrNotImplemented)
		}
	}
	if unit := firstEnv("PODMAN_SYSTEMD_UNIT", "ENGINE_SYSTEMD_UNIT"); unit != "" {
		if s.Labels == nil {
			s.Labels = map[string]string{}
		}
		if _, set := s.Labels[libengine.SystemdUnitLabel]; !set {
			s.Labels[libengine.SystemdUnitLabel] = unit
		}
	}
	if f.noHealthcheck {
		if fl.Changed("health-cmd") {
			return fmt.Errorf("--no-healthcheck conflicts with --health-cmd: drop one: %w", define.ErrInvalidArg)
		}
		s.HealthConfig = &specgen.HealthConfig{Test: []string{"NONE"}}
		return nil
	}
	if f.healthLogDest != "local" {
		return fmt.Errorf("--health-log-destination %q: only local is supported yet: %w", f.healthLogDest, define.ErrNotImplemented)
	}
	if !fl.Changed("health-cmd") {
		for _, name := range []string{"health-interval", "health-retries", "health-start-period", "health-timeout", "health-max-log-count", "health-max-log-size"} {
			if fl.Changed(name) {
				return fmt.Errorf("--%s needs --health-cmd: the image's health check keeps its own settings: %w", name, define.ErrInvalidArg)
			}
		}
		return nil
	}
	test, err := specgen.ParseHealthCmd(f.healthCmd)
	if err != nil {
		return err
	}
	h := &specgen.HealthConfig{Test: test, Retries: int(f.healthRetries),
		MaxLogCount: unlimitedIfZero(f.healthLogCount), MaxLogSize: unlimitedIfZero(f.healthLogSize)}
	if h.Interval, err = specgen.ParseHealthInterval(f.healthInterval); err != nil {
		return err
	}
	if h.Timeout, err = specgen.ParseHealthDuration("--health-timeout", f.healthTimeout, true); err != nil {
		return err
	}
	if h.StartPeriod, err = specgen.ParseHealthDuration("--health-start-period", f.healthStartPeriod, false); err != nil {
		return err
	}
	s.HealthConfig = h
	return nil
}

// firstEnv returns the value of the first of the variables that is set.
func firstEnv(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}

// withCIDFiles adds --cidfile to stop or rm, as podman's: the containers
// whose IDs `run --cidfile` wrote to the files are acted on too, which is
// how systemd units name the container they created. With ignore set, a
// missing file is skipped.
func withCIDFiles(cmd *cobra.Command, ignore *bool) *cobra.Command {
	var files []string
	cmd.Flags().StringArrayVar(&files, "cidfile", nil, "read the container ID from the file (repeatable)")
	run := cmd.RunE
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(files) == 0 {
			return run(cmd, args)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if *ignore && errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				return fmt.Errorf("--cidfile: %w", err)
			}
			id := strings.TrimSpace(string(b))
			if id == "" {
				return fmt.Errorf("--cidfile %s holds no container ID: %w", f, define.ErrInvalidArg)
			}
			args = append(args, id)
		}
		if len(args) == 0 {
			return nil // every file was missing, and --ignore said that is fine
		}
		return run(cmd, args)
	}
	return cmd
}

// unlimitedIfZero maps a flag's 0 (no limit) to HealthConfig's -1.
func unlimitedIfZero(n uint) int {
	if n == 0 {
		return -1
	}
	return int(n)
}
