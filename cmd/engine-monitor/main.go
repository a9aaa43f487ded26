// Command engine-monitor is the engine's per-container monitor (its
// conmon): started detached by the engine for each container, it creates
// the container with the OCI runtime, holds its stdio (log, attach socket),
// reaps it, records its exit status and runs the engine's cleanup command.
// It is a separate, small binary so that an idle container costs little
// memory and does not depend on the engine's process or libraries.
//
// Usage: engine-monitor CONFIG, with fd 3 the pipe it reports on; see
// package monitor and docs/monitor.md.
package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"syscall"

	"github.com/engine-oss/engine/pkg/libengine/monitor"
)

// memoryLimit is the Go runtime's memory (heap, stacks and its own
// bookkeeping, about 4 MiB of address space when idle, of which less than
// 1 MiB is resident) at which the monitor collects garbage.
const memoryLimit = 8 << 20

func main() {
	if len(os.Args) != 2 {
		_, _ = os.Stderr.WriteString("usage: engine-monitor CONFIG (started by the engine, reporting on fd 3)\n")
		os.Exit(2)
	}
	// The monitor waits on I/O: one P keeps the runtime's per-CPU state
	// small. Spawn also sets GOMAXPROCS=1, which takes effect before any
	// thread is started; this covers a monitor started otherwise.
	runtime.GOMAXPROCS(1)
	// That was for the monitor alone: the runtime and the exit command
	// are busy for their short lives and get all CPUs.
	_ = os.Unsetenv("GOMAXPROCS")
	// An idle monitor allocates nothing, so the runtime's collection every
	// two minutes would only add mark state (about 230 KiB resident).
	// Collect when the runtime's memory nears a limit instead.
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(memoryLimit)
	// The report pipe must not leak into the runtime and the container.
	syscall.CloseOnExec(3)
	code, err := monitor.Run(os.Args[1], os.NewFile(3, "sync"))
	if err != nil {
		_, _ = os.Stderr.WriteString("engine-monitor: " + err.Error() + "\n")
		os.Exit(1)
	}
	// The container's exit code, as conmon: a systemd unit whose main
	// process the monitor is fails when its container does.
	os.Exit(code)
}
