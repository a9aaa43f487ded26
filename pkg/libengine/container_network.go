package libengine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/engine-oss/engine/pkg/libengine/config"
	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/libengine/state"
	"github.com/engine-oss/engine/pkg/network"
	"github.com/engine-oss/engine/pkg/specgen"
	"github.com/sirupsen/logrus"
)

// netAttachOptions are a container's settings on one network, stored with
// its membership (state.NetworkAttachment.Options).
type netAttachOptions struct {
	Aliases   []string `json:"aliases,omitempty"`
	IPs       []string `json:"ips,omitempty"`
	MAC       string   `json:"mac,omitempty"`
	Interface string   `json:"interface"`
}

// netStatus is what a running container's network is, as set up: kept in
// its run directory (netStatusFile) from setup to teardown, for inspect,
// port, the peers' hosts files and reload.
type netStatus struct {
	NetNS      string                `json:"netns"`
	Interfaces []network.Interface   `json:"interfaces,omitempty"`
	Ports      []network.PortMapping `json:"ports,omitempty"`
}

const netStatusFile = "network.json"

// netnsPath is where the namespace the engine makes for a container is
// mounted.
func (e *Engine) netnsPath(id string) string {
	return filepath.Join(e.store.RunRoot(), "netns", id)
}

func (e *Engine) readNetStatus(id string) (*netStatus, error) {
	b, err := os.ReadFile(filepath.Join(e.runDir(id), netStatusFile))
	if err != nil {
		return nil, err
	}
	st := &netStatus{}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("container %s: %s: %w", shortID(id), netStatusFile, err)
	}
	return st, nil
}

// netMode is the container's network mode split into its kind and argument.
func (c *ctr) netMode() (kind, arg string) {
	kind, arg, _ = strings.Cut(c.cfg.Spec.Namespaces.Network, ":")
	if kind == "" {
		kind = specgen.DefaultNetwork
	}
	return kind, arg
}

// createNetworks resolves the network mode of a container being created
// (the default, container:NAME) and returns the networks it joins.
// Errors wrap define.ErrNoSuchNetwork, define.ErrNoSuchContainer or
// define.ErrInvalidArg.
func (e *Engine) createNetworks(ctx context.Context, s *specgen.SpecGenerator) ([]state.NetworkAttachment, error) {
	if s.Namespaces.Network == "" {
		s.Namespaces.Network = specgen.NetworkBridge
		if config.Rootless() {
			s.Namespaces.Network = rootlessNetworkMode(e.cfg.Network.DefaultRootlessNetworkCmd)
		}
	}
	kind, arg, _ := strings.Cut(s.Namespaces.Network, ":")
	switch kind {
	case "container":
		other, err := e.db.Container(ctx, arg)
		if err != nil {
			return nil, fmt.Errorf("--network container:%s: %w", arg, err)
		}
		s.Namespaces.Network = "container:" + other.ID
		return nil, nil
	case specgen.NetworkPasta, specgen.NetworkSlirp4netns:
		if !config.Rootless() {
			return nil, fmt.Errorf("--network %s: user-mode networking is for rootless containers: use the bridge network as root: %w", kind, define.ErrInvalidArg)
		}
		return nil, nil
	case specgen.NetworkBridge:
	default:
		return nil, nil
	}
	atts := s.Networks
	if len(atts) == 0 {
		atts = []specgen.NetworkAttach{{}}
	}
	out := make([]state.NetworkAttachment, 0, len(atts))
	ifnames := map[string]bool{}
	for i, a := range atts {
		name := firstNonEmpty(a.Name, e.cfg.Network.DefaultNetwork)
		n, err := e.lookupNetwork(ctx, name)
		if err != nil {
			return nil, err
		}
		if n.Name == e.cfg.Network.DefaultNetwork {
			if err := e.ensureNetworkRecord(ctx, n); err != nil {
				return nil, err
			}
		}
		opts := netAttachOptions{Aliases: a.Aliases, IPs: a.IPs, MAC: a.MAC, Interface: firstNonEmpty(a.Interface, "eth"+strconv.Itoa(i))}
		if _, err := staticIPs(n, opts.IPs); err != nil {
			return nil, err
		}
		if ifnames[opts.Interface] {
			return nil, fmt.Errorf("--network %s: interface %s is taken by another network: %w", n.Name, opts.Interface, define.ErrInvalidArg)
		}
		ifnames[opts.Interface] = true
		b, err := json.Marshal(opts)
		if err != nil {
			return nil, fmt.Errorf("encode network options: %w", err)
		}
		out = append(out, state.NetworkAttachment{Network: n.Name, Options: b})
	}
	return out, nil
}

