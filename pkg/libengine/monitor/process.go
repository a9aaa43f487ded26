package monitor

import (
	"errors"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// Processes are started with os.StartProcess rather than os/exec, whose
// package initialisation alone adds to the monitor's resident size. Paths
// are used as given: there is no $PATH lookup.

// startProcess starts argv in dir (empty: ours) with stdio (nil entries
// are /dev/null), extra files from fd 3 on, and env (nil: ours).
func startProcess(argv []string, dir string, stdio [3]*os.File, extra []*os.File, sys *syscall.SysProcAttr, env []string) (*os.Process, error) {
	files := make([]*os.File, 0, 3+len(extra))
	var null *os.File
	for _, f := range stdio {
		if f == nil {
			if null == nil {
				var err error
				if null, err = os.OpenFile(os.DevNull, os.O_RDWR, 0); err != nil {
					return nil, err
				}
				defer func() { _ = null.Close() }()
			}
			f = null
		}
		files = append(files, f)
	}
	files = append(files, extra...)
	return os.StartProcess(argv[0], argv, &os.ProcAttr{Dir: dir, Env: env, Files: files, Sys: sys})
}

// runChild runs argv to its end. It reaps the child with wait4 as
// SIGCHLD arrives on chld, rather than have os.Process.Wait park a thread
// in waitid for it (every thread the monitor ever starts stays, with its
// stacks). A non-zero exit is an error naming the command.
func runChild(argv []string, stdio [3]*os.File, chld <-chan os.Signal) error {
	p, err := startProcess(argv, "", stdio, nil, nil, nil)
	if err != nil {
		return err
	}
	defer func() { _ = p.Release() }()
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(p.Pid, &ws, unix.WNOHANG, nil)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return os.NewSyscallError("wait4", err)
		case got == p.Pid && ws.Exited() && ws.ExitStatus() == 0:
			return nil
		case got == p.Pid && ws.Exited():
			return errors.New(argv[0] + ": exit status " + strconv.Itoa(ws.ExitStatus()))
		case got == p.Pid:
			return errors.New(argv[0] + ": killed by " + unix.SignalName(ws.Signal()))
		}
		<-chld
	}
}
