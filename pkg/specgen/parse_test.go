package specgen

import (
	"errors"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/engine-oss/engine/pkg/libengine/define"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// wantErr checks err against the sentinel want (nil: no error) and that its
// message mentions each of the strings in mention.
func wantErr(t *testing.T, err, want error, mention ...string) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("error %v does not wrap %v", err, want)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one line: %q", err)
	}
	for _, m := range mention {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("error %q does not mention %q", err, m)
		}
	}
}

func TestParseMemory(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want int64
		err  error
	}{
		{"512m", 512 << 20, nil},
		{"512M", 512 << 20, nil},
		{"512mb", 512 << 20, nil},
		{"1GiB", 1 << 30, nil},
		{"1.5g", 3 << 29, nil},
		{"7000000", 7000000, nil},
		{"6m", MinMemory, nil},
		{"5m", 0, define.ErrInvalidArg},
		{"12x", 0, define.ErrInvalidArg},
		{"", 0, define.ErrInvalidArg},
		{"-1g", 0, define.ErrInvalidArg},
		{"m", 0, define.ErrInvalidArg},
	} {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseMemory(tc.in)
			wantErr(t, err, tc.err, "--memory")
			if got != tc.want {
				t.Errorf("ParseMemory(%q) = %d, want %d", tc.in, got, tc.want)
			}
		})
	}
	_, err := ParseMemory("12x")
	if want := `--memory "12x": invalid size: use a number with an optional unit b, k, m or g (e.g. 512m)`; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("message %q, want it to start with %q", err, want)
	}
}

func TestParseSize(t *testing.T) {
	t.Parallel()
	n, err := ParseSize("--shm-size", "64m")
	if err != nil || n != 64<<20 {
		t.Errorf("ParseSize 64m = %d, %v", n, err)
	}
	n, err = ParseSize("--shm-size", "1k")
	if err != nil || n != 1024 {
		t.Errorf("ParseSize 1k = %d, %v (no minimum outside --memory)", n, err)
	}
	_, err = ParseSize("--shm-size", "lots")
	wantErr(t, err, define.ErrInvalidArg, "--shm-size", `"lots"`)
}

