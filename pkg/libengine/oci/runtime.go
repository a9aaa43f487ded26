// Package oci owns invoking the OCI runtime binary (runc or crun): finding
// it, and running the verbs that act on an existing container (state,
// kill, delete, pause, resume, ps, exec). It knows nothing of the state
// database or images; `runtime run --detach`, which creates and starts a
// container, is run by its monitor (package monitor), which must hold the
// container's stdio.
package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"github.com/engine-oss/engine/pkg/libengine/define"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Runtime is one OCI runtime binary and the state directory it keeps its
// containers in.
type Runtime struct {
	// Name is the runtime's base name ("runc", "crun"), used in messages.
	Name string
	// Path is the absolute path of the binary.
	Path string
	// StateDir is passed as --root (e.g. RUNROOT/runc). Empty means the
	// runtime's own default.
	StateDir string
	// Reason says why this runtime was chosen, for `engine info`.
	Reason string
}

// StatePaused is the status runc and crun report for a paused container;
// the runtime spec itself has no such state.
const StatePaused specs.ContainerState = "paused"

// runtimeError is a failed runtime command: the command line and the
// runtime's own message. It unwraps to the *exec.ExitError (or start error).
type runtimeError struct {
	cmd string
	msg string
	err error
}

func (e *runtimeError) Error() string {
	if e.msg == "" {
		return e.cmd + ": " + e.err.Error()
	}
	return e.cmd + ": " + e.msg
}

func (e *runtimeError) Unwrap() error { return e.err }

// run runs the runtime with --root and args, returning its stdout. A failure
// is a *runtimeError carrying the runtime's last error message.
func (r *Runtime) run(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, r.Path, r.globalArgs(args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), &runtimeError{
			cmd: r.Name + " " + strings.Join(args, " "),
			msg: ErrorMessage(stderr.Bytes()),
			err: err,
		}
	}
	return stdout.Bytes(), nil
}

func (r *Runtime) globalArgs(args ...string) []string {
	if r.StateDir == "" {
		return args
	}
	return append([]string{"--root", r.StateDir}, args...)
}

// ErrorMessage extracts the runtime's error from what it wrote to stderr (or
// to its --log file): the last line, with runc's and crun's log decoration
// (JSON records, logrus `msg="..."` text, a "crun: " prefix) removed.
func ErrorMessage(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		line := strings.TrimSpace(lines[i])
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "{") {
			var rec struct{ Level, Msg string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg != "" {
				if rec.Level != "" && rec.Level != "error" && rec.Level != "fatal" && i > 0 {
					continue // a warning or debug record: look for the error before it
				}
				return rec.Msg
			}
		}
		if _, after, ok := strings.Cut(line, ` msg="`); ok {
			if msg, err := strconv.Unquote(`"` + strings.TrimSuffix(after, `"`) + `"`); err == nil {
				return msg
			}
			return strings.TrimSuffix(after, `"`)
		}
		return strings.TrimPrefix(line, "crun: ")
	}
	return ""
}

// notExist reports whether a runtime error says the container is unknown.
func notExist(err error) bool {
	var re *runtimeError
	if !errors.As(err, &re) {
		return false
	}
	return strings.Contains(re.msg, "does not exist") || // runc
		strings.Contains(re.msg, "No such file or directory") // crun: opening .../status
}

// NotRunning reports whether a runtime error says the container has no
// process to act on: it exited (runc's "container not running", as a kill
// racing the exit gets) or is unknown.
func NotRunning(err error) bool {
	var re *runtimeError
	return errors.As(err, &re) && (strings.Contains(re.msg, "container not running") || notExist(err))
}