// staticIPs parses --ip values and checks that each is in one of n's
// subnets.
func staticIPs(n *network.Network, ips []string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, s := range ips {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("--ip %q: not an IP address: %w", s, define.ErrInvalidArg)
		}
		if !slices.ContainsFunc(n.Subnets, func(sub network.Subnet) bool { return sub.Subnet.Contains(a) }) {
			var subs []string
			for _, sub := range n.Subnets {
				subs = append(subs, sub.Subnet.String())
			}
			return nil, fmt.Errorf("--ip %s: not in the subnets of network %s (%s): %w", a, n.Name, strings.Join(subs, ", "), define.ErrInvalidArg)
		}
		out = append(out, a)
	}
	return out, nil
}

// ctrAttachment is one of a container's networks with its settings.
type ctrAttachment struct {
	net  *network.Network
	opts netAttachOptions
}

// attachments returns the networks the container joins, in order.
func (e *Engine) attachments(ctx context.Context, c *ctr) ([]ctrAttachment, error) {
	out := make([]ctrAttachment, 0, len(c.Networks))
	for _, a := range c.Networks {
		n, err := e.lookupNetwork(ctx, a.Network)
		if err != nil {
			return nil, err
		}
		ca := ctrAttachment{net: n}
		if err := json.Unmarshal(a.Options, &ca.opts); err != nil {
			return nil, fmt.Errorf("container %s: network %s: decode options: %w", c.Name, a.Network, err)
		}
		out = append(out, ca)
	}
	return out, nil
}

func (a ctrAttachment) plumbing() (network.Attachment, error) {
	ips, err := staticIPs(a.net, a.opts.IPs)
	if err != nil {
		return network.Attachment{}, err
	}
	out := network.Attachment{Network: a.net, IfName: a.opts.Interface, StaticIPs: ips}
	if a.opts.MAC != "" {
		if out.StaticMAC, err = net.ParseMAC(a.opts.MAC); err != nil {
			return out, fmt.Errorf("--mac-address %q: %w: %w", a.opts.MAC, err, define.ErrInvalidArg)
		}
	}
	return out, nil
}

func nets(atts []ctrAttachment) []*network.Network {
	out := make([]*network.Network, 0, len(atts))
	for _, a := range atts {
		out = append(out, a.net)
	}
	return out
}

// portMappings are the container's -p values and, with -P, the ports it
// exposes (its image's and --expose) that no -p names, each for one
// protocol.
func portMappings(c *ctr) ([]network.PortMapping, error) {
	var out []network.PortMapping
	published := map[string]bool{}
	for _, v := range c.cfg.Spec.PublishPorts {
		pm, err := specgen.ParsePortSpec(v)
		if err != nil {
			return nil, err
		}
		var ip netip.Addr
		if pm.HostIP != "" {
			if ip, err = netip.ParseAddr(pm.HostIP); err != nil {
				return nil, fmt.Errorf("-p %s: %w: %w", v, err, define.ErrInvalidArg)
			}
			if ip.IsUnspecified() && ip.Is4() {
				ip = netip.Addr{}
			}
		}
		for _, proto := range strings.Split(pm.Protocol, ",") {
			out = append(out, network.PortMapping{HostIP: ip, HostPort: pm.HostPort, ContainerPort: pm.ContainerPort, Range: pm.Range, Protocol: proto})
			for i := uint16(0); i < pm.Range; i++ {
				published[fmt.Sprintf("%d/%s", pm.ContainerPort+i, proto)] = true
			}
		}
	}
	if c.cfg.Spec.PublishAll {
		for _, p := range specgen.ExposedPorts(c.cfg.Spec, c.cfg.ImageConfig) {
			port, proto, _ := strings.Cut(p, "/")
			n, err := strconv.ParseUint(port, 10, 16)
			if err != nil || published[p] {
				continue
			}
			out = append(out, network.PortMapping{ContainerPort: uint16(n), Range: 1, Protocol: proto})
		}
	}
	return out, nil
}

// netSetup is a container's network once set up for a start: the
// namespace to join and its addresses for the generated files. unlock
// releases the networks' locks, which setup keeps until the container's
// hosts file is written (finish).
type netSetup struct {
	netns   string
	status  *netStatus
	nets    []*network.Network
	release func()
}

func (n *netSetup) unlock() {
	if n != nil && n.release != nil {
		n.release()
		n.release = nil
	}
}

