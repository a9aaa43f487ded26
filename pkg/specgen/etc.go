package specgen

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	imgspec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Names of the files the caller writes into GenerateEnv.RunDir (see
// RunDirFiles); Generate bind-mounts each on /etc/NAME.
const (
	HostnameFile   = "hostname"
	HostsFile      = "hosts"
	ResolvConfFile = "resolv.conf"
	// PasswdFile exists only when PasswdEntry returns a line: the image's
	// /etc/passwd followed by that line.
	PasswdFile = "passwd"
)

// RunDirFiles renders the files Generate bind-mounts from env.RunDir, keyed
// by file name, for the caller to write there before the container starts:
// the hostname; /etc/hosts from the image's (the host's with --network
// host) with RenderHosts; /etc/resolv.conf from the host's with
// RenderResolvConf (the networks' name servers replacing the host's when
// the spec has none); and, when the container runs as a UID the image's
// passwd lacks, that passwd with PasswdEntry's line. It uses the same
// effective user, working directory and hostname as Generate. Errors wrap
// define.ErrInvalidArg.
func RunDirFiles(s *SpecGenerator, img imgspec.ImageConfig, env GenerateEnv) (map[string][]byte, error) {
	hostNetwork := s.Namespaces.networkMode() == "host"
	hostname := firstNonEmpty(s.containerHostname(env.ID), env.HostHostname)
	base, names := env.EtcHosts, []string{hostname}
	if s.Name != "" && s.Name != hostname {
		names = append(names, s.Name)
	}
	extra := s.HostAdd
	if env.HostGateway != "" {
		extra = append(slices.Clone(extra), "host.containers.internal;host.docker.internal:"+env.HostGateway)
	}
	if hostNetwork {
		base, names = env.HostEtcHosts, nil
	}
	hosts, err := RenderHosts(base, firstNonEmpty(env.HostsAddress, "127.0.0.1"), names, extra)
	if err != nil {
		return nil, err
	}
	dns := s.DNSServers
	if len(dns) == 0 {
		dns = env.NetworkDNSServers
	}
	files := map[string][]byte{
		HostnameFile:   []byte(hostname + "\n"),
		HostsFile:      hosts,
		ResolvConfFile: RenderResolvConf(env.HostResolvConf, dns, s.DNSSearch, s.DNSOptions, hostNetwork),
	}
	_, user := effectiveUser(s, img, env)
	entry, err := PasswdEntry(env.EtcPasswd, env.EtcGroup, user, effectiveWorkDir(s, img))
	if err != nil {
		return nil, err
	}
	if entry != "" {
		passwd := slices.Clone(env.EtcPasswd)
		if len(passwd) > 0 && passwd[len(passwd)-1] != '\n' {
			passwd = append(passwd, '\n')
		}
		files[PasswdFile] = append(passwd, entry...)
	}
	return files, nil
}

// hostEntry is one /etc/hosts line.
type hostEntry struct {
	ip    string
	names []string
}

// parseAddHost parses an --add-host value, "name[;name...]:ip".
func parseAddHost(value string) (hostEntry, error) {
	names, ip, ok := strings.Cut(value, ":")
	if !ok || names == "" || ip == "" {
		return hostEntry{}, invalid("--add-host %q: use NAME[;NAME...]:IP (e.g. db:10.0.0.5)", value)
	}
	if _, err := netip.ParseAddr(ip); err != nil {
		return hostEntry{}, invalid("--add-host %q: %q is not an IP address: use NAME[;NAME...]:IP (e.g. db:10.0.0.5)", value, ip)
	}
	return hostEntry{ip: ip, names: strings.Split(names, ";")}, nil
}

// RenderHosts renders a container's /etc/hosts as podman does: the --add-host
// entries (extra), then the entries of base (the image's /etc/hosts, or the
// host's with --network host), then "localhost" on 127.0.0.1 and ::1 and
// hostnames (the container's hostname and name; none with --network host) on
// addr (127.0.0.1, or the container's address on its network), each of
// these names only if the --add-host and base entries lack it. A malformed
// extra entry returns an error wrapping define.ErrInvalidArg.
func RenderHosts(base []byte, addr string, hostnames, extra []string) ([]byte, error) {
	var entries []hostEntry
	for _, e := range extra {
		h, err := parseAddHost(e)
		if err != nil {
			return nil, err
		}
		entries = append(entries, h)
	}
	sc := bufio.NewScanner(bytes.NewReader(base))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if f := strings.Fields(line); len(f) >= 2 {
			entries = append(entries, hostEntry{ip: f[0], names: f[1:]})
		}
	}
	var b bytes.Buffer
	seen := map[string]bool{}
	for _, h := range entries {
		fmt.Fprintf(&b, "%s\t%s\n", h.ip, strings.Join(h.names, " "))
		for _, n := range h.names {
			seen[n] = true
		}
	}
	for _, h := range []hostEntry{
		{"127.0.0.1", []string{"localhost"}},
		{"::1", []string{"localhost"}},
		{addr, hostnames},
	} {
		names := slices.DeleteFunc(slices.Clone(h.names), func(n string) bool { return seen[n] })
		if len(names) > 0 {
			fmt.Fprintf(&b, "%s\t%s\n", h.ip, strings.Join(names, " "))
		}
	}
	return b.Bytes(), nil
}

