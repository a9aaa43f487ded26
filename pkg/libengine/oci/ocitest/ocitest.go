// Package ocitest makes real OCI bundles for tests: a rootfs holding the
// host's static busybox, and a config.json from `runc spec` adjusted to run
// without a terminal and within this host's rlimits.
package ocitest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Busybox is the static busybox copied into every rootfs.
const Busybox = "/bin/busybox"

// maxRlimit is the highest rlimit a test spec may ask for: the host's hard
// nofile limit, which a process without CAP_SYS_RESOURCE cannot raise.
const maxRlimit = 20000

// applets are linked to busybox in the rootfs.
var applets = []string{"sh", "echo", "cat", "sleep", "tty", "true", "false", "ls", "head", "seq", "yes", "kill", "stty"}

// RequireRunc skips the test unless it runs as root with runc and busybox
// installed, and returns runc's path.
func RequireRunc(t testing.TB) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	runc, err := exec.LookPath("runc")
	if err != nil {
		t.Skip("needs runc in $PATH")
	}
	if _, err := os.Stat(Busybox); err != nil {
		t.Skipf("needs a static busybox at %s", Busybox)
	}
	return runc
}

// ID returns a container id unique to this test run, derived from the
// test's name. Containers share the cgroup tree, so ids must differ even
// across runtime state directories.
func ID(t testing.TB) string {
	t.Helper()
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, t.Name())
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return strings.ToLower(name) + "-" + hex.EncodeToString(b)
}

// Bundle creates a bundle in a fresh temporary directory whose process runs
// args, applies opts to the spec, and returns the bundle's path.
func Bundle(t testing.TB, args []string, opts ...func(*specs.Spec)) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "rootfs", "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(Busybox)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "busybox"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, a := range applets {
		if err := os.Symlink("busybox", filepath.Join(bin, a)); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("runc", "spec", "--bundle", dir).CombinedOutput(); err != nil {
		t.Fatalf("runc spec: %v: %s", err, out)
	}
	path := filepath.Join(dir, "config.json")
	data, err = os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		t.Fatal(err)
	}
	spec.Process.Terminal = false
	spec.Process.Args = args
	for i := range spec.Process.Rlimits {
		rl := &spec.Process.Rlimits[i]
		rl.Hard, rl.Soft = min(rl.Hard, maxRlimit), min(rl.Soft, maxRlimit)
	}
	for _, o := range opts {
		o(&spec)
	}
	if data, err = json.MarshalIndent(&spec, "", "\t"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}
