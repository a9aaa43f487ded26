package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/engine-oss/engine/test/testimage"
)

func TestInfo(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	e := newEngine(t)
	pulledImage(t, e, "v1", testimage.Options{})

	out := e.Must("info")
	for _, want := range []string{"host:\n", "  cgroupVersion: v", "store:\n", "  graphRoot: " + e.Root + "\n", "  imageStore:\n    number: 1\n", "registries:\n", "version:\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("info lacks %q:\n%s", want, out)
		}
	}

	var r struct {
		Host struct {
			Arch, OS, Kernel, CgroupVersion string
			CPUs                            int `json:"cpus"`
			OCIRuntime                      *struct{ Name, Path, Version string }
		}
		Store struct {
			GraphRoot, RunRoot, GraphDriverName, GraphDriverSource string
			ImageStore                                             struct{ Number int }
		}
		Registries struct{ Search []string }
	}
	if err := json.Unmarshal([]byte(e.Must("info", "--format", "json")), &r); err != nil {
		t.Fatal(err)
	}
	switch {
	case r.Host.OS != "linux" || r.Host.CPUs < 1 || r.Host.Kernel == "":
		t.Errorf("host %+v", r.Host)
	case r.Host.CgroupVersion != "v1" && r.Host.CgroupVersion != "v2":
		t.Errorf("cgroupVersion %q", r.Host.CgroupVersion)
	case r.Store.GraphRoot != e.Root || r.Store.RunRoot != e.RunRoot || r.Store.ImageStore.Number != 1:
		t.Errorf("store %+v", r.Store)
	case r.Store.GraphDriverName == "" || r.Store.GraphDriverSource == "":
		t.Errorf("driver %q chosen by %q", r.Store.GraphDriverName, r.Store.GraphDriverSource)
	case len(r.Registries.Search) != 0:
		t.Errorf("search registries %v, want the harness's empty list", r.Registries.Search)
	}
	if r.Host.OCIRuntime != nil && (r.Host.OCIRuntime.Path == "" || !strings.Contains(r.Host.OCIRuntime.Version, "version")) {
		t.Errorf("ociRuntime %+v", r.Host.OCIRuntime)
	}

	if out := e.Must("info", "--format", "{{.Store.GraphDriverName}}:{{.Store.ImageStore.Number}}"); out != r.Store.GraphDriverName+":1\n" {
		t.Errorf("info --format printed %q", out)
	}
	e.MustFail(125, "info", "extra-arg")
}

// A runtime named in engine.conf is the one info reports, and a missing
// one leaves no runtime chosen.
func TestInfoConfiguredRuntime(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	e := newEngine(t)
	bin := filepath.Join(e.TmpDir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "fakert"), []byte("#!/bin/sh\necho 'fakert version 9.9'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(e.TmpDir, "engine.conf")
	if err := os.WriteFile(conf, []byte("[engine]\nruntime = \"fakert\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.Env = append(e.Env, "PATH="+bin+":"+os.Getenv("PATH"))
	if out := e.Must("--config", conf, "info", "--format", "{{.Host.OCIRuntime.Name}} {{.Host.OCIRuntime.Version}}"); out != "fakert fakert version 9.9\n" {
		t.Errorf("configured runtime: %q", out)
	}
	if err := os.WriteFile(conf, []byte("[engine]\nruntime = \"nosuchruntime\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := e.Must("--config", conf, "info", "--format", "{{if .Host.OCIRuntime}}chosen{{else}}none{{end}}"); out != "none\n" {
		t.Errorf("missing configured runtime: %q", out)
	}
}