func TestParseCPUs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want float64
		err  error
	}{
		{"1.5", 1.5, nil},
		{"2", 2, nil},
		{"0.01", 0.01, nil},
		{"0", 0, nil},
		{"0.001", 0, define.ErrInvalidArg},
		{"-1", 0, define.ErrInvalidArg},
		{"NaN", 0, define.ErrInvalidArg},
		{"Inf", 0, define.ErrInvalidArg},
		{"two", 0, define.ErrInvalidArg},
	} {
		got, err := ParseCPUs(tc.in)
		wantErr(t, err, tc.err, "--cpus")
		if got != tc.want {
			t.Errorf("ParseCPUs(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestParseUlimit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want specs.POSIXRlimit
		err  error
	}{
		{"nofile=1024:2048", specs.POSIXRlimit{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 2048}, nil},
		{"nproc=100", specs.POSIXRlimit{Type: "RLIMIT_NPROC", Soft: 100, Hard: 100}, nil},
		{"core=-1", specs.POSIXRlimit{Type: "RLIMIT_CORE", Soft: Unlimited, Hard: Unlimited}, nil},
		{"memlock=-1:-1", specs.POSIXRlimit{Type: "RLIMIT_MEMLOCK", Soft: Unlimited, Hard: Unlimited}, nil},
		{"nofile=2048:1024", specs.POSIXRlimit{}, define.ErrInvalidArg},
		{"nofile=-1:1024", specs.POSIXRlimit{}, define.ErrInvalidArg},
		{"files=10", specs.POSIXRlimit{}, define.ErrInvalidArg},
		{"nofile", specs.POSIXRlimit{}, define.ErrInvalidArg},
		{"nofile=ten", specs.POSIXRlimit{}, define.ErrInvalidArg},
		{"nofile=1:ten", specs.POSIXRlimit{}, define.ErrInvalidArg},
		{"nofile=-2", specs.POSIXRlimit{}, define.ErrInvalidArg},
		{"host", specs.POSIXRlimit{}, define.ErrNotImplemented},
	} {
		got, err := ParseUlimit(tc.in)
		wantErr(t, err, tc.err, "--ulimit")
		if got != tc.want {
			t.Errorf("ParseUlimit(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestParseDevice(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want Device
		err  error
	}{
		{"/dev/fuse", Device{"/dev/fuse", "/dev/fuse", "rwm"}, nil},
		{"/dev/fuse:/dev/fuse", Device{"/dev/fuse", "/dev/fuse", "rwm"}, nil},
		{"/dev/fuse:rw", Device{"/dev/fuse", "/dev/fuse", "rw"}, nil},
		{"/dev/sda:/dev/xvda:r", Device{"/dev/sda", "/dev/xvda", "r"}, nil},
		{"/dev/fuse:/dev/fuse:rwm", Device{"/dev/fuse", "/dev/fuse", "rwm"}, nil},
		{"/dev/fuse:/dev/fuse:x", Device{}, define.ErrInvalidArg},
		{"/dev/fuse:/dev/fuse:rr", Device{}, define.ErrInvalidArg},
		{"/dev/fuse:fuse", Device{}, define.ErrInvalidArg},
		{"fuse", Device{}, define.ErrInvalidArg},
		{"/a:/b:r:x", Device{}, define.ErrInvalidArg},
	} {
		got, err := ParseDevice(tc.in)
		wantErr(t, err, tc.err, "--device")
		if got != tc.want {
			t.Errorf("ParseDevice(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestParseRestartPolicy(t *testing.T) {
	t.Parallel()
	three := uint(3)
	for _, tc := range []struct {
		in      string
		policy  string
		retries *uint
		err     error
	}{
		{"no", "no", nil, nil},
		{"always", "always", nil, nil},
		{"unless-stopped", "unless-stopped", nil, nil},
		{"on-failure", "on-failure", nil, nil},
		{"on-failure:3", "on-failure", &three, nil},
		{"on-failure:x", "", nil, define.ErrInvalidArg},
		{"on-failure:-1", "", nil, define.ErrInvalidArg},
		{"always:3", "", nil, define.ErrInvalidArg},
		{"sometimes", "", nil, define.ErrInvalidArg},
	} {
		policy, retries, err := ParseRestartPolicy(tc.in)
		wantErr(t, err, tc.err, "--restart")
		if policy != tc.policy || !reflect.DeepEqual(retries, tc.retries) {
			t.Errorf("ParseRestartPolicy(%q) = %q, %v", tc.in, policy, retries)
		}
	}
}

func TestParseSignal(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want syscall.Signal
		err  error
	}{
		{"SIGTERM", syscall.SIGTERM, nil},
		{"TERM", syscall.SIGTERM, nil},
		{"sigkill", syscall.SIGKILL, nil},
		{"hup", syscall.SIGHUP, nil},
		{"9", syscall.SIGKILL, nil},
		{"64", 64, nil},
		{"RTMIN", 34, nil},
		{"SIGRTMIN+3", 37, nil},
		{"RTMAX-1", 63, nil},
		{"RTMAX", 64, nil},
		{"0", 0, define.ErrInvalidArg},
		{"65", 0, define.ErrInvalidArg},
		{"-1", 0, define.ErrInvalidArg},
		{"RTMIN+31", 0, define.ErrInvalidArg},
		{"RTMIN-1", 0, define.ErrInvalidArg},
		{"SIGFOO", 0, define.ErrInvalidArg},
		{"", 0, define.ErrInvalidArg},
	} {
		got, err := ParseSignal(tc.in)
		wantErr(t, err, tc.err, "signal")
		if got != tc.want {
			t.Errorf("ParseSignal(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestParseUser(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, user, group string
		err             error
	}{
		{"", "", "", nil},
		{"1000", "1000", "", nil},
		{"1000:1000", "1000", "1000", nil},
		{"nobody", "nobody", "", nil},
		{"nobody:users", "nobody", "users", nil},
		{":100", "", "", define.ErrInvalidArg},
		{"1000:", "", "", define.ErrInvalidArg},
		{"a:b:c", "", "", define.ErrInvalidArg},
		{"a b", "", "", define.ErrInvalidArg},
	} {
		user, group, err := ParseUser(tc.in)
		wantErr(t, err, tc.err, "--user")
		if user != tc.user || group != tc.group {
			t.Errorf("ParseUser(%q) = %q, %q", tc.in, user, group)
		}
	}
}

func TestParseSysctl(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, name, val string
		err           error
	}{
		{"net.ipv4.ip_forward=1", "net.ipv4.ip_forward", "1", nil},
		{"kernel.shmmax=1000", "kernel.shmmax", "1000", nil},
		{"kernel.shm_rmid_forced=1", "kernel.shm_rmid_forced", "1", nil},
		{"kernel.msgmax=8192", "kernel.msgmax", "8192", nil},
		{"kernel.sem=250 32000 32 128", "kernel.sem", "250 32000 32 128", nil},
		{"fs.mqueue.msg_max=10", "fs.mqueue.msg_max", "10", nil},
		{"kernel.pid_max=10", "", "", define.ErrInvalidArg},
		{"vm.swappiness=1", "", "", define.ErrInvalidArg},
		{"net.ipv4.ip_forward", "", "", define.ErrInvalidArg},
		{"=1", "", "", define.ErrInvalidArg},
	} {
		name, val, err := ParseSysctl(tc.in)
		wantErr(t, err, tc.err, "--sysctl")
		if name != tc.name || val != tc.val {
			t.Errorf("ParseSysctl(%q) = %q, %q", tc.in, name, val)
		}
	}
}

func TestParseTmpfs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, dest, opts string
		err            error
	}{
		{"/run", "/run", "", nil},
		{"/run:rw,size=64m,mode=1777", "/run", "rw,size=64m,mode=1777", nil},
		{"/data:exec,uid=1000,gid=1000,nr_inodes=1k", "/data", "exec,uid=1000,gid=1000,nr_inodes=1k", nil},
		{"run", "", "", define.ErrInvalidArg},
		{"/run:size=big", "", "", define.ErrInvalidArg},
		{"/run:mode=999", "", "", define.ErrInvalidArg},
		{"/run:ro,rw", "", "", define.ErrInvalidArg},
		{"/run:size=1m,size=2m", "", "", define.ErrInvalidArg},
		{"/run:bogus", "", "", define.ErrInvalidArg},
		{"/run:rbind", "", "", define.ErrInvalidArg},
	} {
		dest, opts, err := ParseTmpfs(tc.in)
		wantErr(t, err, tc.err, "--tmpfs")
		if dest != tc.dest || opts != tc.opts {
			t.Errorf("ParseTmpfs(%q) = %q, %q", tc.in, dest, opts)
		}
	}
}

func TestParseEntrypoint(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", []string{}},
		{"/bin/sh", []string{"/bin/sh"}},
		{"/bin/sh -c", []string{"/bin/sh -c"}},
		{`["/bin/sh","-c"]`, []string{"/bin/sh", "-c"}},
		{`[]`, []string{}},
		{`["unterminated"`, []string{`["unterminated"`}},
	} {
		got := ParseEntrypoint(tc.in)
		if got == nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseEntrypoint(%q) = %#v, want %#v", tc.in, got, tc.want)
		}
	}
}
