package network

import (
	"errors"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/engine-oss/engine/pkg/libengine/define"
)

func TestNew(t *testing.T) {
	t.Parallel()
	existing := []*Network{{Name: "used", Interface: "usedbr0", Subnets: []Subnet{{Subnet: netip.MustParsePrefix("10.89.0.0/24")}}}}
	routes := []HostRoute{{Prefix: netip.MustParsePrefix("10.89.1.0/24"), Device: "eth9"}, {Prefix: netip.MustParsePrefix("0.0.0.0/0"), Device: "eth0"}}
	for _, tc := range []struct {
		name   string
		opts   CreateOptions
		subnet string
		gw     string
		lease  string
		iface  string // the bridge's name, when the test sets it
		dns    string
		err    error
		say    string
	}{
		{name: "free subnet skips networks and routes", opts: CreateOptions{Name: "a"}, subnet: "10.89.2.0/24", gw: "10.89.2.1"},
		{name: "given", opts: CreateOptions{Name: "a", Subnets: []string{"192.168.77.5/24"}, Gateways: []string{"192.168.77.254"}, IPRanges: []string{"192.168.77.10-192.168.77.20"}},
			subnet: "192.168.77.0/24", gw: "192.168.77.254", lease: "192.168.77.10-192.168.77.20"},
		{name: "range cidr", opts: CreateOptions{Name: "a", Subnets: []string{"10.9.0.0/24"}, IPRanges: []string{"10.9.0.128/25"}},
			subnet: "10.9.0.0/24", gw: "10.9.0.1", lease: "10.9.0.129-10.9.0.254"},
		{name: "overlaps network", opts: CreateOptions{Name: "a", Subnets: []string{"10.89.0.128/25"}}, err: define.ErrInvalidArg, say: "network used"},
		{name: "overlaps route", opts: CreateOptions{Name: "a", Subnets: []string{"10.89.1.0/24"}}, err: define.ErrInvalidArg, say: "eth9"},
		{name: "bad cidr", opts: CreateOptions{Name: "a", Subnets: []string{"10.0.0.0/33"}}, err: define.ErrInvalidArg, say: "not a CIDR"},
		{name: "gateway outside", opts: CreateOptions{Name: "a", Subnets: []string{"10.9.0.0/24"}, Gateways: []string{"10.9.1.1"}}, err: define.ErrInvalidArg, say: "--gateway"},
		{name: "gateway alone", opts: CreateOptions{Name: "a", Gateways: []string{"10.9.1.1"}}, err: define.ErrInvalidArg, say: "need a --subnet"},
		{name: "taken name", opts: CreateOptions{Name: "used"}, err: define.ErrNetworkExists},
		{name: "bad mtu", opts: CreateOptions{Name: "a", Options: map[string]string{"mtu": "9"}}, err: define.ErrInvalidArg, say: "mtu"},
		{name: "driver", opts: CreateOptions{Name: "a", Driver: "macvlan"}, err: define.ErrInvalidArg, say: "bridge"},
		{name: "interface and dns", opts: CreateOptions{Name: "a", Interface: "appbr0", DNSServers: []string{"1.1.1.1", "fd00::53"}, IPAMDriver: IPAMHostLocal},
			subnet: "10.89.2.0/24", gw: "10.89.2.1", iface: "appbr0", dns: "1.1.1.1 fd00::53"},
		{name: "interface taken", opts: CreateOptions{Name: "a", Interface: "usedbr0"}, err: define.ErrInvalidArg, say: "network used already uses"},
		{name: "interface too long", opts: CreateOptions{Name: "a", Interface: "a-very-long-bridge"}, err: define.ErrInvalidArg, say: "at most 15"},
		{name: "interface with slash", opts: CreateOptions{Name: "a", Interface: "br/0"}, err: define.ErrInvalidArg, say: "--interface-name"},
		{name: "bad dns", opts: CreateOptions{Name: "a", DNSServers: []string{"dns.example"}}, err: define.ErrInvalidArg, say: "--dns \"dns.example\""},
		{name: "dhcp", opts: CreateOptions{Name: "a", IPAMDriver: "dhcp"}, err: define.ErrNotImplemented, say: "only host-local"},
		{name: "unknown ipam", opts: CreateOptions{Name: "a", IPAMDriver: "magic"}, err: define.ErrInvalidArg, say: "host-local"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n, err := New(tc.opts, existing, routes)
			if tc.err != nil {
				if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.say) {
					t.Fatalf("error %v, want %v saying %q", err, tc.err, tc.say)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			s := n.Subnets[0]
			lease := ""
			if s.LeaseRange != nil {
				lease = s.LeaseRange.Start.String() + "-" + s.LeaseRange.End.String()
			}
			if s.Subnet.String() != tc.subnet || s.Gateway.String() != tc.gw || lease != tc.lease || len(n.Interface) > 15 || !n.DNSEnabled {
				t.Errorf("got %+v (lease %s), want %s gw %s lease %q", n, lease, tc.subnet, tc.gw, tc.lease)
			}
			if (tc.iface != "" && n.Interface != tc.iface) || strings.Join(n.DNSServers, " ") != tc.dns {
				t.Errorf("bridge %s, DNS servers %q: want %s, %q", n.Interface, n.DNSServers, tc.iface, tc.dns)
			}
		})
	}
}

