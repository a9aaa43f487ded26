// Package generate writes systemd service units for existing containers
// and pods, as `podman generate systemd` does: a unit that starts and stops
// the container, or (New) one that creates it afresh from the command line
// that created it and removes it when it stops. It works on plain
// descriptions (Container, Pod) and knows nothing of the engine's state.
package generate

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/systemd"
)

// Container describes a container to write a unit for.
type Container struct {
	// ID and Name are the container's. Required.
	ID, Name string
	// CreateCommand is the command line that created it (os.Args of
	// `engine run` or `engine create`); required with Options.New.
	CreateCommand []string
	// StopTimeout is the container's --stop-timeout in seconds.
	StopTimeout uint
	// SdNotifyMode is the container's --sdnotify; "" means conmon.
	SdNotifyMode string
	// RunRoot is the store's run directory, which the unit waits to be
	// mounted. Optional.
	RunRoot string
	// PodService, for a member of a pod, is the pod's unit name: the
	// container's unit is bound to it.
	PodService string
	// podIDFile, for a member, replaces its --pod in --new units.
	podIDFile string
}

// Options are `generate systemd`'s flags. The zero value needs only
// Executable.
type Options struct {
	// Executable is the engine binary's absolute path, for the Exec lines,
	// which repeat the global flags (--root…) of the container's create
	// command.
	Executable string
	// New creates the container on start and removes it on stop.
	New bool
	// UseName names the unit and refers to the container by name instead
	// of ID.
	UseName bool
	// RestartPolicy is Restart= ("on-failure" when empty).
	RestartPolicy string
	// RestartSec, StartTimeout and StopTimeout set RestartSec=,
	// TimeoutStartSec= and the container's stop timeout when not nil.
	RestartSec, StartTimeout, StopTimeout *uint
	// After, Wants and Requires are added to [Unit].
	After, Wants, Requires []string
	// Env are KEY=VALUE pairs set in [Service] (Environment=).
	Env []string
	// ContainerPrefix, PodPrefix and Separator make unit names:
	// "container" + "-" + NAME; empty means those defaults.
	ContainerPrefix, PodPrefix, Separator string
	// NoHeader leaves out the comment naming the unit and its generator.
	NoHeader bool
	// Template makes a template unit (NAME@.service) whose instances run
	// containers named NAME-INSTANCE; it requires New.
	Template bool
	// Version and Time go into the header.
	Version string
	Time    time.Time
}

// Unit is one generated unit file.
type Unit struct {
	// Name is the file name, e.g. "container-web.service".
	Name string
	Data []byte
}

// restartPolicies are the values of systemd's Restart=.
var restartPolicies = []string{"no", "on-success", "on-failure", "on-abnormal", "on-watchdog", "on-abort", "always"}

// check validates the options and applies their defaults.
func (o *Options) check() error {
	if !strings.HasPrefix(o.Executable, "/") {
		return fmt.Errorf("the engine's path %q is not absolute: %w", o.Executable, define.ErrInvalidArg)
	}
	if o.RestartPolicy == "" {
		o.RestartPolicy = "on-failure"
	}
	if !slices.Contains(restartPolicies, o.RestartPolicy) {
		return fmt.Errorf("--restart-policy %q: use one of %s: %w", o.RestartPolicy, strings.Join(restartPolicies, ", "), define.ErrInvalidArg)
	}
	if o.Template && !o.New {
		return fmt.Errorf("--template needs --new: a template's instances each create their container: %w", define.ErrInvalidArg)
	}
	for _, e := range o.Env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			return fmt.Errorf("--env %q: use KEY=VALUE: %w", e, define.ErrInvalidArg)
		}
	}
	if o.ContainerPrefix == "" {
		o.ContainerPrefix = "container"
	}
	if o.PodPrefix == "" {
		o.PodPrefix = "pod"
	}
	if o.Separator == "" {
		o.Separator = "-"
	}
	return nil
}

