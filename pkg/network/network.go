// Package network owns network definitions, IPAM, the bridge/veth/netns
// plumbing, firewall rules (nftables) and name resolution files, plus the
// rootless user-mode networking (pasta, slirp4netns). It knows nothing of
// containers' life cycle beyond the Attach/Detach and port calls the engine
// makes when a container starts and stops.
//
// Definitions (Network) are plain values the caller stores; everything that
// claims a kernel object shared by every store of the host — a bridge's
// address leases, its firewall rules, host ports — is kept by a Manager
// under one state directory per host (or per user when rootless), so that
// two stores never hand out one address. See docs/networking.md.
package network

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/engine-oss/engine/pkg/libengine/define"
)

// DriverBridge is the only driver: a Linux bridge with NAT to the host.
const DriverBridge = "bridge"

// Network is a network's definition as `network create` made it. Its JSON
// is podman's `network inspect` format.
type Network struct {
	Name   string `json:"name"`
	ID     string `json:"id"`
	Driver string `json:"driver"`
	// Interface is the bridge device; unique on the host because it is
	// derived from the ID (the default network's is fixed).
	Interface   string            `json:"network_interface"`
	Created     time.Time         `json:"created"`
	Subnets     []Subnet          `json:"subnets"`
	IPv6Enabled bool              `json:"ipv6_enabled"`
	Internal    bool              `json:"internal"`
	DNSEnabled  bool              `json:"dns_enabled"`
	Labels      map[string]string `json:"labels,omitempty"`
	// Options are driver options: "mtu" only.
	Options     map[string]string `json:"options,omitempty"`
	IPAMOptions map[string]string `json:"ipam_options,omitempty"`
	// DNSServers are the name servers of the containers on the network
	// that set none of their own (network create --dns).
	DNSServers []string `json:"network_dns_servers,omitempty"`
}

// Subnet is one address range of a network. Gateway is the bridge's
// address; LeaseRange, when set, narrows the addresses handed out.
type Subnet struct {
	Subnet     netip.Prefix `json:"subnet"`
	Gateway    netip.Addr   `json:"gateway,omitzero"`
	LeaseRange *LeaseRange  `json:"lease_range,omitempty"`
}

// LeaseRange is an inclusive range of addresses.
type LeaseRange struct {
	Start netip.Addr `json:"start_ip"`
	End   netip.Addr `json:"end_ip"`
}

// MTU returns the "mtu" option, 0 when unset (the kernel's default).
func (n *Network) MTU() int {
	v, _ := strconv.Atoi(n.Options["mtu"])
	return v
}

// CreateOptions are `network create`'s flags. Subnets, Gateways and
// IPRanges pair up by position.
type CreateOptions struct {
	Name     string
	Driver   string
	Subnets  []string
	Gateways []string
	// IPRanges are CIDRs or START-END ranges inside the subnet of the same
	// position.
	IPRanges   []string
	Internal   bool
	IPv6       bool
	DisableDNS bool
	Labels     map[string]string
	Options    map[string]string
	// DNSServers are the containers' name servers (see Network.DNSServers).
	DNSServers []string
	// IPAMDriver is "" or IPAMHostLocal: the engine hands out the
	// addresses itself.
	IPAMDriver string
	// Interface names the bridge; empty derives a name from the ID.
	Interface string
}

// IPAMHostLocal is the only IPAM driver: addresses leased from the
// network's subnets by the engine (podman's host-local).
const IPAMHostLocal = "host-local"

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// Default subnet pools for networks created without --subnet, as podman's.
var (
	defaultPool4 = netip.MustParsePrefix("10.89.0.0/16")
	poolBits4    = 24
)

// DefaultNetwork is the network containers join when none is named: a
// bridge with DNS disabled, as podman's "podman" network. Its ID is the
// SHA-256 of its name, so every store agrees on it.
func DefaultNetwork(name, iface string, subnet netip.Prefix) *Network {
	sum := sha256.Sum256([]byte(name))
	return &Network{
		Name: name, ID: hex.EncodeToString(sum[:]), Driver: DriverBridge, Interface: iface,
		Subnets:     []Subnet{{Subnet: subnet, Gateway: subnet.Addr().Next()}},
		IPAMOptions: map[string]string{"driver": IPAMHostLocal},
	}
}

func invalid(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, define.ErrInvalidArg)...)
}

