package e2e

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/engine-oss/engine/test/testimage"
)

// pulledImage pushes a test image to the shared plain registry as
// "<test name>:tag" and pulls it into e. It returns the reference pulled
// (ADDR/name:tag) and the image ID.
func pulledImage(t *testing.T, e *Engine, tag string, opts testimage.Options) (ref, id string) {
	t.Helper()
	reg := plainRegistry(t)
	ref = pushTestImage(t, reg, uniqueName(t)+":"+tag, opts)
	out := strings.Fields(e.Must(append(append([]string{"pull", "-q"}, registryFlags(reg)...), ref)...))
	if len(out) == 0 || !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(out[len(out)-1]) {
		t.Fatalf("pull printed %q, want an image ID", out)
	}
	return ref, out[len(out)-1]
}

// tableRows splits a table's lines into columns separated by two or more spaces.
func tableRows(out string) [][]string {
	var rows [][]string
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if line != "" {
			rows = append(rows, regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(line), -1))
		}
	}
	return rows
}

// repoOf strips the tag from a reference.
func repoOf(ref string) string { return ref[:strings.LastIndex(ref, ":")] }

func TestImagesTable(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	e := newEngine(t)
	ref, id := pulledImage(t, e, "v1", testimage.Options{Layers: 2, Created: time.Now().Add(-3 * time.Hour)})
	e.Must("tag", ref, "second:v2")

	rows := tableRows(e.Must("images"))
	if want := []string{"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"}; !slices.Equal(rows[0], want) {
		t.Fatalf("header %q, want %q", rows[0], want)
	}
	if len(rows) != 3 {
		t.Fatalf("want one row per name, got %q", rows)
	}
	got := map[string][]string{}
	for _, r := range rows[1:] {
		if len(r) != 5 {
			t.Fatalf("row %q: want 5 columns", r)
		}
		got[r[0]+":"+r[1]] = r[2:]
	}
	for _, name := range []string{ref, "localhost/second:v2"} {
		cols, ok := got[name]
		if !ok {
			t.Fatalf("no row for %s in %q", name, rows)
		}
		if cols[0] != id[:12] || cols[1] != "3 hours ago" || !regexp.MustCompile(`^\d+(\.\d+)? [kM]B$`).MatchString(cols[2]) {
			t.Errorf("%s: columns %q, want ID %s, 3 hours ago and a size", name, cols, id[:12])
		}
	}

	if out := e.Must("images", "-q"); out != id[:12]+"\n" {
		t.Errorf("images -q = %q, want the ID once", out)
	}
	if out := e.Must("images", "-q", "--no-trunc"); out != "sha256:"+id+"\n" {
		t.Errorf("images -q --no-trunc = %q", out)
	}
	if out := e.Must("images", "--noheading", "--format", "table {{.Repository}}"); strings.Contains(out, "REPOSITORY") || strings.Count(out, "\n") != 2 {
		t.Errorf("--noheading printed %q", out)
	}
	if out := e.Must("images", "--sort", "repository", "--format", "{{.Repository}}:{{.Tag}}"); out != ref+"\nlocalhost/second:v2\n" {
		t.Errorf("--sort repository printed %q", out)
	}
	if out := e.Must("images", "--digests", "--format", "{{.Digest}}"); !strings.HasPrefix(out, "sha256:") {
		t.Errorf("--digests {{.Digest}} printed %q", out)
	}
	if out := e.Must("image", "list", "second:v2", "--format", "{{.Repository}}"); out != "localhost/second\n" {
		t.Errorf("image list NAME printed %q", out)
	}
}

func TestImagesJSON(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	e := newEngine(t)
	ref, id := pulledImage(t, e, "v1", testimage.Options{Labels: map[string]string{"tier": "json"}})
	e.Must("tag", ref, "other:1")
	var imgs []struct {
		ID          string `json:"Id"`
		RepoTags    []string
		RepoDigests []string
		Size        int64
		Labels      map[string]string
		Names       []string
		Digest      string
		Created     int64
		CreatedAt   string
	}
	if err := json.Unmarshal([]byte(e.Must("images", "--format", "json")), &imgs); err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 1 {
		t.Fatalf("json lists %d images, want 1 (one per image, not per name)", len(imgs))
	}
	img := imgs[0]
	slices.Sort(img.RepoTags)
	switch {
	case img.ID != id:
		t.Errorf("Id %q, want %q", img.ID, id)
	case !slices.Equal(img.RepoTags, []string{ref, "localhost/other:1"}):
		t.Errorf("RepoTags %q", img.RepoTags)
	case img.Labels["tier"] != "json":
		t.Errorf("Labels %v", img.Labels)
	case img.Size < 500_000: // busybox alone is bigger
		t.Errorf("Size %d", img.Size)
	case !slices.Contains(img.RepoDigests, repoOf(ref)+"@"+img.Digest):
		t.Errorf("RepoDigests %q lack %s@%s", img.RepoDigests, repoOf(ref), img.Digest)
	case img.Created != time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Unix() || img.CreatedAt != "2024-01-01T00:00:00Z":
		t.Errorf("Created %d %q, want testimage's fixed date", img.Created, img.CreatedAt)
	}
}

func TestImagesFilters(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	e := newEngine(t)
	oldRef, oldID := pulledImage(t, e, "old", testimage.Options{Labels: map[string]string{"tier": "base"}, Created: time.Now().Add(-48 * time.Hour)})
	newRef, newID := pulledImage(t, e, "new", testimage.Options{Layers: 2, Labels: map[string]string{"tier": "app"}, Created: time.Now().Add(-time.Hour)})
	e.Must("tag", newRef, "gone:1")
	e.Must("untag", newRef)
	// Now the new image has no names: dangling.
	tests := []struct {
		filters []string
		want    string
	}{
		{[]string{"label=tier=base"}, oldRef + " " + oldID[:12] + "\n"},
		{[]string{"label=tier"}, "<none>:<none> " + newID[:12] + "\n" + oldRef + " " + oldID[:12] + "\n"}, // newest first
		{[]string{"dangling=true"}, "<none>:<none> " + newID[:12] + "\n"},
		{[]string{"dangling=false"}, oldRef + " " + oldID[:12] + "\n"},
		{[]string{"reference=" + uniqueName(t)}, oldRef + " " + oldID[:12] + "\n"},
		{[]string{"since=" + oldRef}, "<none>:<none> " + newID[:12] + "\n"},
		{[]string{"before=" + newID[:12]}, oldRef + " " + oldID[:12] + "\n"},
		{[]string{"id=" + newID[:8]}, "<none>:<none> " + newID[:12] + "\n"},
		{[]string{"until=24h"}, oldRef + " " + oldID[:12] + "\n"},
		{[]string{"label=tier=app", "label=tier=base"}, ""},
	}
	for _, tc := range tests {
		args := []string{"images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"}
		for _, f := range tc.filters {
			args = append(args, "--filter", f)
		}
		if out := e.Must(args...); out != tc.want {
			t.Errorf("--filter %q printed %q, want %q", tc.filters, out, tc.want)
		}
	}
	if r := e.MustFail(125, "images", "--filter", "color=red"); !strings.Contains(r.Stderr, "color") {
		t.Errorf("unknown filter: %q", r.Stderr)
	}
	e.MustFail(125, "images", "--filter", "before=nosuchimage")
	e.MustFail(125, "images", "--sort", "colour")
	e.MustFail(125, "images", "--filter", "dangling=true", oldRef)
}