// hostsAddress is the address the container's names have in its own
// /etc/hosts, and gateway the host's address from the container.
func (n *netSetup) addresses() (addr, gateway string) {
	if n == nil || n.status == nil || len(n.status.Interfaces) == 0 {
		return "", ""
	}
	i := n.status.Interfaces[0]
	for k, p := range i.Addresses {
		if p.Addr().Is4() {
			return p.Addr().String(), i.Gateways[k].String()
		}
	}
	return "", ""
}

// dnsServers are the name servers of the container's networks (network
// create --dns), in the order of the networks, without repeats.
func (n *netSetup) dnsServers() []string {
	if n == nil {
		return nil
	}
	var out []string
	for _, net := range n.nets {
		for _, d := range net.DNSServers {
			if !slices.Contains(out, d) {
				out = append(out, d)
			}
		}
	}
	return out
}

// setupNetwork makes the container's network before it starts: its own
// namespace for the bridge mode (attached to each network, ports
// published) and user-mode networks, or another container's namespace to
// join. None is needed for none, host and ns:PATH. On failure nothing is
// left. The caller calls unlock on the result once the hosts file is
// written, and finish to update the peers.
func (e *Engine) setupNetwork(ctx context.Context, c *ctr) (_ *netSetup, retErr error) {
	kind, arg := c.netMode()
	switch kind {
	case "container":
		return e.joinNetwork(ctx, arg)
	case specgen.NetworkPasta, specgen.NetworkSlirp4netns:
		return e.setupUserNetwork(ctx, c, kind, arg)
	case specgen.NetworkBridge:
	default:
		return &netSetup{}, nil
	}
	atts, err := e.attachments(ctx, c)
	if err != nil {
		return nil, err
	}
	ports, err := portMappings(c)
	if err != nil {
		return nil, err
	}
	mgr := e.netManager()
	if mgr.NetNS != "" {
		if err := ensureRootlessNetNS(ctx, mgr); err != nil {
			return nil, err
		}
	}
	release, err := mgr.Lock(nets(atts), len(ports) > 0)
	if err != nil {
		return nil, err
	}
	setup := &netSetup{netns: e.netnsPath(c.ID), nets: nets(atts), release: release}
	defer func() {
		if retErr != nil {
			setup.unlock()
		}
	}()
	if len(ports) > 0 {
		if ports, err = mgr.ReservePorts(ports); err != nil {
			return nil, err
		}
	}
	if err := network.RemoveNetNS(setup.netns); err != nil {
		return nil, err
	}
	if err := network.NewNetNS(setup.netns); err != nil {
		return nil, err
	}
	st := &netStatus{NetNS: setup.netns}
	defer func() {
		if retErr != nil {
			e.undoNetwork(c.ID, mgr, atts, len(ports) > 0, setup.netns)
		}
	}()
	for i, a := range atts {
		pa, err := a.plumbing()
		if err != nil {
			return nil, err
		}
		iface, err := mgr.Attach(c.ID, setup.netns, pa, i == 0)
		if err != nil {
			return nil, err
		}
		st.Interfaces = append(st.Interfaces, *iface)
	}
	if len(ports) > 0 {
		var addrs []netip.Addr
		for _, p := range st.Interfaces[0].Addresses {
			addrs = append(addrs, p.Addr())
		}
		if mgr.UserMode {
			err = e.startPortForwarder(c, mgr.NetNS, ports, addrs)
		} else {
			err = mgr.ForwardPorts(c.ID, ports, addrs)
		}
		if err != nil {
			return nil, err
		}
		st.Ports = ports
	}
	if err := writeJSON(filepath.Join(e.runDir(c.ID), netStatusFile), st); err != nil {
		return nil, err
	}
	setup.status = st
	return setup, nil
}

