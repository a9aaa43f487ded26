package specgen

import (
	"net"
	"net/netip"
	"path"
	"strings"
)

// Network modes (Namespaces.Network) besides "none", "host", "ns:PATH" and
// "container:NAME".
const (
	// NetworkBridge joins bridge networks: SpecGenerator.Networks, or the
	// default network when it is empty.
	NetworkBridge = "bridge"
	// NetworkPasta and NetworkSlirp4netns are the rootless user-mode
	// networks; "pasta:ARG,ARG" passes extra arguments to pasta.
	NetworkPasta       = "pasta"
	NetworkSlirp4netns = "slirp4netns"
)

// NetworkAttach is a container's membership of one bridge network, with
// its settings there.
type NetworkAttach struct {
	// Name is the network; empty means the default network.
	Name string `json:"name,omitempty"`
	// Aliases are more names the container has on this network.
	Aliases []string `json:"aliases,omitempty"`
	// IPs are static addresses (at most one per subnet); none leases one.
	IPs []string `json:"ips,omitempty"`
	// MAC is a static MAC address of the interface.
	MAC string `json:"mac,omitempty"`
	// Interface names the interface in the container; empty means ethN.
	Interface string `json:"interface,omitempty"`
}

// NetworkFlags are the network flags of create and run as typed.
type NetworkFlags struct {
	// Network holds the --network values: a mode, or network names (a
	// value may list several, comma-separated), each name optionally
	// followed by ":ip=ADDR,mac=MAC,alias=NAME,interface_name=NAME".
	Network []string
	// IP, IP6, MAC and Aliases are --ip, --ip6, --mac-address and
	// --network-alias.
	IP, IP6, MAC string
	Aliases      []string
}

// ParseNetworks turns the network flags into a network mode and the
// networks to join, as podman reads them. Without --network the mode is
// empty (the engine's default) and the networks are empty unless --ip,
// --ip6, --mac-address or --network-alias give settings for the default
// one. Errors wrap define.ErrInvalidArg.
func ParseNetworks(f NetworkFlags) (string, []NetworkAttach, error) {
	if a, err := netip.ParseAddr(f.IP6); f.IP6 != "" && (err != nil || !a.Is6() || a.Is4In6()) {
		return "", nil, invalid("--ip6 %q: use an IPv6 address (e.g. fd00:89::5)", f.IP6)
	}
	mode := ""
	var nets []NetworkAttach
	for _, v := range f.Network {
		kind, opts, hasOpts := strings.Cut(v, ":")
		switch kind {
		case "none", "host", "ns", "container", "private", NetworkPasta, NetworkSlirp4netns:
			if mode != "" || len(nets) > 0 || len(f.Network) > 1 {
				return "", nil, invalid("--network %s cannot be combined with other --network values: give it alone", v)
			}
			if kind == "private" {
				return NetworkBridge, nil, checkNetworkSettings(f, "")
			}
			return v, nil, checkNetworkSettings(f, kind)
		case NetworkBridge:
			mode = NetworkBridge
			a, err := parseAttachOptions(v, "", opts, hasOpts)
			if err != nil {
				return "", nil, err
			}
			nets = append(nets, a)
			continue
		}
		mode = NetworkBridge
		if !hasOpts {
			for _, name := range strings.Split(v, ",") {
				nets = append(nets, NetworkAttach{Name: name})
			}
			continue
		}
		a, err := parseAttachOptions(v, kind, opts, true)
		if err != nil {
			return "", nil, err
		}
		nets = append(nets, a)
	}
	if mode == "" && (f.IP != "" || f.IP6 != "" || f.MAC != "" || len(f.Aliases) > 0) {
		mode, nets = NetworkBridge, []NetworkAttach{{}}
	}
	if (f.IP != "" || f.IP6 != "" || f.MAC != "") && len(nets) > 1 {
		return "", nil, invalid("--ip, --ip6 and --mac-address need a single network: use --network NAME:ip=ADDR,ip6=ADDR,mac=MAC for each")
	}
	for i := range nets {
		for _, ip := range []string{f.IP, f.IP6} {
			if ip != "" {
				nets[i].IPs = append(nets[i].IPs, ip)
			}
		}
		if f.MAC != "" {
			nets[i].MAC = f.MAC
		}
		nets[i].Aliases = append(nets[i].Aliases, f.Aliases...)
	}
	return mode, nets, nil
}

