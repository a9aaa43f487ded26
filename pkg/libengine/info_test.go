package libengine

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/engine-oss/engine/pkg/libengine/config"
)

func TestParseOSRelease(t *testing.T) {
	t.Parallel()
	in := "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n\n# comment\n"
	got := parseOSRelease([]byte(in))
	if got != (DistributionInfo{Distribution: "debian", Version: "12", Codename: "bookworm"}) {
		t.Errorf("parseOSRelease = %+v", got)
	}
}

func TestEnabledV1Controllers(t *testing.T) {
	t.Parallel()
	in := "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpuset\t2\t1\t1\ncpu\t3\t40\t1\nrdma\t0\t1\t0\n"
	if got := enabledV1Controllers([]byte(in)); !slices.Equal(got, []string{"cpuset", "cpu"}) {
		t.Errorf("controllers = %v", got)
	}
}

func TestTooOldCrun(t *testing.T) {
	t.Parallel()
	tests := map[string]bool{
		"crun version 1.8.1\ncommit: abc": true,
		"crun version 1.9\ncommit: abc":   false,
		"crun version 1.14.4":             false,
		"crun version 0.20":               true,
		"runc version 1.1.5":              false,
	}
	for v, want := range tests {
		if got := tooOldCrun(RuntimeInfo{Version: v}); got != want {
			t.Errorf("tooOldCrun(%q) = %v, want %v", v, got, want)
		}
	}
}

// fakeRuntimes puts scripts named like runtimes that print version on a
// fresh $PATH. It changes the environment, so its callers are not parallel.
func fakeRuntimes(t *testing.T, versions map[string]string) {
	t.Helper()
	dir := t.TempDir()
	for name, version := range versions {
		script := "#!/bin/sh\necho '" + version + "'\n"
		if version == "" {
			script = "#!/bin/sh\nexit 1\n"
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir)
}

func TestFindRuntimes(t *testing.T) {
	tests := []struct {
		name     string
		versions map[string]string
		explicit string
		search   []string
		cgroup   string
		want     string // chosen runtime's name, "" for none
		unusable []string
	}{
		{name: "first in search", versions: map[string]string{"runc": "runc version 1.1.5", "crun": "crun version 1.14"}, search: []string{"crun", "runc"}, cgroup: "v2", want: "crun"},
		{name: "old crun skipped on v1", versions: map[string]string{"runc": "runc version 1.1.5", "crun": "crun version 1.8.1"}, search: []string{"crun", "runc"}, cgroup: "v1", want: "runc", unusable: []string{"crun"}},
		{name: "old crun fine on v2", versions: map[string]string{"crun": "crun version 1.8.1"}, search: []string{"crun", "runc"}, cgroup: "v2", want: "crun"},
		{name: "configured old crun used on v1", versions: map[string]string{"runc": "runc version 1.1.5", "crun": "crun version 1.8.1"}, explicit: "crun", search: []string{"runc", "crun"}, cgroup: "v1", want: "crun"},
		{name: "broken runtime skipped", versions: map[string]string{"runc": "", "crun": "crun version 1.14"}, search: []string{"runc", "crun"}, cgroup: "v1", want: "crun", unusable: []string{"runc"}},
		{name: "configured but missing", versions: map[string]string{"runc": "runc version 1.1.5"}, explicit: "youki", search: []string{"runc"}, cgroup: "v2", want: "", unusable: []string{"youki"}},
		{name: "none", versions: map[string]string{}, search: []string{"runc", "crun"}, cgroup: "v2", want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fakeRuntimes(t, tc.versions)
			e := &Engine{cfg: newTestConfig(tc.explicit, tc.search)}
			chosen, all := e.findRuntimes(context.Background(), tc.cgroup)
			got := ""
			if chosen != nil {
				got = chosen.Name
				if !chosen.Usable || !strings.HasPrefix(chosen.Reason, "chosen") {
					t.Errorf("chosen = %+v", chosen)
				}
			}
			if got != tc.want {
				t.Errorf("chosen %q, want %q (all: %+v)", got, tc.want, all)
			}
			var unusable []string
			for _, r := range all {
				if !r.Usable {
					unusable = append(unusable, r.Name)
				}
			}
			if !slices.Equal(unusable, tc.unusable) {
				t.Errorf("unusable = %v, want %v (all: %+v)", unusable, tc.unusable, all)
			}
		})
	}
}

func newTestConfig(runtime string, search []string) *config.Config {
	return &config.Config{Engine: config.EngineConfig{Runtime: runtime, RuntimeSearch: search}}
}

func TestInfo(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	addTestImage(t, e, testImage{names: []string{"localhost/a:1"}})
	addTestImage(t, e, testImage{})
	r, err := e.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case r.Store.ImageStore.Number != 2:
		t.Errorf("image count = %d", r.Store.ImageStore.Number)
	case r.Store.GraphDriverName != "vfs" || r.Store.GraphDriverSource != "--storage-driver":
		t.Errorf("driver %q from %q", r.Store.GraphDriverName, r.Store.GraphDriverSource)
	case r.Store.GraphRoot != e.store.GraphRoot():
		t.Errorf("graph root %q", r.Store.GraphRoot)
	case r.Host.CPUs < 1 || r.Host.MemTotal <= 0 || r.Host.Kernel == "":
		t.Errorf("host = %+v", r.Host)
	case r.Host.CgroupVersion != "v1" && r.Host.CgroupVersion != "v2":
		t.Errorf("cgroup version %q", r.Host.CgroupVersion)
	case r.Version.Version != Version:
		t.Errorf("version %q", r.Version.Version)
	}
}
