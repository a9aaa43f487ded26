package monitor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
)

// Errors of Spawn when the runtime refused to create the container. The
// command ones let the engine exit 127 and 126 as podman does.
var (
	ErrRuntimeCreate        = errors.New("cannot create the container")
	ErrCommandNotFound      = errors.New("the container's command was not found")
	ErrCommandNotExecutable = errors.New("the container's command cannot be executed")
)

// Stdio is the container's stdio for the passthrough log driver; nil
// fields mean /dev/null.
type Stdio struct {
	Stdin, Stdout, Stderr *os.File
}

// syncMessage is what the monitor reports on its sync pipe (fd 3), as one
// line of JSON: {"pid":N} once `runtime run` started the container, or
// {"error":"..."} with why it failed.
type syncMessage struct {
	Pid   int
	Error string
}

// SpawnOptions are Spawn's optional parts.
type SpawnOptions struct {
	// Stdio is the container's stdio for the passthrough log driver; nil
	// leaves the monitor's stdio on /dev/null.
	Stdio *Stdio
	// Attach, when set, is connected to the container from its first byte
	// of output: Spawn listens on AttachSocket (the config's) itself,
	// connects Attach to it and hands the listener to the monitor, which
	// serves that connection before it starts the container.
	Attach       *AttachStreams
	AttachSocket string
}

// Spawned is a started container and its monitor.
type Spawned struct {
	Pid, MonitorPid int
	// Attached delivers the end of the session SpawnOptions.Attach asked
	// for, as Attach returns it; nil without one.
	Attached <-chan error
}

// Spawn starts the monitor binary for the container configured in the
// config file, in a new session so it outlives the caller, and waits until
// the container runs.
//
// A refusal of the runtime is returned with its message, wrapping
// ErrCommandNotFound, ErrCommandNotExecutable or ErrRuntimeCreate. When ctx
// ends first the monitor is killed and the caller must delete whatever the
// runtime may have created.
func Spawn(ctx context.Context, monitorPath, configPath string, opts SpawnOptions) (*Spawned, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("spawn monitor: %w", err)
	}
	defer func() { _ = r.Close() }()
	extra := []*os.File{w}
	var conn *os.File
	if opts.Attach != nil {
		ln, err := listenUnix(opts.AttachSocket)
		if err != nil {
			_ = w.Close()
			return nil, fmt.Errorf("attach socket: %w", err)
		}
		defer func() { _ = ln.Close() }() // the monitor has its own copy
		// Queued on the listener until the monitor accepts it.
		if conn, err = dialUnix(opts.AttachSocket); err != nil {
			_ = w.Close()
			return nil, fmt.Errorf("attach: %w", err)
		}
		extra = append(extra, ln) // fd 4, see inheritedListener
	}
	var files [3]*os.File
	if opts.Stdio != nil {
		files = [3]*os.File{opts.Stdio.Stdin, opts.Stdio.Stdout, opts.Stdio.Stderr}
	}
	// One P from the start: every thread the Go runtime starts stays, and
	// an idle monitor needs none of them.
	env := []string{"GOMAXPROCS=1"}
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "GOMAXPROCS=") {
			env = append(env, e)
		}
	}
	// Not tied to ctx: the monitor must outlive it once it reported.
	proc, err := startProcess([]string{monitorPath, configPath}, "/", files, extra, &syscall.SysProcAttr{Setsid: true}, env)
	_ = w.Close()
	if err != nil {
		if conn != nil {
			_ = conn.Close()
		}
		return nil, fmt.Errorf("spawn monitor %s: %w", monitorPath, err)
	}
	var attached chan error
	if conn != nil {
		attached = make(chan error, 1)
		go func() { attached <- attachConn(ctx, conn, *opts.Attach) }()
	}

	type result struct {
		msg syncMessage
		err error
	}
	ch := make(chan result, 1)
	go func() {
		var res result
		res.err = readSync(r, &res.msg)
		ch <- res
	}()
	var res result
	select {
	case res = <-ch:
	case <-ctx.Done():
		_ = proc.Kill()
		_, _ = proc.Wait()
		return nil, ctx.Err()
	}
	if res.err != nil || res.msg.Error != "" || res.msg.Pid <= 0 {
		state, werr := proc.Wait() // the monitor exits after a failure
		if werr == nil {
			werr = errors.New(state.String())
		}
		switch {
		case res.msg.Error != "":
			return nil, createError(res.msg.Error)
		case res.err != nil:
			return nil, fmt.Errorf("monitor for %s: %w (%w)", configPath, res.err, werr)
		default:
			return nil, fmt.Errorf("monitor for %s reported no pid", configPath)
		}
	}
	// Reap the monitor should this process outlive it; the CLI usually
	// exits first, and the monitor is then reparented.
	go func() { _, _ = proc.Wait() }()
	return &Spawned{Pid: res.msg.Pid, MonitorPid: proc.Pid, Attached: attached}, nil
}

// readSync reads the monitor's one-line report.
func readSync(r io.Reader, msg *syncMessage) error {
	var data []byte
	buf := make([]byte, 4096)
	for !bytes.Contains(data, []byte{'\n'}) && len(data) < 64<<10 {
		n, err := r.Read(buf)
		data = append(data, buf[:n]...)
		if err != nil {
			break
		}
	}
	line, _, _ := bytes.Cut(data, []byte{'\n'})
	if len(bytes.TrimSpace(line)) == 0 {
		return errors.New("monitor exited without reporting")
	}
	jr := &jsonReader{b: line}
	err := jr.object(func(key string) error {
		var err error
		switch key {
		case "pid":
			var n int64
			n, err = jr.int64()
			msg.Pid = int(n)
		case "error":
			msg.Error, err = jr.str()
		default:
			err = jr.skip()
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("monitor report %q: %w", line, err)
	}
	return nil
}

// createError classifies the runtime's message on a failed create.
func createError(msg string) error {
	lower := strings.ToLower(msg)
	// runc: `exec: "cmd": ...`; crun: "executable file `cmd` not found ...".
	execFailed := strings.Contains(lower, "exec: ") || strings.Contains(lower, "executable")
	switch {
	case strings.Contains(lower, "executable file not found"),
		strings.Contains(lower, "executable file `") && strings.Contains(lower, "not found"),
		execFailed && strings.Contains(lower, "no such file or directory"):
		return fmt.Errorf("%w: %s", ErrCommandNotFound, msg)
	case execFailed && strings.Contains(lower, "permission denied"):
		return fmt.Errorf("%w: %s", ErrCommandNotExecutable, msg)
	}
	return fmt.Errorf("%w: %s", ErrRuntimeCreate, msg)
}