// checkNetworkSettings rejects the per-network flags with a mode that has
// no network of the engine's.
func checkNetworkSettings(f NetworkFlags, mode string) error {
	if mode == "" || (f.IP == "" && f.IP6 == "" && f.MAC == "" && len(f.Aliases) == 0) {
		return nil
	}
	return invalid("--ip, --ip6, --mac-address and --network-alias need a bridge network, not --network %s", mode)
}

func parseAttachOptions(value, name, opts string, hasOpts bool) (NetworkAttach, error) {
	a := NetworkAttach{Name: name}
	if !hasOpts {
		return a, nil
	}
	for _, o := range strings.Split(opts, ",") {
		k, v, ok := strings.Cut(o, "=")
		if !ok || v == "" {
			return a, invalid("--network %s: option %q: use KEY=VALUE with ip, ip6, mac, alias or interface_name", value, o)
		}
		switch k {
		case "ip", "ip6":
			a.IPs = append(a.IPs, v)
		case "mac":
			a.MAC = v
		case "alias":
			a.Aliases = append(a.Aliases, v)
		case "interface_name":
			a.Interface = v
		default:
			return a, invalid("--network %s: unknown option %q: use ip, ip6, mac, alias or interface_name", value, k)
		}
	}
	return a, nil
}

// publishes reports whether the mode can publish ports.
func publishes(mode string) bool {
	kind, _, _ := strings.Cut(mode, ":")
	return kind == NetworkBridge || kind == NetworkPasta || kind == NetworkSlirp4netns
}

// validateNetwork checks the network mode, the networks and their settings.
func (s *SpecGenerator) validateNetwork() error {
	mode := s.Namespaces.networkMode()
	kind, arg, _ := strings.Cut(mode, ":")
	switch kind {
	case "none", "host", NetworkBridge, NetworkPasta:
		if kind != NetworkPasta && kind != mode {
			return invalid("--network %q: %s takes no options", mode, kind)
		}
	case NetworkSlirp4netns:
		if mode != kind {
			return invalid("--network %s: slirp4netns options are not supported: use --network slirp4netns", mode)
		}
	case "ns":
		if !path.IsAbs(arg) {
			return invalid("--network %q: use ns:PATH with an absolute path (e.g. ns:/run/netns/blue)", mode)
		}
	case "container":
		if arg == "" {
			return invalid("--network container: name the container, as in container:NAME")
		}
	default:
		return invalid("--network %q: use bridge, none, host, pasta, slirp4netns, container:NAME, ns:PATH or network names", mode)
	}
	if len(s.Networks) > 0 && kind != NetworkBridge {
		return invalid("networks %v need the bridge network mode, not %s", s.Networks, mode)
	}
	seen := map[string]bool{}
	for _, a := range s.Networks {
		if a.Name != "" && !nameRE.MatchString(a.Name) {
			return invalid("--network %q: not a network name: use letters, digits, '_', '.' and '-'", a.Name)
		}
		if seen[a.Name] {
			return invalid("--network %s given twice: join each network once", firstNonEmpty(a.Name, "default"))
		}
		seen[a.Name] = true
		for _, ip := range a.IPs {
			if _, err := netip.ParseAddr(ip); err != nil {
				return invalid("--ip %q: not an IP address", ip)
			}
		}
		if a.MAC != "" {
			if hw, err := net.ParseMAC(a.MAC); err != nil || len(hw) != 6 || hw[0]&1 != 0 {
				return invalid("--mac-address %q: use a unicast MAC address such as 92:d0:c6:0a:29:33", a.MAC)
			}
		}
		for _, al := range a.Aliases {
			if al == "" || strings.ContainsAny(al, " \t/,:") {
				return invalid("--network-alias %q: use a host name", al)
			}
		}
		if a.Interface != "" && (len(a.Interface) > 15 || strings.ContainsAny(a.Interface, " /:")) {
			return invalid("--network %s: interface_name %q: use at most 15 characters without spaces, '/' or ':'", a.Name, a.Interface)
		}
	}
	if (len(s.PublishPorts) > 0 || s.PublishAll) && !publishes(mode) {
		what := "-P"
		if len(s.PublishPorts) > 0 {
			what = "-p " + s.PublishPorts[0]
		}
		return invalid("%s: publishing ports needs a bridge, pasta or slirp4netns network, not --network %s: drop it, or reach the port directly", what, mode)
	}
	if kind == "container" && len(s.DNSServers)+len(s.DNSSearch)+len(s.DNSOptions) > 0 {
		return invalid("--dns, --dns-search and --dns-option cannot be set with --network %s, which shares that container's", mode)
	}
	return nil
}
