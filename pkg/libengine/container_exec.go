package libengine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/libengine/oci"
	"github.com/engine-oss/engine/pkg/specgen"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
)

// ContainerExecOptions describe a process to run in a running container.
type ContainerExecOptions struct {
	// Cmd is the command and its arguments. Required.
	Cmd []string
	// Env is set over the container's environment.
	Env map[string]string
	// User is "user[:group]", names or numbers resolved in the container;
	// empty keeps the container's user.
	User string
	// WorkDir replaces the container's working directory.
	WorkDir string
	// Privileged gives the process every capability of the engine's
	// bounding set.
	Privileged bool
	// Tty runs the process on a terminal the runtime creates and proxies
	// to Stdin/Stdout, which must then be the caller's terminal.
	Tty bool
	// Detach returns once the process runs; its stdio is /dev/null.
	Detach bool
	// Stdin, Stdout and Stderr are the process's when not detached; nil is
	// /dev/null.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Signals received by the caller are forwarded to the process until it
	// exits; nil forwards none. The runtime then runs in a process group
	// of its own, so a signal sent to the caller's group arrives once.
	Signals <-chan os.Signal
}

// ContainerExec runs a process in a running container through the OCI
// runtime and returns its exit code (0 when detached). The process gets the
// container's environment, working directory, user, capabilities and
// limits, changed by opts.
//
// Errors wrap define.ErrNoSuchContainer, define.ErrCtrStateInvalid when the
// container is not running, define.ErrInvalidArg for a bad user, and are a
// *define.ExitError with code 127 or 126 when the command is missing or not
// executable, or when the runtime could not start it.
func (e *Engine) ContainerExec(ctx context.Context, name string, opts ContainerExecOptions) (int, error) {
	if len(opts.Cmd) == 0 {
		return 0, fmt.Errorf("exec needs a command to run: %w", define.ErrInvalidArg)
	}
	var cmd *exec.Cmd
	var cleanup func()
	err := e.withCtr(ctx, name, func(c *ctr) error {
		var err error
		cmd, cleanup, err = e.startExec(ctx, c, opts)
		return err
	})
	if err != nil {
		return 0, err
	}
	defer cleanup()
	if opts.Detach {
		return 0, nil
	}
	done := make(chan struct{})
	if opts.Signals != nil {
		go func() {
			for {
				select {
				case <-done:
					return
				case s := <-opts.Signals:
					if err := cmd.Process.Signal(s); err != nil {
						logrus.Debugf("forward %v to the runtime: %v", s, err)
					}
				}
			}
		}()
	}
	err = cmd.Wait()
	close(done)
	return execExitCode(name, cmd, err)
}

// startExec starts the runtime's exec for c, which the caller has locked,
// and returns the running command (finished already when detached) and a
// function removing its files.
func (e *Engine) startExec(ctx context.Context, c *ctr, opts ContainerExecOptions) (*exec.Cmd, func(), error) {
	if c.State.Status != define.StatusRunning {
		return nil, nil, fmt.Errorf("can only create exec sessions on running containers: %s is %s: %w", c.Name, c.State.Status, define.ErrCtrStateInvalid)
	}
	runDir := e.runDir(c.ID)
	var spec specs.Spec
	b, err := os.ReadFile(filepath.Join(runDir, bundleConfig))
	if err == nil {
		err = json.Unmarshal(b, &spec)
	}
	if err == nil && (spec.Process == nil || spec.Root == nil) {
		err = errors.New("no process or root")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("container %s: read its running spec: %w", c.Name, err)
	}
	rootfs := spec.Root.Path
	proc, err := execProcess(spec.Process, opts, boundingSet(),
		readContainerFile(rootfs, "/etc/passwd"), readContainerFile(rootfs, "/etc/group"))
	if err != nil {
		return nil, nil, err
	}
	if err := checkExecutable(&specs.Spec{Process: proc}, rootfs, c.cfg.Spec.Mounts); err != nil {
		return nil, nil, err
	}
	rt, err := e.runtime(ctx)
	if err != nil {
		return nil, nil, err
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:]) // never fails
	base := filepath.Join(runDir, "exec-"+hex.EncodeToString(rnd[:]))
	cleanup := func() {
		for _, f := range []string{base + ".json", base + ".pid"} {
			if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
				logrus.Debugf("remove %s: %v", f, err)
			}
		}
	}
	// The process outlives a cancelled context: only it decides when it ends.
	cmd, err := rt.ExecCmd(context.WithoutCancel(ctx), c.ID, oci.ExecOptions{
		Process: proc, ProcessFile: base + ".json", PidFile: base + ".pid", Detach: opts.Detach,
	})
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	if !opts.Detach {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = opts.Stdin, opts.Stdout, opts.Stderr
	}
	if opts.Signals != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}
	if opts.Detach {
		// The runtime returns once the process runs.
		err = cmd.Run()
		if _, xerr := execExitCode(c.Name, cmd, err); xerr != nil {
			err = xerr
		}
	} else {
		err = cmd.Start()
	}
	if err != nil {
		cleanup()
		var ee *define.ExitError
		if errors.As(err, &ee) {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("exec in %s: %w", c.Name, err)
	}
	e.ctrEvent(ctx, c.Container, "exec", nil)
	return cmd, cleanup, nil
}

