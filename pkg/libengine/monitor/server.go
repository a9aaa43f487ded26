package monitor

import (
	"bytes"
	"errors"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// drainTimeout bounds reading output left after the init process died:
	// processes outside its pid namespace may hold the pipes open.
	drainTimeout = 200 * time.Millisecond
	// clientWriteTimeout drops an attach client that stops reading rather
	// than stall the container's output (and its log) for longer.
	clientWriteTimeout = 10 * time.Second
	// consoleTimeout bounds waiting for the runtime to send the pty master.
	consoleTimeout = 10 * time.Second
)

// forwardedSignals are passed on to the container's init process.
var forwardedSignals = []os.Signal{unix.SIGTERM, unix.SIGINT, unix.SIGHUP, unix.SIGUSR1, unix.SIGUSR2}

// Run is the monitor process's whole life for the container configured at
// configPath; cmd/engine-monitor calls it with fd 3 as syncPipe. It starts
// the container with `runtime run --detach`, reports {"pid":N} or
// {"error":"..."} on syncPipe, then serves the container until its init
// process exits: it writes the exit file, closes attach clients, runs the
// exit command (unless an attached caller cleaned up, see
// Config.CleanupClaim) and returns the container's exit code, which the
// monitor exits with, as conmon does (so that systemd, following the
// monitor as a unit's main process, sees the container fail). An error is
// returned only when starting failed (and was reported).
//
// Run takes no context: the monitor ends when the container does.
func Run(configPath string, syncPipe *os.File) (int, error) {
	m := &monitor{sync: syncPipe, clients: map[*os.File]struct{}{}}
	return m.run(configPath)
}

// output is a file the monitor drains: a pipe from the container, or the
// pty master.
type output struct {
	f      *os.File
	stream byte
}

type monitor struct {
	cfg  *Config
	sync *os.File
	chld chan os.Signal // SIGCHLD

	log     *logWriter // nil for the none and passthrough drivers
	ln      *os.File   // attach listener, nil when not served
	console *os.File   // pty master with a terminal
	outputs []output
	pumps   sync.WaitGroup

	mu      sync.Mutex // serialises output to the log and clients
	clients map[*os.File]struct{}
	early   []*os.File // clients queued before the start, served after it
	frame   []byte
	logErr  error

	stdinMu sync.Mutex
	stdin   *os.File // client input goes here; nil when there is none

	readySent   bool     // READY=1 went out (NotifyHealthy); main loop only
	notifyProxy *os.File // the container's sd_notify socket (NotifyContainer)
	healthPid   int      // the running health command; main loop only
}

func (m *monitor) run(configPath string) (int, error) {
	cfg, err := ReadConfig(configPath)
	if err != nil {
		return 0, m.fail(err)
	}
	m.cfg = cfg
	// Orphans (the runtime's init among them) are reparented to us.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return 0, m.fail(wrap(err, "set child subreaper"))
	}
	m.chld = make(chan os.Signal, 1)
	signal.Notify(m.chld, unix.SIGCHLD)
	forward := make(chan os.Signal, 8)
	signal.Notify(forward, forwardedSignals...)

	claim := openClaim(cfg.CleanupClaim)
	pid, err := m.start(filepath.Join(filepath.Dir(configPath), "oci-log"))
	if err != nil {
		m.closeAttach()
		return 0, m.fail(err)
	}
	// Their input and resizes need the container's stdin and pty.
	for _, c := range m.early {
		go m.serveClient(c)
	}
	m.started()
	m.report(`{"pid":` + strconv.Itoa(pid) + "}\n")
	for _, o := range m.outputs {
		m.pumps.Add(1)
		go m.pump(o)
	}
	if m.ln != nil {
		go m.acceptClients()
	}
	if m.notifyProxy != nil {
		go m.relayNotify()
	}
	memFile := memoryEventsFile(pid)
	// Setting up allocated more than an idle monitor needs: give it back.
	debug.FreeOSMemory()

	ws := m.wait(forward, pid)
	status := ExitStatus{FinishedAt: time.Now(), ExitCode: ws.ExitStatus()}
	if ws.Signaled() {
		status.ExitCode = 128 + int(ws.Signal())
		status.OOMKilled = ws.Signal() == unix.SIGKILL && oomKilled(memFile)
	}
	m.drain()
	if m.notifyProxy != nil {
		_ = m.notifyProxy.Close()
	}
	if err := writeExitFile(cfg.ExitFile, status); err != nil {
		logf("write exit file: " + err.Error())
	}
	m.closeAttach()
	m.closeIO()
	if len(cfg.ExitCommand) > 0 && !cleanedUp(claim) {
		if err := runChild(cfg.ExitCommand, [3]*os.File{}, m.chld); err != nil {
			logf("exit command: " + err.Error())
		}
	}
	return status.ExitCode, nil
}

