package network

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

// serveIn listens on port in the namespace at ns and answers each
// connection with msg; it stops with the test.
func serveIn(t *testing.T, ns string, port int, msg string) {
	t.Helper()
	var l net.Listener
	if err := inNetNS(ns, func() (err error) {
		l, err = net.Listen("tcp", fmt.Sprintf(":%d", port))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte(msg + "\n"))
			_ = c.Close()
		}
	}()
}

// fetch dials addr from the namespace at ns (the test's own when empty)
// and returns the line it reads.
func fetch(ns, addr string) (string, error) {
	var line string
	err := inNetNS(ns, func() error {
		c, err := net.DialTimeout("tcp", addr, 3*time.Second)
		if err != nil {
			return err
		}
		defer func() { _ = c.Close() }()
		_ = c.SetDeadline(time.Now().Add(3 * time.Second))
		line, err = bufio.NewReader(c).ReadString('\n')
		return err
	})
	return strings.TrimSpace(line), err
}

func TestAttachForwardDetach(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	m := &Manager{StateDir: filepath.Join(dir, "state")}
	routes, err := HostRoutes()
	if err != nil {
		t.Fatal(err)
	}
	n, err := New(CreateOptions{Name: "unit", Subnets: []string{"10.251.77.0/24"}}, nil, routes)
	if err != nil {
		t.Fatal(err)
	}
	ns1, ns2 := filepath.Join(dir, "ns1"), filepath.Join(dir, "ns2")
	for _, ns := range []string{ns1, ns2} {
		if err := NewNetNS(ns); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = RemoveNetNS(ns) })
	}
	release, err := m.Lock([]*Network{n}, true)
	if err != nil {
		t.Fatal(err)
	}
	a := Attachment{Network: n, IfName: "eth0"}
	i1, err := m.Attach("ctr1", ns1, a, true)
	if err != nil {
		t.Fatal(err)
	}
	static := a
	static.StaticIPs = []netip.Addr{netip.MustParseAddr("10.251.77.50")}
	i2, err := m.Attach("ctr2", ns2, static, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = m.Detach("ctr1", a)
		_ = m.Detach("ctr2", a)
		_ = m.RemoveBridge(n)
	})
	if got := i1.Addresses[0].String(); got != "10.251.77.2/24" {
		t.Errorf("first lease %s, want 10.251.77.2/24", got)
	}
	if got := i2.Addresses[0].String(); got != "10.251.77.50/24" {
		t.Errorf("static lease %s, want 10.251.77.50/24", got)
	}
	if _, err := m.Attach("ctr3", ns1, Attachment{Network: n, IfName: "eth1", StaticIPs: static.StaticIPs}, false); err == nil {
		t.Error("a taken static address was leased twice")
	}
	serveIn(t, ns2, 8080, "hello from ns2")
	if got, err := fetch(ns1, "10.251.77.50:8080"); err != nil || got != "hello from ns2" {
		t.Fatalf("ns1 -> ns2 over the bridge: %q, %v", got, err)
	}
	ports, err := m.ReservePorts([]PortMapping{{HostPort: 0, ContainerPort: 8080, Range: 1, Protocol: "tcp"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.ForwardPorts("ctr2", ports, []netip.Addr{i2.Addresses[0].Addr()}); err != nil {
		t.Fatal(err)
	}
	release()
	hostAddr := fmt.Sprintf("127.0.0.1:%d", ports[0].HostPort)
	if got, err := fetch("", hostAddr); err != nil || got != "hello from ns2" {
		t.Fatalf("host loopback -> published port: %q, %v", got, err)
	}
	if _, err := m.ReservePorts(ports); err == nil {
		t.Error("a published port was reserved twice")
	}
	if err := m.RemovePorts("ctr2"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"ctr1", "ctr2"} {
		if err := m.Detach(id, a); err != nil {
			t.Fatal(err)
		}
	}
	if !m.BridgeExists(n) {
		t.Error("the bridge went with its last container: it should stay until the network is removed")
	}
	if err := m.RemoveBridge(n); err != nil {
		t.Fatal(err)
	}
	if out, _ := exec.Command("ip", "-o", "link").CombinedOutput(); strings.Contains(string(out), n.Interface) || strings.Contains(string(out), VethName("ctr1", "eth0")) {
		t.Errorf("interfaces left:\n%s", out)
	}
	if out, _ := exec.Command("nft", "list", "table", "inet", TableName).CombinedOutput(); strings.Contains(string(out), n.Interface) || strings.Contains(string(out), "ctr2") {
		t.Errorf("rules left:\n%s", out)
	}
	if l, err := m.Leases(n); err != nil || len(l) != 0 {
		t.Errorf("leases left: %v %v", l, err)
	}
}
