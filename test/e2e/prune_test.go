package e2e

import (
	"strings"
	"testing"

	"github.com/engine-oss/engine/test/testimage"
)

func TestImagePrune(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	e := newEngine(t)
	refKeep, idKeep := pulledImage(t, e, "keep", testimage.Options{})
	// Its own extra layer keeps it from being the base of "other".
	refDangling, idDangling := pulledImage(t, e, "dangling", testimage.Options{ExtraFiles: map[string][]byte{"/d": []byte("d")}, Labels: map[string]string{"prune": "yes"}})
	refOther, idOther := pulledImage(t, e, "other", testimage.Options{Layers: 3})
	e.Must("untag", refDangling)

	// Without --force the question is asked, on a terminal or not.
	r := e.RunStdin(strings.NewReader("n\n"), "image", "prune")
	if r.ExitCode != 0 || !strings.Contains(r.Stdout, "WARNING! This command removes all dangling images.") || strings.Contains(r.Stdout, idDangling) {
		t.Fatalf("prune answered no: %+v", r)
	}
	e.Must("image", "exists", idDangling)
	if r := e.Run("image", "prune"); r.ExitCode != 125 {
		t.Errorf("prune without an answer: %+v, want exit 125", r)
	}

	// A filter that matches nothing removes nothing.
	if out := e.Must("image", "prune", "-f", "--filter", "label=prune=no"); out != "" {
		t.Errorf("prune with a filter matching nothing printed %q", out)
	}
	r = e.RunStdin(strings.NewReader("y\n"), "image", "prune")
	if r.ExitCode != 0 || !strings.HasSuffix(r.Stdout, idDangling+"\n") {
		t.Fatalf("prune answered yes: %+v", r)
	}
	if r := e.Run("image", "exists", idDangling); r.ExitCode != 1 {
		t.Errorf("pruned image still exists: %+v", r)
	}
	e.Must("image", "exists", refKeep)

	// -a removes every image no container uses.
	e.Must("create", "--network", "none", refKeep, "true")
	out := e.Must("image", "prune", "-a", "-f")
	if out != idOther+"\n" {
		t.Errorf("prune -a printed %q, want only %s", out, idOther)
	}
	if r := e.Run("image", "exists", refOther); r.ExitCode != 1 {
		t.Errorf("image pruned by -a still exists: %+v", r)
	}
	if out := e.Must("images", "-q", "--no-trunc"); out != "sha256:"+idKeep+"\n" {
		t.Errorf("images after prune -a: %q", out)
	}
	e.MustFail(125, "image", "prune", "-f", "--filter", "reference=x")
}
