package network

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"syscall"

	"github.com/engine-oss/engine/pkg/libengine/define"
)

// PortMapping publishes Range consecutive container ports from
// ContainerPort on the host ports from HostPort, for one protocol ("tcp",
// "udp" or "sctp"). An invalid HostIP means every address of the host; a
// HostPort of 0 asks for free ports picked at random.
type PortMapping struct {
	HostIP        netip.Addr `json:"hostIP,omitzero"`
	HostPort      uint16     `json:"hostPort"`
	ContainerPort uint16     `json:"containerPort"`
	Range         uint16     `json:"range"`
	Protocol      string     `json:"protocol"`
}

// hostAddr is the address HostIP means, as bind(2) takes it.
func (p PortMapping) hostAddr() string {
	if p.HostIP.IsValid() {
		return p.HostIP.String()
	}
	return "0.0.0.0"
}

// Ephemeral ports the kernel does not hand out by default, from which
// random host ports are picked (as podman, above 32768 and below
// ip_local_port_range's default end).
const (
	randomPortMin = 32768
	randomPortMax = 60999
)

// reservePorts picks free host ports for those asked at random and checks
// that every host port is free: no engine container publishes it (taken,
// "PROTO PORT" keys) and nothing on the host has it bound, which it checks
// by binding it. Errors wrap define.ErrPortInUse and say which port.
func reservePorts(ports []PortMapping, taken map[string]string) ([]PortMapping, error) {
	out := make([]PortMapping, 0, len(ports))
	for _, p := range ports {
		if p.HostPort == 0 {
			var err error
			if p.HostPort, err = randomPorts(p, taken); err != nil {
				return nil, err
			}
		} else if err := portsFree(p, taken); err != nil {
			return nil, err
		}
		for i := uint16(0); i < p.Range; i++ {
			taken[p.Protocol+" "+strconv.Itoa(int(p.HostPort+i))] = "this container"
		}
		out = append(out, p)
	}
	return out, nil
}

func randomPorts(p PortMapping, taken map[string]string) (uint16, error) {
	for range 100 {
		p.HostPort = uint16(randomPortMin + rand.IntN(randomPortMax-randomPortMin-int(p.Range)))
		if portsFree(p, taken) == nil {
			return p.HostPort, nil
		}
	}
	return 0, fmt.Errorf("no %d free consecutive %s ports found on %s: give host ports with -p HOST:CONTAINER: %w", p.Range, p.Protocol, p.hostAddr(), define.ErrPortInUse)
}

func portsFree(p PortMapping, taken map[string]string) error {
	for i := uint16(0); i < p.Range; i++ {
		port := p.HostPort + i
		if by, ok := taken[p.Protocol+" "+strconv.Itoa(int(port))]; ok {
			if len(by) > 12 {
				by = "container " + by[:12]
			}
			return fmt.Errorf("port %d/%s is already published by %s: choose another host port: %w", port, p.Protocol, by, define.ErrPortInUse)
		}
		if err := tryBind(p.Protocol, p.hostAddr(), port); err != nil {
			return err
		}
	}
	return nil
}

// tryBind binds and releases addr:port, the test that the port is free.
func tryBind(proto, addr string, port uint16) error {
	hostPort := net.JoinHostPort(addr, strconv.Itoa(int(port)))
	var err error
	switch proto {
	case "udp":
		var c net.PacketConn
		if c, err = net.ListenPacket("udp", hostPort); err == nil {
			_ = c.Close()
		}
	case "tcp":
		var l net.Listener
		if l, err = net.Listen("tcp", hostPort); err == nil {
			_ = l.Close()
		}
	default:
		return nil // sctp: the kernel may lack it; the DNAT rule is the test
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("port %d/%s is already in use on %s: choose another host port: %w", port, proto, addr, define.ErrPortInUse)
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return fmt.Errorf("-p %s:%d: %s is not an address of this host: %w", addr, port, addr, define.ErrInvalidArg)
	case errors.Is(err, syscall.EACCES):
		return fmt.Errorf("port %d/%s on %s: binding it needs privileges (a port below net.ipv4.ip_unprivileged_port_start): choose a higher host port: %w", port, proto, addr, define.ErrInvalidArg)
	}
	return fmt.Errorf("check port %d/%s on %s: %w", port, proto, addr, err)
}

// ReservePorts resolves the random host ports of ports and checks that
// every host port is free, on the host and among the ports engine
// containers publish. The caller holds the ports lock (Lock) until the
// ports are forwarded. Errors wrap define.ErrPortInUse or
// define.ErrInvalidArg.
func (m *Manager) ReservePorts(ports []PortMapping) ([]PortMapping, error) {
	taken := map[string]string{}
	if !m.UserMode {
		f, err := openFirewall("")
		if err != nil {
			return nil, err
		}
		defer f.close()
		if taken, err = f.publishedPorts(); err != nil {
			return nil, err
		}
	}
	return reservePorts(ports, taken)
}

// ForwardPorts adds the DNAT rules that publish ports on the container's
// addresses (its first network's).
func (m *Manager) ForwardPorts(ctr string, ports []PortMapping, addrs []netip.Addr) error {
	f, err := openFirewall(m.NetNS)
	if err != nil {
		return err
	}
	defer f.close()
	f.queuePorts(ctr, ports, addrs)
	return f.flush("publish the ports of container " + ctr[:min(12, len(ctr))])
}

// RemovePorts deletes the container's DNAT rules; none is not an error.
func (m *Manager) RemovePorts(ctr string) error {
	f, err := openFirewall(m.NetNS)
	if err != nil {
		return err
	}
	defer f.close()
	if err := f.queueDelete(ctrTag(ctr)); err != nil {
		return err
	}
	return f.flush("remove the published ports of container " + ctr[:min(12, len(ctr))])
}

// Forward is a running container's published ports, for Reload.
type Forward struct {
	Container string
	Ports     []PortMapping
	Addresses []netip.Addr
}

// Reload puts back the firewall rules of the networks whose bridge exists
// and of the published ports, as after `nft flush ruleset`: rules already
// there are replaced, not doubled. It takes the locks of the networks and
// of the ports: a container starting meanwhile on one of the networks
// replaces the same rules. A batch that still names a rule someone else
// removed between listing and committing (ENOENT) is made again.
func (m *Manager) Reload(nets []*Network, fwds []Forward) error {
	release, err := m.Lock(nets, true)
	if err != nil {
		return err
	}
	defer release()
	for attempt := 0; ; attempt++ {
		err := m.reload(nets, fwds)
		if err == nil || !errors.Is(err, syscall.ENOENT) || attempt == 2 {
			return err
		}
	}
}

func (m *Manager) reload(nets []*Network, fwds []Forward) error {
	f, err := openFirewall(m.NetNS)
	if err != nil {
		return err
	}
	defer f.close()
	queued := map[string]bool{}
	for _, n := range nets {
		// Networks may share a bridge: its rules are queued once, as a
		// second deletion of the same rules would fail the batch.
		if queued[n.Interface] || !m.BridgeExists(n) {
			continue
		}
		queued[n.Interface] = true
		if err := f.queueNetwork(n); err != nil {
			return err
		}
	}
	for _, fw := range fwds {
		if err := f.queueDelete(ctrTag(fw.Container)); err != nil {
			return err
		}
		f.queuePorts(fw.Container, fw.Ports, fw.Addresses)
	}
	return f.flush("reload the firewall rules")
}
