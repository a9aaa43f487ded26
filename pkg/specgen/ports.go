package specgen

import (
	"cmp"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	imgspec "github.com/opencontainers/image-spec/specs-go/v1"
)

// PortMapping is a parsed -p/--publish value.
type PortMapping struct {
	// HostIP is the address to listen on; empty means all.
	HostIP string
	// HostPort is the first host port; 0 means one picked at random.
	HostPort uint16
	// ContainerPort is the first container port.
	ContainerPort uint16
	// Range is the number of consecutive ports, at least 1.
	Range uint16
	// Protocol is "tcp", "udp" or "sctp", or a comma-separated list of them.
	Protocol string
}

const portHint = "use [IP:][HOST-PORT:]CONTAINER-PORT[/PROTOCOL] (e.g. 8080:80, 127.0.0.1:8080:80/tcp or 8000-8010:8000-8010)"

// ParsePortSpec parses -p "[ip:][hostPort:]containerPort[/protocol]", where
// ports may be ranges ("8000-8010") and an IPv6 address is bracketed
// ("[::1]:8080:80"). Errors wrap define.ErrInvalidArg.
func ParsePortSpec(value string) (PortMapping, error) {
	bad := func(why string) (PortMapping, error) {
		return PortMapping{}, invalid("-p %q: %s: %s", value, why, portHint)
	}
	spec, proto, hasProto := strings.Cut(value, "/")
	if !hasProto {
		proto = "tcp"
	}
	for _, p := range strings.Split(proto, ",") {
		if p != "tcp" && p != "udp" && p != "sctp" {
			return bad("unknown protocol " + strconv.Quote(p))
		}
	}
	pm := PortMapping{Protocol: proto}
	var hostPorts string
	if rest, ok := strings.CutPrefix(spec, "["); ok {
		ip, after, ok := strings.Cut(rest, "]:")
		if !ok {
			return bad("unterminated IPv6 address")
		}
		pm.HostIP = ip
		if hostPorts, spec, ok = strings.Cut(after, ":"); !ok {
			return bad("an address needs a host port field, even empty (e.g. [::1]::80)")
		}
	} else {
		parts := strings.Split(spec, ":")
		switch len(parts) {
		case 1:
		case 2:
			hostPorts, spec = parts[0], parts[1]
		case 3:
			pm.HostIP, hostPorts, spec = parts[0], parts[1], parts[2]
		default:
			return bad("too many colons (bracket an IPv6 address)")
		}
	}
	if pm.HostIP != "" {
		if _, err := netip.ParseAddr(pm.HostIP); err != nil {
			return bad("invalid IP address " + strconv.Quote(pm.HostIP))
		}
	}
	var ok bool
	if pm.ContainerPort, pm.Range, ok = parsePortRange(spec); !ok {
		return bad("invalid container port " + strconv.Quote(spec))
	}
	if hostPorts != "" {
		start, n, ok := parsePortRange(hostPorts)
		if !ok {
			return bad("invalid host port " + strconv.Quote(hostPorts))
		}
		if n != pm.Range {
			return bad("the host and container port ranges differ in length")
		}
		pm.HostPort = start
	}
	return pm, nil
}

// parsePortRange parses "N" or "N-M" with 1 <= N <= M <= 65535 and returns
// N and the number of ports.
func parsePortRange(s string) (start, n uint16, ok bool) {
	a, b, isRange := strings.Cut(s, "-")
	first, err := strconv.ParseUint(a, 10, 16)
	if err != nil || first == 0 {
		return 0, 0, false
	}
	last := first
	if isRange {
		if last, err = strconv.ParseUint(b, 10, 16); err != nil || last < first {
			return 0, 0, false
		}
	}
	return uint16(first), uint16(last - first + 1), true
}

// exposeHint says how to write an --expose value.
const exposeHint = "use PORT[-PORT][/PROTOCOL] with tcp, udp or sctp (e.g. 8080, 53/udp or 8000-8010/tcp)"

// ParseExpose parses an --expose value, PORT[-PORT][/PROTOCOL[,PROTOCOL]]
// with tcp when no protocol is given, as podman does, into the
// "PORT/PROTOCOL" keys an image's ExposedPorts uses: one per port and
// protocol, in order. Errors wrap define.ErrInvalidArg.
func ParseExpose(value string) ([]string, error) {
	ports, protos, hasProto := strings.Cut(value, "/")
	if !hasProto {
		protos = "tcp"
	}
	start, n, ok := parsePortRange(ports)
	if !ok {
		return nil, invalid("--expose %q: invalid port: %s", value, exposeHint)
	}
	var out []string
	for _, p := range strings.Split(protos, ",") {
		if p != "tcp" && p != "udp" && p != "sctp" {
			return nil, invalid("--expose %q: unknown protocol %q: %s", value, p, exposeHint)
		}
		for i := range uint32(n) {
			out = append(out, strconv.FormatUint(uint64(start)+uint64(i), 10)+"/"+p)
		}
	}
	return out, nil
}

// ExposedPorts are the ports the container exposes, "PORT/PROTOCOL" sorted
// by port then protocol: its image's EXPOSE and the --expose values
// (Expose), each once. -P publishes them. Image entries that are no port
// are skipped; Expose is assumed valid (Validate).
func ExposedPorts(s *SpecGenerator, img imgspec.ImageConfig) []string {
	seen := map[string]bool{}
	var out []string
	add := func(value string) {
		ports, err := ParseExpose(strings.ToLower(value))
		if err != nil {
			return
		}
		for _, p := range ports {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	for p := range img.ExposedPorts {
		add(p)
	}
	for _, p := range s.Expose {
		add(p)
	}
	slices.SortFunc(out, func(a, b string) int {
		pa, qa, _ := strings.Cut(a, "/")
		pb, qb, _ := strings.Cut(b, "/")
		na, _ := strconv.Atoi(pa)
		nb, _ := strconv.Atoi(pb)
		return cmp.Or(cmp.Compare(na, nb), cmp.Compare(qa, qb))
	})
	return out
}
