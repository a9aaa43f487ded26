package oci

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ErrRuntimeNotFound means no usable OCI runtime binary was found. Find
// wraps it with what was looked for and the package to install.
var ErrRuntimeNotFound = errors.New("no OCI runtime found")

// versionTimeout bounds `RUNTIME --version` during detection.
const versionTimeout = 10 * time.Second

// host is what detection depends on, so tests can fake it.
type host struct {
	path    string // $PATH
	cgroup2 bool   // unified hierarchy mounted at /sys/fs/cgroup
}

// Find picks the OCI runtime. A non-empty name (a base name looked up in
// $PATH, or a path) is used as given if its `--version` runs. An empty name
// takes the first executable of search found in $PATH, skipping crun before
// 1.9 (or a crun whose `--version` fails) on cgroup v1 (it refuses the hybrid layout). The returned
// Runtime's Reason says why it was chosen. When nothing fits, the error wraps
// ErrRuntimeNotFound and names the package to install.
func Find(ctx context.Context, name string, search []string, stateDir string) (*Runtime, error) {
	_, err := os.Stat("/sys/fs/cgroup/cgroup.controllers")
	return find(ctx, name, search, stateDir, host{path: os.Getenv("PATH"), cgroup2: err == nil})
}

func find(ctx context.Context, name string, search []string, stateDir string, h host) (*Runtime, error) {
	if name != "" {
		path, err := h.lookPath(name)
		if err != nil {
			return nil, fmt.Errorf("%w (%w): %s", ErrRuntimeNotFound, err, installHint(name))
		}
		return &Runtime{Name: filepath.Base(path), Path: path, StateDir: stateDir,
			Reason: fmt.Sprintf("%s was named explicitly", name)}, nil
	}
	var skipped []string
	for _, s := range search {
		path, err := h.lookPath(s)
		if err != nil {
			continue
		}
		base := filepath.Base(path)
		// Running a runtime costs milliseconds on every command, so only
		// crun, whose version decides whether it works here, is asked.
		if base == "crun" && !h.cgroup2 {
			out, err := runVersion(ctx, path)
			if err != nil {
				skipped = append(skipped, fmt.Sprintf("%s does not run: %v", path, err))
				continue
			}
			if major, minor, ok := parseVersion(out); ok && (major < 1 || major == 1 && minor < 9) {
				skipped = append(skipped, fmt.Sprintf("%s is crun %d.%d, which refuses cgroup v1 before 1.9", path, major, minor))
				continue
			}
		}
		reason := fmt.Sprintf("first usable of %s in $PATH", strings.Join(search, ", "))
		if len(skipped) > 0 {
			reason += "; skipped " + strings.Join(skipped, "; ")
		}
		return &Runtime{Name: base, Path: path, StateDir: stateDir, Reason: reason}, nil
	}
	looked := "looked for " + strings.Join(search, ", ") + " in $PATH"
	if len(skipped) > 0 {
		looked += "; " + strings.Join(skipped, "; ")
	}
	return nil, fmt.Errorf("%w (%s): install the Debian package runc", ErrRuntimeNotFound, looked)
}

// installHint says what fixes a missing named runtime.
func installHint(name string) string {
	switch base := filepath.Base(name); base {
	case "runc", "crun":
		return "install the Debian package " + base
	default:
		return "install it, or name another runtime"
	}
}

// lookPath finds an executable as exec.LookPath does, in h.path.
func (h host) lookPath(name string) (string, error) {
	if strings.Contains(name, "/") {
		if err := executable(name); err != nil {
			return "", err
		}
		return filepath.Abs(name)
	}
	for _, dir := range filepath.SplitList(h.path) {
		if dir == "" {
			continue // an empty entry means ".", which a runtime search must not use
		}
		p := filepath.Join(dir, name)
		if executable(p) == nil {
			return filepath.Abs(p)
		}
	}
	return "", fmt.Errorf("%s is not in $PATH", name)
}

func executable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", path)
	}
	return nil
}

// runVersion runs `path --version` and returns its output.
func runVersion(ctx context.Context, path string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, versionTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--version").CombinedOutput()
	if err != nil {
		if msg := ErrorMessage(out); msg != "" {
			return "", fmt.Errorf("%w: %s", err, msg)
		}
		return "", err
	}
	return string(out), nil
}

// parseVersion reads major and minor from the first "... version X.Y[.Z]"
// line of `--version` output.
func parseVersion(out string) (major, minor int, ok bool) {
	for _, line := range strings.Split(out, "\n") {
		_, v, found := strings.Cut(line, "version ")
		if !found {
			continue
		}
		v, _, _ = strings.Cut(strings.TrimSpace(v), " ")
		parts := strings.SplitN(v, ".", 3)
		if len(parts) < 2 {
			return 0, 0, false
		}
		var err1, err2 error
		major, err1 = strconv.Atoi(parts[0])
		minor, err2 = strconv.Atoi(leadingDigits(parts[1]))
		return major, minor, err1 == nil && err2 == nil
	}
	return 0, 0, false
}

func leadingDigits(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}
