package e2e

import (
	"strings"
	"testing"

	"github.com/engine-oss/engine/test/testimage"
)

func TestRmi(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	e := newEngine(t)
	ref, id := pulledImage(t, e, "v1", testimage.Options{})
	e.Must("tag", ref, "alias:1", "alias:2")

	// A name of an image with others only goes itself.
	if out := e.Must("rmi", "alias:1"); out != "Untagged: localhost/alias:1\n" {
		t.Errorf("rmi alias:1 printed %q", out)
	}
	// An ID of an image with several names needs --force.
	r := e.MustFail(125, "rmi", id[:12])
	if !strings.Contains(r.Stderr, "more than one tag") || !strings.Contains(r.Stderr, "localhost/alias:2") {
		t.Errorf("rmi ID stderr %q", r.Stderr)
	}
	e.Must("image", "exists", "alias:2")
	// Unknown images exit 1, also beside known ones; --ignore skips them.
	if r := e.MustFail(1, "rmi", "nosuch"); !strings.Contains(r.Stderr, "nosuch") {
		t.Errorf("rmi nosuch stderr %q", r.Stderr)
	}
	if out := e.Must("rmi", "--ignore", "nosuch", "alias:2"); out != "Untagged: localhost/alias:2\n" {
		t.Errorf("rmi -i printed %q", out)
	}
	// The last name removes the image.
	want := "Untagged: " + ref + "\nDeleted: " + id + "\n"
	if out := e.Must("image", "rm", ref); out != want {
		t.Errorf("rmi of the last name printed %q, want %q", out, want)
	}
	if r := e.Run("image", "exists", id); r.ExitCode != 1 {
		t.Errorf("image still exists after rmi of its last name: %+v", r)
	}
	e.MustFail(125, "rmi")
}

func TestRmiForceAndAll(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	e := newEngine(t)
	ref1, id1 := pulledImage(t, e, "one", testimage.Options{})
	_, id2 := pulledImage(t, e, "two", testimage.Options{Layers: 2})
	e.Must("tag", ref1, "extra:1")
	out := e.Must("rmi", "-f", id1)
	if !strings.Contains(out, "Untagged: localhost/extra:1\n") || !strings.Contains(out, "Untagged: "+ref1+"\n") || !strings.HasSuffix(out, "Deleted: "+id1+"\n") {
		t.Errorf("rmi -f ID printed %q", out)
	}
	e.MustFail(125, "rmi", "-a", "x")
	if out := e.Must("rmi", "-a"); !strings.HasSuffix(out, "Deleted: "+id2+"\n") {
		t.Errorf("rmi -a printed %q", out)
	}
	if out := e.Must("images", "-qa"); out != "" {
		t.Errorf("images left after rmi -a: %q", out)
	}
}

func TestRmiInUse(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	e := newEngine(t)
	ref, id := pulledImage(t, e, "v1", testimage.Options{})
	ctr := strings.TrimSpace(e.Must("run", "-d", "--network", "none", ref, "sleep", "1000"))
	r := e.MustFail(2, "rmi", ref)
	if !strings.Contains(r.Stderr, "in use") {
		t.Errorf("rmi of a used image: stderr %q", r.Stderr)
	}
	if out := e.Must("images", "--format", "{{.ID}} {{.Containers}}"); out != id[:12]+" 1\n" {
		t.Errorf("images after refused rmi: %q, want the image with 1 container", out)
	}
	// Exit codes of mixed failures: in use wins over unknown.
	e.MustFail(2, "rmi", "nosuch", ref)
	if out := e.Must("rmi", "-f", ref); !strings.HasSuffix(out, "Deleted: "+id+"\n") {
		t.Errorf("rmi -f printed %q", out)
	}
	if n := e.Must("info", "--format", "{{.Store.ContainerStore.Number}}"); n != "0\n" {
		t.Errorf("containers left after rmi -f: %q", n)
	}
	// The running container went through its life cycle: stopped, no record left.
	if out := e.Must("ps", "-a", "-q"); out != "" {
		t.Errorf("rmi -f left container records: %q", out)
	}
	if r := e.Run("container", "exists", ctr); r.ExitCode != 1 {
		t.Errorf("container exists after rmi -f: %+v", r)
	}
}
