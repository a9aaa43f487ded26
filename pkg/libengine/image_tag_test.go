package libengine

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/engine-oss/engine/pkg/libengine/define"
)

func TestImageTagUntag(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		tag     []string
		untag   []string
		noUntag bool
		want    []string
		wantErr error
	}{
		{name: "short name gets localhost and latest", tag: []string{"web"}, noUntag: true, want: []string{"localhost/img:1", "localhost/web:latest"}},
		{name: "qualified names kept", tag: []string{"quay.io/a/b:v2", "x/y:z"}, noUntag: true, want: []string{"localhost/img:1", "quay.io/a/b:v2", "localhost/x/y:z"}},
		{name: "digest refused", tag: []string{"web@sha256:" + "0123456789012345678901234567890123456789012345678901234567890123"}, wantErr: define.ErrInvalidArg, want: []string{"localhost/img:1"}},
		{name: "bad name refused", tag: []string{"Bad::Name"}, wantErr: define.ErrInvalidArg, want: []string{"localhost/img:1"}},
		{name: "untag one", tag: []string{"web:1", "web:2"}, untag: []string{"web:1"}, want: []string{"localhost/img:1", "localhost/web:2"}},
		{name: "untag all", tag: []string{"web:1"}, untag: nil, want: nil},
		{name: "untag unknown tag", untag: []string{"web:9"}, wantErr: define.ErrNoSuchTag, want: []string{"localhost/img:1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEngine(t)
			img := addTestImage(t, e, testImage{names: []string{"localhost/img:1"}})
			ctx := context.Background()
			var err error
			if len(tc.tag) > 0 {
				err = e.ImageTag(ctx, "img:1", tc.tag)
			}
			if err == nil && !tc.noUntag {
				err = e.ImageUntag(ctx, img.ID[:12], tc.untag)
			}
			if !errors.Is(err, tc.wantErr) || (err != nil) != (tc.wantErr != nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			got, err := e.store.Image(img.ID)
			if err != nil {
				t.Fatal(err)
			}
			// The store puts new names first; the order carries no meaning here.
			slices.Sort(got.Names)
			slices.Sort(tc.want)
			if !slices.Equal(got.Names, tc.want) {
				t.Errorf("names = %q, want %q", got.Names, tc.want)
			}
		})
	}
}

// A name moves from the image that had it to the one tagged with it.
func TestImageTagMovesName(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	a := addTestImage(t, e, testImage{names: []string{"localhost/a:1", "localhost/shared:latest"}})
	b := addTestImage(t, e, testImage{names: []string{"localhost/b:1"}})
	if err := e.ImageTag(context.Background(), "b:1", []string{"shared"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.LookupImage("shared"); got == nil || got.ID != b.ID {
		t.Fatalf("shared resolves to %v, want %s", got, b.ID)
	}
	if got, _ := e.store.Image(a.ID); !slices.Equal(got.Names, []string{"localhost/a:1"}) {
		t.Errorf("names of a = %v", got.Names)
	}
	if err := e.ImageTag(context.Background(), "nosuch", []string{"x"}); !errors.Is(err, define.ErrNoSuchImage) {
		t.Errorf("tag of unknown image: %v", err)
	}
}
