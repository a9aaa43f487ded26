package libengine

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"golang.org/x/sys/unix"
)

// ContainerStats is one sample of a container's resource use, read from
// its cgroup (v1 or v2). A container that is not running has zero values.
type ContainerStats struct {
	ContainerID string
	Name        string
	// CPU is the CPU use since the previous sample in percent of one CPU
	// (a container keeping two CPUs busy uses 200).
	CPU float64
	// AvgCPU is the CPU use in percent since the container started.
	AvgCPU float64
	// CPUNano is the CPU time used, in nanoseconds.
	CPUNano uint64
	// UpTime is CPUNano as a duration (podman's name; shown as CPU TIME).
	UpTime time.Duration
	// MemUsage excludes the inactive page cache, as podman and docker do.
	// MemLimit is the host's memory when the container has no limit.
	MemUsage uint64
	MemLimit uint64
	MemPerc  float64
	// Network is false when the container has no interface of its own
	// (--network none or host): NetInput and NetOutput mean nothing then.
	Network   bool
	NetInput  uint64
	NetOutput uint64
	// BlockInput and BlockOutput are the bytes read from and written to
	// block devices.
	BlockInput  uint64
	BlockOutput uint64
	PIDs        uint64
	// at is when the sample was taken.
	at time.Time
}

// ContainerStatsOptions configure ContainerStats.
type ContainerStatsOptions struct {
	// All includes containers that do not run (with zero values) when no
	// names are given; otherwise only running ones are sampled.
	All bool
	// Stream reports again every Interval until ctx ends.
	Stream   bool
	Interval time.Duration
}

// statsFirstDelay is the time between the two samples the first report's
// CPU use is computed from.
const statsFirstDelay = 500 * time.Millisecond

// ContainerStats samples the named containers, or every running one (all
// with opts.All), and calls fn with one report per container. The first
// report comes after a short interval, over which CPU use is measured; a
// stream reports again every opts.Interval (re-listing the containers when
// none are named) and returns nil once ctx ends. A named container that is
// not running gives define.ErrCtrStateInvalid, an unknown one
// define.ErrNoSuchContainer; an error from fn is returned as is.
func (e *Engine) ContainerStats(ctx context.Context, names []string, opts ContainerStatsOptions, fn func([]ContainerStats) error) error {
	prev := map[string]ContainerStats{}
	sample := func() ([]ContainerStats, error) {
		ctrs, err := e.statsTargets(ctx, names, opts.All)
		if err != nil {
			return nil, err
		}
		out := make([]ContainerStats, 0, len(ctrs))
		next := make(map[string]ContainerStats, len(ctrs))
		for _, c := range ctrs {
			st, err := e.sampleStats(c)
			if err != nil {
				return nil, err
			}
			if p, ok := prev[c.ID]; ok {
				st.CPU = cpuPercent(p.CPUNano, st.CPUNano, st.at.Sub(p.at))
			}
			out, next[c.ID] = append(out, st), st
		}
		prev = next
		return out, nil
	}
	if _, err := sample(); err != nil {
		return err
	}
	delay := statsFirstDelay
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
		report, err := sample()
		if err != nil {
			return err
		}
		if err := fn(report); err != nil {
			return err
		}
		if !opts.Stream {
			return nil
		}
		delay = max(opts.Interval, statsFirstDelay)
	}
}

// statsTargets looks up the named containers, which must run, or lists the
// running ones (every one with all).
func (e *Engine) statsTargets(ctx context.Context, names []string, all bool) ([]*ctr, error) {
	var out []*ctr
	if len(names) > 0 {
		for _, n := range names {
			c, err := e.lookupCtr(ctx, n)
			if err != nil {
				return nil, err
			}
			if c = e.refreshStale(ctx, c); !c.running() {
				return nil, fmt.Errorf("container %s is %s: stats are only kept while it runs: %w", c.Name, c.State.Status, define.ErrCtrStateInvalid)
			}
			out = append(out, c)
		}
		return out, nil
	}
	recs, err := e.db.Containers(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		c, err := decodeCtr(r)
		if err != nil {
			return nil, err
		}
		if c = e.refreshStale(ctx, c); all || c.running() {
			out = append(out, c)
		}
	}
	return out, nil
}

func (c *ctr) running() bool {
	return c.State.Status == define.StatusRunning || c.State.Status == define.StatusPaused
}

// sampleStats reads a container's counters. A container that stopped
// meanwhile gives zero values.
func (e *Engine) sampleStats(c *ctr) (ContainerStats, error) {
	st := ContainerStats{ContainerID: c.ID, Name: c.Name, at: time.Now()}
	if !c.running() || c.State.Pid == 0 {
		return st, nil
	}
	cg, err := readCgroups(c.State.Pid)
	if err != nil {
		if !processAlive(c.State.Pid) {
			return st, nil
		}
		return st, fmt.Errorf("stats of %s: %w", c.Name, err)
	}
	cg.fill(&st)
	if st.MemLimit == 0 || st.MemLimit > hostMemory() {
		st.MemLimit = hostMemory()
	}
	if st.MemLimit > 0 {
		st.MemPerc = float64(st.MemUsage) / float64(st.MemLimit) * 100
	}
	st.UpTime = time.Duration(st.CPUNano)
	if !c.State.StartedAt.IsZero() {
		st.AvgCPU = cpuPercent(0, st.CPUNano, st.at.Sub(c.State.StartedAt))
	}
	if c.cfg.Spec.Namespaces.Network != "host" {
		st.Network, st.NetInput, st.NetOutput = netDev(c.State.Pid)
	}
	return st, nil
}

