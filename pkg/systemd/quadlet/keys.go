package quadlet

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
)

// kind is one type of quadlet file.
type kind struct {
	ext     string // ".container"
	section string // its own section: "Container"
	suffix  string // added to the file's base name to name the service: "-volume"
	keys    []key  // the keys its section accepts, in the order their flags are written
}

// valueType says how a key's values become flags.
type valueType int

const (
	single  valueType = iota // the last value: FLAG=VALUE
	list                     // every assignment: FLAG=VALUE each
	words                    // every word of every assignment: FLAG=WORD each
	boolean                  // the last value: FLAG when true, FLAG=false when false
	ifTrue                   // the last value: FLAG when true
)

// key is a key of a quadlet section. Keys with a flag become that engine
// flag (a "%s" in flag is replaced by the value instead of appending
// "=VALUE"); the others are handled by the converter's code.
type key struct {
	name  string
	flag  string
	typ   valueType
	check func(string) error
}

// Keys every quadlet section accepts.
var commonKeys = []key{
	{name: "ServiceName"},
	{name: "GlobalArgs", typ: words},
	{name: "PodmanArgs", typ: words},
	{name: "EngineArgs", typ: words},
}

var containerKind = &kind{ext: ".container", section: "Container", keys: withCommon(
	key{name: "Image"},
	key{name: "Rootfs"},
	key{name: "Exec", typ: words},
	key{name: "ContainerName"},
	key{name: "Notify", check: checkNotify},
	key{name: "CgroupsMode"},
	key{name: "Pod"},
	key{name: "StartWithPod", typ: boolean, check: checkBool},
	key{name: "User"},
	key{name: "Group"},
	key{name: "Network"},
	key{name: "Volume"},
	key{name: "Mount", typ: words},
	key{name: "AddDevice", typ: words},
	key{name: "EnvironmentFile", typ: words},
	key{name: "ReloadCmd", typ: words},
	key{name: "ReloadSignal"},
	key{name: "Entrypoint", flag: "--entrypoint"},
	key{name: "WorkingDir", flag: "--workdir"},
	key{name: "HostName", flag: "--hostname"},
	key{name: "Timezone", flag: "--tz"},
	key{name: "UserNS", flag: "--userns"},
	key{name: "UIDMap", flag: "--uidmap", typ: words},
	key{name: "GIDMap", flag: "--gidmap", typ: words},
	key{name: "SubUIDMap", flag: "--subuidname"},
	key{name: "SubGIDMap", flag: "--subgidname"},
	key{name: "GroupAdd", flag: "--group-add", typ: list},
	key{name: "Environment", flag: "--env", typ: words},
	key{name: "EnvironmentHost", flag: "--env-host", typ: boolean, check: checkBool},
	key{name: "Label", flag: "--label", typ: words},
	key{name: "Annotation", flag: "--annotation", typ: words},
	key{name: "AutoUpdate", flag: "--label=io.containers.autoupdate=%s", check: oneOf("registry", "local")},
	key{name: "PublishPort", flag: "--publish", typ: list, check: checkPublishPort},
	key{name: "ExposeHostPort", flag: "--expose", typ: list, check: checkExposePort},
	key{name: "NetworkAlias", flag: "--network-alias", typ: list},
	key{name: "IP", flag: "--ip", check: checkIP(false)},
	key{name: "IP6", flag: "--ip6", check: checkIP(true)},
	key{name: "DNS", flag: "--dns", typ: list},
	key{name: "DNSSearch", flag: "--dns-search", typ: list},
	key{name: "DNSOption", flag: "--dns-option", typ: list},
	key{name: "AddHost", flag: "--add-host", typ: list},
	key{name: "Tmpfs", flag: "--tmpfs", typ: list},
	key{name: "ReadOnly", flag: "--read-only", typ: boolean, check: checkBool},
	key{name: "ReadOnlyTmpfs", flag: "--read-only-tmpfs", typ: boolean, check: checkBool},
	key{name: "RunInit", flag: "--init", typ: boolean, check: checkBool},
	key{name: "NoNewPrivileges", flag: "--security-opt=no-new-privileges", typ: ifTrue, check: checkBool},
	key{name: "SeccompProfile", flag: "--security-opt=seccomp=%s"},
	key{name: "SecurityLabelDisable", flag: "--security-opt=label=disable", typ: ifTrue, check: checkBool},
	key{name: "SecurityLabelNested", flag: "--security-opt=label=nested", typ: ifTrue, check: checkBool},
	key{name: "SecurityLabelType", flag: "--security-opt=label=type:%s"},
	key{name: "SecurityLabelFileType", flag: "--security-opt=label=filetype:%s"},
	key{name: "SecurityLabelLevel", flag: "--security-opt=label=level:%s"},
	key{name: "Mask", flag: "--security-opt=mask=%s", typ: words},
	key{name: "Unmask", flag: "--security-opt=unmask=%s", typ: words},
	key{name: "DropCapability", flag: "--cap-drop", typ: words},
	key{name: "AddCapability", flag: "--cap-add", typ: words},
	key{name: "Sysctl", flag: "--sysctl", typ: words},
	key{name: "Ulimit", flag: "--ulimit", typ: list},
	key{name: "ShmSize", flag: "--shm-size", check: checkSize},
	key{name: "Memory", flag: "--memory", check: checkSize},
	key{name: "PidsLimit", flag: "--pids-limit", check: checkInt},
	key{name: "LogDriver", flag: "--log-driver"},
	key{name: "LogOpt", flag: "--log-opt", typ: words},
	key{name: "Secret", flag: "--secret", typ: words},
	key{name: "StopSignal", flag: "--stop-signal"},
	key{name: "StopTimeout", flag: "--stop-timeout", check: checkUint},
	key{name: "Pull", flag: "--pull", check: oneOf("always", "missing", "never", "newer")},
	key{name: "Retry", flag: "--retry", check: checkUint},
	key{name: "RetryDelay", flag: "--retry-delay"},
	key{name: "HealthCmd", flag: "--health-cmd"},
	key{name: "HealthInterval", flag: "--health-interval"},
	key{name: "HealthRetries", flag: "--health-retries", check: checkUint},
	key{name: "HealthStartPeriod", flag: "--health-start-period"},
	key{name: "HealthTimeout", flag: "--health-timeout"},
	key{name: "HealthOnFailure", flag: "--health-on-failure", check: oneOf("none", "kill", "restart", "stop")},
	key{name: "HealthLogDestination", flag: "--health-log-destination"},
	key{name: "HealthMaxLogCount", flag: "--health-max-log-count", check: checkUint},
	key{name: "HealthMaxLogSize", flag: "--health-max-log-size", check: checkUint},
	key{name: "HealthStartupCmd", flag: "--health-startup-cmd"},
	key{name: "HealthStartupInterval", flag: "--health-startup-interval"},
	key{name: "HealthStartupRetries", flag: "--health-startup-retries", check: checkUint},
	key{name: "HealthStartupSuccess", flag: "--health-startup-success", check: checkUint},
	key{name: "HealthStartupTimeout", flag: "--health-startup-timeout"},
)}

