package libengine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/engine-oss/engine/pkg/libengine/define"
)

// DefaultTopDescriptors are the columns top shows by default, as podman's.
var DefaultTopDescriptors = []string{"user", "pid", "ppid", "pcpu", "etime", "tty", "time", "args"}

// topDescriptor is one column top can compute from /proc.
type topDescriptor struct {
	header string
	value  func(p *procInfo) string
}

// topDescriptors are podman's (psgo's) format descriptors, by name and
// by AIX code.
var topDescriptors = func() map[string]topDescriptor {
	named := map[string]topDescriptor{
		"args":   {"COMMAND", func(p *procInfo) string { return p.args() }},
		"comm":   {"COMMAND", func(p *procInfo) string { return p.comm }},
		"etime":  {"ELAPSED", func(p *procInfo) string { return p.elapsed().String() }},
		"group":  {"GROUP", func(p *procInfo) string { return p.ctrGroup(p.egid) }},
		"hgroup": {"HGROUP", func(p *procInfo) string { return lookupID(hostGroup, p.egid) }},
		"hpid":   {"HPID", func(p *procInfo) string { return strconv.Itoa(p.hostPid) }},
		"huser":  {"HUSER", func(p *procInfo) string { return lookupID(hostPasswd, p.euid) }},
		"nice":   {"NI", func(p *procInfo) string { return p.stat[statNice] }},
		"pcpu":   {"%CPU", func(p *procInfo) string { return fmt.Sprintf("%.3f", p.cpuPercent()) }},
		"pgid":   {"PGID", func(p *procInfo) string { return strconv.Itoa(p.nsPid(p.statInt(statPgrp))) }},
		"pid":    {"PID", func(p *procInfo) string { return strconv.Itoa(p.nsPid(p.hostPid)) }},
		"ppid":   {"PPID", func(p *procInfo) string { return strconv.Itoa(p.nsPid(p.statInt(statPpid))) }},
		"rgroup": {"RGROUP", func(p *procInfo) string { return p.ctrGroup(p.rgid) }},
		"rss":    {"RSS", func(p *procInfo) string { return strconv.Itoa(p.statInt(statRss) * os.Getpagesize() / 1024) }},
		"ruser":  {"RUSER", func(p *procInfo) string { return p.ctrUser(p.ruid) }},
		"state":  {"STATE", func(p *procInfo) string { return p.stat[statState] }},
		"stime":  {"STIME", func(p *procInfo) string { return p.started().Format("2006-01-02 15:04:05 -0700 MST") }},
		"time":   {"TIME", func(p *procInfo) string { return p.cpuTime().String() }},
		"tty":    {"TTY", func(p *procInfo) string { return ttyName(p.statInt(statTty)) }},
		"user":   {"USER", func(p *procInfo) string { return p.ctrUser(p.euid) }},
		"vsz":    {"VSZ", func(p *procInfo) string { return strconv.Itoa(p.statInt(statVsize) / 1024) }},
	}
	for code, name := range map[string]string{"%C": "pcpu", "%G": "group", "%P": "ppid", "%U": "user", "%a": "args",
		"%c": "comm", "%g": "rgroup", "%n": "nice", "%p": "pid", "%r": "pgid", "%t": "etime", "%u": "ruser",
		"%x": "time", "%y": "tty", "%z": "vsz"} {
		named[code] = named[name]
	}
	return named
}()

// TopDescriptorNames lists the format descriptors ContainerTop knows.
func TopDescriptorNames() []string {
	return slices.Sorted(maps.Keys(topDescriptors))
}

