package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/engine-oss/engine/test/testimage"
)

// tunMode sets the mode of /dev/net/tun for the test and puts it back after.
func tunMode(t *testing.T, mode os.FileMode) {
	t.Helper()
	fi, err := os.Stat("/dev/net/tun")
	if err != nil {
		t.Skipf("no /dev/net/tun: %v", err)
	}
	old := fi.Mode().Perm()
	if err := os.Chmod("/dev/net/tun", mode); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod("/dev/net/tun", old) })
}

func TestRootlessNetworkPublish(t *testing.T) {
	a := requireRootlessUser(t, rootlessUser, true)
	for _, helper := range []string{"pasta", "slirp4netns"} {
		if _, err := exec.LookPath(helper); err != nil {
			t.Skipf("%s not installed", helper)
		}
	}
	e := newUserEngine(t, a)
	img := e.pull("web", testimage.Options{ExtraFiles: map[string][]byte{"/www/index.html": []byte(webPage)}})

	tunMode(t, 0o600)
	r := e.Run("run", "--rm", img, "true")
	if r.ExitCode != 125 || !strings.Contains(r.Stderr, "/dev/net/tun") || !strings.Contains(r.Stderr, "chmod") {
		t.Fatalf("with /dev/net/tun 0600: exit %d, %q: want an error naming it and the fix", r.ExitCode, r.Stderr)
	}
	tunMode(t, 0o666)
	for _, mode := range []string{"pasta", "slirp4netns"} {
		port := freePort(t)
		args := []string{"run", "-d", "--name", "web-" + mode, "-p", fmt.Sprintf("%d:80", port)}
		if mode != "pasta" { // pasta is the default
			args = append(args, "--network", mode)
		}
		id := strings.TrimSpace(e.Must(append(append(args, img), httpd...)...))
		if got := fetch(t, fmt.Sprintf("http://127.0.0.1:%d/", port)); got != webPage {
			t.Errorf("%s: published port served %q", mode, got)
		}
		if out := e.Must("port", id); out != fmt.Sprintf("80/tcp -> 0.0.0.0:%d\n", port) {
			t.Errorf("%s: port printed %q", mode, out)
		}
		e.Must("rm", "-f", "-t", "0", id)
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			out, _ := exec.Command("pgrep", "-u", a.name, "-x", mode).Output()
			if len(out) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("%s still runs 5s after rm: %s", mode, out)
				break
			}
		}
	}
}

func TestRootlessUserNetwork(t *testing.T) {
	a := requireRootlessUser(t, rootlessUser, true)
	if _, err := exec.LookPath("pasta"); err != nil {
		t.Skip("pasta not installed")
	}
	e := newUserEngine(t, a)
	img := e.pull("web", testimage.Options{ExtraFiles: map[string][]byte{"/www/index.html": []byte(webPage)}})
	tunMode(t, 0o666)
	net := uniqueName(t)
	e.Must("network", "create", net)
	port := freePort(t)
	id := strings.TrimSpace(e.Must(append([]string{"run", "-d", "--name", "web", "--network", net, "--network-alias", "www",
		"-p", fmt.Sprintf("%d:80", port), img}, httpd...)...))
	if got := fetch(t, fmt.Sprintf("http://127.0.0.1:%d/", port)); got != webPage {
		t.Errorf("published port served %q", got)
	}
	for _, host := range []string{"web", "www"} {
		if out := e.Must("run", "--rm", "--network", net, img, "wget", "-q", "-O-", "http://"+host+"/"); out != webPage {
			t.Errorf("wget http://%s/ printed %q", host, out)
		}
	}
	e.Must("rm", "-f", "-t", "0", id)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		out, _ := exec.Command("pgrep", "-u", a.name, "-f", "port-forwarder").Output()
		if len(out) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the port forwarder still runs after rm: %s", out)
		}
	}
	e.Must("network", "rm", net)
}