// undoNetwork removes what a failed setup made, without the locks, which
// the setup holds.
func (e *Engine) undoNetwork(id string, mgr *network.Manager, atts []ctrAttachment, ports bool, netns string) {
	if ports {
		if err := e.removePorts(mgr, id); err != nil {
			logrus.Warnf("remove the published ports of %s: %v", shortID(id), err)
		}
	}
	for _, a := range atts {
		pa := network.Attachment{Network: a.net, IfName: a.opts.Interface}
		if err := mgr.Detach(id, pa); err != nil {
			logrus.Warnf("detach %s from %s: %v", shortID(id), a.net.Name, err)
		}
	}
	if err := network.RemoveNetNS(netns); err != nil {
		logrus.Warnf("%v", err)
	}
	if err := os.Remove(filepath.Join(e.runDir(id), netStatusFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		logrus.Warnf("remove the network status of %s: %v", shortID(id), err)
	}
}

// finishNetwork lists the container's peers in its hosts file and the
// container in theirs, then releases the networks' locks.
func (e *Engine) finishNetwork(ctx context.Context, setup *netSetup) {
	defer setup.unlock()
	if setup.status != nil {
		e.refreshHosts(ctx, setup.nets)
	}
}

// joinNetwork returns the namespace of the running container id, for
// --network container:ID.
func (e *Engine) joinNetwork(ctx context.Context, id string) (*netSetup, error) {
	other, err := e.lookupCtr(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("--network container:%s: %w", id, err)
	}
	if k, _ := other.netMode(); k == "host" {
		return nil, fmt.Errorf("--network container:%s: that container uses the host's network: use --network host: %w", other.Name, define.ErrInvalidArg)
	}
	running := e.refreshStale(ctx, other).running()
	// A namespace the engine made can be joined once it is set up, before
	// its container runs: a pod's members start along with its infra.
	if st, err := e.readNetStatus(other.ID); err == nil {
		return &netSetup{netns: st.NetNS}, nil
	}
	if !running {
		return nil, fmt.Errorf("--network container:%s: container %s is not running: start it first: %w", other.Name, other.Name, define.ErrCtrStateInvalid)
	}
	return &netSetup{netns: fmt.Sprintf("/proc/%d/ns/net", other.State.Pid)}, nil
}

// teardownNetwork undoes setupNetwork after the container stopped: ports,
// the namespace (and with it the interfaces), leases, and the container's
// entries in its peers' hosts files. It relies on no state of the run but the container's
// record, so it works after the monitor was killed, and a second call
// finds nothing to do.
func (e *Engine) teardownNetwork(ctx context.Context, c *ctr) error {
	kind, _ := c.netMode()
	switch kind {
	case specgen.NetworkPasta, specgen.NetworkSlirp4netns:
		return e.teardownUserNetwork(c)
	case specgen.NetworkBridge:
	default:
		return nil
	}
	netns := e.netnsPath(c.ID)
	statusPath := filepath.Join(e.runDir(c.ID), netStatusFile)
	st, _ := e.readNetStatus(c.ID)
	if _, err := os.Stat(netns); st == nil && errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	atts, err := e.attachments(ctx, c)
	if err != nil {
		return err
	}
	mgr := e.netManager()
	var errs []error
	if len(c.cfg.Spec.PublishPorts) > 0 || c.cfg.Spec.PublishAll || (st != nil && len(st.Ports) > 0) {
		errs = append(errs, e.removePorts(mgr, c.ID))
	}
	release, err := mgr.Lock(nets(atts), false)
	if err != nil {
		return err
	}
	defer release()
	// The kernel deletes the interfaces with the namespace.
	errs = append(errs, network.RemoveNetNS(netns))
	for _, a := range atts {
		errs = append(errs, mgr.Release(c.ID, a.net))
	}
	if err := os.Remove(statusPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, err)
	}
	e.refreshHosts(ctx, nets(atts))
	return errors.Join(errs...)
}

// refreshHosts rewrites the peers section of the hosts file of every
// running container on the DNS-enabled networks among nets: each lists the
// other running containers on its DNS-enabled networks by name, short ID
// and aliases. The caller holds the networks' locks.
func (e *Engine) refreshHosts(ctx context.Context, nets []*network.Network) {
	members := map[string]bool{}
	for _, n := range nets {
		if !n.DNSEnabled {
			continue
		}
		ids, err := e.db.NetworkUsers(ctx, n.Name)
		if err != nil {
			logrus.Warnf("update hosts files of network %s: %v", n.Name, err)
			continue
		}
		for _, id := range ids {
			members[id] = true
		}
	}
	if len(members) == 0 {
		return
	}
	type peer struct {
		rec    *state.Container
		status *netStatus
	}
	peers := map[string]peer{}
	for id := range members {
		st, err := e.readNetStatus(id)
		if err != nil {
			continue // not running
		}
		rec, err := e.db.Container(ctx, id)
		if err != nil {
			continue
		}
		peers[id] = peer{rec, st}
	}
	// entries per network: every running member's addresses on it.
	byNet := map[string][]network.HostEntry{}
	dns := map[string]bool{}
	for id, p := range peers {
		for _, a := range p.rec.Networks {
			var opts netAttachOptions
			_ = json.Unmarshal(a.Options, &opts)
			for _, iface := range p.status.Interfaces {
				if iface.Network != a.Network {
					continue
				}
				if _, ok := dns[a.Network]; !ok {
					n, err := e.lookupNetwork(ctx, a.Network)
					dns[a.Network] = err == nil && n.DNSEnabled
				}
				names := append([]string{p.rec.Name, shortID(id)}, opts.Aliases...)
				for _, addr := range iface.Addresses {
					byNet[a.Network] = append(byNet[a.Network], network.HostEntry{Address: addr.Addr(), Names: names})
				}
			}
		}
	}
	for _, entries := range byNet {
		slices.SortFunc(entries, func(a, b network.HostEntry) int { return a.Address.Compare(b.Address) })
	}
	for id, p := range peers {
		var entries []network.HostEntry
		for _, a := range p.rec.Networks {
			if !dns[a.Network] {
				continue
			}
			for _, en := range byNet[a.Network] {
				if en.Names[1] != shortID(id) {
					entries = append(entries, en)
				}
			}
		}
		if err := network.SetPeers(filepath.Join(e.runDir(id), specgen.HostsFile), entries); err != nil && !errors.Is(err, fs.ErrNotExist) {
			logrus.Warnf("update hosts file of %s: %v", p.rec.Name, err)
		}
	}
}

