package oci

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeRuntime writes an executable shell script named name into dir that
// prints version, or fails when version is empty. Only the PATH search is
// tested this way; the runtime verbs are tested against the real runc.
func fakeRuntime(t *testing.T, dir, name, version string) string {
	t.Helper()
	script := "#!/bin/sh\necho 'broken: cannot run' >&2\nexit 1\n"
	if version != "" {
		script = "#!/bin/sh\necho '" + name + " version " + version + "'\necho 'commit: 0000'\n"
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestFind runs alone: it writes executables and runs them, and a fork in
// a parallel test while one is open for writing makes exec fail with
// "text file busy".
func TestFind(t *testing.T) {
	type bin struct{ dir, name, version string }
	tests := []struct {
		name     string
		bins     []bin // dir "a" or "b"; $PATH is a:b
		runtime  string
		search   []string
		cgroup2  bool
		wantPath string // dir/name, empty when an error is expected
		wantErr  string
		reason   string
	}{
		{
			name:     "first of search",
			bins:     []bin{{"a", "runc", "1.1.5"}, {"a", "crun", "1.14"}},
			search:   []string{"crun", "runc"},
			wantPath: "a/crun",
			reason:   "first usable of crun, runc in $PATH",
		},
		{
			name:     "old crun skipped on cgroup v1",
			bins:     []bin{{"a", "crun", "1.8.1"}, {"b", "runc", "1.1.5"}},
			search:   []string{"crun", "runc"},
			wantPath: "b/runc",
			reason:   "crun 1.8, which refuses cgroup v1 before 1.9",
		},
		{
			name:     "old crun kept on cgroup v2",
			bins:     []bin{{"a", "crun", "1.8.1"}, {"b", "runc", "1.1.5"}},
			search:   []string{"crun", "runc"},
			cgroup2:  true,
			wantPath: "a/crun",
		},
		{
			name:     "new crun on cgroup v1",
			bins:     []bin{{"a", "crun", "1.9"}, {"b", "runc", "1.1.5"}},
			search:   []string{"crun", "runc"},
			wantPath: "a/crun",
		},
		{
			name:     "old crun named explicitly",
			bins:     []bin{{"a", "crun", "1.8.1"}, {"b", "runc", "1.1.5"}},
			runtime:  "crun",
			search:   []string{"runc", "crun"},
			wantPath: "a/crun",
			reason:   "crun was named explicitly",
		},
		{
			name:     "PATH order within a name",
			bins:     []bin{{"a", "runc", "1.1.5"}, {"b", "runc", "1.2.0"}},
			search:   []string{"runc"},
			wantPath: "a/runc",
		},
		{
			name:     "broken crun skipped on cgroup v1",
			bins:     []bin{{"a", "crun", ""}, {"b", "runc", "1.1.5"}},
			search:   []string{"crun", "runc"},
			wantPath: "b/runc",
			reason:   "broken: cannot run",
		},
		{
			name:    "nothing found",
			search:  []string{"runc", "crun"},
			wantErr: "no OCI runtime found (looked for runc, crun in $PATH): install the Debian package runc",
		},
		{
			name:    "only old crun on cgroup v1",
			bins:    []bin{{"a", "crun", "1.8.1"}},
			search:  []string{"runc", "crun"},
			wantErr: "crun 1.8, which refuses cgroup v1 before 1.9): install the Debian package runc",
		},
		{
			name:    "named runtime missing",
			bins:    []bin{{"a", "runc", "1.1.5"}},
			runtime: "crun",
			search:  []string{"runc"},
			wantErr: "no OCI runtime found (crun is not in $PATH): install the Debian package crun",
		},
		{
			name:     "named by path",
			bins:     []bin{{"b", "runc", "1.1.5"}},
			runtime:  "b/runc", // made absolute below
			wantPath: "b/runc",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for _, d := range []string{"a", "b"} {
				if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for _, b := range tt.bins {
				fakeRuntime(t, filepath.Join(root, b.dir), b.name, b.version)
			}
			name := tt.runtime
			if strings.Contains(name, "/") {
				name = filepath.Join(root, name)
			}
			h := host{path: filepath.Join(root, "a") + ":" + filepath.Join(root, "b"), cgroup2: tt.cgroup2}
			rt, err := find(context.Background(), name, tt.search, "/run/test", h)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("got runtime %+v, want error %q", rt, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrRuntimeNotFound) {
					t.Fatalf("error %q: want it to contain %q and wrap ErrRuntimeNotFound", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Join(root, tt.wantPath); rt.Path != want {
				t.Errorf("Path = %s, want %s (reason %q)", rt.Path, want, rt.Reason)
			}
			if rt.Name != filepath.Base(tt.wantPath) || rt.StateDir != "/run/test" {
				t.Errorf("Name, StateDir = %q, %q", rt.Name, rt.StateDir)
			}
			if !strings.Contains(rt.Reason, tt.reason) {
				t.Errorf("Reason = %q, want it to contain %q", rt.Reason, tt.reason)
			}
		})
	}
}

func TestParseVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		out          string
		major, minor int
		ok           bool
	}{
		{"runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1+deb12u1\nspec: 1.0.2-dev\n", 1, 1, true},
		{"crun version 1.8.1\ncommit: f8a096be060b22ccd3d5f3ebe44108517fbf6c30\n", 1, 8, true},
		{"crun version 1.19\n", 1, 19, true},
		{"crun version 2.0-rc1\n", 2, 0, true},
		{"something else\n", 0, 0, false},
		{"crun version x.y\n", 0, 0, false},
	}
	for _, tt := range tests {
		major, minor, ok := parseVersion(tt.out)
		if major != tt.major || minor != tt.minor || ok != tt.ok {
			t.Errorf("parseVersion(%q) = %d, %d, %v; want %d, %d, %v", tt.out, major, minor, ok, tt.major, tt.minor, tt.ok)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	t.Parallel()
	tests := []struct{ out, want string }{
		{`{"level":"error","msg":"container does not exist","time":"2026-01-01T00:00:00Z"}` + "\n", "container does not exist"},
		{`time="2026-01-01T00:00:00Z" level=error msg="container \"x\" does not exist"` + "\n", `container "x" does not exist`},
		{"{\"level\":\"warning\",\"msg\":\"w\"}\n{\"level\":\"error\",\"msg\":\"e\"}\n{\"level\":\"warning\",\"msg\":\"late\"}\n", "e"},
		{"crun: error opening file `/run/crun/x/status`: No such file or directory\n", "error opening file `/run/crun/x/status`: No such file or directory"},
		{"plain text\n\n", "plain text"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := ErrorMessage([]byte(tt.out)); got != tt.want {
			t.Errorf("ErrorMessage(%q) = %q, want %q", tt.out, got, tt.want)
		}
	}
}