func TestAllocateRoundRobin(t *testing.T) {
	t.Parallel()
	m := &Manager{StateDir: t.TempDir()}
	n := &Network{Name: "n", Interface: "enginetest0", Subnets: []Subnet{{Subnet: netip.MustParsePrefix("10.1.0.0/29"), Gateway: netip.MustParseAddr("10.1.0.1")}}}
	ns := t.TempDir() // exists: the leases are live
	var got []string
	for _, ctr := range []string{"a", "b", "c"} {
		p, err := m.allocate(n, ctr, ns, nil)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p[0].String())
	}
	if err := m.Release("b", n); err != nil {
		t.Fatal(err)
	}
	for _, ctr := range []string{"d", "e", "f"} {
		p, err := m.allocate(n, ctr, ns, nil)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p[0].String())
	}
	// .2 .3 .4, then .5 .6 and, wrapping, the .3 given up (never .7, the broadcast).
	if want := "10.1.0.2/29 10.1.0.3/29 10.1.0.4/29 10.1.0.5/29 10.1.0.6/29 10.1.0.3/29"; strings.Join(got, " ") != want {
		t.Errorf("leases %s, want %s", strings.Join(got, " "), want)
	}
	if _, err := m.allocate(n, "g", ns, nil); !errors.Is(err, define.ErrAddressInUse) {
		t.Errorf("a full subnet gave %v", err)
	}
	if _, err := m.allocate(n, "h", ns, []netip.Addr{netip.MustParseAddr("10.2.0.1")}); !errors.Is(err, define.ErrInvalidArg) {
		t.Errorf("a static address outside the subnet gave %v", err)
	}
	// A lease whose namespace is gone is reclaimed.
	if err := m.Release("a", n); err != nil {
		t.Fatal(err)
	}
	if p, err := m.allocate(n, "i", "/nonexistent/ns", nil); err != nil || p[0].String() != "10.1.0.2/29" {
		t.Fatalf("allocate: %v %v", p, err)
	}
	if p, err := m.allocate(n, "j", ns, []netip.Addr{netip.MustParseAddr("10.1.0.2")}); err != nil || p[0].String() != "10.1.0.2/29" {
		t.Errorf("the stale lease was not reclaimed: %v %v", p, err)
	}
}

func TestSetPeers(t *testing.T) {
	t.Parallel()
	path := t.TempDir() + "/hosts"
	base := "127.0.0.1\tlocalhost\n"
	if err := writeFile(path, base); err != nil {
		t.Fatal(err)
	}
	entries := []HostEntry{{Address: netip.MustParseAddr("10.89.0.2"), Names: []string{"web", "abc", "www"}}}
	for range 2 { // idempotent
		if err := SetPeers(path, entries); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := readFile(path)
	if want := base + peersBegin + "10.89.0.2\tweb abc www\n" + peersEnd; got != want {
		t.Errorf("hosts:\n%s\nwant:\n%s", got, want)
	}
	if err := SetPeers(path, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := readFile(path); got != base {
		t.Errorf("after removing the peers:\n%s", got)
	}
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o644) }

func readFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}
