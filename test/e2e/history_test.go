package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/engine-oss/engine/test/testimage"
)

func TestHistory(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	e := newEngine(t)
	ref, id := pulledImage(t, e, "v1", testimage.Options{Layers: 2, ExtraFiles: map[string][]byte{"/etc/motd": []byte("hello\n")}})

	rows := tableRows(e.Must("history", ref))
	if want := "ID CREATED CREATED BY SIZE COMMENT"; strings.Join(rows[0], " ") != want {
		t.Fatalf("header %q, want %q", rows[0], want)
	}
	if len(rows) != 4 {
		t.Fatalf("want 3 steps, got %q", rows[1:])
	}
	if rows[1][0] != id[:12] || rows[2][0] != "<missing>" || rows[3][0] != "<missing>" {
		t.Errorf("IDs %q %q %q: want the image's on the newest step only", rows[1][0], rows[2][0], rows[3][0])
	}
	if !strings.HasPrefix(rows[3][2], "testimage: ") || !strings.HasSuffix(rows[3][3], "MB") || !strings.HasSuffix(rows[1][3], " B") && !strings.HasSuffix(rows[1][3], "kB") {
		t.Errorf("rows %q: want the busybox layer in MB at the bottom", rows)
	}

	var entries []struct {
		ID        string `json:"id"`
		CreatedBy string
		Size      int64 `json:"size"`
	}
	if err := json.Unmarshal([]byte(e.Must("image", "history", "--format", "json", id)), &entries); err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 || entries[0].ID != id || entries[2].Size < 500_000 || entries[0].Size <= 0 {
		t.Errorf("json entries %+v", entries)
	}

	if out := e.Must("history", "-q", ref); out != id[:12]+"\n<missing>\n<missing>\n" {
		t.Errorf("history -q printed %q", out)
	}
	if out := e.Must("history", "--no-trunc", "-q", ref); !strings.HasPrefix(out, id+"\n") {
		t.Errorf("history --no-trunc -q printed %q", out)
	}
	out := e.Must("history", "--human=false", "--format", "{{.Created}} {{.Size}}", ref)
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Fields(line); len(f) != 2 || f[0] != "2024-01-01T00:00:00Z" || strings.ContainsAny(f[1], "kMB ") {
			t.Errorf("-H=false line %q: want RFC 3339 and bytes", line)
		}
	}
	e.MustFail(125, "history", "nosuch")
}

// TestHistoryOfBuild: every step of a build is named by the image it made,
// config-only steps too, and the FROM image names its own newest step.
func TestHistoryOfBuild(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	e := newEngine(t)
	ref, baseID := pulledImage(t, e, "base", testimage.Options{Layers: 2})
	dir := buildContext(t, map[string]string{
		"Containerfile": "FROM " + ref + "\nRUN echo a > /a\nENV X=1\nLABEL y=2\nRUN echo b > /b\n",
	})
	name := uniqueName(t) + ":built"
	id := strings.TrimSpace(e.Must("build", "-q", "--label", "extra=1", "-t", name, dir))
	ids := strings.Fields(e.Must("history", "-q", "--no-trunc", name))
	if len(ids) != 6 {
		t.Fatalf("history -q lists %d steps, want 4 of the build and 2 of the base: %q", len(ids), ids)
	}
	seen := map[string]bool{}
	for i, s := range ids[:4] {
		if s == "<missing>" || seen[s] {
			t.Errorf("step %d of the build is %q: want an image of its own (all: %q)", i, s, ids)
		}
		seen[s] = true
	}
	if ids[0] != id {
		t.Errorf("newest step is %s, want the built image %s", ids[0], id)
	}
	if ids[4] != baseID || ids[5] != "<missing>" {
		t.Errorf("the base image's newest step is %s, want %s (all: %q)", ids[4], baseID, ids)
	}
}
