package network

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"

	"github.com/engine-oss/engine/pkg/libengine/define"
)

// Lease is an address of a bridge's subnets held by a container. NetNS is
// the container's namespace file: a lease whose file is gone (a store
// deleted without stopping its containers) is reclaimed.
type Lease struct {
	Address   netip.Addr `json:"address"`
	Container string     `json:"container"`
	NetNS     string     `json:"netns"`
}

// leaseFile is a bridge's lease file.
type leaseFile struct {
	// Next is, per subnet, where the search for a free address starts:
	// addresses are handed out round robin, so that one just given up,
	// whose interface the kernel may still be deleting, is not reused at
	// once.
	Next   map[string]netip.Addr `json:"next,omitempty"`
	Leases []Lease               `json:"leases"`
}

// leasePath is the lease file of a bridge. Leases are keyed by the bridge,
// the kernel object every store shares, not by the network's name.
func (m *Manager) leasePath(n *Network) string {
	return filepath.Join(m.StateDir, n.Interface+".leases")
}

// Leases returns the addresses held on n's bridge by any store.
func (m *Manager) Leases(n *Network) ([]Lease, error) {
	lf, err := m.readLeases(n)
	return lf.Leases, err
}

func (m *Manager) readLeases(n *Network) (*leaseFile, error) {
	lf := &leaseFile{}
	b, err := os.ReadFile(m.leasePath(n))
	if errors.Is(err, fs.ErrNotExist) {
		return lf, nil
	}
	if err != nil {
		return lf, fmt.Errorf("read leases of %s: %w", n.Name, err)
	}
	if err := json.Unmarshal(b, lf); err != nil {
		return lf, fmt.Errorf("leases of %s in %s: %w (delete the file when no container runs on %s)", n.Name, m.leasePath(n), err, n.Interface)
	}
	return lf, nil
}

// writeLeases replaces the lease file; nil removes it.
func (m *Manager) writeLeases(n *Network, lf *leaseFile) error {
	path := m.leasePath(n)
	if lf == nil {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove leases of %s: %w", n.Name, err)
		}
		return nil
	}
	b, err := json.Marshal(lf)
	if err != nil {
		return fmt.Errorf("encode leases of %s: %w", n.Name, err)
	}
	if err := os.MkdirAll(m.StateDir, 0o700); err != nil {
		return fmt.Errorf("network state directory: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write leases of %s: %w", n.Name, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write leases of %s: %w", n.Name, err)
	}
	return nil
}

// allocate leases ctr one address in each subnet of n: the static address
// asked for in that subnet, else the lowest free one of its lease range.
// Addresses the container held before are given up first. The caller
// holds n's lock. Errors wrap define.ErrInvalidArg for a static address
// outside the subnets, define.ErrAddressInUse for one taken or a full
// subnet.
func (m *Manager) allocate(n *Network, ctr, netnsPath string, static []netip.Addr) ([]netip.Prefix, error) {
	lf, err := m.readLeases(n)
	if err != nil {
		return nil, err
	}
	if lf.Next == nil {
		lf.Next = map[string]netip.Addr{}
	}
	leases := slices.DeleteFunc(lf.Leases, func(l Lease) bool {
		if l.Container == ctr {
			return true
		}
		_, err := os.Stat(l.NetNS)
		return errors.Is(err, fs.ErrNotExist)
	})
	used := map[netip.Addr]bool{}
	for _, l := range leases {
		used[l.Address] = true
	}
	for _, a := range static {
		if !slices.ContainsFunc(n.Subnets, func(s Subnet) bool { return s.Subnet.Contains(a) }) {
			return nil, invalid("--ip %s: not in the subnets of network %s (%s)", a, n.Name, subnetList(n))
		}
	}
	var out []netip.Prefix
	for _, s := range n.Subnets {
		var addr netip.Addr
		for _, a := range static {
			if s.Subnet.Contains(a) {
				addr = a
			}
		}
		switch {
		case addr.IsValid():
			if !usable(addr, s.Subnet) || addr == s.Gateway {
				return nil, invalid("--ip %s: the network or broadcast address or the gateway of %s: pick another", addr, s.Subnet)
			}
			if used[addr] {
				return nil, fmt.Errorf("IP address %s is already allocated on network %s: pick another --ip: %w", addr, n.Name, define.ErrAddressInUse)
			}
		default:
			if addr, err = nextFree(s, used, lf.Next[s.Subnet.String()]); err != nil {
				return nil, fmt.Errorf("network %s: %w", n.Name, err)
			}
			lf.Next[s.Subnet.String()] = addr.Next()
		}
		used[addr] = true
		leases = append(leases, Lease{Address: addr, Container: ctr, NetNS: netnsPath})
		out = append(out, netip.PrefixFrom(addr, s.Subnet.Bits()))
	}
	lf.Leases = leases
	if err := m.writeLeases(n, lf); err != nil {
		return nil, err
	}
	return out, nil
}

// Release gives up ctr's addresses on n; none is not an error. The caller
// holds n's lock.
func (m *Manager) Release(ctr string, n *Network) error {
	lf, err := m.readLeases(n)
	if err != nil {
		return err
	}
	before := len(lf.Leases)
	lf.Leases = slices.DeleteFunc(lf.Leases, func(l Lease) bool { return l.Container == ctr })
	if len(lf.Leases) == before {
		return nil
	}
	return m.writeLeases(n, lf)
}

// nextFree returns the first address of s's lease range, searching from
// from and wrapping around, that is neither used nor the gateway.
func nextFree(s Subnet, used map[netip.Addr]bool, from netip.Addr) (netip.Addr, error) {
	start, end := s.Subnet.Addr().Next(), lastAddr(s.Subnet)
	if s.LeaseRange != nil {
		start, end = s.LeaseRange.Start, s.LeaseRange.End
	}
	if !from.IsValid() || from.Less(start) || end.Less(from) {
		from = start
	}
	free := func(a netip.Addr) bool { return usable(a, s.Subnet) && a != s.Gateway && !used[a] }
	for a := from; a.IsValid() && !end.Less(a); a = a.Next() {
		if free(a) {
			return a, nil
		}
	}
	for a := start; a.IsValid() && a.Less(from); a = a.Next() {
		if free(a) {
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("no free address left in %s: remove containers from it or use a larger subnet: %w", s.Subnet, define.ErrAddressInUse)
}

func subnetList(n *Network) string {
	var s string
	for i, sub := range n.Subnets {
		if i > 0 {
			s += ", "
		}
		s += sub.Subnet.String()
	}
	return s
}
