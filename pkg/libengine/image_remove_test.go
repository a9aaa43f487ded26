package libengine

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/engine-oss/engine/pkg/libengine/define"
)

func TestImageRemove(t *testing.T) {
	t.Parallel()
	type state struct {
		names   []string // names left on the image
		deleted bool
	}
	tests := []struct {
		name    string
		args    func(id string) []string
		opts    RemoveOptions
		used    bool
		want    []RemoveReport
		wantErr error
		after   state
	}{
		{
			name:  "one of two names only untags",
			args:  func(string) []string { return []string{"two:b"} },
			want:  []RemoveReport{{Untagged: []string{"localhost/two:b"}}},
			after: state{names: []string{"localhost/two:a", "quay.io/x/other:c"}},
		},
		{
			name:  "short name found under another registry",
			args:  func(string) []string { return []string{"other:c"} },
			want:  []RemoveReport{{Untagged: []string{"quay.io/x/other:c"}}},
			after: state{names: []string{"localhost/two:a", "localhost/two:b"}},
		},
		{
			name:    "id with several names needs force",
			args:    func(id string) []string { return []string{id[:12]} },
			wantErr: define.ErrImageHasManyTags,
			after:   state{names: []string{"localhost/two:a", "localhost/two:b", "quay.io/x/other:c"}},
		},
		{
			name:  "forced id removes all names",
			args:  func(id string) []string { return []string{"sha256:" + id} },
			opts:  RemoveOptions{Force: true},
			after: state{deleted: true},
		},
		{
			name:  "all",
			opts:  RemoveOptions{All: true},
			args:  func(string) []string { return nil },
			after: state{deleted: true},
		},
		{
			name:    "unknown name",
			args:    func(string) []string { return []string{"nosuch"} },
			wantErr: define.ErrNoSuchImage,
			after:   state{names: []string{"localhost/two:a", "localhost/two:b", "quay.io/x/other:c"}},
		},
		{
			name:  "unknown name ignored",
			args:  func(string) []string { return []string{"nosuch", "two:a"} },
			opts:  RemoveOptions{Ignore: true},
			want:  []RemoveReport{{Untagged: []string{"localhost/two:a"}}},
			after: state{names: []string{"localhost/two:b", "quay.io/x/other:c"}},
		},
		{
			name:    "in use: names go, the last one stays",
			args:    func(string) []string { return []string{"two:a", "two:b", "other:c"} },
			used:    true,
			want:    []RemoveReport{{Untagged: []string{"localhost/two:a"}}, {Untagged: []string{"localhost/two:b"}}},
			wantErr: define.ErrImageInUse,
			after:   state{names: []string{"quay.io/x/other:c"}},
		},
		{
			name:    "names and all together",
			args:    func(id string) []string { return []string{id} },
			opts:    RemoveOptions{All: true},
			wantErr: define.ErrInvalidArg,
			after:   state{names: []string{"localhost/two:a", "localhost/two:b", "quay.io/x/other:c"}},
		},
		{
			name:    "nothing to remove",
			args:    func(string) []string { return nil },
			wantErr: define.ErrInvalidArg,
			after:   state{names: []string{"localhost/two:a", "localhost/two:b", "quay.io/x/other:c"}},
		},
		{
			name:    "all in use",
			args:    func(string) []string { return nil },
			opts:    RemoveOptions{All: true},
			used:    true,
			wantErr: define.ErrImageInUse,
			after:   state{names: []string{"localhost/two:a", "localhost/two:b", "quay.io/x/other:c"}},
		},
		{
			name:  "forced removal of a used image removes its container",
			args:  func(string) []string { return []string{"two:a", "two:b", "other:c"} },
			opts:  RemoveOptions{Force: true},
			used:  true,
			after: state{deleted: true},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEngine(t)
			img := addTestImage(t, e, testImage{names: []string{"localhost/two:a", "localhost/two:b", "quay.io/x/other:c"}})
			if tc.used {
				if _, err := e.store.CreateContainer("", nil, img.ID, "", "", nil); err != nil {
					t.Fatal(err)
				}
			}
			reports, err := e.ImageRemove(context.Background(), tc.args(img.ID), tc.opts)
			if !errors.Is(err, tc.wantErr) || (err != nil) != (tc.wantErr != nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if tc.after.deleted {
				tc.want = append(tc.want, RemoveReport{Untagged: []string{"localhost/two:a", "localhost/two:b", "quay.io/x/other:c"}, Deleted: img.ID})
				if tc.name == "forced removal of a used image removes its container" {
					tc.want = []RemoveReport{{Untagged: []string{"localhost/two:a"}}, {Untagged: []string{"localhost/two:b"}}, {Untagged: []string{"quay.io/x/other:c"}, Deleted: img.ID}}
				}
			}
			if !slices.EqualFunc(reports, tc.want, func(a, b RemoveReport) bool {
				return a.Deleted == b.Deleted && slices.Equal(a.Untagged, b.Untagged)
			}) {
				t.Errorf("reports = %+v, want %+v", reports, tc.want)
			}
			got, err := e.store.Image(img.ID)
			if tc.after.deleted {
				if err == nil {
					t.Fatalf("image still there with names %v", got.Names)
				}
				ctrs, _ := e.store.Containers()
				if len(ctrs) != 0 {
					t.Errorf("containers left: %d", len(ctrs))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Names, tc.after.names) {
				t.Errorf("names = %v, want %v", got.Names, tc.after.names)
			}
		})
	}
}

// A child image keeps its layers when its parent image is removed.
func TestImageRemoveParentKeepsChild(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	base := addTestImage(t, e, testImage{names: []string{"localhost/base:1"}})
	child := addTestImage(t, e, testImage{names: []string{"localhost/child:1"}, parent: base})
	if _, err := e.ImageRemove(context.Background(), []string{"base:1"}, RemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	h, err := e.ImageHistory(context.Background(), child.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 2 || h[1].Size == 0 {
		t.Errorf("history of child after removing its base: %+v", h)
	}
}
