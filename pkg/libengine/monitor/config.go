// Package monitor is the container monitor: the small process that stays
// with each container for its whole life (the engine's conmon), and the
// engine's side of talking to it.
//
// The engine writes a Config beside the container's other run files and
// calls Spawn, which starts the engine-monitor binary detached; the monitor
// runs `RUNTIME run --detach` (create and start in one call), reports the
// container's pid, and then holds the container's stdio: it writes the log, serves the attach socket, reaps the
// container, writes the exit file and runs the exit command. Attach, ReadLog
// and ReadExitFile are for the engine's attach, logs and wait paths.
//
// The package may import only the standard library, golang.org/x/sys/unix
// and the OCI runtime spec, and the monitor's path avoids package net, fmt
// and reflection-heavy code, so that an idle monitor stays under 3 MiB
// resident. See docs/monitor.md.
package monitor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Log drivers understood by the monitor.
const (
	LogDriverK8sFile     = "k8s-file"    // CRI text format (the default)
	LogDriverJSONFile    = "json-file"   // docker's JSON lines
	LogDriverNone        = "none"        // output is dropped (attach still works)
	LogDriverPassthrough = "passthrough" // the container uses the caller's stdio
)

// Config is what the monitor needs to run one container. The engine writes
// it as JSON in the container's run directory; the runtime's own log
// ("oci-log", where the monitor reads the runtime's errors from) is
// written beside it.
type Config struct {
	// ID is the container's id for the runtime. Required.
	ID string `json:"id"`
	// Bundle is the OCI bundle directory holding config.json. Required.
	Bundle string `json:"bundle"`
	// RuntimePath is the OCI runtime binary's absolute path. Required.
	RuntimePath string `json:"runtimePath"`
	// RuntimeStateDir is passed to the runtime as --root; empty for its default.
	RuntimeStateDir string `json:"runtimeStateDir,omitempty"`
	// Terminal must match process.terminal of the bundle's config.json: the
	// monitor then receives the pty master through a console socket.
	Terminal bool `json:"terminal,omitempty"`
	// Stdin keeps the container's stdin open for attach clients; without it
	// the container's stdin is /dev/null (or, with a terminal, input from
	// clients is dropped).
	Stdin bool `json:"stdin,omitempty"`
	// LogDriver is one of the LogDriver constants; empty means k8s-file.
	// With passthrough the container gets the monitor's own stdio (see
	// Spawn), nothing is logged, no attach socket is served, and Terminal
	// must be false.
	LogDriver string `json:"logDriver,omitempty"`
	// LogPath is the container log; required for k8s-file and json-file.
	LogPath string `json:"logPath,omitempty"`
	// LogMaxSize, when positive, rotates the log once writing would take it
	// past this many bytes: the old file becomes LogPath+".1" (replacing an
	// older one) and a new file is started.
	LogMaxSize int64 `json:"logMaxSize,omitempty"`
	// AttachSocket is where the monitor serves attach clients; optional.
	// Paths longer than a unix socket address allows are handled, but the
	// file name itself must be short.
	AttachSocket string `json:"attachSocket,omitempty"`
	// ExitFile receives the container's ExitStatus as JSON, atomically,
	// when it exits. Required.
	ExitFile string `json:"exitFile"`
	// PidFile is passed to the runtime as --pid-file. Required.
	PidFile string `json:"pidFile"`
	// ExitCommand, when set, runs after the exit file is written, with its
	// stdio on /dev/null; the monitor waits for it before exiting. Its first
	// element is an absolute path: there is no $PATH lookup.
	ExitCommand []string `json:"exitCommand,omitempty"`
	// CleanupClaim, when set, is a lock file by which an attached caller
	// says it will clean up after the container itself (the CLI of a
	// foreground run): it holds an exclusive flock on the file from before
	// Spawn until it has cleaned up, and then unlinks it. The monitor opens
	// it when it starts; once the container has exited it waits for the
	// lock and runs ExitCommand only if the file was not unlinked, that is
	// when the caller went away (detached, killed) without cleaning up. This
	// spares a second engine process competing with the caller.
	CleanupClaim string `json:"cleanupClaim,omitempty"`
	// NotifySocket is the service manager's sd_notify socket (the
	// NOTIFY_SOCKET systemd gave the engine): a path, or an abstract name
	// starting with '@'. Empty sends nothing. Once the container has
	// started, the monitor sends MAINPID=<its own pid> and, as NotifyMode
	// says, READY=1.
	NotifySocket string `json:"notifySocket,omitempty"`
	// NotifyMode is NotifyConmon (the default when empty), NotifyContainer
	// or NotifyHealthy; see those constants.
	NotifyMode string `json:"notifyMode,omitempty"`
	// NotifyProxy, required with NotifyContainer, is the datagram socket the
	// monitor creates before `runtime run` and relays to NotifySocket;
	// the engine mounts its directory into the container.
	NotifyProxy string `json:"notifyProxy,omitempty"`
	// HealthCommand, when set, is run every HealthInterval while the
	// container runs, with its stdio on /dev/null; a tick that finds the
	// previous run still going is skipped. Its first element is an absolute
	// path. An exit status of 0 means the check passed (NotifyHealthy).
	HealthCommand []string `json:"healthCommand,omitempty"`
	// HealthInterval must be positive when HealthCommand is set.
	HealthInterval time.Duration `json:"healthInterval,omitempty"`
}