var volumeKind = &kind{ext: ".volume", section: "Volume", suffix: "-volume", keys: withCommon(
	key{name: "VolumeName"},
	key{name: "Driver"},
	key{name: "Image"},
	key{name: "User"},
	key{name: "Group"},
	key{name: "Copy", typ: boolean, check: checkBool},
	key{name: "Device"},
	key{name: "Type"},
	key{name: "Options"},
	key{name: "Label", flag: "--label", typ: words},
)}

var networkKind = &kind{ext: ".network", section: "Network", suffix: "-network", keys: withCommon(
	key{name: "NetworkName"},
	key{name: "NetworkDeleteOnStop", typ: boolean, check: checkBool},
	key{name: "Subnet"},
	key{name: "Gateway"},
	key{name: "IPRange"},
	key{name: "DisableDNS", flag: "--disable-dns", typ: boolean, check: checkBool},
	key{name: "Internal", flag: "--internal", typ: boolean, check: checkBool},
	key{name: "IPv6", flag: "--ipv6", typ: boolean, check: checkBool},
	key{name: "Driver", flag: "--driver"},
	key{name: "IPAMDriver", flag: "--ipam-driver"},
	key{name: "InterfaceName", flag: "--interface-name"},
	key{name: "DNS", flag: "--dns", typ: list},
	key{name: "Options", flag: "--opt", typ: words},
	key{name: "Label", flag: "--label", typ: words},
)}

