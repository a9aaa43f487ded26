package libengine

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseTopDescriptors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want []string
		ok   bool
	}{
		{nil, DefaultTopDescriptors, true},
		{[]string{"pid,comm", "user"}, []string{"pid", "comm", "user"}, true},
		{[]string{"%p", "%C"}, []string{"%p", "%C"}, true},
		{[]string{"-o", "pid"}, nil, false},
		{[]string{"aux"}, nil, false},
		{[]string{"pid,bogus"}, nil, false},
	} {
		got, ok := parseTopDescriptors(tc.args)
		if ok != tc.ok || !slices.Equal(got, tc.want) {
			t.Errorf("parseTopDescriptors(%q) = %q, %v", tc.args, got, ok)
		}
	}
}

func TestTTYName(t *testing.T) {
	t.Parallel()
	for nr, want := range map[int]string{0: "?", 136<<8 | 3: "pts/3", 137<<8 | 1: "pts/257", 4<<8 | 1: "tty1", 4<<8 | 65: "ttyS1", 5 << 8: "?"} {
		if got := ttyName(nr); got != want {
			t.Errorf("ttyName(%#x) = %q, want %q", nr, got, want)
		}
	}
}

// TestTopFromProc reads this test's own process, as top reads a
// container's: its PID is its own outside a PID namespace.
func TestTopFromProc(t *testing.T) {
	t.Parallel()
	pid := os.Getpid()
	lines, err := topFromProc([]int{pid, 1 << 30}, []string{"pid", "hpid", "comm", "args", "etime", "time", "%C"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 2 || lines[0] != "PID\tHPID\tCOMMAND\tCOMMAND\tELAPSED\tTIME\t%CPU" {
		t.Fatalf("lines %q (a vanished pid must be left out)", lines)
	}
	f := strings.Split(lines[1], "\t")
	if self := strconv.Itoa(pid); f[0] != self || f[1] != self || !strings.HasSuffix(f[3], f[2]) && !strings.Contains(f[3], f[2]) {
		t.Errorf("row %q", f)
	}
	if _, err := time.ParseDuration(f[4]); err != nil {
		t.Errorf("ELAPSED %q: %v", f[4], err)
	}
}

func TestLookupID(t *testing.T) {
	t.Parallel()
	file := t.TempDir() + "/passwd"
	if err := os.WriteFile(file, []byte("root:x:0:0:root:/root:/bin/sh\nweb:x:1000:1000:Web Server:/srv:/bin/false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{"0": "root", "1000": "web", "42": "42"} {
		if got := lookupID(file, id); got != want {
			t.Errorf("lookupID(%s) = %q, want %q", id, got, want)
		}
	}
	if got := lookupID("/nonexistent", "7"); got != "7" {
		t.Errorf("missing file: %q", got)
	}
}