// Version returns the runtime's `--version` output, trimmed (several lines
// for runc and crun).
func (r *Runtime) Version(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, r.Path, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("%s --version: %w", r.Path, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// State returns the runtime's view of a container. An unknown container is
// an error wrapping define.ErrNoSuchContainer.
func (r *Runtime) State(ctx context.Context, id string) (*specs.State, error) {
	out, err := r.run(ctx, "state", id)
	if err != nil {
		if notExist(err) {
			return nil, fmt.Errorf("%w: %w", err, define.ErrNoSuchContainer)
		}
		return nil, err
	}
	var st specs.State
	if err := json.Unmarshal(out, &st); err != nil {
		return nil, fmt.Errorf("%s state %s: decode %q: %w", r.Name, id, out, err)
	}
	return &st, nil
}

// Kill sends sig to the container's init process, or with all to every
// process in it. A stopped container is an error ("container not running").
func (r *Runtime) Kill(ctx context.Context, id string, sig syscall.Signal, all bool) error {
	name := unix.SignalName(sig)
	if name == "" {
		name = strconv.Itoa(int(sig))
	}
	args := []string{"kill"}
	if all {
		args = append(args, "--all")
	}
	_, err := r.run(ctx, append(args, id, name)...)
	return err
}

// Delete deletes a container's runtime state; force kills it first if it
// runs. An unknown container is not an error.
func (r *Runtime) Delete(ctx context.Context, id string, force bool) error {
	args := []string{"delete"}
	if force {
		args = append(args, "--force")
	}
	_, err := r.run(ctx, append(args, id)...)
	if notExist(err) {
		return nil
	}
	return err
}

// Pause freezes every process of the container.
func (r *Runtime) Pause(ctx context.Context, id string) error {
	_, err := r.run(ctx, "pause", id)
	return err
}

// Resume thaws a paused container.
func (r *Runtime) Resume(ctx context.Context, id string) error {
	_, err := r.run(ctx, "resume", id)
	return err
}

// Ps returns the host pids of the container's processes.
func (r *Runtime) Ps(ctx context.Context, id string) ([]int, error) {
	out, err := r.run(ctx, "ps", "--format", "json", id)
	if err != nil {
		return nil, err
	}
	var pids []int
	if err := json.Unmarshal(out, &pids); err != nil {
		return nil, fmt.Errorf("%s ps %s: decode %q: %w", r.Name, id, out, err)
	}
	return pids, nil
}

// ExecOptions describes a process to run in a running container.
type ExecOptions struct {
	// Process is the whole process (args, env, cwd, user, terminal,
	// capabilities for privileged, rlimits...). Required: Args must not be
	// empty.
	Process *specs.Process
	// ProcessFile is where Process is written as JSON for `--process`.
	// Required; the caller removes it once the command has ended.
	ProcessFile string
	// Detach makes the runtime return once the process started.
	Detach bool
	// ConsoleSocket receives the pty master when Process.Terminal is set and
	// the runtime should not proxy the terminal itself.
	ConsoleSocket string
	// PidFile, when set, receives the process's host pid.
	PidFile string
	// PreserveFDs passes the caller's ExtraFiles (fd 3 onwards) to the process.
	PreserveFDs int
}

// ExecCmd writes opts.Process to opts.ProcessFile and returns the `exec`
// command for the caller to wire stdio to and run. Without Detach the
// command's exit code is the process's.
func (r *Runtime) ExecCmd(ctx context.Context, id string, opts ExecOptions) (*exec.Cmd, error) {
	if opts.Process == nil || len(opts.Process.Args) == 0 {
		return nil, fmt.Errorf("exec in %s: no command: %w", id, define.ErrInvalidArg)
	}
	if opts.ProcessFile == "" {
		return nil, fmt.Errorf("exec in %s: no process file: %w", id, define.ErrInvalidArg)
	}
	data, err := json.Marshal(opts.Process)
	if err != nil {
		return nil, fmt.Errorf("exec in %s: encode process: %w", id, err)
	}
	if err := os.WriteFile(opts.ProcessFile, data, 0o600); err != nil {
		return nil, fmt.Errorf("exec in %s: %w", id, err)
	}
	args := []string{"exec", "--process", opts.ProcessFile}
	if opts.Detach {
		args = append(args, "--detach")
	}
	if opts.ConsoleSocket != "" {
		args = append(args, "--console-socket", opts.ConsoleSocket)
	}
	if opts.PidFile != "" {
		args = append(args, "--pid-file", opts.PidFile)
	}
	if opts.PreserveFDs > 0 {
		args = append(args, "--preserve-fds", strconv.Itoa(opts.PreserveFDs))
	}
	return exec.CommandContext(ctx, r.Path, r.globalArgs(append(args, id)...)...), nil
}
