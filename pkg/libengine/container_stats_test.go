package libengine

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestParseCgroups(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "cpu,cpuacct", "engine", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	hybrid := "12:pids:/engine/x\n4:memory:/engine/x\n3:cpu,cpuacct:/engine/x\n0::/user.slice\n"
	cg := parseCgroups(hybrid, root)
	if cg["memory"] != filepath.Join(root, "memory/engine/x") || cg["cpuacct"] != filepath.Join(root, "cpu,cpuacct/engine/x") || cg[""] != "" {
		t.Errorf("hybrid: %v", cg)
	}
	// Split hierarchies (cpu and cpuacct mounted apart) are found by name.
	cg = parseCgroups("2:cpuacct:/engine/y\n4:memory:/engine/y\n", root)
	if cg["cpuacct"] != filepath.Join(root, "cpuacct/engine/y") {
		t.Errorf("split: %v", cg)
	}
	cg = parseCgroups("0::/engine/z\n", root)
	if len(cg) != 1 || cg[""] != filepath.Join(root, "engine/z") {
		t.Errorf("v2: %v", cg)
	}
}

func TestCgroupFill(t *testing.T) {
	t.Parallel()
	write := func(dir, name, data string) {
		t.Helper()
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	v1 := t.TempDir()
	write(v1, "memory.usage_in_bytes", "1000000\n")
	write(v1, "memory.limit_in_bytes", "9223372036854771712\n")
	write(v1, "memory.stat", "cache 10\ntotal_inactive_file 200000\n")
	write(v1, "cpuacct.usage", "5000000000\n")
	write(v1, "pids.current", "3\n")
	write(v1, "blkio.throttle.io_service_bytes", "8:0 Read 4096\n8:0 Write 512\n8:0 Total 4608\n8:16 Read 4\nTotal 4612\n")
	var st ContainerStats
	cgroupFiles{"memory": v1, "cpuacct": v1, "pids": v1, "blkio": v1}.fill(&st)
	if st.MemUsage != 800000 || st.CPUNano != 5e9 || st.PIDs != 3 || st.BlockInput != 4100 || st.BlockOutput != 512 {
		t.Errorf("v1: %+v", st)
	}
	v2 := t.TempDir()
	write(v2, "memory.current", "2000000\n")
	write(v2, "memory.max", "max\n")
	write(v2, "memory.stat", "anon 1\ninactive_file 1000000\n")
	write(v2, "cpu.stat", "usage_usec 1500\nuser_usec 1000\n")
	write(v2, "pids.current", "1\n")
	write(v2, "io.stat", "8:0 rbytes=100 wbytes=20 rios=1 wios=1\n8:16 rbytes=1 wbytes=2\n")
	st = ContainerStats{}
	cgroupFiles{"": v2}.fill(&st)
	if st.MemUsage != 1000000 || st.MemLimit != 0 || st.CPUNano != 1500000 || st.PIDs != 1 || st.BlockInput != 101 || st.BlockOutput != 22 {
		t.Errorf("v2: %+v", st)
	}
}

func TestCPUPercent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		before, after uint64
		wall          time.Duration
		want          float64
	}{
		{0, 5e8, time.Second, 50},
		{1e9, 3e9, time.Second, 200},
		{5, 1, time.Second, 0},
		{0, 1, 0, 0},
	} {
		if got := cpuPercent(tc.before, tc.after, tc.wall); got != tc.want {
			t.Errorf("cpuPercent(%d, %d, %v) = %v, want %v", tc.before, tc.after, tc.wall, got, tc.want)
		}
	}
}
