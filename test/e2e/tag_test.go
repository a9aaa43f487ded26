package e2e

import (
	"slices"
	"strings"
	"testing"

	"github.com/engine-oss/engine/test/testimage"
)

// repoTagsOf returns the image's names as images prints them, sorted.
func repoTagsOf(e *Engine, image string) []string {
	out := strings.Fields(e.Must("image", "inspect", "--format", `{{join .RepoTags " "}}`, image))
	slices.Sort(out)
	return out
}

func TestTag(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	e := newEngine(t)
	ref, id := pulledImage(t, e, "v1", testimage.Options{})

	e.Must("tag", ref, "short", "repo/path:v2", "quay.io/org/img:3")
	want := []string{ref, "localhost/repo/path:v2", "localhost/short:latest", "quay.io/org/img:3"}
	slices.Sort(want)
	if got := repoTagsOf(e, id); !slices.Equal(got, want) {
		t.Errorf("names after tag: %q, want %q", got, want)
	}
	// Short names resolve to the localhost/ names tag made.
	if out := e.Must("image", "inspect", "--format", "{{.Id}}", "short"); out != id+"\n" {
		t.Errorf("inspect short = %q", out)
	}

	e.MustFail(125, "tag", ref, "Bad::Name")
	e.MustFail(125, "tag", "nosuch", "x")
	e.MustFail(125, "tag", ref)

	e.Must("image", "untag", id, "short", "quay.io/org/img:3")
	want = []string{ref, "localhost/repo/path:v2"}
	slices.Sort(want)
	if got := repoTagsOf(e, id); !slices.Equal(got, want) {
		t.Errorf("names after untag: %q, want %q", got, want)
	}
	if r := e.MustFail(125, "untag", id, "never:1"); !strings.Contains(r.Stderr, "localhost/never:1") {
		t.Errorf("untag of a missing tag: %q", r.Stderr)
	}
	e.Must("untag", id)
	if out := e.Must("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"); out != "<none>:<none> "+id[:12]+"\n" {
		t.Errorf("images after untag of all names: %q", out)
	}
}
