package libengine

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/engine-oss/engine/pkg/libengine/define"
)

func TestImagePrune(t *testing.T) {
	t.Parallel()
	old := time.Now().Add(-48 * time.Hour).UTC().Truncate(time.Second)
	tests := []struct {
		name    string
		opts    PruneOptions
		want    []string // fixture names of the removed images, sorted
		wantErr error
	}{
		// The untagged parent becomes dangling once its dangling child goes.
		{name: "dangling, repeated until none", want: []string{"dangling", "danglingChild", "danglingParent"}},
		{name: "label", opts: PruneOptions{Filters: []string{"label=keep=no"}}, want: []string{"dangling"}},
		{name: "label!=", opts: PruneOptions{Filters: []string{"label!=keep"}}, want: []string{"danglingChild", "danglingParent"}},
		{name: "until", opts: PruneOptions{Filters: []string{"until=24h"}}, want: []string{"dangling"}},
		{name: "all but used", opts: PruneOptions{All: true}, want: []string{"dangling", "danglingChild", "danglingParent", "tagged"}},
		{name: "all, filtered", opts: PruneOptions{All: true, Filters: []string{"label=keep"}}, want: []string{"dangling"}},
		{name: "reference is not a prune filter", opts: PruneOptions{Filters: []string{"reference=x"}}, wantErr: define.ErrInvalidArg},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEngine(t)
			ids := map[string]string{}
			parent := addTestImage(t, e, testImage{})
			ids[parent.ID] = "danglingParent"
			ids[addTestImage(t, e, testImage{parent: parent}).ID] = "danglingChild"
			ids[addTestImage(t, e, testImage{labels: map[string]string{"keep": "no"}, created: old}).ID] = "dangling"
			ids[addTestImage(t, e, testImage{names: []string{"localhost/tagged:1"}}).ID] = "tagged"
			used := addTestImage(t, e, testImage{names: []string{"localhost/used:1"}})
			ids[used.ID] = "used"
			if _, err := e.store.CreateContainer("", nil, used.ID, "", "", nil); err != nil {
				t.Fatal(err)
			}
			reports, err := e.ImagePrune(context.Background(), tc.opts)
			if !errors.Is(err, tc.wantErr) || (err != nil) != (tc.wantErr != nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			var got []string
			for _, r := range reports {
				got = append(got, ids[r.ID])
				if _, err := e.store.Image(r.ID); err == nil {
					t.Errorf("%s reported removed but still there", ids[r.ID])
				}
				if r.Size <= 0 {
					t.Errorf("%s: size %d", ids[r.ID], r.Size)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("removed %v, want %v", got, tc.want)
			}
		})
	}
}
