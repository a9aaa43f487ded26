package specgen

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/engine-oss/engine/pkg/libengine/define"
)

// zoneinfo makes a zoneinfo directory and points TZDIR at it: a zone file
// Europe/Berlin, a link UTC to it and a file zone.tab that is no zone. It
// returns the zone file's path. Tests that call it cannot run in parallel.
func zoneinfo(t *testing.T) string {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	berlin := filepath.Join(dir, "Europe", "Berlin")
	if err := os.MkdirAll(filepath.Dir(berlin), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{berlin: "TZif2 Berlin", filepath.Join(dir, "zone.tab"): "# no zone\n"} {
		if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("Europe/Berlin", filepath.Join(dir, "UTC")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TZDIR", dir)
	return berlin
}

func TestTimezoneFile(t *testing.T) {
	berlin := zoneinfo(t)
	for _, tc := range []struct {
		tz   string
		want string
		say  []string
	}{
		{"Europe/Berlin", berlin, nil},
		{"UTC", berlin, nil},
		{"Europe/../Europe/Berlin", berlin, nil},
		{"Mars/Olympus", "", []string{"--tz Mars/Olympus", "unknown time zone", "does not exist", "Europe/Berlin", "local"}},
		{"../etc/passwd", "", []string{`--tz "../etc/passwd"`, "not a zone name"}},
		{"Europe/../../etc/passwd", "", []string{"not a zone name"}},
		{"/etc/localtime", "", []string{"not a zone name"}},
		{"", "", []string{"not a zone name"}},
		{"Europe", "", []string{"directory of zones", "Europe/NAME"}},
		{"zone.tab", "", []string{"not a time zone file"}},
	} {
		got, err := TimezoneFile(tc.tz)
		if tc.say == nil {
			if err != nil || got != tc.want {
				t.Errorf("TimezoneFile(%q) = %q, %v, want %q", tc.tz, got, err, tc.want)
			}
			continue
		}
		wantErr(t, err, define.ErrInvalidArg, tc.say...)
	}

	// local is the host's zone, whatever TZDIR says.
	got, err := TimezoneFile("local")
	if want, lerr := filepath.EvalSymlinks("/etc/localtime"); lerr == nil {
		if err != nil || got != want {
			t.Errorf("TimezoneFile(local) = %q, %v, want %q", got, err, want)
		}
	} else {
		wantErr(t, err, define.ErrInvalidArg, "--tz local", "/etc/localtime")
	}
}

func TestGenerateTimezone(t *testing.T) {
	berlin := zoneinfo(t)
	env := testEnv(t)
	spec := generate(t, &SpecGenerator{Timezone: "Europe/Berlin"}, testImage, env)
	m := mountByDest(spec, ContainerLocaltime)
	if m == nil || m.Type != "bind" || m.Source != berlin {
		t.Fatalf("/etc/localtime mount %+v, want a bind mount of %s", m, berlin)
	}
	for _, o := range []string{"rbind", "ro", "nosuid", "nodev", "noexec"} {
		if !slices.Contains(m.Options, o) {
			t.Errorf("/etc/localtime mount options %q lack %s", m.Options, o)
		}
	}
	// As podman, --tz sets no TZ variable: the image's, if any, stays.
	if i := slices.IndexFunc(spec.Process.Env, func(kv string) bool { return strings.HasPrefix(kv, "TZ=") }); i >= 0 {
		t.Errorf("--tz set %s", spec.Process.Env[i])
	}
	if m := mountByDest(generate(t, &SpecGenerator{}, testImage, env), ContainerLocaltime); m != nil {
		t.Errorf("a mount on /etc/localtime without --tz: %+v", m)
	}
	// A user mount on /etc/localtime wins.
	mine := filepath.Join(t.TempDir(), "zone")
	if err := os.WriteFile(mine, []byte("TZif2 mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec = generate(t, &SpecGenerator{Timezone: "UTC", Mounts: []Mount{{Type: "bind", Source: mine, Destination: "/etc/localtime"}}}, testImage, env)
	if m := mountByDest(spec, ContainerLocaltime); m == nil || m.Source != mine {
		t.Errorf("the user's /etc/localtime mount lost: %+v", m)
	}
	_, err := Generate(&SpecGenerator{Image: "x", Timezone: "Mars/Olympus"}, testImage, env)
	wantErr(t, err, define.ErrInvalidArg, "--tz Mars/Olympus")
}