// cpuPercent is the CPU time used between two samples over the wall time
// between them, in percent of one CPU.
func cpuPercent(before, after uint64, wall time.Duration) float64 {
	if wall <= 0 || after < before {
		return 0
	}
	return float64(after-before) / float64(wall.Nanoseconds()) * 100
}

// cgroupFiles are the directories of a process's cgroups: the v1
// hierarchies by controller, or the one v2 directory under "".
type cgroupFiles map[string]string

const cgroupRoot = "/sys/fs/cgroup"

// readCgroups finds the cgroup directories of pid from /proc/PID/cgroup.
// On a hybrid host the v1 controllers are used; the v2 line is used only
// when there are none.
func readCgroups(pid int) (cgroupFiles, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return nil, err
	}
	return parseCgroups(string(b), cgroupRoot), nil
}

func parseCgroups(data, root string) cgroupFiles {
	v1, v2 := cgroupFiles{}, ""
	for _, line := range strings.Split(data, "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[1] == "" {
			v2 = filepath.Join(root, parts[2])
			continue
		}
		for _, ctl := range strings.Split(parts[1], ",") {
			dir := filepath.Join(root, parts[1], parts[2])
			if _, err := os.Stat(dir); err != nil {
				dir = filepath.Join(root, ctl, parts[2])
			}
			v1[ctl] = dir
		}
	}
	if v1["memory"] == "" && v2 != "" {
		return cgroupFiles{"": v2}
	}
	return v1
}

// cgroupPathOf is pid's cgroup as inspect shows it: the memory
// controller's on cgroup v1, the unified one on v2; "" if unknown.
func cgroupPathOf(pid int) string {
	cg, err := readCgroups(pid)
	if err != nil {
		return ""
	}
	if dir, ok := cg[""]; ok {
		return strings.TrimPrefix(dir, cgroupRoot)
	}
	return strings.TrimPrefix(cg["memory"], filepath.Join(cgroupRoot, "memory"))
}

// fill reads the counters of cgroup v1 or v2 into st; a missing file
// leaves its counter at zero.
func (cg cgroupFiles) fill(st *ContainerStats) {
	if dir, ok := cg[""]; ok {
		st.MemUsage = readUint(filepath.Join(dir, "memory.current"))
		st.MemLimit = readUint(filepath.Join(dir, "memory.max"))
		st.MemUsage = subFloor(st.MemUsage, statValue(filepath.Join(dir, "memory.stat"), "inactive_file"))
		st.CPUNano = statValue(filepath.Join(dir, "cpu.stat"), "usage_usec") * 1000
		st.PIDs = readUint(filepath.Join(dir, "pids.current"))
		st.BlockInput, st.BlockOutput = ioStatV2(filepath.Join(dir, "io.stat"))
		return
	}
	mem := cg["memory"]
	st.MemUsage = readUint(filepath.Join(mem, "memory.usage_in_bytes"))
	st.MemLimit = readUint(filepath.Join(mem, "memory.limit_in_bytes"))
	st.MemUsage = subFloor(st.MemUsage, statValue(filepath.Join(mem, "memory.stat"), "total_inactive_file"))
	st.CPUNano = readUint(filepath.Join(cg["cpuacct"], "cpuacct.usage"))
	st.PIDs = readUint(filepath.Join(cg["pids"], "pids.current"))
	st.BlockInput, st.BlockOutput = blkioV1(filepath.Join(cg["blkio"], "blkio.throttle.io_service_bytes"))
}

// readUint reads a file holding one number; "max" and errors read as 0.
func readUint(path string) uint64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return n
}

// statValue reads KEY's value from a "KEY VALUE" per line file.
func statValue(path, key string) uint64 {
	var out uint64
	eachLine(path, func(f []string) {
		if len(f) == 2 && f[0] == key {
			out, _ = strconv.ParseUint(f[1], 10, 64)
		}
	})
	return out
}

// blkioV1 sums the Read and Write lines of blkio.throttle.io_service_bytes.
func blkioV1(path string) (read, write uint64) {
	eachLine(path, func(f []string) {
		if len(f) != 3 {
			return
		}
		n, _ := strconv.ParseUint(f[2], 10, 64)
		switch f[1] {
		case "Read":
			read += n
		case "Write":
			write += n
		}
	})
	return read, write
}

// ioStatV2 sums rbytes= and wbytes= over the devices of io.stat.
func ioStatV2(path string) (read, write uint64) {
	eachLine(path, func(f []string) {
		for _, kv := range f[1:] {
			k, v, _ := strings.Cut(kv, "=")
			n, _ := strconv.ParseUint(v, 10, 64)
			switch k {
			case "rbytes":
				read += n
			case "wbytes":
				write += n
			}
		}
	})
	return read, write
}

// netDev sums the received and sent bytes of the interfaces other than lo
// in pid's network namespace; ok is false when it has none.
func netDev(pid int) (ok bool, rx, tx uint64) {
	eachLine(fmt.Sprintf("/proc/%d/net/dev", pid), func(f []string) {
		if len(f) < 10 || !strings.HasSuffix(f[0], ":") || f[0] == "lo:" {
			return
		}
		r, _ := strconv.ParseUint(f[1], 10, 64)
		t, _ := strconv.ParseUint(f[9], 10, 64)
		ok, rx, tx = true, rx+r, tx+t
	})
	return ok, rx, tx
}

// eachLine calls fn with the fields of each line of a file; a missing file
// has none.
func eachLine(path string, fn func([]string)) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer closeQuietly(f)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) > 0 {
			fn(fields)
		}
	}
}

func subFloor(a, b uint64) uint64 {
	if b > a {
		return 0
	}
	return a - b
}

// hostMemory is the host's total memory in bytes.
func hostMemory() uint64 {
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err != nil {
		return 0
	}
	return uint64(si.Totalram) * uint64(si.Unit)
}