// ContainerTop lists the processes of a running (or paused) container, as
// podman's top: the first line is the header, columns are separated by
// tabs. args are format descriptors (DefaultTopDescriptors when empty),
// one per argument or comma-separated: user, pid, ppid, pcpu, etime, tty,
// time, args, comm, group, rgroup, ruser, nice, pgid, state, stime, vsz,
// rss, hpid, huser, hgroup, or the AIX codes %C %G %P %U %a %c %g %n %p %r
// %t %u %x %y %z. PIDs are those seen in the container. When any argument
// is not a descriptor, they are all ps(1) options instead: the host's ps
// runs with them on the container's processes (host PIDs) and only the
// rows of those processes are kept.
//
// Errors wrap define.ErrNoSuchContainer, or define.ErrCtrStateInvalid for
// a container that does not run.
func (e *Engine) ContainerTop(ctx context.Context, name string, args []string) ([]string, error) {
	c, err := e.lookupCtr(ctx, name)
	if err != nil {
		return nil, err
	}
	if c = e.refreshStale(ctx, c); !c.running() {
		return nil, fmt.Errorf("top can only be used on running containers: %s is %s: %w", c.Name, c.State.Status, define.ErrCtrStateInvalid)
	}
	rt, err := e.runtime(ctx)
	if err != nil {
		return nil, err
	}
	pids, err := rt.Ps(ctx, c.ID)
	if err != nil {
		return nil, fmt.Errorf("top %s: %w", c.Name, err)
	}
	slices.Sort(pids)
	descs, ok := parseTopDescriptors(args)
	if !ok {
		return hostPS(ctx, pids, args)
	}
	return topFromProc(pids, descs, time.Now())
}

// parseTopDescriptors splits the arguments on commas; ok is false when
// one of them is not a descriptor.
func parseTopDescriptors(args []string) ([]string, bool) {
	var descs []string
	for _, a := range args {
		for _, d := range strings.Split(a, ",") {
			if d == "" {
				continue
			}
			if _, known := topDescriptors[d]; !known {
				return nil, false
			}
			descs = append(descs, d)
		}
	}
	if len(descs) == 0 {
		descs = DefaultTopDescriptors
	}
	return descs, true
}

// topFromProc renders the descriptors for each pid; processes that exit
// meanwhile are left out.
func topFromProc(pids []int, descs []string, now time.Time) ([]string, error) {
	nsPids := map[int]int{}
	boot := bootTime()
	var procs []*procInfo
	for _, pid := range pids {
		p, err := readProc(pid, now, boot)
		if err != nil {
			continue
		}
		nsPids[pid] = p.ownNsPid
		procs = append(procs, p)
	}
	header := make([]string, len(descs))
	for i, d := range descs {
		header[i] = topDescriptors[d].header
	}
	lines := []string{strings.Join(header, "\t")}
	for _, p := range procs {
		p.nsPids = nsPids
		row := make([]string, len(descs))
		for i, d := range descs {
			row[i] = topDescriptors[d].value(p)
		}
		lines = append(lines, strings.Join(row, "\t"))
	}
	return lines, nil
}

// hostPS runs the host's ps with the user's options on pids and keeps the
// header and the rows of those pids (options such as aux or -e select
// every process of the host).
func hostPS(ctx context.Context, pids []int, args []string) ([]string, error) {
	list := make([]string, len(pids))
	for i, p := range pids {
		list[i] = strconv.Itoa(p)
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "ps", append(slices.Clone(args), "-p", strings.Join(list, ","))...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if errors.Is(err, exec.ErrNotFound) {
		return nil, fmt.Errorf("top %s: these are ps(1) options and ps is not installed: install procps, or use format descriptors (see engine top --help)", strings.Join(args, " "))
	}
	if err != nil {
		return nil, fmt.Errorf("ps %s: %w: %s: %w", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()), define.ErrInvalidArg)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	col := slices.Index(strings.Fields(lines[0]), "PID")
	if col < 0 {
		return lines, nil
	}
	kept := lines[:1]
	for _, l := range lines[1:] {
		if f := strings.Fields(l); col < len(f) && slices.Contains(list, f[col]) {
			kept = append(kept, l)
		}
	}
	return kept, nil
}

// Indexes in the fields of /proc/PID/stat that follow the command name.
const (
	statState  = 0
	statPpid   = 1
	statPgrp   = 2
	statTty    = 4
	statUtime  = 11
	statStime  = 12
	statNice   = 16
	statStart  = 19
	statVsize  = 20
	statRss    = 21
	clockTicks = 100 // USER_HZ, fixed at 100 on Linux
)

// procInfo is what /proc says about one process.
type procInfo struct {
	hostPid, ownNsPid      int
	comm                   string
	cmdline                []string
	stat                   []string
	ruid, euid, rgid, egid string
	now, boot              time.Time
	// nsPids maps the container's host pids to their pids in the
	// container's PID namespace.
	nsPids map[int]int
}

func readProc(pid int, now, boot time.Time) (*procInfo, error) {
	dir := fmt.Sprintf("/proc/%d/", pid)
	stat, err := os.ReadFile(dir + "stat")
	if err != nil {
		return nil, err
	}
	open, end := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
	if open < 0 || end < open {
		return nil, fmt.Errorf("%sstat: unexpected format", dir)
	}
	p := &procInfo{hostPid: pid, ownNsPid: pid, comm: string(stat[open+1 : end]), stat: strings.Fields(string(stat[end+1:])), now: now, boot: boot}
	if len(p.stat) <= statRss {
		return nil, fmt.Errorf("%sstat: too few fields", dir)
	}
	status, err := os.ReadFile(dir + "status")
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, _ := strings.Cut(line, ":")
		f := strings.Fields(v)
		switch {
		case k == "Uid" && len(f) >= 2:
			p.ruid, p.euid = f[0], f[1]
		case k == "Gid" && len(f) >= 2:
			p.rgid, p.egid = f[0], f[1]
		case k == "NSpid" && len(f) > 0:
			p.ownNsPid, _ = strconv.Atoi(f[len(f)-1])
		}
	}
	if cmdline, err := os.ReadFile(dir + "cmdline"); err == nil && len(cmdline) > 0 {
		p.cmdline = strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	}
	return p, nil
}

