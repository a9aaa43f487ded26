package libengine

import (
	"context"
	"testing"
)

func TestImageHistory(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	ctx := context.Background()
	base := addTestImage(t, e, testImage{names: []string{"localhost/base:1"}})
	mid := addTestImage(t, e, testImage{parent: base})
	top := addTestImage(t, e, testImage{names: []string{"localhost/top:1"}, parent: mid, emptySteps: 2})
	bare := addTestImage(t, e, testImage{names: []string{"localhost/bare:1"}, parent: base, noHistory: true})

	size := func(id string) int64 {
		t.Helper()
		img, err := e.store.Image(id)
		if err != nil {
			t.Fatal(err)
		}
		l, err := e.store.Layer(img.TopLayer)
		if err != nil {
			t.Fatal(err)
		}
		return l.UncompressedSize
	}
	type want struct {
		id        string
		size      int64
		createdBy string
	}
	tests := []struct {
		name string
		want []want
	}{
		// The newest (empty) step is the image itself; the other empty
		// step gets no ID; each layer's step gets the image on it.
		{"top:1", []want{
			{top.ID, 0, "LABEL step=1"},
			{"<missing>", 0, "LABEL step=0"},
			{"<missing>", size(top.ID), "ADD file-"},
			{mid.ID, size(mid.ID), "ADD file-"},
			{base.ID, size(base.ID), "ADD file-"},
		}},
		{"bare:1", []want{{bare.ID, size(bare.ID), ""}, {base.ID, size(base.ID), ""}}},
	}
	for _, tc := range tests {
		h, err := e.ImageHistory(ctx, tc.name)
		if err != nil {
			t.Fatal(err)
		}
		if len(h) != len(tc.want) {
			t.Fatalf("%s: %d entries, want %d: %+v", tc.name, len(h), len(tc.want), h)
		}
		for i, w := range tc.want {
			if h[i].ID != w.id || h[i].Size != w.size || len(h[i].CreatedBy) < len(w.createdBy) || h[i].CreatedBy[:len(w.createdBy)] != w.createdBy {
				t.Errorf("%s entry %d = %+v, want %+v", tc.name, i, h[i], w)
			}
		}
	}
}