// ServiceName is the unit name of a container or pod: PREFIX-NAME (or the
// ID without UseName), with "@" for a template.
func (o *Options) serviceName(prefix, name, id string) string {
	n := id
	if o.UseName {
		n = name
	}
	if prefix != "" {
		n = prefix + o.Separator + n
	}
	if o.Template {
		n += "@"
	}
	return n + ".service"
}

// ContainerUnit writes the unit of one container. Errors wrap
// define.ErrInvalidArg.
func ContainerUnit(c Container, o Options) (Unit, error) {
	if err := o.check(); err != nil {
		return Unit{}, err
	}
	if c.ID == "" || c.Name == "" {
		return Unit{}, fmt.Errorf("a container needs an ID and a name: %w", define.ErrInvalidArg)
	}
	name := o.serviceName(o.ContainerPrefix, c.Name, c.ID)
	f := &systemd.File{}
	unit, svc := f.Ensure("Unit"), f.Ensure("Service")
	unit.Add("Description", "engine "+name)
	unit.Add("Wants", "network-online.target")
	unit.Add("After", "network-online.target")
	if c.RunRoot != "" {
		unit.Add("RequiresMountsFor", c.RunRoot)
	}
	if c.PodService != "" {
		unit.Add("BindsTo", c.PodService)
		unit.Add("After", c.PodService)
	}
	addDeps(unit, o)
	addEnv(svc, o)

	stopTimeout := c.StopTimeout
	if o.StopTimeout != nil {
		stopTimeout = *o.StopTimeout
	}
	svc.Add("TimeoutStopSec", strconv.FormatUint(uint64(stopTimeout)+60, 10))
	ref := c.ID
	if o.UseName {
		ref = c.Name
	}
	exe := append([]string{o.Executable}, escapeArgs(globalArgs(c.CreateCommand))...)
	t := strconv.FormatUint(uint64(stopTimeout), 10)
	if o.New {
		run, cgroups, err := newRunCommand(c, o)
		if err != nil {
			return Unit{}, err
		}
		svc.Add("ExecStart", systemd.CommandLine(run))
		svc.Add("ExecStop", systemd.CommandLine(append(slices.Clone(exe), "stop", "--ignore", "-t", t, "--cidfile="+cidFile)))
		svc.Add("ExecStopPost", "-"+systemd.CommandLine(append(slices.Clone(exe), "rm", "-f", "--ignore", "-t", t, "--cidfile="+cidFile)))
		if cgroups == "split" {
			svc.Add("Delegate", "yes")
		}
	} else {
		if c.SdNotifyMode == "ignore" {
			return Unit{}, fmt.Errorf("container %s was created with --sdnotify=ignore, so systemd could not tell when it started: use --new, or recreate it without: %w", c.Name, define.ErrInvalidArg)
		}
		svc.Add("ExecStart", systemd.CommandLine(append(slices.Clone(exe), "start", ref)))
		svc.Add("ExecStop", systemd.CommandLine(append(slices.Clone(exe), "stop", "-t", t, ref)))
		svc.Add("ExecStopPost", "-"+systemd.CommandLine(append(slices.Clone(exe), "stop", "-t", t, ref)))
	}
	// The engine's monitor stays in the unit and tells systemd it is the
	// main process (MAINPID) once the container runs; systemd stops it
	// with SIGTERM, which it passes to the container, after ExecStop.
	svc.Add("Type", "notify")
	svc.Add("NotifyAccess", "all")
	svc.Add("KillMode", "mixed")
	f.Ensure("Install").Add("WantedBy", "default.target")
	return Unit{Name: name, Data: render(name, f, o)}, nil
}

// cidFile is where --new units keep the ID of the container they created.
const cidFile = "%t/%n.ctr-id"

// globalValueFlags are the engine's global flags that take a value.
var globalValueFlags = map[string]bool{"--root": true, "--runroot": true, "--storage-driver": true,
	"--storage-opt": true, "--config": true, "--log-level": true, "--tmpdir": true}

