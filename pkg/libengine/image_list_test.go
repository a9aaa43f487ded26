package libengine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/engine-oss/engine/pkg/libengine/define"
)

// listFixture is a store with a base image of two names, a child of it,
// an untagged intermediate image with a tagged child, and a dangling one.
type listFixture struct {
	e                                     *Engine
	base, child, mid, midChild, dangling  string
	baseCreated, childCreated, midCreated time.Time
}

func newListFixture(t *testing.T) *listFixture {
	t.Helper()
	e := newTestEngine(t)
	now := time.Now().UTC().Truncate(time.Second)
	f := &listFixture{e: e, baseCreated: now.Add(-3 * time.Hour), childCreated: now.Add(-2 * time.Hour), midCreated: now.Add(-time.Hour)}
	base := addTestImage(t, e, testImage{names: []string{"localhost/base:1", "quay.io/other/base:2"}, labels: map[string]string{"tier": "base"}, created: f.baseCreated})
	child := addTestImage(t, e, testImage{names: []string{"localhost/app:latest"}, parent: base, labels: map[string]string{"tier": "app", "team": "a"}, created: f.childCreated})
	mid := addTestImage(t, e, testImage{parent: base, created: f.midCreated})
	midChild := addTestImage(t, e, testImage{names: []string{"localhost/app2:latest"}, parent: mid, created: now})
	dangling := addTestImage(t, e, testImage{created: now})
	f.base, f.child, f.mid, f.midChild, f.dangling = base.ID, child.ID, mid.ID, midChild.ID, dangling.ID
	return f
}

// rowNames renders rows as "repo:tag@shortid" for comparisons.
func rowNames(rows []ImageSummary) []string {
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.Repository+":"+r.Tag+"@"+r.ID[:6])
	}
	slices.Sort(out)
	return out
}

