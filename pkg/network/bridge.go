package network

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/libengine/lock"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Manager sets networks up: bridges, veth pairs, addresses, routes,
// firewall rules, leases and host ports. Its methods that change a
// network need the caller to hold that network's lock (Lock).
type Manager struct {
	// StateDir holds the bridges' leases and the locks. It is one per host
	// for root and one per user when rootless, whatever the store, as the
	// kernel objects it accounts for are shared by every store.
	StateDir string
	// NetNS is the namespace the bridges and firewall rules live in: ""
	// for the engine's own (root), else the user's rootless network
	// namespace.
	NetNS string
	// UserMode says that host ports are bound by user-mode helpers
	// (rootless), not published by firewall rules of the engine's.
	UserMode bool
}

// Attachment asks for one interface of a container on a network.
type Attachment struct {
	Network *Network
	// IfName is the interface's name in the container: eth0, eth1, ...
	IfName string
	// StaticIPs are addresses asked for (--ip); others are leased.
	StaticIPs []netip.Addr
	// StaticMAC is the address asked for (--mac-address); nil derives one
	// from the IPv4 address.
	StaticMAC net.HardwareAddr
}

// Interface is an attachment once set up.
type Interface struct {
	Network    string         `json:"network"`
	IfName     string         `json:"ifname"`
	HostIfName string         `json:"hostIfname"`
	MAC        string         `json:"mac"`
	Addresses  []netip.Prefix `json:"addresses"`
	Gateways   []netip.Addr   `json:"gateways"`
}

// HostRoute is a prefix the host routes through a device.
type HostRoute struct {
	Prefix netip.Prefix
	Device string
}