// splitCreateCommand splits the command line that created a container
// into the engine's global flags and the arguments after run or create.
func splitCreateCommand(c Container) (global, rest []string, err error) {
	args := c.CreateCommand
	for i := 1; i < len(args); i++ {
		switch a := args[i]; {
		case a == "run" || a == "create":
			return global, args[i+1:], nil
		case a == "container": // the command group
		case strings.HasPrefix(a, "-"):
			global = append(global, a)
			if !strings.Contains(a, "=") && globalValueFlags[a] && i+1 < len(args) {
				i++
				global = append(global, args[i])
			}
		default:
			i = len(args) // another command
		}
	}
	return nil, nil, fmt.Errorf("container %s was not created by `engine run` or `engine create` (its command was %q): drop --new: %w",
		c.Name, strings.Join(c.CreateCommand, " "), define.ErrInvalidArg)
}

// globalArgs are the engine's global flags (--root, --runroot…) at the
// start of a create command line, which the unit's commands repeat.
func globalArgs(cmd []string) []string {
	global, _, _ := splitCreateCommand(Container{CreateCommand: cmd})
	if global != nil {
		return global
	}
	for i := 1; i < len(cmd) && strings.HasPrefix(cmd[i], "-"); i++ { // pod create
		global = append(global, cmd[i])
		if !strings.Contains(cmd[i], "=") && globalValueFlags[cmd[i]] && i+1 < len(cmd) {
			i++
			global = append(global, cmd[i])
		}
	}
	return global
}

// newRunCommand rewrites the command that created the container into
// the unit's ExecStart, as podman does: `engine run` with --cidfile,
// --rm, --replace (for a named container), -d and --sdnotify=conmon unless
// the command chose a mode other than ignore; the command's own --cidfile,
// --rm, -d and --restart (systemd restarts the unit instead) are dropped.
// It returns the command and its --cgroups mode.
func newRunCommand(c Container, o Options) ([]string, string, error) {
	global, rest, err := splitCreateCommand(c)
	if err != nil {
		return nil, "", err
	}
	flags, operands := splitFlags(rest)
	var kept []string
	var sdnotify, cgroups string
	hasName, hasReplace := false, false
	for i := 0; i < len(flags); i++ {
		arg := flags[i]
		name, value, hasValue := strings.Cut(arg, "=")
		if !hasValue && valueFlags[name] && i+1 < len(flags) {
			i++
			value = flags[i]
			arg = name + "=" + value
		}
		switch name {
		case "--cidfile", "--restart", "--rm", "-d", "--detach":
			continue
		case "--sdnotify":
			if sdnotify = value; value == "ignore" {
				continue // systemd must hear from the container
			}
		case "--cgroups":
			cgroups = value
		case "--name":
			hasName = true
			if o.Template {
				kept = append(kept, "--name="+escape(value)+"-%i")
				continue
			}
		case "--replace":
			hasReplace = true
		case "--pod", "--pod-id-file":
			if c.podIDFile != "" {
				continue // the pod's unit creates the pod anew
			}
		}
		kept = append(kept, escape(arg))
	}
	if c.podIDFile != "" {
		kept = append(kept, "--pod-id-file="+c.podIDFile)
	}
	run := append(append([]string{o.Executable}, escapeArgs(global)...), "run", "--cidfile="+cidFile)
	if cgroups == "" {
		cgroups = "no-conmon"
		run = append(run, "--cgroups=no-conmon")
	}
	run = append(run, "--rm")
	if sdnotify == "" || sdnotify == "ignore" {
		run = append(run, "--sdnotify=conmon")
	}
	run = append(run, "-d")
	if !hasName && o.Template {
		run = append(run, "--name="+escape(c.Name)+"-%i")
		hasName = true
	}
	if hasName && !hasReplace {
		run = append(run, "--replace")
	}
	run = append(run, kept...)
	return append(run, escapeArgs(operands)...), cgroups, nil
}