// start prepares the container's stdio, the log and the attach socket, and
// runs `runtime run --detach`. It returns the container's init pid.
func (m *monitor) start(runtimeLog string) (int, error) {
	cfg := m.cfg
	var stdio [3]*os.File // what the runtime (and so the container) gets; nil is /dev/null
	var childEnds []*os.File
	defer func() {
		for _, f := range childEnds {
			_ = f.Close()
		}
	}()
	var consoleLn *os.File
	var consolePath string
	switch {
	case cfg.LogDriver == LogDriverPassthrough:
		stdio = [3]*os.File{os.Stdin, os.Stdout, os.Stderr}
	case cfg.Terminal:
		dir, err := os.MkdirTemp("", "engine-console-")
		if err != nil {
			return 0, err
		}
		defer func() { _ = os.RemoveAll(dir) }()
		consolePath = filepath.Join(dir, "console.sock")
		if consoleLn, err = listenUnix(consolePath); err != nil {
			return 0, err
		}
		defer func() { _ = consoleLn.Close() }()
	default:
		if cfg.Stdin {
			r, w, err := os.Pipe()
			if err != nil {
				return 0, err
			}
			stdio[0], m.stdin = r, w
			childEnds = append(childEnds, r)
		}
		for i, stream := range []byte{frameStdout, frameStderr} {
			r, w, err := os.Pipe()
			if err != nil {
				return 0, err
			}
			stdio[i+1] = w
			childEnds = append(childEnds, w)
			m.outputs = append(m.outputs, output{f: r, stream: stream})
		}
	}
	var err error
	if cfg.LogDriver == LogDriverK8sFile || cfg.LogDriver == LogDriverJSONFile {
		if m.log, err = openLog(cfg.LogDriver, cfg.LogPath, cfg.LogMaxSize); err != nil {
			return 0, wrap(err, "open container log")
		}
	}
	if m.ln = inheritedListener(); m.ln != nil {
		// Spawn connected its caller before handing the listener over.
		m.acceptQueued()
	} else if cfg.AttachSocket != "" && cfg.LogDriver != LogDriverPassthrough {
		if m.ln, err = listenUnix(cfg.AttachSocket); err != nil {
			return 0, wrap(err, "attach socket")
		}
	}
	if cfg.NotifySocket != "" && cfg.NotifyMode == NotifyContainer {
		if m.notifyProxy, err = listenUnixgram(cfg.NotifyProxy); err != nil {
			return 0, wrap(err, "sd_notify proxy socket")
		}
	}

	_ = os.Remove(runtimeLog)
	var args []string
	if cfg.RuntimeStateDir != "" {
		args = append(args, "--root", cfg.RuntimeStateDir)
	}
	// One runtime process creates and starts: no second one for `start`.
	args = append(args, "--log", runtimeLog, "--log-format", "json",
		"run", "--detach", "--bundle", cfg.Bundle, "--pid-file", cfg.PidFile)
	if consoleLn != nil {
		args = append(args, "--console-socket", consolePath)
	}
	argv := append(append([]string{cfg.RuntimePath}, args...), cfg.ID)
	if err := runChild(argv, stdio, m.chld); err != nil {
		if msg := runtimeLogError(runtimeLog); msg != "" {
			return 0, errors.New(msg)
		}
		return 0, wrap(err, filepath.Base(cfg.RuntimePath)+" run")
	}
	data, err := os.ReadFile(cfg.PidFile)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, errors.New("pid file " + cfg.PidFile + " holds no pid")
	}
	if consoleLn != nil {
		if err := m.receiveConsole(consoleLn); err != nil {
			_ = unix.Kill(pid, unix.SIGKILL)
			return 0, err
		}
	}
	if cfg.LogDriver == LogDriverPassthrough {
		// The container holds the caller's stdio now; keeping our copies
		// would delay the reader's end of file until the monitor exits.
		if null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0); err == nil {
			for fd := 0; fd <= 2; fd++ {
				_ = unix.Dup3(int(null.Fd()), fd, 0)
			}
			_ = null.Close()
		}
	}
	return pid, nil
}