// New validates opts and returns the network to store. existing are the
// store's networks (their names, subnets and bridges are taken);
// hostRoutes are the host's routed prefixes (see HostRoutes), which a
// subnet must not overlap either. Errors wrap define.ErrInvalidArg, or
// define.ErrNetworkExists for a taken name.
func New(opts CreateOptions, existing []*Network, hostRoutes []HostRoute) (*Network, error) {
	n := &Network{Name: opts.Name, Driver: DriverBridge, Internal: opts.Internal, DNSEnabled: !opts.DisableDNS,
		IPv6Enabled: opts.IPv6, Created: time.Now(), IPAMOptions: map[string]string{"driver": IPAMHostLocal}}
	if opts.Driver != "" && opts.Driver != DriverBridge {
		return nil, invalid("--driver %s: only the bridge driver is supported", opts.Driver)
	}
	switch opts.IPAMDriver {
	case "", IPAMHostLocal:
	case "dhcp", "none":
		return nil, fmt.Errorf("--ipam-driver %s: only host-local is supported, the engine leasing the addresses of the network's subnets itself: drop --ipam-driver (in a quadlet, IPAMDriver=): %w",
			opts.IPAMDriver, define.ErrNotImplemented)
	default:
		return nil, invalid("--ipam-driver %q: unknown driver: use host-local", opts.IPAMDriver)
	}
	for _, d := range opts.DNSServers {
		if _, err := netip.ParseAddr(d); err != nil {
			return nil, invalid("--dns %q: not an IP address", d)
		}
	}
	n.DNSServers = slices.Clone(opts.DNSServers)
	if err := checkInterface(opts.Interface, existing); err != nil {
		return nil, err
	}
	if n.Name == "" {
		for i := 1; ; i++ {
			n.Name = "podman" + strconv.Itoa(i)
			if !slices.ContainsFunc(existing, func(e *Network) bool { return e.Name == n.Name }) {
				break
			}
		}
	}
	if !nameRE.MatchString(n.Name) {
		return nil, invalid("network name %q: use letters, digits, '_', '.' and '-', starting with a letter or digit", n.Name)
	}
	for _, e := range existing {
		if e.Name == n.Name {
			return nil, fmt.Errorf("network name %s already used: remove it first or pick another name: %w", n.Name, define.ErrNetworkExists)
		}
	}
	for k, v := range opts.Options {
		switch k {
		case "mtu":
			if m, err := strconv.Atoi(v); err != nil || m < 68 || m > 65535 {
				return nil, invalid("-o mtu=%s: use a number from 68 to 65535", v)
			}
		default:
			return nil, invalid("-o %s: unknown option for the bridge driver: use mtu=N", k)
		}
	}
	if len(opts.Options) > 0 {
		n.Options = maps.Clone(opts.Options)
	}
	if len(opts.Labels) > 0 {
		n.Labels = maps.Clone(opts.Labels)
	}
	if len(opts.Gateways) > len(opts.Subnets) || len(opts.IPRanges) > len(opts.Subnets) {
		return nil, invalid("--gateway and --ip-range each need a --subnet, given before them in the same order")
	}
	taken := takenPrefixes(existing, hostRoutes)
	for i, s := range opts.Subnets {
		sub, err := parseSubnet(s)
		if err != nil {
			return nil, err
		}
		if by := overlapping(sub, taken); by != "" {
			return nil, invalid("subnet %s overlaps %s: pick another --subnet", sub, by)
		}
		for _, prev := range n.Subnets {
			if prev.Subnet.Overlaps(sub) {
				return nil, invalid("--subnet %s overlaps --subnet %s: give distinct subnets", sub, prev.Subnet)
			}
		}
		entry := Subnet{Subnet: sub, Gateway: sub.Addr().Next()}
		if i < len(opts.Gateways) && opts.Gateways[i] != "" {
			if entry.Gateway, err = parseInSubnet("--gateway", opts.Gateways[i], sub); err != nil {
				return nil, err
			}
		}
		if i < len(opts.IPRanges) && opts.IPRanges[i] != "" {
			if entry.LeaseRange, err = parseRange(opts.IPRanges[i], sub); err != nil {
				return nil, err
			}
		}
		n.Subnets = append(n.Subnets, entry)
		taken = append(taken, namedPrefix{sub, "another --subnet"})
		if sub.Addr().Is6() {
			n.IPv6Enabled = true
		}
	}
	if len(n.Subnets) == 0 {
		sub, err := freeSubnet(defaultPool4, poolBits4, taken)
		if err != nil {
			return nil, err
		}
		n.Subnets = append(n.Subnets, Subnet{Subnet: sub, Gateway: sub.Addr().Next()})
	}
	if n.IPv6Enabled && !slices.ContainsFunc(n.Subnets, func(s Subnet) bool { return s.Subnet.Addr().Is6() }) {
		sub := randomULA()
		n.Subnets = append(n.Subnets, Subnet{Subnet: sub, Gateway: sub.Addr().Next()})
	}
	var id [32]byte
	_, _ = rand.Read(id[:])
	n.ID = hex.EncodeToString(id[:])
	n.Interface = opts.Interface
	if n.Interface == "" {
		n.Interface = "engine" + n.ID[:9]
	}
	return n, nil
}

