package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// health is the part of inspect the health check tests read.
type health struct {
	State struct {
		Status    string
		StartedAt time.Time
		Health    *struct {
			Status        string
			FailingStreak int
			Log           []struct {
				ExitCode int
				Output   string
			}
		}
	}
	Config struct {
		Healthcheck *struct {
			Test     []string
			Interval time.Duration
			Retries  int
		}
		HealthcheckOnFailureAction string
	}
}

func inspectHealth(t *testing.T, e *Engine, name string) health {
	t.Helper()
	var docs []health
	if err := json.Unmarshal([]byte(e.Must("container", "inspect", name)), &docs); err != nil || len(docs) != 1 {
		t.Fatalf("inspect %s: %v", name, err)
	}
	return docs[0]
}

// waitHealth waits up to 20s for the container's health status.
func waitHealth(t *testing.T, e *Engine, name, status string) health {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		h := inspectHealth(t, e, name)
		if h.State.Health != nil && h.State.Health.Status == status {
			return h
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not become %s within 20s: %+v", name, status, h.State.Health)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestHealthcheckTransitions runs a container whose check passes until a
// file appears on its /dev/shm (a tmpfs a restart empties): the monitor's
// checks make it healthy, then unhealthy after the retries, which restarts
// it (--health-on-failure=restart), and healthy again.
func TestHealthcheckTransitions(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	name := uniqueName(t)
	e.Must("run", "-d", "--name", name, "--network", "none", "--health-cmd", "echo checked; test ! -e /dev/shm/sick",
		"--health-interval", "300ms", "--health-retries", "2", "--health-on-failure", "restart", "--stop-timeout", "1", img, "sleep", "1000")

	h := inspectHealth(t, e, name)
	if hc := h.Config.Healthcheck; hc == nil || strings.Join(hc.Test, " ") != "CMD-SHELL echo checked; test ! -e /dev/shm/sick" ||
		hc.Interval != 300*time.Millisecond || hc.Retries != 2 || h.Config.HealthcheckOnFailureAction != "restart" {
		t.Fatalf("Config.Healthcheck %+v, action %q", hc, h.Config.HealthcheckOnFailureAction)
	}
	h = waitHealth(t, e, name, "healthy")
	if l := h.State.Health.Log; len(l) == 0 || l[len(l)-1].ExitCode != 0 || l[len(l)-1].Output != "checked\n" {
		t.Fatalf("health log %+v", l)
	}
	if out := e.Must("ps"); !strings.Contains(out, "(healthy)") {
		t.Fatalf("ps does not show the health:\n%s", out)
	}
	firstStart := h.State.StartedAt
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", inspectCtr(t, e, name).State.ConmonPid)); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "VmRSS:") {
				t.Logf("monitor running health checks: %s", strings.Join(strings.Fields(line), " "))
			}
		}
	}

	e.Must("exec", name, "touch", "/dev/shm/sick")
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) { // unhealthy, restarted
		if h = inspectHealth(t, e, name); h.State.StartedAt.After(firstStart) && h.State.Status == "running" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not restarted within 20s: %s", e.Must("container", "inspect", name))
		}
	}
	var sawUnhealthy bool
	for _, l := range h.State.Health.Log {
		sawUnhealthy = sawUnhealthy || l.ExitCode == 1
	}
	if !sawUnhealthy {
		t.Errorf("restarted without failed checks in the log: %+v", h.State.Health)
	}
	waitHealth(t, e, name, "healthy")
	if l := len(h.State.Health.Log); l > 5 {
		t.Errorf("%d results kept, want at most 5", l)
	}
}

// TestHealthcheckRun runs checks by hand: exit 0 when healthy, 1 printing
// the status when not, 125 when there is no check to run.
func TestHealthcheckRun(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	name := uniqueName(t)
	e.Must("run", "-d", "--name", name, "--network", "none", "--health-cmd", `["test", "!", "-e", "/tmp/sick"]`,
		"--health-interval", "disable", "--health-retries", "1", img, "sleep", "1000")
	if h := inspectHealth(t, e, name); h.State.Health == nil || h.State.Health.Status != "starting" {
		t.Fatalf("health before any check: %+v", h.State.Health)
	}
	if out := e.Must("healthcheck", "run", name); out != "" {
		t.Errorf("a passing check printed %q", out)
	}
	e.Must("exec", name, "touch", "/tmp/sick")
	r := e.Run("healthcheck", "run", name)
	if r.ExitCode != 1 || strings.TrimSpace(r.Stdout) != "unhealthy" {
		t.Fatalf("failing check: %+v", r)
	}
	if h := inspectHealth(t, e, name); h.State.Health.Status != "unhealthy" || h.State.Health.FailingStreak != 1 {
		t.Fatalf("after a failed check: %+v", h.State.Health)
	}
	if out := e.Must("ps", "--format", "{{.Status}}"); !strings.Contains(out, "(unhealthy)") {
		t.Fatalf("ps status %q", out)
	}

	e.Must("run", "-d", "--name", name+"-none", "--network", "none", img, "sleep", "1000")
	e.MustFail(125, "healthcheck", "run", name+"-none")
	e.MustFail(125, "healthcheck", "run", "no-such-container")
	e.Must("stop", "-t", "0", name)
	e.MustFail(125, "healthcheck", "run", name)
}

func TestHealthcheckBadInput(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	for _, args := range [][]string{
		{"--health-on-failure", "bogus", "--health-cmd", "true"},
		{"--health-cmd", "true", "--health-interval", "often"},
		{"--health-cmd", "true", "--health-retries", "0"},
		{"--health-cmd", "true", "--health-timeout", "0s"},
		{"--health-cmd", "[not json"},
		{"--health-interval", "5s"}, // without --health-cmd
		{"--no-healthcheck", "--health-cmd", "true"},
		{"--rm", "--health-cmd", "true", "--health-on-failure", "restart"},
	} {
		r := e.MustFail(125, append(append([]string{"run"}, args...), img, "true")...)
		if strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
			t.Errorf("%v: error is not one line: %q", args, r.Stderr)
		}
	}
	if rows := psAll(t, e); len(rows) != 0 {
		t.Fatalf("bad input left containers: %+v", rows)
	}
}