// portBindings are port mappings as inspect shows them: host addresses
// and ports by "PORT/PROTOCOL" of the container.
func portBindings(ports []network.PortMapping) map[string][]InspectHostPort {
	out := map[string][]InspectHostPort{}
	for _, p := range ports {
		ip := ""
		if p.HostIP.IsValid() {
			ip = p.HostIP.String()
		}
		for i := uint16(0); i < p.Range; i++ {
			key := fmt.Sprintf("%d/%s", p.ContainerPort+i, p.Protocol)
			out[key] = append(out[key], InspectHostPort{HostIP: ip, HostPort: strconv.Itoa(int(p.HostPort + i))})
		}
	}
	return out
}

// inspectNetwork describes the container's network for inspect: empty
// unless it runs with a network of the engine's.
func (e *Engine) inspectNetwork(ctx context.Context, c *ctr) InspectNetworkSettings {
	out := InspectNetworkSettings{Ports: map[string][]InspectHostPort{}}
	st, err := e.readNetStatus(c.ID)
	if err != nil {
		return out
	}
	out.SandboxKey = st.NetNS
	out.Ports = portBindings(st.Ports)
	aliases := map[string][]string{}
	for _, a := range c.Networks {
		var opts netAttachOptions
		if json.Unmarshal(a.Options, &opts) == nil {
			aliases[a.Network] = opts.Aliases
		}
	}
	for k, iface := range st.Interfaces {
		in := InspectNetwork{MacAddress: iface.MAC, Aliases: aliases[iface.Network]}
		if n, err := e.lookupNetwork(ctx, iface.Network); err == nil {
			in.NetworkID = n.ID
		}
		for i, p := range iface.Addresses {
			gw := ""
			if i < len(iface.Gateways) {
				gw = iface.Gateways[i].String()
			}
			if p.Addr().Is4() {
				in.IPAddress, in.IPPrefixLen, in.Gateway = p.Addr().String(), p.Bits(), gw
			} else {
				in.GlobalIPv6Address, in.GlobalIPv6PrefixLen, in.IPv6Gateway = p.Addr().String(), p.Bits(), gw
			}
		}
		if out.Networks == nil {
			out.Networks = map[string]InspectNetwork{}
		}
		out.Networks[iface.Network] = in
		if k == 0 {
			out.IPAddress, out.IPPrefixLen, out.Gateway, out.MacAddress = in.IPAddress, in.IPPrefixLen, in.Gateway, in.MacAddress
		}
	}
	return out
}

// psPorts lists a running container's published ports as ps shows them,
// podman's "0.0.0.0:8080->80/tcp".
func (e *Engine) psPorts(id string) []string {
	out := []string{}
	st, err := e.readNetStatus(id)
	if err != nil {
		return out
	}
	for _, p := range st.Ports {
		ip := "0.0.0.0"
		if p.HostIP.IsValid() {
			ip = p.HostIP.String()
		}
		host, ctr := strconv.Itoa(int(p.HostPort)), strconv.Itoa(int(p.ContainerPort))
		if p.Range > 1 {
			host += "-" + strconv.Itoa(int(p.HostPort+p.Range-1))
			ctr += "-" + strconv.Itoa(int(p.ContainerPort+p.Range-1))
		}
		out = append(out, ip+":"+host+"->"+ctr+"/"+p.Protocol)
	}
	return out
}
