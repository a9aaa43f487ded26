package e2e

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestTop(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	name := uniqueName(t)
	e.Must("run", "-d", "--name", name, img, "sleep", "1000")

	rows := tableRows(e.Must("top", name))
	if want := []string{"USER", "PID", "PPID", "%CPU", "ELAPSED", "TTY", "TIME", "COMMAND"}; !slices.Equal(rows[0], want) {
		t.Fatalf("header %q, want %q", rows[0], want)
	}
	if len(rows) != 2 || rows[1][0] != "root" || rows[1][1] != "1" || rows[1][2] != "0" || rows[1][7] != "sleep 1000" {
		t.Fatalf("top rows %q, want root, PID 1, sleep 1000", rows)
	}
	// Descriptors, comma-separated or not.
	if out := e.Must("top", name, "pid,comm", "user"); !strings.Contains(out, "PID") || !strings.Contains(out, "1           sleep       root") {
		t.Errorf("top pid,comm user printed %q", out)
	}
	// ps(1) options: the host's ps on the container's processes only.
	out := e.Must("top", name, "-o", "pid,args")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || !strings.Contains(lines[1], "sleep 1000") {
		t.Errorf("top -o pid,args printed %q", out)
	}
	if out := e.Must("top", name, "aux"); strings.Count(strings.TrimSpace(out), "\n") != 1 {
		t.Errorf("top aux lists processes outside the container: %q", out)
	}
	if out := e.Must("top", "--list-descriptors"); !strings.Contains(out, "pcpu\n") {
		t.Errorf("--list-descriptors printed %q", out)
	}
	e.Must("stop", "-t", "0", name)
	e.MustFail(125, "top", name)
	e.MustFail(125, "top", "nosuch")
}

func TestStats(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	name := uniqueName(t)
	e.Must("run", "-d", "--name", name, "--memory", "64m", "--network", "none", img, "sh", "-c", "sleep 1000 & exec sleep 1001")
	e.Must("create", "--name", name+"-created", img, "true")

	rows := tableRows(e.Must("stats", "--no-stream"))
	if want := []string{"ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET IO", "BLOCK IO", "PIDS", "CPU TIME", "AVG CPU %"}; !slices.Equal(rows[0], want) {
		t.Fatalf("header %q, want %q", rows[0], want)
	}
	if len(rows) != 2 || rows[1][1] != name {
		t.Fatalf("stats lists %q, want only the running container", rows)
	}

	var stats []struct {
		ID, Name, MemUsage, NetIO, Pids string
	}
	out := e.Must("stats", "--no-stream", "--format", "json", name)
	if err := json.Unmarshal([]byte(strings.NewReplacer(`"mem_usage"`, `"MemUsage"`, `"net_io"`, `"NetIO"`).Replace(out)), &stats); err != nil || len(stats) != 1 {
		t.Fatalf("stats --format json: %v\n%s", err, out)
	}
	s := stats[0]
	usage, limit, _ := strings.Cut(s.MemUsage, " / ")
	pids, _ := strconv.Atoi(s.Pids)
	if s.Name != name || usage == "0B" || limit != "67.11MB" || pids != 2 || s.NetIO != "-- / --" {
		t.Errorf("stats %+v: want a memory use under the 64m limit, 2 PIDs, no network", s)
	}
	if out := e.Must("stats", "--no-stream", "--format", "{{.Name}} {{.PIDS}}", name); out != name+" 2\n" {
		t.Errorf("stats --format template printed %q", out)
	}
	if rows := tableRows(e.Must("stats", "--no-stream", "-a")); len(rows) != 3 {
		t.Errorf("stats -a lists %q, want both containers", rows)
	}
	e.MustFail(125, "stats", "--no-stream", name+"-created")
	e.MustFail(125, "stats", "--no-stream", "nosuch")
}