// defaultNameservers replace the host's when none of them is reachable from
// the container's network namespace, as podman.
var defaultNameservers = []string{"8.8.8.8", "8.8.4.4"}

// RenderResolvConf renders a container's /etc/resolv.conf from the host's
// (hostResolvConf) as podman does: dns, search and options each replace the
// host's list when not empty (search "." means none). Without hostNetwork,
// the host's loopback nameservers (127.0.0.0/8, ::1), unreachable from the
// container, are dropped, and if none remain Google's public servers are
// used.
func RenderResolvConf(hostResolvConf []byte, dns, search, options []string, hostNetwork bool) []byte {
	var hostNS, hostSearch, hostOpts []string
	sc := bufio.NewScanner(bytes.NewReader(hostResolvConf))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || strings.HasPrefix(f[0], "#") || strings.HasPrefix(f[0], ";") {
			continue
		}
		switch f[0] {
		case "nameserver":
			hostNS = append(hostNS, f[1])
		case "search", "domain":
			hostSearch = f[1:]
		case "options":
			hostOpts = append(hostOpts, f[1:]...)
		}
	}
	if len(dns) == 0 {
		dns = hostNS
		if !hostNetwork {
			dns = slices.DeleteFunc(slices.Clone(dns), func(s string) bool {
				ip, err := netip.ParseAddr(s)
				return err == nil && ip.IsLoopback()
			})
			if len(dns) == 0 {
				dns = defaultNameservers
			}
		}
	}
	if len(search) == 0 {
		search = hostSearch
	}
	if len(options) == 0 {
		options = hostOpts
	}
	var b bytes.Buffer
	if s := strings.Join(search, " "); len(search) > 0 && strings.TrimSpace(s) != "." {
		fmt.Fprintf(&b, "search %s\n", s)
	}
	for _, ns := range dns {
		fmt.Fprintf(&b, "nameserver %s\n", ns)
	}
	if len(options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(options, " "))
	}
	return b.Bytes()
}

// passwdEntry is one /etc/passwd line.
type passwdEntry struct {
	name     string
	uid, gid uint32
	home     string
}

// groupEntry is one /etc/group line.
type groupEntry struct {
	name    string
	gid     uint32
	members []string
}

// lines calls f with the colon-separated fields of each line of data that is
// neither blank nor a comment.
func lines(data []byte, f func(fields []string)) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			f(strings.Split(line, ":"))
		}
	}
}

func parseID(s string) (uint32, bool) {
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err == nil
}

// findUser returns the passwd entry whose uid (when spec is numeric) or name
// is spec.
func findUser(passwd []byte, spec string) (passwdEntry, bool) {
	uid, numeric := parseID(spec)
	var found passwdEntry
	ok := false
	lines(passwd, func(f []string) {
		if ok || len(f) < 4 {
			return
		}
		e := passwdEntry{name: f[0]}
		var good bool
		if e.uid, good = parseID(f[2]); !good {
			return
		}
		if e.gid, good = parseID(f[3]); !good {
			return
		}
		if len(f) > 5 {
			e.home = f[5]
		}
		if (numeric && e.uid == uid) || (!numeric && e.name == spec) {
			found, ok = e, true
		}
	})
	return found, ok
}

// groups returns the group entries of data.
func groups(group []byte) []groupEntry {
	var out []groupEntry
	lines(group, func(f []string) {
		if len(f) < 3 {
			return
		}
		gid, ok := parseID(f[2])
		if !ok {
			return
		}
		g := groupEntry{name: f[0], gid: gid}
		if len(f) > 3 && f[3] != "" {
			g.members = strings.Split(f[3], ",")
		}
		out = append(out, g)
	})
	return out
}