// WriteFile writes c as JSON to path, for ReadConfig.
func (c *Config) WriteFile(path string) error {
	b := []byte{'{'}
	key := func(k string) {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = append(append(append(b, '"'), k...), '"', ':')
	}
	str := func(k, v string) {
		if v != "" {
			key(k)
			b = appendJSONString(b, []byte(v), false)
		}
	}
	strs := func(k string, v []string) {
		if len(v) > 0 {
			key(k)
			b = append(b, '[')
			for i, arg := range v {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendJSONString(b, []byte(arg), false)
			}
			b = append(b, ']')
		}
	}
	boolean := func(k string, v bool) {
		if v {
			key(k)
			b = append(b, "true"...)
		}
	}
	str("id", c.ID)
	str("bundle", c.Bundle)
	str("runtimePath", c.RuntimePath)
	str("runtimeStateDir", c.RuntimeStateDir)
	boolean("terminal", c.Terminal)
	boolean("stdin", c.Stdin)
	str("logDriver", c.LogDriver)
	str("logPath", c.LogPath)
	if c.LogMaxSize != 0 {
		key("logMaxSize")
		b = strconv.AppendInt(b, c.LogMaxSize, 10)
	}
	str("attachSocket", c.AttachSocket)
	str("exitFile", c.ExitFile)
	str("pidFile", c.PidFile)
	strs("exitCommand", c.ExitCommand)
	str("cleanupClaim", c.CleanupClaim)
	str("notifySocket", c.NotifySocket)
	str("notifyMode", c.NotifyMode)
	str("notifyProxy", c.NotifyProxy)
	strs("healthCommand", c.HealthCommand)
	if c.HealthInterval != 0 {
		key("healthInterval")
		b = strconv.AppendInt(b, int64(c.HealthInterval), 10)
	}
	b = append(b, '}', '\n')
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("write monitor config: %w", err)
	}
	return nil
}

// ReadConfig reads and validates a Config written by WriteFile. Keys must
// be spelled as WriteFile writes them.
func ReadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := decodeConfig(data)
	if err != nil {
		return nil, wrap(err, "monitor config "+path)
	}
	if err := c.validate(); err != nil {
		return nil, wrap(err, "monitor config "+path)
	}
	return c, nil
}

func (c *Config) validate() error {
	if c.LogDriver == "" {
		c.LogDriver = LogDriverK8sFile
	}
	switch {
	case c.ID == "":
		return errors.New("id is required")
	case c.Bundle == "":
		return errors.New("bundle is required")
	case !filepath.IsAbs(c.RuntimePath):
		return errors.New("runtimePath must be an absolute path")
	case len(c.ExitCommand) > 0 && !filepath.IsAbs(c.ExitCommand[0]):
		return errors.New("exitCommand must start with an absolute path")
	case c.ExitFile == "":
		return errors.New("exitFile is required")
	case c.PidFile == "":
		return errors.New("pidFile is required")
	case len(c.HealthCommand) > 0 && (!filepath.IsAbs(c.HealthCommand[0]) || c.HealthInterval <= 0):
		return errors.New("healthCommand must start with an absolute path and healthInterval be positive")
	}
	switch c.NotifyMode {
	case "", NotifyConmon, NotifyHealthy:
	case NotifyContainer:
		if c.NotifySocket != "" && c.NotifyProxy == "" {
			return errors.New("notifyProxy is required with notifyMode container")
		}
	default:
		return errors.New("unknown notifyMode " + c.NotifyMode + ": use conmon, container or healthy")
	}
	switch c.LogDriver {
	case LogDriverK8sFile, LogDriverJSONFile:
		if c.LogPath == "" {
			return errors.New("logPath is required for the " + c.LogDriver + " log driver")
		}
	case LogDriverNone:
	case LogDriverPassthrough:
		if c.Terminal {
			return errors.New("the passthrough log driver cannot be used with a terminal")
		}
	default:
		return errors.New("unknown log driver " + c.LogDriver + ": use k8s-file, json-file, none or passthrough")
	}
	return nil
}

// ExitStatus is the content of the exit file.
type ExitStatus struct {
	// ExitCode is the init process's exit status, or 128+N when signal N
	// killed it.
	ExitCode int `json:"exitCode"`
	// FinishedAt is when the monitor reaped the init process.
	FinishedAt time.Time `json:"finishedAt"`
	// OOMKilled is set when the container's memory cgroup recorded an OOM
	// kill and the init process died of SIGKILL.
	OOMKilled bool `json:"oomKilled,omitempty"`
}

// ReadExitFile reads the exit file the monitor wrote. A container that has
// not exited yet has none: the error then matches os.ErrNotExist.
func ReadExitFile(path string) (*ExitStatus, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var st ExitStatus
	r := &jsonReader{b: data}
	err = r.object(func(key string) error {
		var err error
		switch key {
		case "exitCode":
			var n int64
			n, err = r.int64()
			st.ExitCode = int(n)
		case "finishedAt":
			st.FinishedAt, err = r.time()
		case "oomKilled":
			st.OOMKilled, err = r.boolean()
		default:
			err = r.skip()
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("exit file %s: %w", path, err)
	}
	return &st, nil
}

// wrapError is fmt.Errorf("%s: %w") for the monitor's own code path, which
// stays clear of fmt to keep its resident size down.
type wrapError struct {
	msg string
	err error
}

func (e *wrapError) Error() string { return e.msg + ": " + e.err.Error() }
func (e *wrapError) Unwrap() error { return e.err }

func wrap(err error, msg string) error {
	if err == nil {
		return nil
	}
	return &wrapError{msg: msg, err: err}
}
