package e2e

import (
	"bufio"
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestEvents(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	name := uniqueName(t)
	id := strings.TrimSpace(e.Must("create", "--name", name, "--label", "app=web", img, "sleep", "1000"))
	e.Must("start", name)
	e.Must("stop", "-t", "0", name)
	e.Must("rm", name)

	var statuses []string
	for _, line := range strings.Split(strings.TrimSpace(e.Must("events", "--stream=false", "--since", "1m", "--filter", "type=container")), "\n") {
		f := strings.Fields(line)
		if len(f) < 8 || f[4] != "container" || f[6] != id || !strings.Contains(line, "(image="+img+", name="+name) || !strings.Contains(line, "app=web") {
			t.Fatalf("event line %q: want TIME container STATUS %s (image=%s, name=%s, ...app=web)", line, id, img, name)
		}
		statuses = append(statuses, f[5])
	}
	// In this order, with possibly other statuses between them.
	rest := statuses
	for _, want := range []string{"create", "start", "died", "stop", "remove"} {
		i := slices.Index(rest, want)
		if i < 0 {
			t.Fatalf("statuses %q: %s missing or out of order", statuses, want)
		}
		rest = rest[i+1:]
	}

	out := e.Must("events", "--stream=false", "--format", "json", "--filter", "container="+name, "--filter", "event=died")
	var ev struct {
		ID, Name, Image, Status, Type string
		ContainerExitCode             *int
		TimeNano                      int64 `json:"timeNano"`
		Attributes                    map[string]string
	}
	if err := json.Unmarshal([]byte(out), &ev); err != nil {
		t.Fatalf("--format json: %v: %q", err, out)
	}
	if ev.ID != id || ev.Status != "died" || ev.Type != "container" || ev.ContainerExitCode == nil || *ev.ContainerExitCode != 137 ||
		ev.Attributes["app"] != "web" || time.Since(time.Unix(0, ev.TimeNano)) > time.Minute {
		t.Errorf("died event %+v", ev)
	}
	if out := e.Must("events", "--stream=false", "--filter", "type=image", "--format", "{{.Status}} {{.Name}}"); !strings.Contains(out, "pull "+img+"\n") {
		t.Errorf("image events %q lack the pull", out)
	}
	if out := e.Must("events", "--stream=false", "--until", "1h"); out != "" {
		t.Errorf("--until 1h ago printed %q", out)
	}
	e.MustFail(125, "events", "--stream=false", "--filter", "bogus=1")
}

func TestEventsStream(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	name := uniqueName(t)
	e.Must("create", "--name", name+"-before", img, "true") // not streamed: it happened before

	cmd := exec.Command(engineBinary, "--root", e.Root, "--runroot", e.RunRoot, "events", "--filter", "type=container")
	cmd.Env = e.Env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	time.Sleep(time.Second) // let the stream start
	id := strings.TrimSpace(e.Must("run", "-d", "--name", name, img, "sleep", "1000"))
	var seen []string
	deadline := time.After(10 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("events exited; printed %q", seen)
			}
			seen = append(seen, l)
			if strings.Contains(l, name+"-before") {
				t.Fatalf("the stream printed an earlier event: %q", l)
			}
			if strings.Contains(l, " container start "+id+" ") {
				return
			}
		case <-deadline:
			t.Fatalf("no start event within 10s; printed %q", seen)
		}
	}
}
