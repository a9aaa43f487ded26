package e2e

import (
	"slices"
	"strings"
	"testing"
)

func TestRename(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	name := uniqueName(t)
	id := strings.TrimSpace(e.Must("run", "-d", "--name", name, img, "sleep", "1000"))
	e.Must("create", "--name", name+"-other", img, "true")

	if out := e.Must("rename", name, name+"-new"); out != "" {
		t.Errorf("rename printed %q", out)
	}
	var names []string
	for _, r := range psAll(t, e) {
		names = append(names, r.Names...)
	}
	if slices.Contains(names, name) || !slices.Contains(names, name+"-new") {
		t.Fatalf("ps after rename: %q", names)
	}
	if d := inspectCtr(t, e, name+"-new"); d.ID != id || d.State.Status != "running" {
		t.Errorf("renamed container: %s %s", d.ID, d.State.Status)
	}
	r := e.MustFail(125, "rename", name+"-new", name+"-other")
	if !strings.Contains(r.Stderr, "already in use") {
		t.Errorf("rename to a taken name: %q", r.Stderr)
	}
	e.MustFail(125, "container", "rename", name+"-new", "bad/name")
	e.MustFail(125, "rename", "nosuch", "x")
	e.Must("container", "rename", id[:12], name)
	if d := inspectCtr(t, e, name); d.ID != id {
		t.Errorf("rename by ID: %s", d.ID)
	}
}

func TestContainerExists(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	name := uniqueName(t)
	id := strings.TrimSpace(e.Must("create", "--name", name, img, "true"))
	for _, n := range []string{name, id, id[:12]} {
		if r := e.Run("container", "exists", n); r.ExitCode != 0 || r.Stdout != "" || r.Stderr != "" {
			t.Errorf("container exists %s: %+v", n, r)
		}
	}
	if r := e.Run("container", "exists", "nosuch"); r.ExitCode != 1 || r.Stdout != "" || r.Stderr != "" {
		t.Errorf("container exists nosuch: %+v, want a silent exit 1", r)
	}
}

func TestContainerPrune(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	name := uniqueName(t)
	created := strings.TrimSpace(e.Must("create", "--name", name+"-created", img, "true"))
	exited := strings.TrimSpace(e.Must("run", "-d", "--name", name+"-exited", img, "true"))
	e.Must("wait", exited)
	kept := strings.TrimSpace(e.Must("run", "-d", "--name", name+"-labelled", "--label", "keep=1", img, "true"))
	e.Must("wait", kept)
	running := strings.TrimSpace(e.Must("run", "-d", "--name", name+"-running", img, "sleep", "1000"))

	// Without --force it asks; anything but yes keeps everything.
	r := e.RunStdin(strings.NewReader("n\n"), "container", "prune")
	if r.ExitCode != 0 || !strings.Contains(r.Stdout, "Are you sure you want to continue? [y/N]") || len(psAll(t, e)) != 4 {
		t.Fatalf("prune answered no: %+v", r)
	}
	out := e.Must("container", "prune", "-f", "--filter", "label!=keep")
	if got := strings.Fields(out); len(got) != 2 || !slices.Contains(got, created) || !slices.Contains(got, exited) {
		t.Fatalf("prune printed %q, want the created and exited IDs", out)
	}
	var left []string
	for _, row := range psAll(t, e) {
		left = append(left, row.ID)
	}
	slices.Sort(left)
	want := []string{kept, running}
	slices.Sort(want)
	if !slices.Equal(left, want) {
		t.Fatalf("after prune: %q, want %q", left, want)
	}
	e.MustFail(125, "container", "prune", "-f", "--filter", "bogus=1")
}

func TestRestart(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	name := uniqueName(t)
	e.Must("run", "-d", "--name", name, img, "sleep", "1000")
	before := inspectCtr(t, e, name)

	if out := e.Must("restart", "-t", "0", name); out != name+"\n" {
		t.Errorf("restart printed %q", out)
	}
	after := inspectCtr(t, e, name)
	if after.State.Status != "running" || !after.State.StartedAt.After(before.State.StartedAt) || after.State.Pid == before.State.Pid {
		t.Errorf("after restart: %+v, before %+v", after.State, before.State)
	}
	if after.RestartCount != 0 {
		t.Errorf("a user's restart counted: RestartCount %d", after.RestartCount)
	}
	// An exited container is started.
	e.Must("stop", "-t", "0", name)
	e.Must("container", "restart", name)
	if d := inspectCtr(t, e, name); d.State.Status != "running" {
		t.Errorf("restart of an exited container: %s", d.State.Status)
	}
	e.MustFail(1, "restart", "nosuch")
}

func TestPort(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	name := uniqueName(t)
	e.Must("run", "-d", "--name", name, img, "sleep", "1000")
	if out := e.Must("port", name); out != "" {
		t.Errorf("port of a container without ports printed %q", out)
	}
	if out := e.Must("port", "-a"); out != "" {
		t.Errorf("port -a printed %q", out)
	}
	e.MustFail(125, "port", name, "80")
	e.MustFail(125, "port", "nosuch")
}
