package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports keeps the monitor small: it runs once per container, so what
// it links is paid for by every container. Besides the engine's heavy
// dependencies, it must not link packages that pull in cgo (net, os/user:
// a dynamically linked monitor is 1.5 MiB bigger in memory) or reflection
// and process helpers the monitor does without (encoding/json, os/exec).
func TestImports(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}-{{end}}{{.ImportPath}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v: %s", err, out)
	}
	forbidden := []string{
		"github.com/spf13/cobra", "github.com/spf13/pflag",
		"github.com/containers/image", "go.podman.io/image",
		"github.com/containers/storage", "go.podman.io/storage",
		"github.com/mattn/go-sqlite3", "github.com/sirupsen/logrus",
		"net", "os/user", "runtime/cgo", "encoding/json", "os/exec",
	}
	allowed := map[string]bool{ // outside the standard library
		"github.com/engine-oss/engine/cmd/engine-monitor":    true,
		"github.com/engine-oss/engine/pkg/libengine/monitor": true,
		"golang.org/x/sys/unix":                              true,
		"github.com/opencontainers/runtime-spec/specs-go":    true,
	}
	for _, line := range strings.Fields(string(out)) {
		pkg, external := strings.CutPrefix(line, "-")
		for _, f := range forbidden {
			if pkg == f || strings.HasPrefix(pkg, f+"/") {
				t.Errorf("engine-monitor imports %s", pkg)
			}
		}
		if external && !allowed[pkg] {
			t.Errorf("engine-monitor imports %s: only the standard library, golang.org/x/sys/unix and the runtime spec are allowed", pkg)
		}
	}
}
