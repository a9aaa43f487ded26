package e2e

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The run flags quadlet keys map to: --tz (Timezone=), --expose
// (ExposeHostPort=), and the flags accepted only to say they are not
// supported yet.

// inspectConfig returns the container's inspect Config.
func inspectConfig(t *testing.T, e *Engine, name string) (cfg struct {
	Timezone     string
	ExposedPorts map[string]struct{}
}) {
	t.Helper()
	var doc []struct{ Config json.RawMessage }
	if err := json.Unmarshal([]byte(e.Must("inspect", name)), &doc); err != nil || len(doc) != 1 {
		t.Fatalf("inspect %s: %v", name, err)
	}
	if err := json.Unmarshal(doc[0].Config, &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func hostFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("the host lacks %s: %v", path, err)
	}
	return string(b)
}

func TestRunTimezone(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	tokyo := hostFile(t, "/usr/share/zoneinfo/Asia/Tokyo")

	if out := e.Must("run", "--rm", "--tz", "Asia/Tokyo", img, "date", "+%Z"); out != "JST\n" {
		t.Errorf("date +%%Z with --tz Asia/Tokyo printed %q, want JST", out)
	}
	if out := e.Must("run", "--rm", "--tz", "Asia/Tokyo", img, "cat", "/etc/localtime"); out != tokyo {
		t.Errorf("/etc/localtime is not the host's Asia/Tokyo zone file (%d bytes, want %d)", len(out), len(tokyo))
	}
	if r := e.Run("run", "--rm", "--tz", "Asia/Tokyo", img, "sh", "-c", "echo x > /etc/localtime"); r.ExitCode == 0 {
		t.Errorf("the container could write /etc/localtime: %+v", r)
	}
	if hostFile(t, "/usr/share/zoneinfo/Asia/Tokyo") != tokyo {
		t.Fatal("the container changed the host's zone file")
	}
	if _, err := os.Stat("/etc/localtime"); err == nil {
		if out := e.Must("run", "--rm", "--tz", "local", img, "cat", "/etc/localtime"); out != hostFile(t, "/etc/localtime") {
			t.Errorf("--tz local: /etc/localtime is not the host's (%d bytes)", len(out))
		}
	}

	// An image whose /etc/localtime links to a zone file of its own: the
	// link is replaced, the file it led to keeps its content.
	name := uniqueName(t)
	e.Must("run", "--name", name, img, "sh", "-c",
		"mkdir -p /usr/share/zoneinfo/Etc && echo image-utc > /usr/share/zoneinfo/Etc/UTC && ln -s ../usr/share/zoneinfo/Etc/UTC /etc/localtime")
	e.Must("commit", "-q", name, name+"-linked")
	e.Must("create", "--name", name+"-tz", "--tz", "Asia/Tokyo", name+"-linked", "sh", "-c", "date +%Z; cat /usr/share/zoneinfo/Etc/UTC")
	if out := e.Must("start", "-a", name+"-tz"); out != "JST\nimage-utc\n" {
		t.Errorf("--tz over an /etc/localtime link printed %q, want JST and the image's UTC file unchanged", out)
	}
	if cfg := inspectConfig(t, e, name+"-tz"); cfg.Timezone != "Asia/Tokyo" {
		t.Errorf("inspect Config.Timezone = %q", cfg.Timezone)
	}

	for _, tc := range []struct{ tz, say string }{
		{"Mars/Olympus", "--tz Mars/Olympus: unknown time zone: /usr/share/zoneinfo/Mars/Olympus does not exist"},
		{"../../etc/passwd", `--tz "../../etc/passwd": not a zone name`},
		{"Asia", "is a directory of zones"},
	} {
		for _, verb := range []string{"run", "create"} {
			if r := e.MustFail(125, verb, "--rm", "--tz", tc.tz, img, "true"); !strings.Contains(r.Stderr, tc.say) {
				t.Errorf("%s --tz %s: stderr %q lacks %q", verb, tc.tz, r.Stderr, tc.say)
			}
		}
	}
}

