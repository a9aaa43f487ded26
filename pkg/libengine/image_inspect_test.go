package libengine

import (
	"context"
	"errors"
	"testing"

	"github.com/engine-oss/engine/pkg/libengine/define"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestImageInspect(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	ctx := context.Background()
	base := addTestImage(t, e, testImage{names: []string{"localhost/base:1"}})
	child := addTestImage(t, e, testImage{names: []string{"localhost/child:1", "quay.io/x/child:2"}, parent: base, labels: map[string]string{"k": "v"}})

	docs, err := e.ImageInspect(ctx, []string{"child:1", "nosuch", base.ID[:5]})
	if !errors.Is(err, define.ErrNoSuchImage) {
		t.Fatalf("err = %v, want ErrNoSuchImage for the unknown name", err)
	}
	if len(docs) != 2 || docs[0].ID != child.ID || docs[1].ID != base.ID {
		t.Fatalf("inspected %d documents", len(docs))
	}
	d := docs[0]
	size, err := e.store.ImageSize(child.ID)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		field string
		ok    bool
	}{
		{"Digest", d.Digest == child.Digest.String()},
		{"RepoTags", len(d.RepoTags) == 2 && d.RepoTags[1] == "quay.io/x/child:2"},
		{"RepoDigests", len(d.RepoDigests) == 2 && d.RepoDigests[0] == "localhost/child@"+child.Digest.String()},
		{"Parent", d.Parent == base.ID},
		{"Created", d.Created != nil && d.Created.Equal(child.Created)},
		{"Config.Cmd", d.Config != nil && len(d.Config.Cmd) == 1 && d.Config.Cmd[0] == "/bin/sh"},
		{"Labels", d.Labels["k"] == "v" && d.Config.Labels["k"] == "v"},
		{"Author", d.Author == "tester"},
		{"Architecture/Os", d.Architecture == "amd64" && d.Os == "linux"},
		{"Size", d.Size == size && d.VirtualSize == size},
		{"GraphDriver", d.GraphDriver.Name == "vfs"},
		{"RootFS", d.RootFS.Type == "layers" && len(d.RootFS.Layers) == 2},
		{"ManifestType", d.ManifestType == imgspecv1.MediaTypeImageManifest},
		{"Annotations", d.Annotations["org.example.test"] == t.Name()},
		{"History", len(d.History) == 2},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s wrong in %+v", c.field, d)
		}
	}
}

func TestImageExists(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	img := addTestImage(t, e, testImage{names: []string{"localhost/here:1"}})
	for name, want := range map[string]bool{"here:1": true, "localhost/here:1": true, img.ID[:12]: true, "here:2": false, "nowhere": false} {
		got, err := e.ImageExists(context.Background(), name)
		if err != nil || got != want {
			t.Errorf("ImageExists(%q) = %v, %v; want %v", name, got, err, want)
		}
	}
}