func TestImageListRows(t *testing.T) {
	t.Parallel()
	f := newListFixture(t)
	id := func(s string) string { return s[:6] }
	tests := []struct {
		name string
		opts ImageListOptions
		want []string
	}{
		{"default hides intermediate", ImageListOptions{}, []string{
			"<none>:<none>@" + id(f.dangling), "localhost/app2:latest@" + id(f.midChild), "localhost/app:latest@" + id(f.child),
			"localhost/base:1@" + id(f.base), "quay.io/other/base:2@" + id(f.base)}},
		{"all shows intermediate", ImageListOptions{All: true}, []string{
			"<none>:<none>@" + id(f.dangling), "<none>:<none>@" + id(f.mid), "localhost/app2:latest@" + id(f.midChild), "localhost/app:latest@" + id(f.child),
			"localhost/base:1@" + id(f.base), "quay.io/other/base:2@" + id(f.base)}},
		{"dangling=true", ImageListOptions{All: true, Filters: []string{"dangling=true"}}, []string{"<none>:<none>@" + id(f.dangling)}},
		{"intermediate=true", ImageListOptions{All: true, Filters: []string{"intermediate=true"}}, []string{"<none>:<none>@" + id(f.mid)}},
		{"reference short name matches every registry", ImageListOptions{Filters: []string{"reference=base"}}, []string{"localhost/base:1@" + id(f.base), "quay.io/other/base:2@" + id(f.base)}},
		{"reference glob on full name", ImageListOptions{Filters: []string{"reference=quay.io/*/*"}}, []string{"quay.io/other/base:2@" + id(f.base)}},
		{"reference with tag", ImageListOptions{Filters: []string{"reference=base:2"}}, []string{"quay.io/other/base:2@" + id(f.base)}},
		{"references are alternatives", ImageListOptions{Filters: []string{"reference=app", "reference=app2"}}, []string{"localhost/app2:latest@" + id(f.midChild), "localhost/app:latest@" + id(f.child)}},
		{"label key=value", ImageListOptions{Filters: []string{"label=tier=app"}}, []string{"localhost/app:latest@" + id(f.child)}},
		{"labels must all match", ImageListOptions{Filters: []string{"label=tier=app", "label=team=b"}}, nil},
		{"label key only", ImageListOptions{Filters: []string{"label=team"}}, []string{"localhost/app:latest@" + id(f.child)}},
		{"label!=", ImageListOptions{Filters: []string{"label!=tier"}}, []string{"<none>:<none>@" + id(f.dangling), "localhost/app2:latest@" + id(f.midChild)}},
		{"before", ImageListOptions{Filters: []string{"before=localhost/app"}}, []string{"localhost/base:1@" + id(f.base), "quay.io/other/base:2@" + id(f.base)}},
		{"since", ImageListOptions{Filters: []string{"since=app"}}, []string{"<none>:<none>@" + id(f.dangling), "localhost/app2:latest@" + id(f.midChild)}},
		{"id prefix", ImageListOptions{Filters: []string{"id=sha256:" + f.child[:10]}}, []string{"localhost/app:latest@" + id(f.child)}},
		{"until", ImageListOptions{Filters: []string{"until=150m"}}, []string{"localhost/base:1@" + id(f.base), "quay.io/other/base:2@" + id(f.base)}},
		{"different keys all apply", ImageListOptions{Filters: []string{"reference=*", "label=tier=base"}}, []string{"localhost/base:1@" + id(f.base), "quay.io/other/base:2@" + id(f.base)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := f.e.ImageList(context.Background(), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(tc.want)
			if got := rowNames(rows); !slices.Equal(got, tc.want) {
				t.Errorf("rows = %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestImageListFilterErrors(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	tests := []struct {
		filter string
		want   error
	}{
		{"bogus=1", define.ErrInvalidArg},
		{"dangling", define.ErrInvalidArg},
		{"dangling=maybe", define.ErrInvalidArg},
		{"until=yesterday", define.ErrInvalidArg},
		{"before=nosuch", define.ErrNoSuchImage},
	}
	for _, tc := range tests {
		_, err := e.ImageList(context.Background(), ImageListOptions{Filters: []string{tc.filter}})
		if !errors.Is(err, tc.want) {
			t.Errorf("filter %q: err = %v, want %v", tc.filter, err, tc.want)
		}
	}
}

func TestImageListSummary(t *testing.T) {
	t.Parallel()
	f := newListFixture(t)
	rows, err := f.e.ImageList(context.Background(), ImageListOptions{Filters: []string{"reference=app"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("rows = %v", rowNames(rows))
	}
	r := rows[0]
	img, err := f.e.store.Image(f.child)
	if err != nil {
		t.Fatal(err)
	}
	want, err := f.e.store.ImageSize(f.child)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case r.Size != want || r.VirtualSize != want:
		t.Errorf("Size = %d, VirtualSize = %d, store says %d", r.Size, r.VirtualSize, want)
	case r.ParentID != f.base:
		t.Errorf("ParentID = %q, want %q", r.ParentID, f.base)
	case r.Created != f.childCreated.Unix() || r.CreatedAt != f.childCreated.Format(time.RFC3339):
		t.Errorf("Created = %d %q, want %v", r.Created, r.CreatedAt, f.childCreated)
	case r.Labels["team"] != "a":
		t.Errorf("Labels = %v", r.Labels)
	case r.Digest != img.Digest.String() || len(r.RepoDigests) != 1 || r.RepoDigests[0] != "localhost/app@"+img.Digest.String():
		t.Errorf("Digest = %q, RepoDigests = %v", r.Digest, r.RepoDigests)
	case !slices.Equal(r.RepoTags, []string{"localhost/app:latest"}) || r.Dangling:
		t.Errorf("RepoTags = %v, Dangling = %v", r.RepoTags, r.Dangling)
	}
}

func TestImageListCountsContainers(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	img := addTestImage(t, e, testImage{names: []string{"localhost/used:1"}})
	if _, err := e.store.CreateContainer("", nil, img.ID, "", "", nil); err != nil {
		t.Fatal(err)
	}
	rows, err := e.ImageList(context.Background(), ImageListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Containers != 1 {
		t.Fatalf("rows = %+v", rows)
	}
}

func TestReferenceMatches(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"base", "quay.io/other/base:2", true},
		{"other/base", "quay.io/other/base:2", true},
		{"quay.io/other/base:2", "quay.io/other/base:2", true},
		{"base:3", "quay.io/other/base:2", false},
		{"b*", "quay.io/other/base:2", true},
		{"*/base:*", "localhost/base:1", true},
		{"quay.io/*", "quay.io/other/base:2", false},
		{"ase", "quay.io/other/base:2", false},
		{"base", "", false},
		{"127.0.0.1:5000/img", "127.0.0.1:5000/img:v1", true},
	}
	for _, tc := range tests {
		if got := referenceMatches(tc.pattern, tc.name); got != tc.want {
			t.Errorf("referenceMatches(%q, %q) = %v, want %v", tc.pattern, tc.name, got, tc.want)
		}
	}
}

func TestParseUntil(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		bad  bool
	}{
		{in: "2h", want: now.Add(-2 * time.Hour)},
		{in: "1700000000", want: time.Unix(1700000000, 0)},
		{in: "2024-01-02T03:04:05Z", want: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
		{in: "2024-01-02", want: time.Date(2024, 1, 2, 0, 0, 0, 0, time.Local)},
		{in: "soon", bad: true},
	}
	for _, tc := range tests {
		got, err := parseUntil(tc.in, now)
		if tc.bad {
			if !errors.Is(err, define.ErrInvalidArg) {
				t.Errorf("parseUntil(%q) err = %v, want ErrInvalidArg", tc.in, err)
			}
			continue
		}
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("parseUntil(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

// BenchmarkImageList lists 200 images. With ENGINE_BENCH_ROOT set, the
// store is built there and kept, for timing the CLI on the same data:
//
//	ENGINE_BENCH_ROOT=/tmp/b200 go test -run '^$' -bench ImageList ./pkg/libengine/
//	hyperfine 'bin/engine --root /tmp/b200/root --runroot /tmp/b200/run --storage-driver vfs images'
func BenchmarkImageList(b *testing.B) {
	dir := os.Getenv("ENGINE_BENCH_ROOT")
	if dir == "" {
		dir = b.TempDir()
	}
	e := openTestEngine(b, dir)
	imgs, err := e.store.Images()
	if err != nil {
		b.Fatal(err)
	}
	for i := len(imgs); i < 200; i++ {
		addTestImage(b, e, testImage{
			names:   []string{fmt.Sprintf("localhost/bench%03d:v%d", i, i%3)},
			labels:  map[string]string{"n": fmt.Sprint(i)},
			created: time.Now().Add(-time.Duration(i) * time.Minute),
		})
	}
	b.ResetTimer()
	for b.Loop() {
		rows, err := e.ImageList(context.Background(), ImageListOptions{})
		if err != nil || len(rows) != 200 {
			b.Fatalf("%d rows, %v", len(rows), err)
		}
	}
	if os.Getenv("ENGINE_BENCH_ROOT") != "" {
		b.Logf("store kept at %s", dir)
	}
}

// An image whose config blob is gone is still listed, so it can be removed.
func TestImageListBrokenConfig(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	img := addTestImage(t, e, testImage{names: []string{"localhost/broken:1"}, labels: map[string]string{"k": "v"}})
	dir, err := e.store.ImageDirectory(img.ID) // .../<id>/userdata; big data sits beside it
	if err != nil {
		t.Fatal(err)
	}
	dir = filepath.Dir(dir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	removed := 0
	for _, ent := range entries {
		if strings.HasPrefix(ent.Name(), "=") { // big data files are named by base64 of their key
			if err := os.Remove(filepath.Join(dir, ent.Name())); err != nil {
				t.Fatal(err)
			}
			removed++
		}
	}
	if removed == 0 {
		t.Fatalf("no big-data files found in %s", dir)
	}
	rows, err := e.ImageList(context.Background(), ImageListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].ID != img.ID || rows[0].Labels != nil {
		t.Errorf("rows = %+v", rows)
	}
}
