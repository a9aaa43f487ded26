package e2e

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// inspectedCtr is the part of `container inspect` the tests read.
type inspectedCtr struct {
	ID      string `json:"Id"`
	Name    string
	Created time.Time
	Path    string
	Args    []string
	Image   string
	State   struct {
		Status                string
		Running               bool
		Pid, ConmonPid        int
		ExitCode              int
		StartedAt, FinishedAt time.Time
	}
	ImageName    string
	RestartCount int
	Mounts       []struct {
		Type, Source, Destination string
		RW                        bool
	}
	Config struct {
		Env, Cmd []string
		Labels   map[string]string
	}
	HostConfig struct {
		RestartPolicy struct {
			Name              string
			MaximumRetryCount int
		}
		NetworkMode string
	}
	NetworkSettings struct {
		Ports map[string]any
	}
	SizeRootFs int64
}

func inspectCtr(t *testing.T, e *Engine, name string) inspectedCtr {
	t.Helper()
	var docs []inspectedCtr
	if err := json.Unmarshal([]byte(e.Must("container", "inspect", name)), &docs); err != nil || len(docs) != 1 {
		t.Fatalf("container inspect %s: %d documents, %v", name, len(docs), err)
	}
	return docs[0]
}

func TestContainerInspect(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	name := uniqueName(t)
	dir := t.TempDir()
	id := strings.TrimSpace(e.Must("run", "-d", "--name", name, "-e", "FOO=bar", "--restart", "on-failure:3",
		"-v", dir+":/data:ro", "--label", "l=v", img, "sleep", "1000"))

	d := inspectCtr(t, e, name)
	switch {
	case d.ID != id || d.Name != name || d.ImageName != img || len(d.Image) != 64:
		t.Errorf("Id %s Name %s ImageName %s Image %s", d.ID, d.Name, d.ImageName, d.Image)
	case d.State.Status != "running" || !d.State.Running || d.State.Pid == 0 || d.State.ConmonPid == 0 || d.State.StartedAt.IsZero():
		t.Errorf("State %+v", d.State)
	case d.Path != "sleep" || !slices.Equal(d.Args, []string{"1000"}) || !slices.Equal(d.Config.Cmd, []string{"sleep", "1000"}):
		t.Errorf("Path %q Args %q Cmd %q", d.Path, d.Args, d.Config.Cmd)
	case !slices.Contains(d.Config.Env, "FROM_IMAGE=yes") || !slices.Contains(d.Config.Env, "FOO=bar"):
		t.Errorf("Env %q lacks the image's and -e values", d.Config.Env)
	case d.HostConfig.RestartPolicy.Name != "on-failure" || d.HostConfig.RestartPolicy.MaximumRetryCount != 3:
		t.Errorf("RestartPolicy %+v", d.HostConfig.RestartPolicy)
	case len(d.Mounts) != 1 || d.Mounts[0].Type != "bind" || d.Mounts[0].Source != dir || d.Mounts[0].Destination != "/data" || d.Mounts[0].RW:
		t.Errorf("Mounts %+v", d.Mounts)
	case d.Config.Labels["l"] != "v" || d.HostConfig.NetworkMode != "bridge" || d.NetworkSettings.Ports == nil:
		t.Errorf("Labels %v NetworkMode %q Ports %v", d.Config.Labels, d.HostConfig.NetworkMode, d.NetworkSettings.Ports)
	case time.Since(d.Created) > time.Minute:
		t.Errorf("Created %v", d.Created)
	}

	if out := e.Must("container", "inspect", "--format", "{{.State.Status}} {{.HostConfig.RestartPolicy.Name}} {{.Config.Env}}", name); !strings.HasPrefix(out, "running on-failure [") || !strings.Contains(out, "FOO=bar") {
		t.Errorf("--format printed %q", out)
	}
	// JSON names work in templates too.
	if out := e.Must("inspect", "--format", "{{.Id}} {{.HostConfig.NanoCpus}}", name); out != id+" 0\n" {
		t.Errorf("inspect --format {{.Id}} printed %q", out)
	}
	if out := e.Must("container", "inspect", "-l", "--format", "{{.Name}}"); out != name+"\n" {
		t.Errorf("inspect -l printed %q", out)
	}
	var sized []inspectedCtr
	if err := json.Unmarshal([]byte(e.Must("container", "inspect", "--size", name)), &sized); err != nil || sized[0].SizeRootFs <= 0 {
		t.Errorf("--size: %v, %+v", err, sized)
	}

	e.Must("stop", "-t", "0", name)
	d = inspectCtr(t, e, id[:12])
	if d.State.Status != "exited" || d.State.Running || d.State.ExitCode != 137 || d.State.Pid != 0 || d.State.FinishedAt.Before(d.State.StartedAt) {
		t.Errorf("after stop: State %+v", d.State)
	}

	// A container never started already shows its environment.
	e.Must("create", "--name", name+"-created", "-e", "A=1", img, "true")
	d = inspectCtr(t, e, name+"-created")
	if d.State.Status != "created" || !slices.Contains(d.Config.Env, "A=1") || !slices.Contains(d.Config.Env, "FROM_IMAGE=yes") {
		t.Errorf("created container: State %+v Env %q", d.State, d.Config.Env)
	}
}