// receiveConsole takes the pty master the runtime sent to the console
// socket while creating the container.
func (m *monitor) receiveConsole(ln *os.File) error {
	_ = ln.SetReadDeadline(time.Now().Add(consoleTimeout))
	conn, err := accept(ln)
	if err != nil {
		return wrap(err, "console socket")
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetReadDeadline(time.Now().Add(consoleTimeout))
	fd, err := recvFd(conn)
	if err != nil {
		return wrap(err, "console socket")
	}
	// Non-blocking, so the poller serves it and drain deadlines work.
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		return os.NewSyscallError("setnonblock", err)
	}
	m.console = os.NewFile(uintptr(fd), "console")
	m.outputs = append(m.outputs, output{f: m.console, stream: frameStdout})
	if m.cfg.Stdin {
		m.stdin = m.console
	}
	return nil
}

// runtimeLogError returns the last error the runtime logged (JSON lines).
func runtimeLogError(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := bytes.Split(bytes.TrimSpace(data), []byte{'\n'})
	for i := len(lines) - 1; i >= 0; i-- {
		level, msg, err := decodeLogRecord(lines[i])
		if err == nil && (level == "error" || level == "fatal") && msg != "" {
			return msg
		}
	}
	return ""
}

// wait forwards signals to the container's init until it exits, reaping
// every child on the way and running the health command on its ticks, and
// returns the init's status.
func (m *monitor) wait(forward <-chan os.Signal, pid int) unix.WaitStatus {
	var healthTick <-chan time.Time
	if len(m.cfg.HealthCommand) > 0 {
		t := time.NewTicker(m.cfg.HealthInterval)
		defer t.Stop()
		healthTick = t.C
	}
	for {
		// Reap before waiting: the container may have exited already.
		if ws, ok := m.reap(pid); ok {
			return ws
		}
		select {
		case <-m.chld:
		case sig := <-forward:
			if s, ok := sig.(syscall.Signal); ok {
				_ = unix.Kill(pid, s)
			}
		case <-healthTick:
			m.runHealthCommand()
		}
	}
}

// runHealthCommand starts the health command unless it is still running.
// The main loop reaps it (see reap): os.Process.Wait would park a thread.
func (m *monitor) runHealthCommand() {
	if m.healthPid != 0 {
		return
	}
	p, err := startProcess(m.cfg.HealthCommand, "", [3]*os.File{}, nil, nil, nil)
	if err != nil {
		logf("health command: " + err.Error())
		return
	}
	m.healthPid = p.Pid
	_ = p.Release()
}

// reap collects every exited child and reports the status of pid if it is
// among them; the health command's end is noted on the way.
func (m *monitor) reap(pid int) (unix.WaitStatus, bool) {
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || got <= 0 {
			return 0, false
		}
		if got == pid {
			return ws, true
		}
		if got == m.healthPid {
			m.healthPid = 0
			if ws.Exited() && ws.ExitStatus() == 0 {
				m.healthPassed()
			}
		}
	}
}

// pump copies one output to the log and the attach clients until it ends.
func (m *monitor) pump(o output) {
	defer m.pumps.Done()
	buf := make([]byte, 8192)
	for {
		n, err := o.f.Read(buf)
		if n > 0 {
			m.output(o.stream, buf[:n])
		}
		if err != nil {
			return // end of file, EIO from a pty without a slave, or the drain deadline
		}
	}
}

func (m *monitor) output(stream byte, p []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.log != nil {
		if err := m.log.write(stream, p, time.Now()); err != nil && m.logErr == nil {
			m.logErr = err
			logf("write container log: " + err.Error())
		}
	}
	if len(m.clients) == 0 {
		return
	}
	m.frame = appendFrame(m.frame[:0], stream, p)
	for c := range m.clients {
		_ = c.SetWriteDeadline(time.Now().Add(clientWriteTimeout))
		if _, err := c.Write(m.frame); err != nil {
			_ = c.Close()
			delete(m.clients, c)
		}
	}
}

// drain lets the pumps read what is left, then waits for them.
func (m *monitor) drain() {
	deadline := time.Now().Add(drainTimeout)
	for _, o := range m.outputs {
		_ = o.f.SetReadDeadline(deadline)
	}
	m.pumps.Wait()
}

func (m *monitor) acceptClients() {
	for {
		c, err := accept(m.ln)
		if err != nil {
			return // the listener was closed
		}
		if m.addClient(c) {
			go m.serveClient(c)
		}
	}
}

// acceptQueued registers the clients already waiting on the listener, so
// they get the container's output from its first byte; run serves their
// input once the container has started.
func (m *monitor) acceptQueued() {
	for {
		c, err := acceptNow(m.ln)
		if err != nil || c == nil {
			return
		}
		if m.addClient(c) {
			m.early = append(m.early, c)
		}
	}
}