// Lock takes the locks of the given networks' bridges in a fixed order,
// and with ports the lock of the host ports, taken first. The returned
// function releases them all.
func (m *Manager) Lock(nets []*Network, ports bool) (func(), error) {
	var names []string
	for _, n := range nets {
		names = append(names, n.Interface)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	if ports {
		names = append([]string{"ports"}, names...)
	}
	var held []*lock.File
	release := func() {
		for i := len(held) - 1; i >= 0; i-- {
			held[i].Release()
		}
	}
	for _, name := range names {
		l, err := lock.Acquire(filepath.Join(m.StateDir, "locks", name))
		if err != nil {
			release()
			return nil, err
		}
		held = append(held, l)
	}
	return release, nil
}

// VethName is the host side of a container's interface: derived from the
// container and the interface, so teardown finds it without any record.
func VethName(ctr, ifname string) string {
	sum := sha256.Sum256([]byte(ctr + "/" + ifname))
	return "veth" + hex.EncodeToString(sum[:])[:11]
}

// Attach connects the namespace at netnsPath to a's network: it creates
// the bridge and the network's firewall rules when missing, leases
// addresses, and moves one end of a new veth pair into the namespace,
// configured, with the default route through this network when
// defaultRoute is set. On failure nothing of it is left. The caller holds
// the network's lock.
func (m *Manager) Attach(ctr, netnsPath string, a Attachment, defaultRoute bool) (_ *Interface, retErr error) {
	n := a.Network
	h, err := handleAt(m.NetNS)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	br, err := m.ensureBridge(h, n)
	if err != nil {
		return nil, err
	}
	addrs, err := m.allocate(n, ctr, netnsPath, a.StaticIPs)
	if err != nil {
		return nil, err
	}
	defer func() {
		if retErr != nil {
			_ = m.Release(ctr, n)
		}
	}()
	mac := a.StaticMAC
	if mac == nil {
		mac = macFor(addrs)
	}
	ns, err := os.Open(netnsPath)
	if err != nil {
		return nil, fmt.Errorf("open network namespace: %w", err)
	}
	defer func() { _ = ns.Close() }()
	iface := &Interface{Network: n.Name, IfName: a.IfName, HostIfName: VethName(ctr, a.IfName), MAC: mac.String(), Addresses: addrs}
	veth := &netlink.Veth{
		LinkAttrs: netlink.LinkAttrs{Name: iface.HostIfName, MTU: n.MTU(), MasterIndex: br.Attrs().Index},
		PeerName:  a.IfName, PeerHardwareAddr: mac, PeerNamespace: netlink.NsFd(int(ns.Fd())), PeerMTU: uint32(n.MTU()),
	}
	err = h.LinkAdd(veth)
	if errors.Is(err, unix.EEXIST) {
		// Left by a run whose teardown never came: replace it.
		deleteLink(h, iface.HostIfName)
		err = h.LinkAdd(veth)
	}
	if err != nil {
		return nil, fmt.Errorf("network %s: create veth pair %s: %w", n.Name, iface.HostIfName, err)
	}
	defer func() {
		if retErr != nil {
			deleteLink(h, iface.HostIfName)
		}
	}()
	// Without IPv6 on the network, the veth's ends get none either: no
	// link-local address, DAD or MLD to set up now and to undo, under the
	// kernel's rtnl lock, when the namespace goes.
	v6 := n.IPv6Enabled
	if err := inNetNS(m.NetNS, func() error {
		if !v6 {
			disableIPv6(iface.HostIfName)
		}
		l, err := netlink.LinkByName(iface.HostIfName)
		if err != nil {
			return err
		}
		return netlink.LinkSetUp(l)
	}); err != nil {
		return nil, fmt.Errorf("network %s: bring up %s: %w", n.Name, iface.HostIfName, err)
	}
	for _, s := range n.Subnets {
		iface.Gateways = append(iface.Gateways, s.Gateway)
	}
	err = inNetNS(netnsPath, func() error {
		link, err := netlink.LinkByName(a.IfName)
		if err != nil {
			return err
		}
		if !v6 {
			disableIPv6(a.IfName)
		}
		for _, p := range addrs {
			if err := netlink.AddrAdd(link, &netlink.Addr{IPNet: ipNet(p), Flags: unix.IFA_F_NODAD}); err != nil {
				return fmt.Errorf("add address %s: %w", p, err)
			}
		}
		if err := netlink.LinkSetUp(link); err != nil {
			return err
		}
		if !defaultRoute {
			return nil
		}
		for _, gw := range iface.Gateways {
			if err := netlink.RouteAdd(&netlink.Route{LinkIndex: link.Attrs().Index, Gw: gw.AsSlice()}); err != nil {
				return fmt.Errorf("add default route via %s: %w", gw, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("network %s: configure %s in the container: %w", n.Name, a.IfName, err)
	}
	return iface, nil
}

// Detach removes a container's interface from a's network, whose
// namespace stays (network disconnect, a failed setup), and gives up its
// addresses. Anything already gone is skipped. The caller holds the
// network's lock. When the container's namespace goes away instead, the
// kernel deletes the interface with it and Release is all that is needed:
// deleting an interface synchronously costs tens of milliseconds of RCU
// grace periods.
func (m *Manager) Detach(ctr string, a Attachment) error {
	h, err := handleAt(m.NetNS)
	if err != nil {
		return err
	}
	defer h.Close()
	deleteLink(h, VethName(ctr, a.IfName))
	return m.Release(ctr, a.Network)
}

// RemoveBridge deletes n's bridge, its firewall rules and its leases, when
// the network itself is removed. Bridges otherwise stay while their
// network exists, as docker0 does: creating one per container start and
// deleting it after would cost more than the start.
func (m *Manager) RemoveBridge(n *Network) error {
	if m.NetNS != "" && !isNetNS(m.NetNS) {
		return m.writeLeases(n, nil) // no rootless namespace: no bridge
	}
	h, err := handleAt(m.NetNS)
	if err != nil {
		return err
	}
	defer h.Close()
	if br, err := h.LinkByName(n.Interface); err == nil {
		if err := h.LinkDel(br); err != nil && !notFound(err) {
			return fmt.Errorf("network %s: delete bridge %s: %w", n.Name, n.Interface, err)
		}
	} else if !notFound(err) {
		return fmt.Errorf("network %s: bridge %s: %w", n.Name, n.Interface, err)
	}
	f, err := openFirewall(m.NetNS)
	if err != nil {
		return err
	}
	defer f.close()
	if err := f.queueDelete(netTag(n.Interface)); err != nil {
		return err
	}
	if err := f.flush("remove the rules of network " + n.Name); err != nil {
		return err
	}
	return m.writeLeases(n, nil)
}

// ensureBridge returns n's bridge, creating it with the gateway addresses
// and its firewall rules when missing. A subnet the host already routes
// elsewhere is an error wrapping define.ErrAddressInUse.
func (m *Manager) ensureBridge(h *netlink.Handle, n *Network) (netlink.Link, error) {
	br, err := h.LinkByName(n.Interface)
	created := false
	switch {
	case err == nil:
	case !notFound(err):
		return nil, fmt.Errorf("network %s: bridge %s: %w", n.Name, n.Interface, err)
	default:
		if err := checkRoutes(h, n); err != nil {
			return nil, err
		}
		br = &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: n.Interface, MTU: n.MTU()}}
		if err := h.LinkAdd(br); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("network %s: create bridge %s: %w", n.Name, n.Interface, err)
		}
		if br, err = h.LinkByName(n.Interface); err != nil {
			return nil, fmt.Errorf("network %s: bridge %s: %w", n.Name, n.Interface, err)
		}
		for _, s := range n.Subnets {
			gw := netip.PrefixFrom(s.Gateway, s.Subnet.Bits())
			if err := h.AddrAdd(br, &netlink.Addr{IPNet: ipNet(gw), Flags: unix.IFA_F_NODAD}); err != nil && !errors.Is(err, unix.EEXIST) {
				deleteLink(h, n.Interface)
				return nil, fmt.Errorf("network %s: add %s to %s: %w", n.Name, gw, n.Interface, err)
			}
		}
		if err := m.bridgeSysctls(n); err != nil {
			deleteLink(h, n.Interface)
			return nil, err
		}
		if err := h.LinkSetUp(br); err != nil {
			deleteLink(h, n.Interface)
			return nil, fmt.Errorf("network %s: bring up %s: %w", n.Name, n.Interface, err)
		}
		created = true
	}
	f, err := openFirewall(m.NetNS)
	if err != nil {
		return nil, err
	}
	defer f.close()
	if !created {
		if ok, err := f.hasNetwork(n.Interface); err != nil || ok {
			return br, err
		}
	}
	if err := f.queueNetwork(n); err != nil {
		return nil, err
	}
	return br, f.flush("add the rules of network " + n.Name)
}

// checkRoutes fails when the host routes one of n's subnets through
// another device: the bridge would not get the traffic.
func checkRoutes(h *netlink.Handle, n *Network) error {
	routes, err := hostRoutes(h)
	if err != nil {
		return err
	}
	for _, s := range n.Subnets {
		for _, r := range routes {
			if r.Prefix.Bits() > 0 && r.Device != n.Interface && r.Prefix.Overlaps(s.Subnet) {
				return fmt.Errorf("network %s: its subnet %s overlaps %s, routed through %s on this host (another engine's or podman's network?): stop what uses %s, or give the network another subnet: %w",
					n.Name, s.Subnet, r.Prefix, r.Device, r.Device, define.ErrAddressInUse)
			}
		}
	}
	return nil
}

// bridgeSysctls lets the bridge carry traffic DNATed from the host's
// loopback (route_localnet) and turns on forwarding.
func (m *Manager) bridgeSysctls(n *Network) error {
	return inNetNS(m.NetNS, func() error {
		set := map[string]string{
			"/proc/sys/net/ipv4/ip_forward":                              "1",
			"/proc/sys/net/ipv4/conf/" + n.Interface + "/route_localnet": "1",
		}
		if n.IPv6Enabled {
			set["/proc/sys/net/ipv6/conf/all/forwarding"] = "1"
		}
		for path, v := range set {
			if cur, err := os.ReadFile(path); err == nil && string(cur) == v+"\n" {
				continue
			}
			if err := os.WriteFile(path, []byte(v), 0o644); err != nil {
				return fmt.Errorf("network %s: set %s: %w", n.Name, path, err)
			}
		}
		return nil
	})
}

// HostRoutes lists the prefixes the host routes (in the engine's own
// namespace, whatever the manager's), for New to avoid.
func HostRoutes() ([]HostRoute, error) {
	h, err := handleAt("")
	if err != nil {
		return nil, err
	}
	defer h.Close()
	return hostRoutes(h)
}

func hostRoutes(h *netlink.Handle) ([]HostRoute, error) {
	routes, err := h.RouteList(nil, netlink.FAMILY_ALL)
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		return nil, fmt.Errorf("list routes: %w", err)
	}
	names := map[int]string{}
	var out []HostRoute
	for _, r := range routes {
		if r.Dst == nil {
			continue
		}
		p, ok := prefixOf(r.Dst)
		if !ok || p.Addr().IsLinkLocalUnicast() || p.Addr().IsMulticast() {
			continue
		}
		name, ok := names[r.LinkIndex]
		if !ok {
			if l, err := h.LinkByIndex(r.LinkIndex); err == nil {
				name = l.Attrs().Name
			}
			names[r.LinkIndex] = name
		}
		out = append(out, HostRoute{Prefix: p, Device: name})
	}
	return out, nil
}

// BridgeExists reports whether n's bridge is up in the manager's namespace.
func (m *Manager) BridgeExists(n *Network) bool {
	h, err := handleAt(m.NetNS)
	if err != nil {
		return false
	}
	defer h.Close()
	_, err = h.LinkByName(n.Interface)
	return err == nil
}

// disableIPv6 turns IPv6 off on an interface of the calling thread's
// namespace; failing (no IPv6 in the kernel) changes nothing that matters.
func disableIPv6(ifname string) {
	_ = os.WriteFile("/proc/sys/net/ipv6/conf/"+ifname+"/disable_ipv6", []byte("1"), 0o644)
}

func deleteLink(h *netlink.Handle, name string) {
	if l, err := h.LinkByName(name); err == nil {
		_ = h.LinkDel(l)
	}
}

func notFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf) || errors.Is(err, unix.ENODEV)
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	bits, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), bits), true
}

// macFor derives a locally administered MAC from the IPv4 address, as
// 0a:58:a:b:c:d, so that a reused address comes with its old MAC and peers'
// ARP caches stay right; without IPv4 it is random.
func macFor(addrs []netip.Prefix) net.HardwareAddr {
	for _, p := range addrs {
		if p.Addr().Is4() {
			a := p.Addr().As4()
			return net.HardwareAddr{0x0a, 0x58, a[0], a[1], a[2], a[3]}
		}
	}
	mac := make(net.HardwareAddr, 6)
	_, _ = rand.Read(mac)
	mac[0] = mac[0]&0xfe | 0x02
	return mac
}