func TestInspectContainersAndImages(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	name := uniqueName(t)
	e.Must("create", "--name", name, img, "true")

	// Containers first, then images; --type restricts.
	if out := e.Must("inspect", "--format", "{{.Name}}", name); out != name+"\n" {
		t.Errorf("inspect container printed %q", out)
	}
	if out := e.Must("inspect", "--format", "{{index .RepoTags 0}}", img); out != img+"\n" {
		t.Errorf("inspect image printed %q", out)
	}
	if out := e.Must("inspect", "--type", "container", "--format", "{{.State.Status}}", name); out != "created\n" {
		t.Errorf("inspect --type container printed %q", out)
	}
	e.MustFail(125, "inspect", "--type", "image", name)
	e.MustFail(125, "inspect", "--type", "container", img)
	r := e.MustFail(125, "inspect", "nosuch")
	if !strings.Contains(r.Stderr, `no such object: "nosuch"`) || strings.TrimSpace(r.Stdout) != "[]" {
		t.Errorf("inspect nosuch: stdout %q stderr %q", r.Stdout, r.Stderr)
	}
	r = e.MustFail(125, "container", "inspect", "--format", "{{.Name}}", name, "nosuch")
	if r.Stdout != name+"\n" || !strings.Contains(r.Stderr, "no such container") {
		t.Errorf("container inspect NAME nosuch: stdout %q stderr %q", r.Stdout, r.Stderr)
	}
}

func TestRunOOMKilled(t *testing.T) {
	requireRoot(t)
	if _, err := os.Stat("/sys/fs/cgroup/memory"); err != nil {
		if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err != nil {
			t.Skip("no memory cgroup")
		}
	}
	e := newEngine(t)
	img := ctrImage(t, e)
	name := uniqueName(t)
	// The first run holds far more than 16m in a shell variable; a second
	// start finds the marker and sleeps.
	script := `if [ -e /ran ]; then exec sleep 1000; fi; touch /ran; x=$(yes aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa | head -c 200000000); echo survived`
	if r := e.Run("run", "--name", name, "--memory", "16m", "--memory-swap", "16m", img, "sh", "-c", script); r.ExitCode != 137 {
		t.Fatalf("run: exit code %d, want 137\nstdout: %s\nstderr: %s", r.ExitCode, r.Stdout, r.Stderr)
	}
	if out := e.Must("inspect", "--format", "{{.State.OOMKilled}} {{.State.ExitCode}}", name); out != "true 137\n" {
		t.Errorf("after the OOM kill, inspect printed %q, want true 137", out)
	}
	if out := e.Must("events", "--stream=false", "--since", "1m", "--filter", "event=oom", "--format", "{{.Status}} {{.Name}}"); out != "oom "+name+"\n" {
		t.Errorf("events --filter event=oom printed %q", out)
	}
	if out := e.Must("events", "--stream=false", "--since", "1m", "--filter", "container="+name, "--format", "{{.Status}}"); !strings.Contains(out, "oom\ndied\n") {
		t.Errorf("container events %q: want oom just before died", out)
	}

	// Starting again clears it.
	e.Must("start", name)
	if out := e.Must("inspect", "--format", "{{.State.Status}} {{.State.OOMKilled}}", name); out != "running false\n" {
		t.Errorf("after start, inspect printed %q, want running false", out)
	}
	e.Must("stop", "-t", "0", name)
	e.Must("run", "--name", name+"-ok", img, "true")
	if out := e.Must("inspect", "--format", "{{.State.OOMKilled}}", name+"-ok"); out != "false\n" {
		t.Errorf("container that was not OOM-killed: inspect printed %q, want false", out)
	}
}
