package e2e

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

func TestCommit(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	name := uniqueName(t)
	e.Must("run", "--name", name, "-e", "FROM_RUN=run", "-w", "/tmp", img, "sh", "-c", "echo committed > /file && rm /notexec")
	id := strings.TrimSpace(e.Must("commit", "-m", "my message", "-a", "me", name, "committed"))
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(id) {
		t.Fatalf("commit printed %q, want an image ID", id)
	}
	if out := e.Must("run", "--rm", "committed", "sh", "-c", `cat /file; pwd; echo $FROM_RUN $FROM_IMAGE; test -e /notexec || echo gone`); out != "committed\n/tmp\nrun yes\ngone\n" {
		t.Fatalf("the committed image runs with %q", out)
	}
	if out := e.Must("image", "inspect", "--format", "{{.Config.Cmd}} {{.Author}}", "localhost/committed:latest"); out != "[sh -c echo committed > /file && rm /notexec] me\n" {
		t.Fatalf("committed config: %q", out)
	}
	var hist []struct{ CreatedBy, Comment string }
	if err := json.Unmarshal([]byte(e.Must("history", "--format", "json", "committed")), &hist); err != nil {
		t.Fatal(err)
	}
	if len(hist) == 0 || hist[0].Comment != "my message" {
		t.Fatalf("history: %+v", hist)
	}

	// --change applies last; -q prints the ID only; a running container
	// can be committed paused.
	run := runningCtr(t, e, img)
	e.Must("exec", run, "sh", "-c", "echo live > /live")
	id2 := strings.TrimSpace(e.Must("container", "commit", "-q", "-p", "--format", "docker", "-c", `CMD ["cat", "/live"]`, "-c", "ENV K=V", run, "second:v1"))
	if out := e.Must("image", "inspect", "--format", "{{.Config.Cmd}}", id2); out != "[cat /live]\n" {
		t.Fatalf("--change CMD: %q", out)
	}
	if out := e.Must("run", "--rm", "second:v1"); out != "live\n" {
		t.Fatalf("second image runs with %q", out)
	}
	if rows := psAll(t, e); !strings.Contains(e.Must("ps", "--format", "{{.State}}"), "running") {
		t.Fatalf("container not running after commit -p: %+v", rows)
	}
	e.MustFail(125, "commit", "--format", "tarball", run)
	e.MustFail(125, "commit", "-c", "BOGUS x", run)
	e.MustFail(125, "commit", "no-such-container")
}