var podKind = &kind{ext: ".pod", section: "Pod", suffix: "-pod", keys: withCommon(
	key{name: "PodName"},
	key{name: "ExitPolicy", check: oneOf("stop", "continue")},
	key{name: "Network"},
	key{name: "Volume"},
	key{name: "UserNS", flag: "--userns"},
	key{name: "UIDMap", flag: "--uidmap", typ: words},
	key{name: "GIDMap", flag: "--gidmap", typ: words},
	key{name: "SubUIDMap", flag: "--subuidname"},
	key{name: "SubGIDMap", flag: "--subgidname"},
	key{name: "PublishPort", flag: "--publish", typ: list, check: checkPublishPort},
	key{name: "Label", flag: "--label", typ: words},
	key{name: "IP", flag: "--ip", check: checkIP(false)},
	key{name: "IP6", flag: "--ip6", check: checkIP(true)},
	key{name: "ShmSize", flag: "--shm-size", check: checkSize},
	key{name: "NetworkAlias", flag: "--network-alias", typ: list},
	key{name: "DNS", flag: "--dns", typ: list},
	key{name: "DNSOption", flag: "--dns-option", typ: list},
	key{name: "DNSSearch", flag: "--dns-search", typ: list},
	key{name: "AddHost", flag: "--add-host", typ: list},
	key{name: "HostName", flag: "--hostname"},
)}

// kubeKind is recognized only to be refused: the engine has no kube play
// (see conv.kube).
var kubeKind = &kind{ext: ".kube", section: "Kube"}

var imageKind = &kind{ext: ".image", section: "Image", suffix: "-image", keys: withCommon(
	key{name: "Image"},
	key{name: "ImageTag"},
	key{name: "AllTags", flag: "--all-tags", typ: boolean, check: checkBool},
	key{name: "Arch", flag: "--arch"},
	key{name: "OS", flag: "--os"},
	key{name: "Variant", flag: "--variant"},
	key{name: "AuthFile", flag: "--authfile"},
	key{name: "CertDir", flag: "--cert-dir"},
	key{name: "Creds", flag: "--creds"},
	key{name: "DecryptionKey", flag: "--decryption-key"},
	key{name: "TLSVerify", flag: "--tls-verify", typ: boolean, check: checkBool},
	key{name: "Retry", flag: "--retry", check: checkUint},
	key{name: "RetryDelay", flag: "--retry-delay"},
)}

var buildKind = &kind{ext: ".build", section: "Build", suffix: "-build", keys: withCommon(
	key{name: "ImageTag", flag: "--tag", typ: list},
	key{name: "File"},
	key{name: "SetWorkingDirectory"},
	key{name: "Network"},
	key{name: "Volume"},
	key{name: "Pull", flag: "--pull", check: oneOf("always", "missing", "never", "newer")},
	key{name: "Arch", flag: "--arch"},
	key{name: "Variant", flag: "--variant"},
	key{name: "Target", flag: "--target"},
	key{name: "AuthFile", flag: "--authfile"},
	key{name: "TLSVerify", flag: "--tls-verify", typ: boolean, check: checkBool},
	key{name: "ForceRM", flag: "--force-rm", typ: boolean, check: checkBool},
	key{name: "Retry", flag: "--retry", check: checkUint},
	key{name: "RetryDelay", flag: "--retry-delay"},
	key{name: "DNS", flag: "--dns", typ: list},
	key{name: "DNSOption", flag: "--dns-option", typ: list},
	key{name: "DNSSearch", flag: "--dns-search", typ: list},
	key{name: "GroupAdd", flag: "--group-add", typ: list},
	key{name: "Environment", flag: "--env", typ: words},
	key{name: "Label", flag: "--label", typ: words},
	key{name: "Annotation", flag: "--annotation", typ: words},
	key{name: "Secret", flag: "--secret", typ: words},
)}