// valueFlags are the run and create flags that take a value, so that the
// word after one is not taken for the image.
var valueFlags = func() map[string]bool {
	m := map[string]bool{}
	for _, f := range strings.Fields(`--add-host --annotation --authfile --cap-add --cap-drop --cert-dir
		--cgroup-parent --cgroupns --cgroups --cidfile --cpu-shares --cpus --cpuset-cpus --creds --detach-keys
		--device --dns --dns-option --dns-search --entrypoint --env -e --env-file --expose --gidmap --group-add
		--health-cmd --health-interval --health-on-failure --health-retries --health-start-period --health-timeout
		--health-log-destination --health-max-log-count --health-max-log-size --health-startup-cmd
		--health-startup-interval --health-startup-retries --health-startup-success --health-startup-timeout
		--hostname -h --init-path --ip --ip6 --ipc --label -l --log-driver --log-opt --mac-address --memory -m
		--memory-swap --mount --name --network --net --network-alias --pid --pids-limit --platform --pod
		--pod-id-file --publish -p --pull --restart --retry --retry-delay --rootfs --sdnotify --secret --security-opt --shm-size
		--stop-signal --stop-timeout --subgidname --subuidname --sysctl --tmpfs --tz --uidmap --ulimit --user -u
		--userns --uts --volume -v --volumes-from --workdir -w`) {
		m[f] = true
	}
	return m
}()

// splitFlags splits the arguments after `run` into its flags and the image
// with the container's command: flags stop at the first word that is
// neither a flag nor a flag's value, as `engine run` parses them.
func splitFlags(args []string) (flags, operands []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return args[:i], args[i+1:]
		case !strings.HasPrefix(a, "-") || a == "-":
			return args[:i], args[i:]
		case !strings.Contains(a, "=") && valueFlags[a]:
			i++
		}
	}
	return args, nil
}

// escapeArgs escapes words of a command for an Exec line: systemd expands
// "%" specifiers and "$" variables, which the user's words must not see.
func escapeArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = escape(a)
	}
	return out
}

func escape(s string) string {
	return strings.NewReplacer("%", "%%", "$", "$$").Replace(s)
}

// addDeps adds the user's After=, Wants= and Requires=.
func addDeps(unit *systemd.Section, o Options) {
	for _, d := range o.After {
		unit.Add("After", d)
	}
	for _, d := range o.Wants {
		unit.Add("Wants", d)
	}
	for _, d := range o.Requires {
		unit.Add("Requires", d)
	}
}

// addEnv adds the variables that tell the engine which unit it runs in,
// then the user's --env and the restart settings.
func addEnv(svc *systemd.Section, o Options) {
	svc.Add("Environment", "PODMAN_SYSTEMD_UNIT=%n")
	svc.Add("Environment", "ENGINE_SYSTEMD_UNIT=%n")
	for _, e := range o.Env {
		svc.Add("Environment", systemd.CommandLine([]string{escape(e)}))
	}
	svc.Add("Restart", o.RestartPolicy)
	if o.RestartSec != nil {
		svc.Add("RestartSec", strconv.FormatUint(uint64(*o.RestartSec), 10))
	}
	if o.StartTimeout != nil {
		svc.Add("TimeoutStartSec", strconv.FormatUint(uint64(*o.StartTimeout), 10))
	}
}

// render serializes a unit with its header.
func render(name string, f *systemd.File, o Options) []byte {
	var b strings.Builder
	if !o.NoHeader {
		fmt.Fprintf(&b, "# %s\n# autogenerated by engine", name)
		if o.Version != "" {
			b.WriteString(" " + o.Version)
		}
		b.WriteByte('\n')
		if !o.Time.IsZero() {
			fmt.Fprintf(&b, "# %s\n", o.Time.Format(time.UnixDate))
		}
		b.WriteByte('\n')
	}
	b.Write(f.Bytes())
	return []byte(b.String())
}

// Pod describes a pod to write units for: one for the pod, started by
// its infra container, and one per member container, bound to it.
type Pod struct {
	// ID and Name are the pod's; InfraName names its infra container.
	// Required.
	ID, Name, InfraName string
	// CreateCommand is the `engine pod create` command line; required
	// with Options.New.
	CreateCommand []string
	StopTimeout   uint
	RunRoot       string
	// Containers are the members, the infra container left out.
	Containers []Container
}