// findGroup resolves a group name or number; a number needs no entry.
func findGroup(group []byte, spec string) (uint32, bool) {
	gid, numeric := parseID(spec)
	for _, g := range groups(group) {
		if (numeric && g.gid == gid) || (!numeric && g.name == spec) {
			return g.gid, true
		}
	}
	return gid, numeric
}

// execUser is the resolved process identity.
type execUser struct {
	uid, gid uint32
	sgids    []uint32
	home     string
}

// resolveUser resolves a user spec ("user[:group]", names or numbers, ""
// for root) against the image's /etc/passwd and /etc/group as runc does: a
// name must exist, a number need not; without an explicit group, the gid
// comes from passwd (0 if absent) and the groups listing the user become
// supplementary groups; groupAdd (names or numbers) are added to those.
// flag names the source of spec in errors.
func resolveUser(flag, spec string, passwd, group []byte, groupAdd []string) (execUser, error) {
	userSpec, groupSpec, _ := strings.Cut(spec, ":")
	u := execUser{home: "/"}
	lookup := userSpec
	if lookup == "" {
		lookup = "0"
	}
	e, found := findUser(passwd, lookup)
	switch {
	case found:
		u.uid, u.gid = e.uid, e.gid
		if e.home != "" {
			u.home = e.home
		}
	default:
		uid, numeric := parseID(lookup)
		if !numeric {
			return execUser{}, invalid("%s %q: no user %q in the image's /etc/passwd: use a numeric UID or a user the image has", flag, spec, userSpec)
		}
		u.uid = uid
	}
	if groupSpec != "" {
		gid, ok := findGroup(group, groupSpec)
		if !ok {
			return execUser{}, invalid("%s %q: no group %q in the image's /etc/group: use a numeric GID or a group the image has", flag, spec, groupSpec)
		}
		u.gid = gid
	} else if found {
		for _, g := range groups(group) {
			if slices.Contains(g.members, e.name) {
				u.sgids = append(u.sgids, g.gid)
			}
		}
	}
	for _, name := range groupAdd {
		gid, ok := findGroup(group, name)
		if !ok {
			return execUser{}, invalid("--group-add %q: no such group in the image's /etc/group: use a numeric GID or a group the image has", name)
		}
		if !slices.Contains(u.sgids, gid) {
			u.sgids = append(u.sgids, gid)
		}
	}
	return u, nil
}

// ResolveUser resolves a "user[:group]" spec (names or numbers, "" for
// root) against a container's /etc/passwd and /etc/group the way Generate
// resolves the container's own user, for what acts in a container later:
// exec's --user, the owner of files cp copies in. It returns the identity
// and the user's home directory ("/" when passwd gives none). flag names
// the source of spec in errors, which wrap define.ErrInvalidArg.
func ResolveUser(flag, spec string, passwd, group []byte) (specs.User, string, error) {
	u, err := resolveUser(flag, spec, passwd, group, nil)
	if err != nil {
		return specs.User{}, "", err
	}
	return specs.User{UID: u.uid, GID: u.gid, AdditionalGids: u.sgids}, u.home, nil
}

// PasswdEntry returns the /etc/passwd line podman adds when the container
// runs as a numeric UID the image's passwd lacks, so that tools which look
// the user up still work: "UID:*:UID:GID:container user:WORKDIR:/bin/sh".
// user is the effective "user[:group]" (--user, else the image's USER); GID
// is its group (a name is looked up in the image's group file), else 0;
// workDir "" means "/".
// It returns "" when no line is needed: no user, a user name, or a UID the
// image has. An unknown group name returns an error wrapping
// define.ErrInvalidArg.
func PasswdEntry(passwd, group []byte, user, workDir string) (string, error) {
	userSpec, groupSpec, _ := strings.Cut(user, ":")
	uid, numeric := parseID(userSpec)
	if !numeric {
		return "", nil
	}
	if _, found := findUser(passwd, userSpec); found {
		return "", nil
	}
	var gid uint32
	if groupSpec != "" {
		var ok bool
		if gid, ok = findGroup(group, groupSpec); !ok {
			return "", invalid("--user %q: no group %q in the image's /etc/group: use a numeric GID or a group the image has", user, groupSpec)
		}
	}
	if workDir == "" {
		workDir = "/"
	}
	return fmt.Sprintf("%d:*:%d:%d:container user:%s:/bin/sh\n", uid, uid, gid, workDir), nil
}