func TestRunExposePublishAll(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := webImage(t, e) // EXPOSE 80

	created := strings.TrimSpace(e.Must("create", "--expose", "8080", "--expose", "9000-9001/udp", "-p", "7000:70", img, "true"))
	want := []string{"70/tcp", "80/tcp", "8080/tcp", "9000/udp", "9001/udp"}
	if got := inspectConfig(t, e, created).ExposedPorts; !slices.Equal(sortedKeys(got), want) {
		t.Errorf("inspect Config.ExposedPorts = %v, want %v", sortedKeys(got), want)
	}

	// -P publishes --expose ports along with the image's.
	id := strings.TrimSpace(e.Must("run", "-d", "-P", "--expose", "8080", img, "httpd", "-f", "-p", "8080", "-h", "/www"))
	t.Cleanup(func() { e.Run("rm", "-f", "-t", "0", id) })
	out := e.Must("port", id)
	for _, port := range []string{"80/tcp -> 0.0.0.0:", "8080/tcp -> 0.0.0.0:"} {
		if !strings.Contains(out, port) {
			t.Errorf("port %s printed %q, want a mapping of %s", id, out, port)
		}
	}
	hostPort := strings.TrimPrefix(strings.TrimSpace(e.Must("port", id, "8080")), "0.0.0.0:")
	if got := fetch(t, fmt.Sprintf("http://127.0.0.1:%s/", hostPort)); got != webPage {
		t.Errorf("the -P port of --expose 8080 served %q", got)
	}

	if r := e.MustFail(125, "create", "--expose", "80/icmp", img); !strings.Contains(r.Stderr, `--expose "80/icmp"`) {
		t.Errorf("stderr %q does not name --expose", r.Stderr)
	}
}

// sortedKeys sorts "PORT/PROTOCOL" keys by port, then protocol.
func sortedKeys(m map[string]struct{}) []string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int {
		pa, qa, _ := strings.Cut(a, "/")
		pb, qb, _ := strings.Cut(b, "/")
		na, _ := strconv.Atoi(pa)
		nb, _ := strconv.Atoi(pb)
		return cmp.Or(cmp.Compare(na, nb), cmp.Compare(qa, qb))
	})
	return keys
}

// TestRunUnsupportedFlags: the flags quadlet writes that the engine cannot
// honor yet fail with 125 and a message naming them, and leave nothing.
func TestRunUnsupportedFlags(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	e := newEngine(t)
	for _, tc := range []struct {
		args []string
		say  string
	}{
		{[]string{"--rootfs", "/srv/root", "sh"}, "--rootfs: running a directory instead of an image is not supported yet"},
		{[]string{"--secret", "token", "busybox"}, "--secret token: the engine has no secret store"},
		{[]string{"--health-startup-cmd", "true", "busybox"}, "--health-startup-cmd: startup health checks are not supported yet"},
	} {
		for _, verb := range []string{"run", "create"} {
			r := e.MustFail(125, append([]string{verb}, tc.args...)...)
			if !strings.Contains(r.Stderr, tc.say) || strings.Count(strings.TrimSpace(r.Stderr), "\n") > 0 {
				t.Errorf("%s %q: stderr %q, want one line saying %q", verb, tc.args, r.Stderr, tc.say)
			}
		}
	}
}

// TestQuadletTimezoneExpose runs the ExecStart of a .container with
// Timezone= and ExposeHostPort= as systemd would.
func TestQuadletTimezoneExpose(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	hostFile(t, "/usr/share/zoneinfo/Asia/Tokyo")
	name := uniqueName(t)
	quadletDir(t, e, map[string]string{
		"app.container": "[Container]\nImage=" + img + "\nContainerName=" + name +
			"\nTimezone=Asia/Tokyo\nExposeHostPort=8080\nExposeHostPort=9000-9001/udp\nExec=sleep 1000\n",
	})
	unit := unitText(t, e.Must("quadlet", "--dryrun"), "app.service")
	var start string
	for _, line := range strings.Split(unit, "\n") {
		if v, ok := strings.CutPrefix(line, "ExecStart="); ok {
			start = v
		}
	}
	for _, want := range []string{" --tz=Asia/Tokyo ", " --expose=8080 ", " --expose=9000-9001/udp "} {
		if !strings.Contains(start, want) {
			t.Fatalf("ExecStart lacks %q: %s", want, start)
		}
	}
	// What systemd would run, its specifiers expanded.
	words := strings.Fields(strings.NewReplacer("%t", e.TmpDir, "%N", "app").Replace(start))
	e.Must(words[1:]...)
	t.Cleanup(func() { e.Run("rm", "-f", "-t", "0", name) })
	if out := e.Must("exec", name, "date", "+%Z"); out != "JST\n" {
		t.Errorf("date in the quadlet's container printed %q, want JST", out)
	}
	cfg := inspectConfig(t, e, name)
	for _, p := range []string{"8080/tcp", "9000/udp", "9001/udp"} {
		if _, ok := cfg.ExposedPorts[p]; !ok {
			t.Errorf("inspect Config.ExposedPorts %v lacks %s", sortedKeys(cfg.ExposedPorts), p)
		}
	}
	if id, err := os.ReadFile(filepath.Join(e.TmpDir, "app.cid")); err != nil || len(strings.TrimSpace(string(id))) != 64 {
		t.Errorf("--cidfile: %q, %v", id, err)
	}
}