// quadletKeys are the keys of the [Quadlet] section every file may have.
var quadletKeys = []key{{name: "DefaultDependencies", typ: boolean, check: checkBool}}

func withCommon(keys ...key) []key { return append(keys, commonKeys...) }

var kinds = []*kind{containerKind, volumeKind, networkKind, podKind, kubeKind, imageKind, buildKind}

// kindOf returns the kind of a quadlet file by its name, or nil.
func kindOf(name string) *kind {
	for _, k := range kinds {
		if strings.HasSuffix(name, k.ext) && len(name) > len(k.ext) {
			return k
		}
	}
	return nil
}

// lookupKey returns the key called name, or, when there is none, nil and
// a key whose name differs only in case as a suggestion.
func lookupKey(keys []key, name string) (found *key, suggest string) {
	for i := range keys {
		if keys[i].name == name {
			return &keys[i], ""
		}
		if strings.EqualFold(keys[i].name, name) {
			suggest = keys[i].name
		}
	}
	return nil, suggest
}

// resourceName returns the name of the engine object q creates, "" for a
// .kube or when it depends on specifiers only systemd can expand.
func resourceName(q *quadlet) string {
	sec := q.section()
	named := func(key string) string {
		if v := sec.Value(key); v != "" {
			return v
		}
		return "systemd-" + q.base()
	}
	switch q.kind {
	case containerKind:
		name := strings.ReplaceAll(containerName(q), "%N", strings.TrimSuffix(q.service, ".service"))
		if strings.Contains(name, "%") {
			return ""
		}
		return name
	case volumeKind:
		return named("VolumeName")
	case networkKind:
		return named("NetworkName")
	case podKind:
		return named("PodName")
	case imageKind:
		if v := sec.Value("ImageTag"); v != "" {
			return v
		}
		return sec.Value("Image")
	case buildKind:
		if tags := sec.All("ImageTag"); len(tags) > 0 {
			return tags[0].Value
		}
	}
	return ""
}

// containerName is ContainerName= or systemd-%N (systemd-%p_%i for a
// template), with the specifiers left for systemd.
func containerName(q *quadlet) string {
	if v := q.section().Value("ContainerName"); v != "" {
		return v
	}
	if strings.Contains(q.base(), "@") {
		return "systemd-%p_%i"
	}
	return "systemd-%N"
}

// parseBool parses a systemd boolean.
func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "1", "yes", "y", "true", "t", "on":
		return true, nil
	case "0", "no", "n", "false", "f", "off":
		return false, nil
	}
	return false, errors.New("want true or false (or yes/no, on/off, 1/0)")
}

func checkBool(s string) error {
	_, err := parseBool(s)
	return err
}

func checkNotify(s string) error {
	if strings.EqualFold(s, "healthy") || checkBool(s) == nil {
		return nil
	}
	return errors.New("want true, false or healthy")
}

func checkUint(s string) error {
	if _, err := strconv.ParseUint(s, 10, 64); err != nil {
		return errors.New("want a number of 0 or more")
	}
	return nil
}

func checkInt(s string) error {
	if _, err := strconv.ParseInt(s, 10, 64); err != nil {
		return errors.New("want a whole number (-1 for no limit)")
	}
	return nil
}

func oneOf(values ...string) func(string) error {
	return func(s string) error {
		for _, v := range values {
			if s == v {
				return nil
			}
		}
		return fmt.Errorf("want one of %s", strings.Join(values, ", "))
	}
}

