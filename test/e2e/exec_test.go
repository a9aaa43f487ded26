package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runningCtr starts a detached container named after the test (NAME-running)
// that sleeps until removed, and returns its name.
func runningCtr(t *testing.T, e *Engine, img string, args ...string) string {
	t.Helper()
	name := uniqueName(t) + "-running"
	e.Must(append(append([]string{"run", "-d", "--name", name}, args...), img, "sleep", "1000")...)
	t.Cleanup(func() { e.Run("rm", "-f", "-t", "0", name) })
	return name
}

func TestExecOutputAndExitCode(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	name := runningCtr(t, e, img)
	r := e.Run("exec", name, "sh", "-c", "echo out; echo err >&2; echo $FROM_IMAGE; exit 7")
	if r.ExitCode != 7 || r.Stdout != "out\nyes\n" || !strings.Contains(r.Stderr, "err\n") {
		t.Fatalf("exec: %+v", r)
	}
	if out := e.Must("container", "exec", name, "ls", "-d", "/bin"); out != "/bin\n" {
		t.Fatalf("exec with a flag after the command: %q", out)
	}
	r = e.MustFail(127, "exec", name, "no-such-command")
	if !strings.Contains(r.Stderr, "no-such-command") {
		t.Errorf("127 message does not name the command: %q", r.Stderr)
	}
	r = e.MustFail(126, "exec", name, "/notexec")
	if !strings.Contains(r.Stderr, "/notexec") {
		t.Errorf("126 message does not name the file: %q", r.Stderr)
	}
	e.MustFail(125, "exec", "no-such-container", "true")
}

func TestExecEnvUserWorkdir(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	name := runningCtr(t, e, img, "-e", "CTR_VAR=ctr")
	envFile := filepath.Join(t.TempDir(), "env")
	if err := os.WriteFile(envFile, []byte("FROM_FILE=file\nCTR_VAR=file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := e.Must("exec", "--env-file", envFile, "-e", "NEW=new", "-e", "FROM_IMAGE=over", name,
		"sh", "-c", `echo "$CTR_VAR $FROM_FILE $NEW $FROM_IMAGE"`)
	if out != "file file new over\n" {
		t.Fatalf("environment: %q", out)
	}
	if out := e.Must("exec", name, "sh", "-c", "echo $CTR_VAR"); out != "ctr\n" {
		t.Fatalf("the container's environment is not the exec's default: %q", out)
	}
	if out := e.Must("exec", "-u", "nobody", name, "id", "-un"); out != "nobody\n" {
		t.Fatalf("-u nobody: %q", out)
	}
	if out := e.Must("exec", "-u", "1234:5678", name, "id"); !strings.Contains(out, "uid=1234") || !strings.Contains(out, "gid=5678") {
		t.Fatalf("-u 1234:5678: %q", out)
	}
	e.MustFail(125, "exec", "-u", "no-such-user", name, "true")
	// Detaching is not offered: keys are refused, "" (no detaching) is fine.
	if r := e.MustFail(125, "exec", "--detach-keys", "ctrl-x,y", name, "true"); !strings.Contains(r.Stderr, "cannot be detached") {
		t.Errorf("exec --detach-keys: %q", r.Stderr)
	}
	e.Must("exec", "--detach-keys", "", name, "true")
	if out := e.Must("exec", "-w", "/tmp", name, "pwd"); out != "/tmp\n" {
		t.Fatalf("-w /tmp: %q", out)
	}
	// Root in the container has the default capabilities; --privileged all.
	capEff := func(args ...string) string {
		out := e.Must(append(append([]string{"exec"}, args...), name, "grep", "CapEff", "/proc/self/status")...)
		return strings.TrimSpace(strings.TrimPrefix(out, "CapEff:"))
	}
	if def, priv := capEff(), capEff("--privileged"); def == priv || priv == "0000000000000000" {
		t.Fatalf("--privileged capabilities %s, default %s", priv, def)
	}
}

func TestExecStdinAndDetach(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	name := runningCtr(t, e, img)
	r := e.RunStdin(strings.NewReader("one\ntwo\nthree\n"), "exec", "-i", name, "wc", "-l")
	if r.ExitCode != 0 || strings.TrimSpace(r.Stdout) != "3" {
		t.Fatalf("exec -i: %+v", r)
	}
	// Without -i the command's stdin is empty.
	r = e.RunStdin(strings.NewReader("ignored\n"), "exec", name, "wc", "-l")
	if r.ExitCode != 0 || strings.TrimSpace(r.Stdout) != "0" {
		t.Fatalf("exec without -i read stdin: %+v", r)
	}
	if out := e.Must("exec", "-d", name, "sh", "-c", "sleep 0.2; echo done > /tmp/detached"); out != "" {
		t.Fatalf("exec -d printed %q", out)
	}
	waitFor(t, func() bool { return e.Run("exec", name, "cat", "/tmp/detached").Stdout == "done\n" })
	// The process files are removed after use.
	runDir := filepath.Join(e.RunRoot, "containers")
	left, _ := filepath.Glob(filepath.Join(runDir, "*", "exec-*"))
	if len(left) != 0 {
		t.Fatalf("exec left %v", left)
	}
}

func TestExecNotRunning(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	name := uniqueName(t)
	e.Must("create", "--name", name, img, "sleep", "1000")
	r := e.MustFail(125, "exec", name, "true")
	if !strings.Contains(r.Stderr, "running") {
		t.Errorf("message does not say the container must run: %q", r.Stderr)
	}
	e.Must("rm", name)
}