// PodUnits writes the pod's unit followed by its containers'. The pod's
// unit wants and precedes the containers'; each of them is bound to it.
// With New, the pod is created on start (`engine pod create`, keeping its
// ID in %t/UNIT.pod-id, which the members' `run --pod-id-file` read) and
// removed on stop. Errors wrap define.ErrInvalidArg.
func PodUnits(p Pod, o Options) ([]Unit, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	if o.Template {
		return nil, fmt.Errorf("--template is not supported for pods: %w", define.ErrInvalidArg)
	}
	name := o.serviceName(o.PodPrefix, p.Name, p.ID)
	podIDFile := "%t/" + strings.TrimSuffix(name, ".service") + ".pod-id"
	var members []Unit
	for _, c := range p.Containers {
		c.PodService = name
		c.podIDFile = podIDFile
		u, err := ContainerUnit(c, o)
		if err != nil {
			return nil, err
		}
		members = append(members, u)
	}
	f := &systemd.File{}
	unit, svc := f.Ensure("Unit"), f.Ensure("Service")
	unit.Add("Description", "engine "+name)
	unit.Add("Wants", "network-online.target")
	unit.Add("After", "network-online.target")
	if p.RunRoot != "" {
		unit.Add("RequiresMountsFor", p.RunRoot)
	}
	for _, m := range members {
		unit.Add("Wants", m.Name)
		unit.Add("Before", m.Name)
	}
	addDeps(unit, o)
	addEnv(svc, o)
	stopTimeout := p.StopTimeout
	if o.StopTimeout != nil {
		stopTimeout = *o.StopTimeout
	}
	t := strconv.FormatUint(uint64(stopTimeout), 10)
	svc.Add("TimeoutStopSec", strconv.FormatUint(uint64(stopTimeout)+60, 10))
	exe := append([]string{o.Executable}, escapeArgs(globalArgs(p.CreateCommand))...)
	if o.New {
		create, err := podCreateCommand(p, podIDFile)
		if err != nil {
			return nil, err
		}
		svc.Add("ExecStartPre", systemd.CommandLine(append(slices.Clone(exe), create...)))
		svc.Add("ExecStart", systemd.CommandLine(append(slices.Clone(exe), "pod", "start", "--pod-id-file", podIDFile)))
		svc.Add("ExecStop", systemd.CommandLine(append(slices.Clone(exe), "pod", "stop", "--ignore", "--pod-id-file", podIDFile, "-t", t)))
		svc.Add("ExecStopPost", "-"+systemd.CommandLine(append(slices.Clone(exe), "pod", "rm", "--ignore", "-f", "--pod-id-file", podIDFile)))
	} else {
		svc.Add("ExecStart", systemd.CommandLine(append(slices.Clone(exe), "start", p.InfraName)))
		svc.Add("ExecStop", systemd.CommandLine(append(slices.Clone(exe), "stop", "-t", t, p.InfraName)))
		svc.Add("ExecStopPost", "-"+systemd.CommandLine(append(slices.Clone(exe), "stop", "-t", t, p.InfraName)))
	}
	svc.Add("Type", "notify")
	svc.Add("NotifyAccess", "all")
	f.Ensure("Install").Add("WantedBy", "default.target")
	return append([]Unit{{Name: name, Data: render(name, f, o)}}, members...), nil
}

// podCreateCommand rewrites `engine pod create` for the pod's unit: it
// records the pod's ID for the members and replaces an existing pod.
func podCreateCommand(p Pod, podIDFile string) ([]string, error) {
	args := p.CreateCommand
	for i := 1; i+1 < len(args); i++ {
		if args[i] == "pod" && args[i+1] == "create" {
			out := []string{"pod", "create", "--pod-id-file", podIDFile, "--replace", "--exit-policy=stop"}
			for _, a := range args[i+2:] {
				if a != "--replace" && !strings.HasPrefix(a, "--pod-id-file") {
					out = append(out, escape(a))
				}
			}
			return out, nil
		}
	}
	return nil, fmt.Errorf("pod %s was not created by `engine pod create` (its command was %q): drop --new: %w",
		p.Name, strings.Join(args, " "), define.ErrInvalidArg)
}