func checkIP(v6 bool) func(string) error {
	return func(s string) error {
		a, err := netip.ParseAddr(s)
		switch {
		case err != nil:
			return errors.New("not an IP address")
		case v6 && !a.Is6():
			return errors.New("want an IPv6 address")
		case !v6 && !a.Is4():
			return errors.New("want an IPv4 address")
		}
		return nil
	}
}

// checkSize accepts a size as the engine's --memory takes it: a number with
// an optional unit b, k, m, g, t (also kb, KiB, …).
func checkSize(s string) error {
	num := strings.TrimRightFunc(strings.ToLower(s), func(r rune) bool { return r >= 'a' && r <= 'z' })
	unit := strings.ToLower(s[len(num):])
	switch strings.TrimSuffix(strings.TrimSuffix(unit, "b"), "i") {
	case "", "k", "m", "g", "t":
		if _, err := strconv.ParseFloat(num, 64); err == nil && !strings.HasPrefix(num, "-") {
			return nil
		}
	}
	return errors.New("want a size such as 512m or 2g")
}

// checkPublishPort accepts [[IP:][HOST_PORT]:]CONTAINER_PORT[/PROTOCOL]
// with ports or ranges (8000-8010) and an IPv6 address in brackets.
func checkPublishPort(s string) error {
	bad := errors.New("want [[IP:][HOST_PORT]:]CONTAINER_PORT[/PROTOCOL], e.g. 8080:80 or 127.0.0.1:8080:80/tcp")
	rest, err := cutProtocol(s)
	if err != nil {
		return bad
	}
	ip := ""
	if strings.HasPrefix(rest, "[") {
		end := strings.Index(rest, "]:")
		if end < 0 {
			return bad
		}
		ip, rest = rest[1:end], rest[end+2:]
		if _, err := netip.ParseAddr(ip); err != nil {
			return bad
		}
		if !strings.Contains(rest, ":") {
			return bad
		}
	}
	parts := strings.Split(rest, ":")
	switch len(parts) {
	case 1:
	case 2:
		if ip == "" && parts[0] == "" {
			return bad
		}
	case 3:
		if ip != "" {
			return bad
		}
		if _, err := netip.ParseAddr(parts[0]); err != nil {
			return bad
		}
		parts = parts[1:]
	default:
		return bad
	}
	last := len(parts) - 1
	for i, p := range parts {
		if p == "" && i < last {
			continue // no host port: the engine picks one
		}
		if !isPortRange(p) {
			return bad
		}
	}
	return nil
}

// checkExposePort accepts PORT[-PORT][/PROTOCOL].
func checkExposePort(s string) error {
	rest, err := cutProtocol(s)
	if err != nil || !isPortRange(rest) {
		return errors.New("want PORT, PORT-PORT, optionally with /tcp, /udp or /sctp")
	}
	return nil
}

func cutProtocol(s string) (string, error) {
	rest, proto, ok := strings.Cut(s, "/")
	if ok && proto != "tcp" && proto != "udp" && proto != "sctp" {
		return "", errors.New("bad protocol")
	}
	return rest, nil
}

func isPortRange(s string) bool {
	lo, hi, isRange := strings.Cut(s, "-")
	a, err1 := strconv.ParseUint(lo, 10, 16)
	if !isRange {
		return err1 == nil
	}
	b, err2 := strconv.ParseUint(hi, 10, 16)
	return err1 == nil && err2 == nil && a <= b
}

// hasSpecifier reports whether a value holds something systemd expands at
// run time (a %-specifier or a $VARIABLE), so the generator cannot check it.
func hasSpecifier(s string) bool {
	return strings.ContainsAny(s, "%$")
}

// absPath makes a path relative to the quadlet file absolute, except a path
// that starts with a systemd specifier (write ./%… to get it resolved).
func absPath(q *quadlet, p string) string {
	if filepath.IsAbs(p) || (strings.HasPrefix(p, "%") && !strings.HasPrefix(p, "%%")) {
		return p
	}
	return filepath.Join(filepath.Dir(q.path), p)
}