func (p *procInfo) statInt(i int) int {
	n, _ := strconv.Atoi(p.stat[i])
	return n
}

// nsPid translates a host pid of the container into its own namespace;
// a pid outside the container (the parent of its init) is 0.
func (p *procInfo) nsPid(hostPid int) int {
	return p.nsPids[hostPid]
}

func (p *procInfo) args() string {
	if len(p.cmdline) == 0 {
		return "[" + p.comm + "]"
	}
	return strings.Join(p.cmdline, " ")
}

func (p *procInfo) started() time.Time {
	return p.boot.Add(time.Duration(p.statInt(statStart)) * time.Second / clockTicks)
}

func (p *procInfo) elapsed() time.Duration { return p.now.Sub(p.started()) }

func (p *procInfo) cpuTime() time.Duration {
	return time.Duration(p.statInt(statUtime)+p.statInt(statStime)) * time.Second / clockTicks
}

// cpuPercent is the CPU time over the time the process has lived.
func (p *procInfo) cpuPercent() float64 {
	if e := p.elapsed(); e > 0 {
		return float64(p.cpuTime()) / float64(e) * 100
	}
	return 0
}

// ctrUser names a uid from the container's /etc/passwd, as seen through
// the process's root.
func (p *procInfo) ctrUser(uid string) string {
	return lookupID(fmt.Sprintf("/proc/%d/root/etc/passwd", p.hostPid), uid)
}

func (p *procInfo) ctrGroup(gid string) string {
	return lookupID(fmt.Sprintf("/proc/%d/root/etc/group", p.hostPid), gid)
}

const (
	hostPasswd = "/etc/passwd"
	hostGroup  = "/etc/group"
)

// lookupID finds the name of a numeric id in a passwd or group file; the
// number itself when it has none.
func lookupID(file, id string) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return id
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Split(line, ":"); len(f) > 2 && f[2] == id {
			return f[0]
		}
	}
	return id
}

// ttyName names a tty_nr from /proc/PID/stat: pts/N, ttyN, or "?".
func ttyName(nr int) string {
	major, minor := (nr>>8)&0xfff, (nr&0xff)|((nr>>12)&0xfff00)
	switch {
	case nr == 0:
		return "?"
	case major >= 136 && major <= 143:
		return fmt.Sprintf("pts/%d", minor+(major-136)*256)
	case major == 4 && minor < 64:
		return fmt.Sprintf("tty%d", minor)
	case major == 4:
		return fmt.Sprintf("ttyS%d", minor-64)
	}
	return "?"
}

// bootTime is when the host booted, from /proc/stat.
func bootTime() time.Time {
	var boot time.Time
	eachLine("/proc/stat", func(f []string) {
		if len(f) == 2 && f[0] == "btime" {
			if secs, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				boot = time.Unix(secs, 0)
			}
		}
	})
	return boot
}