// addClient sends c the ready frame and adds it to the clients output
// goes to; false when it is gone.
func (m *monitor) addClient(c *os.File) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.clients == nil {
		_ = c.Close()
		return false
	}
	// Under the lock, so the ready frame precedes any output.
	_ = c.SetWriteDeadline(time.Now().Add(clientWriteTimeout))
	if _, err := c.Write(appendFrame(nil, frameReady, nil)); err != nil {
		_ = c.Close()
		return false
	}
	m.clients[c] = struct{}{}
	return true
}

// serveClient applies one client's frames until it goes away.
func (m *monitor) serveClient(c *os.File) {
	buf := make([]byte, inputChunk)
	for {
		typ, payload, err := readFrame(c, buf)
		if err != nil {
			break
		}
		switch typ {
		case frameStdin:
			m.writeStdin(payload)
		case frameCloseStdin:
			m.closeStdin()
		case frameResize:
			if size, ok := decodeSize(payload); ok {
				m.resize(size)
			}
		}
	}
	m.mu.Lock()
	if _, ok := m.clients[c]; ok {
		delete(m.clients, c)
		_ = c.Close()
	}
	m.mu.Unlock()
}

func (m *monitor) writeStdin(p []byte) {
	m.stdinMu.Lock()
	defer m.stdinMu.Unlock()
	if m.stdin != nil {
		_, _ = m.stdin.Write(p) // fails once the container is gone
	}
}

// closeStdin closes the container's stdin pipe; a pty stays open, as it
// also carries the output.
func (m *monitor) closeStdin() {
	m.stdinMu.Lock()
	defer m.stdinMu.Unlock()
	if m.stdin != nil && m.stdin != m.console {
		_ = m.stdin.Close()
		m.stdin = nil
	}
}

func (m *monitor) resize(size TerminalSize) {
	if m.console == nil {
		return
	}
	rc, err := m.console.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_ = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Row: size.Height, Col: size.Width})
	})
}

// closeAttach stops serving the attach socket and disconnects its clients,
// which tells them the output has ended.
func (m *monitor) closeAttach() {
	if m.ln != nil {
		_ = m.ln.Close()
		_ = os.Remove(m.cfg.AttachSocket)
	}
	m.mu.Lock()
	for c := range m.clients {
		_ = c.Close()
	}
	m.clients = nil
	m.mu.Unlock()
}

func (m *monitor) closeIO() {
	m.closeStdin()
	for _, o := range m.outputs {
		_ = o.f.Close()
	}
	if m.log != nil {
		_ = m.log.close()
	}
}

// fail reports err on the sync pipe and returns it.
func (m *monitor) fail(err error) error {
	b := append([]byte(`{"error":`), appendJSONString(nil, []byte(err.Error()), false)...)
	m.report(string(b) + "}\n")
	return err
}

func (m *monitor) report(msg string) {
	if m.sync == nil {
		return
	}
	_, _ = m.sync.WriteString(msg)
	_ = m.sync.Close()
	m.sync = nil
}

// writeExitFile writes the exit status atomically.
func writeExitFile(path string, st ExitStatus) error {
	b := strconv.AppendInt([]byte(`{"exitCode":`), int64(st.ExitCode), 10)
	b = append(b, `,"finishedAt":"`...)
	b = st.FinishedAt.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	if st.OOMKilled {
		b = append(b, `,"oomKilled":true`...)
	}
	b = append(b, "}\n"...)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// memoryEventsFile returns the file of pid's memory cgroup that counts OOM
// kills (memory.oom_control on cgroup v1, memory.events on v2), or "".
func memoryEventsFile(pid int) string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return ""
	}
	_, err = os.Stat("/sys/fs/cgroup/cgroup.controllers")
	unified := err == nil
	for _, line := range strings.Split(string(data), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if unified && parts[0] == "0" && parts[1] == "" {
			return filepath.Join("/sys/fs/cgroup", parts[2], "memory.events")
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == "memory" {
				return filepath.Join("/sys/fs/cgroup/memory", parts[2], "memory.oom_control")
			}
		}
	}
	return ""
}

// oomKilled reports whether the memory cgroup file counts an OOM kill.
func oomKilled(file string) bool {
	if file == "" {
		return false
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if n, ok := strings.CutPrefix(line, "oom_kill "); ok {
			count, _ := strconv.Atoi(strings.TrimSpace(n))
			return count > 0
		}
	}
	return false
}

// logf reports a problem the monitor cannot hand to anyone: its stderr is
// /dev/null unless whoever started it chose otherwise.
func logf(msg string) {
	_, _ = os.Stderr.WriteString("engine-monitor: " + msg + "\n")
}
