package e2e

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/engine-oss/engine/test/testimage"
)

type inspectedImage struct {
	ID          string `json:"Id"`
	Digest      string
	RepoTags    []string
	RepoDigests []string
	Created     time.Time
	Config      struct {
		User         string
		ExposedPorts map[string]struct{}
		Env          []string
		Entrypoint   []string
		Cmd          []string
		Volumes      map[string]struct{}
		WorkingDir   string
		Labels       map[string]string
		StopSignal   string
	}
	Architecture, Os string
	Size             int64
	GraphDriver      struct {
		Name string
		Data map[string]string
	}
	RootFS struct {
		Type   string
		Layers []string
	}
	Labels       map[string]string
	ManifestType string
	User         string
	History      []struct {
		CreatedBy string `json:"created_by"`
	}
}

func TestImageInspect(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	e := newEngine(t)
	opts := testimage.Options{
		Layers: 3, Entrypoint: []string{"/bin/sh", "-c"}, Cmd: []string{"echo hi"}, Env: []string{"A=1", "B=2"},
		WorkingDir: "/tmp", User: "nobody", StopSignal: "SIGINT", Labels: map[string]string{"l": "v"},
		ExposedPorts: []string{"8080/tcp"}, Volumes: []string{"/data"},
	}
	ref, id := pulledImage(t, e, "v1", opts)

	for _, args := range [][]string{{"image", "inspect", ref}, {"inspect", id[:12]}, {"inspect", "--type", "image", ref}} {
		var docs []inspectedImage
		if err := json.Unmarshal([]byte(e.Must(args...)), &docs); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if len(docs) != 1 {
			t.Fatalf("%v: %d documents", args, len(docs))
		}
		d := docs[0]
		c := d.Config
		switch {
		case d.ID != id || !slices.Equal(d.RepoTags, []string{ref}):
			t.Errorf("%v: Id %s RepoTags %v", args, d.ID, d.RepoTags)
		case !slices.Equal(d.RepoDigests, []string{repoOf(ref) + "@" + d.Digest}):
			t.Errorf("RepoDigests %v, Digest %s", d.RepoDigests, d.Digest)
		case !slices.Equal(c.Entrypoint, opts.Entrypoint) || !slices.Equal(c.Cmd, opts.Cmd) || !slices.Equal(c.Env, opts.Env):
			t.Errorf("Config %+v", c)
		case c.WorkingDir != "/tmp" || c.User != "nobody" || d.User != "nobody" || c.StopSignal != "SIGINT":
			t.Errorf("Config %+v, User %q", c, d.User)
		case c.Labels["l"] != "v" || d.Labels["l"] != "v":
			t.Errorf("Labels %v / %v", c.Labels, d.Labels)
		case len(c.ExposedPorts) != 1 || len(c.Volumes) != 1:
			t.Errorf("ExposedPorts %v Volumes %v", c.ExposedPorts, c.Volumes)
		case d.Os != "linux" || d.Architecture == "":
			t.Errorf("Os %q Architecture %q", d.Os, d.Architecture)
		case d.RootFS.Type != "layers" || len(d.RootFS.Layers) != 3 || len(d.History) != 3:
			t.Errorf("RootFS %+v, %d history entries", d.RootFS, len(d.History))
		case d.GraphDriver.Name != "overlay" || !strings.HasPrefix(d.GraphDriver.Data["UpperDir"], e.Root):
			t.Errorf("GraphDriver %+v", d.GraphDriver)
		case d.ManifestType != "application/vnd.oci.image.manifest.v1+json":
			t.Errorf("ManifestType %q", d.ManifestType)
		case d.Size < 500_000 || !d.Created.Equal(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)):
			t.Errorf("Size %d Created %v", d.Size, d.Created)
		}
	}

	if out := e.Must("image", "inspect", "--format", "{{.Os}} {{index .Config.Labels \"l\"}} {{len .RootFS.Layers}}", ref, id); out != "linux v 3\nlinux v 3\n" {
		t.Errorf("--format printed %q", out)
	}
	// Unknown names: what was found is printed, then the error, exit 125.
	r := e.MustFail(125, "image", "inspect", "nosuch")
	if strings.TrimSpace(r.Stdout) != "[]" || !strings.Contains(r.Stderr, "nosuch") {
		t.Errorf("inspect nosuch: stdout %q stderr %q", r.Stdout, r.Stderr)
	}
	r = e.MustFail(125, "inspect", "--format", "{{.Id}}", ref, "nosuch")
	if r.Stdout != id+"\n" || !strings.Contains(r.Stderr, `no such object: "nosuch"`) {
		t.Errorf("inspect REF nosuch: stdout %q stderr %q", r.Stdout, r.Stderr)
	}
	e.MustFail(125, "inspect", "--type", "container", ref)
	e.MustFail(125, "inspect", "--type", "volume", ref)
}

func TestImageExists(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	e := newEngine(t)
	ref, id := pulledImage(t, e, "v1", testimage.Options{})
	for _, name := range []string{ref, id, id[:12]} {
		if r := e.Run("image", "exists", name); r.ExitCode != 0 || r.Stdout != "" || r.Stderr != "" {
			t.Errorf("image exists %s: %+v", name, r)
		}
	}
	if r := e.Run("image", "exists", "nosuch"); r.ExitCode != 1 || r.Stdout != "" || r.Stderr != "" {
		t.Errorf("image exists nosuch: %+v, want a silent exit 1", r)
	}
	e.MustFail(125, "image", "exists")
}
