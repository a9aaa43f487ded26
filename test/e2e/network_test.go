package e2e

// Network tests need root: they make bridges, veth pairs and nftables rules.
// Traffic stays on this machine: the host's loopback and the addresses of
// the containers' own namespaces. Every network they create is named after
// the test and removed with it.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/engine-oss/engine/test/testimage"
)

const webPage = "hello from web\n"

// webImage is a busybox image with a page to serve and port 80 exposed.
func webImage(t *testing.T, e *Engine) string {
	t.Helper()
	ref, _ := pulledImage(t, e, "web", testimage.Options{
		ExtraFiles:   map[string][]byte{"/www/index.html": []byte(webPage)},
		ExposedPorts: []string{"80/tcp"},
	})
	return ref
}

// httpd is the command serving /www on port 80 in the foreground.
var httpd = []string{"httpd", "-f", "-p", "80", "-h", "/www"}

// freePort returns a TCP port nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// fetch GETs url, retrying for up to 10 s while the server starts.
func fetch(t *testing.T, url string) string {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := client.Get(url)
		if err == nil {
			b, rerr := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if rerr == nil && resp.StatusCode == http.StatusOK {
				return string(b)
			}
			err = rerr
			if err == nil {
				err = fmt.Errorf("status %s", resp.Status)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// newNetwork creates a network named after the test (and suffix),
// removed at the end.
func newNetwork(t *testing.T, e *Engine, suffix string, args ...string) string {
	t.Helper()
	name := uniqueName(t) + suffix
	e.Must(append(append([]string{"network", "create"}, args...), name)...)
	t.Cleanup(func() { e.Run("network", "rm", "-f", "-t", "0", name) })
	return name
}

// netInspect returns a network's definition.
func netInspect(t *testing.T, e *Engine, name string) (bridge, subnet string) {
	t.Helper()
	var nets []struct {
		Interface string `json:"network_interface"`
		Subnets   []struct{ Subnet string }
	}
	if err := json.Unmarshal([]byte(e.Must("network", "inspect", name)), &nets); err != nil || len(nets) != 1 {
		t.Fatalf("network inspect %s: %v", name, err)
	}
	return nets[0].Interface, nets[0].Subnets[0].Subnet
}

func hostCmd(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// vethName is the host side of a container's interface (network.VethName).
func vethName(id, ifname string) string {
	sum := sha256.Sum256([]byte(id + "/" + ifname))
	return "veth" + hex.EncodeToString(sum[:])[:11]
}

// checkNoTraces waits (boundedly: the kernel deletes a namespace's
// interfaces in the background) until the containers' interfaces, rules and
// leases are gone from the host.
func checkNoTraces(t *testing.T, bridge string, ids ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		links := hostCmd(t, "ip", "-o", "link")
		rules := hostCmd(t, "nft", "list", "ruleset")
		leases, _ := os.ReadFile(filepath.Join("/run/engine/network", bridge+".leases"))
		var left []string
		for _, id := range ids {
			if strings.Contains(links, vethName(id, "eth0")) {
				left = append(left, "veth of "+id[:12])
			}
			if strings.Contains(rules, id) {
				left = append(left, "rules of "+id[:12])
			}
			if strings.Contains(string(leases), id) {
				left = append(left, "lease of "+id[:12])
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("left behind: %s\nlinks:\n%s\nleases: %s", strings.Join(left, ", "), links, leases)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestNetworkPublishAndResolve(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := webImage(t, e)
	netName := newNetwork(t, e, "")
	port := freePort(t)
	web := strings.TrimSpace(e.Must(append([]string{"run", "-d", "--name", "web", "--network", netName, "--network-alias", "www",
		"-p", fmt.Sprintf("%d:80", port), img}, httpd...)...))
	if got := fetch(t, fmt.Sprintf("http://127.0.0.1:%d/", port)); got != webPage {
		t.Fatalf("published port served %q", got)
	}
	if out := e.Must("port", "web"); out != fmt.Sprintf("80/tcp -> 0.0.0.0:%d\n", port) {
		t.Errorf("port printed %q", out)
	}
	// Another container on the network reaches it by name and by alias.
	for _, host := range []string{"web", "www", web[:12]} {
		out := e.Must("run", "--rm", "--network", netName, img, "wget", "-q", "-O-", "http://"+host+"/")
		if out != webPage {
			t.Errorf("wget http://%s/ printed %q", host, out)
		}
	}
	// A container on the default network does not see it.
	if r := e.Run("run", "--rm", img, "sh", "-c", "grep -w web /etc/hosts"); r.ExitCode == 0 {
		t.Errorf("web is in /etc/hosts of a container on another network: %s", r.Stdout)
	}
	// The running web lists a peer while it runs, and forgets it after.
	e.Must("run", "-d", "--name", "peer", "--network", netName, img, "sleep", "1000")
	if hosts := e.Must("exec", "web", "cat", "/etc/hosts"); !strings.Contains(hosts, "\tpeer ") {
		t.Errorf("web's /etc/hosts lacks its peer:\n%s", hosts)
	}
	e.Must("rm", "-f", "-t", "0", "peer")
	if hosts := e.Must("exec", "web", "cat", "/etc/hosts"); strings.Contains(hosts, "peer") {
		t.Errorf("web's /etc/hosts keeps a removed peer:\n%s", hosts)
	}
	bridge, _ := netInspect(t, e, netName)
	e.Must("rm", "-f", "-t", "0", "web")
	checkNoTraces(t, bridge, web)
}

func TestNetworkDefaultBridge(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := webImage(t, e)
	port := freePort(t)
	id := strings.TrimSpace(e.Must(append([]string{"run", "-d", "-p", fmt.Sprintf("127.0.0.1:%d:80", port), img}, httpd...)...))
	if got := fetch(t, fmt.Sprintf("http://127.0.0.1:%d/", port)); got != webPage {
		t.Fatalf("published port served %q", got)
	}
	var doc []struct {
		NetworkSettings struct {
			IPAddress string
			Networks  map[string]struct{ IPAddress string }
		}
	}
	if err := json.Unmarshal([]byte(e.Must("inspect", id)), &doc); err != nil || len(doc) != 1 {
		t.Fatal(err)
	}
	ns := doc[0].NetworkSettings
	if !strings.HasPrefix(ns.IPAddress, "10.88.") || ns.Networks["podman"].IPAddress != ns.IPAddress {
		t.Errorf("inspect NetworkSettings %+v: want an address of 10.88.0.0/16 on network podman", ns)
	}
	// -P publishes the exposed port on a random host port.
	all := strings.TrimSpace(e.Must(append([]string{"run", "-d", "-P", img}, httpd...)...))
	out := strings.TrimSpace(e.Must("port", all, "80"))
	if !strings.HasPrefix(out, "0.0.0.0:") {
		t.Fatalf("port %s 80 printed %q", all, out)
	}
	if got := fetch(t, "http://127.0.0.1:"+strings.TrimPrefix(out, "0.0.0.0:")+"/"); got != webPage {
		t.Fatalf("-P port served %q", got)
	}
	e.Must("rm", "-f", "-t", "0", id, all)
	checkNoTraces(t, "engine0", id, all)
}

func TestNetworkModes(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	if out := e.Must("run", "--rm", "--network", "none", img, "ls", "/sys/class/net"); strings.Fields(out)[0] != "lo" || len(strings.Fields(out)) != 1 {
		t.Errorf("--network none has interfaces %q, want only lo", out)
	}
	hostIfs, err := os.ReadDir("/sys/class/net")
	if err != nil {
		t.Fatal(err)
	}
	out := e.Must("run", "--rm", "--network", "host", img, "ls", "/sys/class/net")
	for _, ifc := range hostIfs {
		if !strings.Contains(out, ifc.Name()) {
			t.Errorf("--network host lacks the host's %s: %q", ifc.Name(), out)
		}
	}
	e.Must("run", "-d", "--name", "owner", img, "sleep", "1000")
	own := e.Must("exec", "owner", "ip", "-o", "-4", "addr", "show", "eth0")
	shared := e.Must("run", "--rm", "--network", "container:owner", img, "ip", "-o", "-4", "addr", "show", "eth0")
	if !strings.Contains(own, "inet 10.88.") || own != shared {
		t.Errorf("container:owner sees %q, owner has %q", shared, own)
	}
	e.Must("rm", "-f", "-t", "0", "owner")
	e.MustFail(125, "run", "--rm", "--network", "container:owner", img, "true")
}

func TestNetworkCommands(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := ctrImage(t, e)
	name := newNetwork(t, e, "", "--subnet", "10.89.231.0/24", "--gateway", "10.89.231.254", "--ip-range", "10.89.231.128/25",
		"--label", "team=blue", "-o", "mtu=1400", "--internal")
	e.Must("network", "exists", name)
	if r := e.Run("network", "exists", "no-such-network"); r.ExitCode != 1 {
		t.Errorf("exists of a missing network: exit %d", r.ExitCode)
	}
	if out := e.Must("network", "ls", "--filter", "label=team=blue", "--format", "{{.Name}} {{.Driver}}"); out != name+" bridge\n" {
		t.Errorf("ls --filter label printed %q", out)
	}
	if out := e.Must("network", "ls", "-q"); !strings.Contains(out, "podman\n") || !strings.Contains(out, name+"\n") {
		t.Errorf("ls -q printed %q", out)
	}
	if out := e.Must("network", "inspect", "--format", "{{.Internal}} {{(index .Subnets 0).Gateway}} {{.Options.mtu}}", name); out != "true 10.89.231.254 1400\n" {
		t.Errorf("inspect --format printed %q", out)
	}
	e.Must("run", "-d", "--name", "c1", "--network", name, img, "sleep", "1000")
	if out := e.Must("exec", "c1", "ip", "-o", "-4", "addr", "show", "eth0"); !strings.Contains(out, "10.89.231.129/24") {
		t.Errorf("c1 has %q, want the first usable address of --ip-range", out)
	}
	e.Must("run", "-d", "--name", "c2", "--network", name, "--ip", "10.89.231.200", "--mac-address", "92:d0:c6:0a:29:33", img, "sleep", "1000")
	if out := e.Must("exec", "c2", "ip", "-o", "link", "show", "eth0"); !strings.Contains(out, "92:d0:c6:0a:29:33") || !strings.Contains(out, "mtu 1400") {
		t.Errorf("c2's eth0 is %q, want the static MAC and mtu 1400", out)
	}
	// connect and disconnect a running container.
	other := newNetwork(t, e, "-2")
	e.Must("network", "connect", "--alias", "second", other, "c1")
	if out := e.Must("exec", "c1", "ls", "/sys/class/net"); !strings.Contains(out, "eth1") {
		t.Errorf("after connect c1 has %q, want eth1", out)
	}
	r := e.MustFail(125, "network", "connect", other, "c1")
	if !strings.Contains(r.Stderr, "already connected") {
		t.Errorf("connecting twice: %q", r.Stderr)
	}
	e.Must("network", "disconnect", other, "c1")
	if out := e.Must("exec", "c1", "ls", "/sys/class/net"); strings.Contains(out, "eth1") {
		t.Errorf("after disconnect c1 has %q", out)
	}
	// rm refuses a network in use; -f removes its containers.
	r = e.MustFail(2, "network", "rm", name)
	if !strings.Contains(r.Stderr, "being used") || !strings.Contains(r.Stderr, "c1") {
		t.Errorf("rm of a network in use: %q", r.Stderr)
	}
	bridge, _ := netInspect(t, e, name)
	var ids []string
	for _, row := range psAll(t, e) {
		ids = append(ids, row.ID)
	}
	e.Must("network", "rm", "-f", "-t", "0", name)
	if r := e.Run("network", "exists", name); r.ExitCode != 1 {
		t.Errorf("exists after rm: exit %d", r.ExitCode)
	}
	if rows := psAll(t, e); len(rows) != 0 {
		t.Errorf("network rm -f left containers %+v", rows)
	}
	checkNoTraces(t, bridge, ids...)
	if strings.Contains(hostCmd(t, "ip", "-o", "link"), bridge) || strings.Contains(hostCmd(t, "nft", "list", "ruleset"), bridge) {
		t.Errorf("network rm left its bridge %s or its rules", bridge)
	}
	e.Must("network", "create", "--ignore", other)
	if out := e.Must("network", "prune", "-f"); out != other+"\n" {
		t.Errorf("prune printed %q", out)
	}
}

func TestNetworkBadInput(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := webImage(t, e)
	name := newNetwork(t, e, "", "--subnet", "10.89.232.0/24")
	for _, tc := range []struct {
		args []string
		say  string
	}{
		{[]string{"network", "create", "--subnet", "10.89.232.128/25", "overlap"}, "overlaps"},
		{[]string{"network", "create", "--subnet", "10.89.300.0/24", "badcidr"}, "not a CIDR"},
		{[]string{"network", "create", "--subnet", "10.89.233.0/24", "--gateway", "10.89.234.1", "badgw"}, "--gateway"},
		{[]string{"network", "create", name}, "already used"},
		{[]string{"network", "create", "-o", "color=red", "badopt"}, "-o color"},
		{[]string{"run", "--rm", "-p", "80:http", img, "true"}, "-p"},
		{[]string{"run", "--rm", "-p", "1-3:80-81", img, "true"}, "ranges differ"},
		{[]string{"run", "--rm", "--network", "no-such-net", img, "true"}, "network not found"},
		{[]string{"run", "--rm", "--network", name, "--ip", "10.1.2.3", img, "true"}, "not in the subnets"},
		{[]string{"network", "connect", "no-such-net", "x"}, "network not found"},
		{[]string{"network", "rm", "podman"}, "cannot be removed"},
	} {
		r := e.Run(tc.args...)
		if r.ExitCode == 0 || !strings.Contains(r.Stderr, tc.say) {
			t.Errorf("%v: exit %d, stderr %q: want a failure saying %q", tc.args, r.ExitCode, r.Stderr, tc.say)
		}
	}
	// A host port already taken: a clear error and nothing left running.
	l, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	port := l.Addr().(*net.TCPAddr).Port
	r := e.MustFail(125, append([]string{"run", "-d", "--name", "taken", "--network", name, "-p", fmt.Sprintf("%d:80", port), img}, httpd...)...)
	if want := fmt.Sprintf("port %d/tcp is already in use", port); !strings.Contains(r.Stderr, want) {
		t.Errorf("stderr %q, want %q", r.Stderr, want)
	}
	var rows []psRow
	if err := json.Unmarshal([]byte(e.Must("ps", "-a", "--format", "json")), &rows); err != nil || len(rows) != 1 || rows[0].State == "running" {
		t.Fatalf("after the failed start: %+v %v", rows, err)
	}
	bridge, _ := netInspect(t, e, name)
	checkNoTraces(t, bridge, rows[0].ID)
	if _, err := os.Stat(filepath.Join(e.RunRoot, "netns", rows[0].ID)); err == nil {
		t.Error("the failed start left its network namespace")
	}
	// Two containers cannot publish one host port.
	free := freePort(t)
	e.Must(append([]string{"run", "-d", "--name", "first", "-p", fmt.Sprintf("%d:80", free), img}, httpd...)...)
	r = e.MustFail(125, append([]string{"run", "-d", "--name", "second", "-p", fmt.Sprintf("%d:80", free), img}, httpd...)...)
	if !strings.Contains(r.Stderr, fmt.Sprintf("port %d/tcp is already published", free)) {
		t.Errorf("second publisher: %q", r.Stderr)
	}
}

func TestNetworkCleanupAfterMonitorKill(t *testing.T) {
	requireRoot(t)
	e := newEngine(t)
	img := webImage(t, e)
	name := newNetwork(t, e, "")
	port := freePort(t)
	id := strings.TrimSpace(e.Must(append([]string{"run", "-d", "--network", name, "-p", fmt.Sprintf("%d:80", port), img}, httpd...)...))
	fetch(t, fmt.Sprintf("http://127.0.0.1:%d/", port))
	var doc []struct{ State struct{ Pid, ConmonPid int } }
	if err := json.Unmarshal([]byte(e.Must("inspect", id)), &doc); err != nil || len(doc) != 1 {
		t.Fatal(err)
	}
	for _, pid := range []int{doc[0].State.ConmonPid, doc[0].State.Pid} {
		if p, err := os.FindProcess(pid); err == nil {
			_ = p.Kill()
		}
	}
	bridge, _ := netInspect(t, e, name)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(e.Must("ps", "-a", "--format", "{{.State}}"), "exited") {
		if time.Now().After(deadline) {
			t.Fatal("the killed container is not seen as exited")
		}
		time.Sleep(100 * time.Millisecond)
	}
	checkNoTraces(t, bridge, id)
	// The network reload puts back rules of a running container.
	web := strings.TrimSpace(e.Must(append([]string{"run", "-d", "--network", name, "-p", fmt.Sprintf("%d:80", port), img}, httpd...)...))
	fetch(t, fmt.Sprintf("http://127.0.0.1:%d/", port))
	deleteRules(t, web)
	c := &http.Client{Timeout: 500 * time.Millisecond}
	if resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/", port)); err == nil {
		_ = resp.Body.Close()
		t.Fatal("the port still answers without its rules")
	}
	if out := e.Must("network", "reload", web); out != web+"\n" {
		t.Errorf("reload printed %q", out)
	}
	fetch(t, fmt.Sprintf("http://127.0.0.1:%d/", port))
}

// deleteRules deletes the nftables rules carrying id in their comment, as a
// firewall restart would.
func deleteRules(t *testing.T, id string) {
	t.Helper()
	var doc struct {
		Nftables []map[string]json.RawMessage `json:"nftables"`
	}
	if err := json.Unmarshal([]byte(hostCmd(t, "nft", "-j", "list", "table", "inet", "engine")), &doc); err != nil {
		t.Fatal(err)
	}
	for _, item := range doc.Nftables {
		raw, ok := item["rule"]
		if !ok {
			continue
		}
		var r struct {
			Chain   string
			Handle  int
			Comment string
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(r.Comment, id) {
			hostCmd(t, "nft", "delete", "rule", "inet", "engine", r.Chain, "handle", fmt.Sprint(r.Handle))
		}
	}
}
