package specgen

import (
	"slices"
	"strings"
)

// capNames lists the Linux capabilities by number (capabilities(7)).
var capNames = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
	"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// DefaultCapabilities are podman 4's default capabilities.
var DefaultCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP",
	"CAP_SETUID", "CAP_SYS_CHROOT",
}

const capAll = "ALL"

// CapabilitiesFromMask returns the names of the capabilities set in mask,
// as in the CapBnd line of /proc/PID/status, for GenerateEnv.BoundingSet.
// Bits beyond the capabilities this package knows are ignored.
func CapabilitiesFromMask(mask uint64) []string {
	var caps []string
	for i, name := range capNames {
		if mask&(1<<i) != 0 {
			caps = append(caps, name)
		}
	}
	return caps
}

// capMask is the inverse of CapabilitiesFromMask; unknown names are skipped.
func capMask(caps []string) uint64 {
	var mask uint64
	for _, c := range caps {
		if i := slices.Index(capNames, c); i >= 0 {
			mask |= 1 << i
		}
	}
	return mask
}

// normalizeCaps upper-cases names and adds the CAP_ prefix ("ALL" stays).
// It returns the first unknown name, if any.
func normalizeCaps(caps []string) (norm []string, unknown string) {
	for _, c := range caps {
		c = strings.ToUpper(strings.TrimSpace(c))
		if c != capAll && !strings.HasPrefix(c, "CAP_") {
			c = "CAP_" + c
		}
		if c != capAll && !slices.Contains(capNames, c) {
			return nil, c
		}
		norm = append(norm, c)
	}
	return norm, ""
}

// checkCaps validates --cap-add and --cap-drop as podman's
// MergeCapabilities does.
func checkCaps(add, drop []string) error {
	a, bad := normalizeCaps(add)
	if bad != "" {
		return invalid("--cap-add %s: unknown capability: use a name from capabilities(7) such as NET_ADMIN, or ALL", bad)
	}
	d, bad := normalizeCaps(drop)
	if bad != "" {
		return invalid("--cap-drop %s: unknown capability: use a name from capabilities(7) such as NET_RAW, or ALL", bad)
	}
	if slices.Contains(a, capAll) && slices.Contains(d, capAll) {
		return invalid("--cap-add ALL and --cap-drop ALL conflict: keep one")
	}
	if slices.Contains(d, capAll) || slices.Contains(a, capAll) {
		return nil
	}
	for _, c := range a {
		if slices.Contains(d, c) {
			return invalid("--cap-add %s and --cap-drop %s conflict: keep one", c, c)
		}
	}
	return nil
}

// mergeCaps applies --cap-add and --cap-drop to base as podman: dropping
// ALL leaves only the added ones, adding ALL starts from every capability
// in all. The result is sorted. Inputs must have passed checkCaps.
func mergeCaps(base, add, drop, all []string) []string {
	a, _ := normalizeCaps(add)
	d, _ := normalizeCaps(drop)
	var out []string
	switch {
	case slices.Contains(d, capAll):
		out = slices.Clone(a)
	case slices.Contains(a, capAll):
		out = slices.DeleteFunc(slices.Clone(all), func(c string) bool { return slices.Contains(d, c) })
	default:
		out = slices.DeleteFunc(slices.Clone(base), func(c string) bool { return slices.Contains(d, c) })
		out = append(out, a...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// intersectCaps keeps the capabilities of caps that are also in set.
func intersectCaps(caps, set []string) []string {
	return slices.DeleteFunc(slices.Clone(caps), func(c string) bool { return !slices.Contains(set, c) })
}