// execExitCode turns the end of the runtime's exec into the process's exit
// code. The runtime writes its pid file once the process runs, so a failure
// without one is the runtime's (a message from it is on Stderr already):
// code 126, as podman.
func execExitCode(name string, cmd *exec.Cmd, err error) (int, error) {
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return 0, fmt.Errorf("exec in %s: %w", name, err)
	}
	code := cmd.ProcessState.ExitCode()
	if code == 0 {
		return 0, nil
	}
	if pidFile := pidFileArg(cmd.Args); pidFile != "" {
		if _, serr := os.Stat(pidFile); errors.Is(serr, os.ErrNotExist) {
			return define.ExitCannotExec, &define.ExitError{Code: define.ExitCannotExec,
				Err: fmt.Errorf("exec in %s: the OCI runtime could not start the process (exit status %d; its message is above)", name, code)}
		}
	}
	return code, nil
}

// pidFileArg finds the --pid-file the runtime was given.
func pidFileArg(args []string) string {
	if i := slices.Index(args, "--pid-file"); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	return ""
}

// execProcess derives the exec'd process from the container's: its
// environment, working directory, user, capabilities, limits and security
// settings, changed by opts. bounding is the engine's capability bounding
// set, all of which a privileged process gets. passwd and group are the
// container's, to resolve opts.User.
func execProcess(ctrProc *specs.Process, opts ContainerExecOptions, bounding []string, passwd, group []byte) (*specs.Process, error) {
	p := *ctrProc
	p.Args = slices.Clone(opts.Cmd)
	p.Terminal = opts.Tty
	p.ConsoleSize = nil
	p.Env = slices.Clone(ctrProc.Env)
	for _, k := range slices.Sorted(maps.Keys(opts.Env)) {
		p.Env = setEnv(p.Env, k, opts.Env[k])
	}
	if opts.WorkDir != "" {
		if !filepath.IsAbs(opts.WorkDir) {
			return nil, fmt.Errorf("--workdir %q: must be an absolute path: %w", opts.WorkDir, define.ErrInvalidArg)
		}
		p.Cwd = opts.WorkDir
	}
	if ctrProc.Capabilities != nil {
		caps := *ctrProc.Capabilities
		p.Capabilities = &caps
	}
	if opts.User != "" {
		user, home, err := specgen.ResolveUser("--user", opts.User, passwd, group)
		if err != nil {
			return nil, err
		}
		user.Umask = ctrProc.User.Umask
		p.User = user
		if _, set := opts.Env["HOME"]; !set {
			p.Env = setEnv(p.Env, "HOME", home)
		}
		if c := p.Capabilities; c != nil {
			// As for the container's own process: root gets the bounding
			// set, anyone else none.
			if user.UID == 0 {
				c.Effective, c.Permitted = c.Bounding, c.Bounding
			} else {
				c.Effective, c.Permitted, c.Inheritable, c.Ambient = nil, nil, nil, nil
			}
		}
	}
	if opts.Privileged {
		all := slices.Clone(bounding)
		p.Capabilities = &specs.LinuxCapabilities{Bounding: all, Effective: all, Permitted: all}
		if p.User.UID != 0 {
			p.Capabilities.Inheritable, p.Capabilities.Ambient = all, all
		}
	}
	return &p, nil
}
