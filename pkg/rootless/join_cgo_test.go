//go:build linux && cgo

package rootless

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

func TestCommandJoins(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"engine", "ps", "-a"}, true},
		{[]string{"/usr/bin/engine", "run", "--rm", "img", "version"}, true},
		{[]string{"engine", "system", "migrate"}, true},
		{[]string{"engine", "unshare", "sh"}, true},
		{[]string{"engine", "--root", "/r", "--runroot=/rr", "images"}, true},
		{[]string{"engine", "--log-level", "debug", "--storage-opt", "a=b", "--storage-driver", "vfs", "--config", "c", "--tmpdir", "/t", "ps"}, true},
		{[]string{"engine", "--root", "version"}, false}, // "version" is --root's value: no command
		{[]string{"engine", "--root", "/r", "version"}, false},
		{[]string{"engine", "--log-level=debug", "version", "--format", "x"}, false},
		{[]string{"engine", "quadlet", "-dryrun"}, false},
		{[]string{"engine", "help", "ps"}, false},
		{[]string{"engine", "completion", "bash"}, false},
		{[]string{"engine", "__complete", "ps", ""}, false},
		{[]string{"engine"}, false},
		{[]string{}, false},
		{[]string{"engine", "--root", "/r"}, false},
		{[]string{"engine", ""}, false},
		{[]string{"engine", "--help", "ps"}, false},  // help needs no namespace
		{[]string{"engine", "--bogus", "ps"}, false}, // unknown flag: left to Enter
		{[]string{"engine", "--rootx=/r", "ps"}, false},
		{[]string{"engine", "--", "ps"}, false},
		{[]string{"engine", "-", "ps"}, false},
		{[]string{"/usr/lib/systemd/user-generators/engine-user-generator", "/run/user/1000/systemd/generator"}, false},
		{[]string{"engine-system-generator", "-dryrun"}, false},
		{[]string{"engine", pauseArg}, true}, // the pause process never scans: _ENGINE_PAUSE comes first
	} {
		if got := cCommandJoins(tc.args); got != tc.want {
			t.Errorf("%q: joins %v, want %v", tc.args, got, tc.want)
		}
	}
}

func TestOutsideCommandsMatchC(t *testing.T) {
	t.Parallel()
	if got := cOutsideCommands(); !slices.Equal(got, outsideCommands) {
		t.Fatalf("the constructor's outside_commands %q differ from outsideCommands %q: change both", got, outsideCommands)
	}
	for _, c := range outsideCommands {
		if cCommandJoins([]string{"engine", c}) {
			t.Errorf("the constructor joins for %q, which StaysOutside", c)
		}
	}
}

func TestPausePidFileMatchesC(t *testing.T) {
	t.Setenv(envUsernsConfigured, "") // UID is getuid
	if err := os.Unsetenv(envUsernsConfigured); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		xdg   string
		unset bool
		// leftToEnter: the constructor does not look for the pid file.
		leftToEnter bool
	}{
		{xdg: "/run/user/1000"},
		{xdg: "/run/user/1000/"},
		{xdg: "/home/a b/run"},
		{xdg: ""},
		{unset: true},
		{xdg: "run/user", leftToEnter: true},
		{xdg: "/run/user/../x", leftToEnter: true},
		{xdg: "/home/a/.run", leftToEnter: true},
	} {
		t.Setenv("XDG_RUNTIME_DIR", tc.xdg)
		if tc.unset {
			if err := os.Unsetenv("XDG_RUNTIME_DIR"); err != nil {
				t.Fatal(err)
			}
		}
		dir, _ := runtimeDirPath()
		want := PausePidFile(dir)
		got := cPausePidFile()
		switch {
		case tc.leftToEnter && got != "":
			t.Errorf("XDG_RUNTIME_DIR=%q: the constructor looks in %q, want it to leave it to Enter", tc.xdg, got)
		case !tc.leftToEnter && filepath.Clean(got) != want:
			t.Errorf("XDG_RUNTIME_DIR=%q (unset %v): the constructor looks in %q, Enter in %q", tc.xdg, tc.unset, got, want)
		}
	}
}

func TestLivePauseMatchesC(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "pause.pid")
	pause := strconv.Itoa(startPauseMode(t).Process.Pid)
	for _, content := range []string{
		"", "garbage", "-1", "0", "99999999999999999999", strconv.Itoa(os.Getpid()), "1",
		pause, pause + "\n", " " + pause + " \n", "+" + pause, pause + "x", pause + " 1",
	} {
		if err := os.WriteFile(pidFile, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		want, got := livePause(pidFile), cLivePause(pidFile)
		if got != want {
			t.Errorf("pid file %q: the constructor finds %d, livePause %d", content, got, want)
		}
		if content == pause && want == 0 {
			t.Errorf("pid file %q: the pause process is not found", content)
		}
	}
	if got := cLivePause(pidFile + ".none"); got != 0 {
		t.Errorf("no pid file: the constructor finds %d", got)
	}
}