// checkInterface checks --interface-name: a Linux interface name (at most
// 15 bytes, no '/', ':' or white space) that no other network's bridge
// has.
func checkInterface(name string, existing []*Network) error {
	if name == "" {
		return nil
	}
	if len(name) > 15 || name == "." || name == ".." || strings.ContainsAny(name, "/: \t\n") {
		return invalid("--interface-name %q: not a network interface name: use at most 15 letters, digits, '-', '_' or '.'", name)
	}
	for _, e := range existing {
		if e.Interface == name {
			return invalid("--interface-name %s: network %s already uses that bridge: pick another name", name, e.Name)
		}
	}
	return nil
}

func parseSubnet(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, invalid("--subnet %q: not a CIDR: use ADDRESS/BITS, e.g. 10.89.5.0/24", s)
	}
	p = p.Masked()
	if (p.Addr().Is4() && p.Bits() > 30) || (p.Addr().Is6() && p.Bits() > 126) {
		return netip.Prefix{}, invalid("--subnet %s: too small for a gateway and a container: use at most /30 (IPv4) or /126 (IPv6)", p)
	}
	if p.Addr().Is4() && p.Bits() < 8 {
		return netip.Prefix{}, invalid("--subnet %s: too large: use at least /8", p)
	}
	return p, nil
}

// parseInSubnet parses an address that must be a usable host address of sub.
func parseInSubnet(flag, s string, sub netip.Prefix) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, invalid("%s %q: not an IP address", flag, s)
	}
	if !usable(a, sub) {
		return netip.Addr{}, invalid("%s %s: not a usable address of subnet %s (not its network or broadcast address)", flag, a, sub)
	}
	return a, nil
}

// parseRange parses --ip-range: a CIDR or START-END inside sub.
func parseRange(s string, sub netip.Prefix) (*LeaseRange, error) {
	if start, end, ok := strings.Cut(s, "-"); ok {
		a, err := parseInSubnet("--ip-range", start, sub)
		if err != nil {
			return nil, err
		}
		b, err := parseInSubnet("--ip-range", end, sub)
		if err != nil {
			return nil, err
		}
		if b.Less(a) {
			return nil, invalid("--ip-range %s: the end comes before the start", s)
		}
		return &LeaseRange{Start: a, End: b}, nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return nil, invalid("--ip-range %q: use a CIDR inside the subnet (e.g. 10.89.5.128/25) or START-END", s)
	}
	p = p.Masked()
	if !sub.Contains(p.Addr()) || p.Bits() < sub.Bits() {
		return nil, invalid("--ip-range %s: not inside subnet %s", p, sub)
	}
	// As podman: a range's own first and last addresses are left out.
	r := &LeaseRange{Start: p.Addr().Next(), End: lastAddr(p).Prev()}
	if r.End.Less(r.Start) {
		return nil, invalid("--ip-range %s: holds no usable address", p)
	}
	return r, nil
}

// usable reports whether a is a host address of sub: not its network
// address nor, for IPv4, its broadcast address.
func usable(a netip.Addr, sub netip.Prefix) bool {
	if !sub.Contains(a) || a == sub.Addr() {
		return false
	}
	return !a.Is4() || a != lastAddr(sub)
}

// lastAddr is the last address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

type namedPrefix struct {
	p  netip.Prefix
	by string
}

func takenPrefixes(existing []*Network, routes []HostRoute) []namedPrefix {
	var out []namedPrefix
	for _, e := range existing {
		for _, s := range e.Subnets {
			out = append(out, namedPrefix{s.Subnet, "network " + e.Name})
		}
	}
	for _, r := range routes {
		if r.Prefix.Bits() > 0 {
			out = append(out, namedPrefix{r.Prefix, "a route of the host on " + r.Device})
		}
	}
	return out
}

func overlapping(p netip.Prefix, taken []namedPrefix) string {
	for _, t := range taken {
		if t.p.Overlaps(p) {
			return t.by + " (" + t.p.String() + ")"
		}
	}
	return ""
}

// freeSubnet returns the first prefix of the given size in pool that
// overlaps nothing taken.
func freeSubnet(pool netip.Prefix, bits int, taken []namedPrefix) (netip.Prefix, error) {
	n := 1 << (bits - pool.Bits())
	base := pool.Addr().As4()
	start := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	for i := 0; i < n; i++ {
		v := start + uint32(i)<<(32-bits)
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), bits)
		if overlapping(p, taken) == "" {
			return p, nil
		}
	}
	return netip.Prefix{}, invalid("no free /%d left in %s: remove unused networks (network prune) or pass --subnet", bits, pool)
}

// randomULA returns a random fdXX:XXXX:XXXX:XXXX::/64, as podman picks
// IPv6 subnets.
func randomULA() netip.Prefix {
	var b [16]byte
	b[0] = 0xfd
	_, _ = rand.Read(b[1:8])
	return netip.PrefixFrom(netip.AddrFrom16(b), 64)
}
