package quadlet

import (
	"encoding/csv"
	"os"
	"strings"

	"github.com/engine-oss/engine/pkg/systemd"
)

// cidFile is where the container's ID is kept between ExecStart and ExecStop.
const cidFile = "--cidfile=%t/%N.cid"

// container converts a .container file: the service runs the container
// detached with the engine's monitor as the main process, which tells
// systemd when the container is up (or lets the container do so, Notify=).
func (c *conv) container() {
	img, hasImage := c.sec.Lookup("Image")
	rootfs, hasRootfs := c.sec.Lookup("Rootfs")
	hasImage, hasRootfs = hasImage && img.Value != "", hasRootfs && rootfs.Value != ""
	switch {
	case !hasImage && !hasRootfs:
		c.failFile("no Image= in section [Container]: add Image=IMAGE (or Rootfs=PATH)")
	case hasImage && hasRootfs:
		c.fail(rootfs, "Image= and Rootfs= cannot both be set: keep one")
	}
	name := containerName(c.q)

	c.setUnitEnv()
	c.killMode()
	rm := c.cmd("rm", "-v", "-f", "-i", cidFile)
	c.exec("ExecStop", rm)
	// ExecStop does not run when the main process died; ExecStopPost does.
	c.svc.Add("ExecStopPost", "-"+systemd.CommandLine(rm))
	c.reload(name)
	c.svc.Add("Delegate", "yes")

	args := c.cmd("run", "--name="+name, cidFile, "--replace", "--rm")
	cgroups := c.sec.Value("CgroupsMode")
	if cgroups == "" {
		cgroups = "split"
	}
	args = append(args, "--cgroups="+cgroups)
	if c.serviceType() != "oneshot" {
		notify := c.sec.Value("Notify")
		switch b, _ := parseBool(notify); {
		case strings.EqualFold(notify, "healthy"):
			args = append(args, "--sdnotify=healthy")
		case b:
			args = append(args, "--sdnotify=container")
		default:
			args = append(args, "--sdnotify=conmon")
		}
		args = append(args, "-d")
		c.svc.Set("Type", "notify")
		c.svc.Set("NotifyAccess", "all")
	}
	c.svc.Default("SyslogIdentifier", "%N")

	args = c.flags(args)
	args = c.user(args)
	args = c.networks(args)
	args = c.volumes(args)
	args = c.mounts(args)
	for _, d := range c.words("AddDevice") {
		if opt, ok := strings.CutPrefix(d, "-"); ok { // only if the host has it
			host, _, _ := strings.Cut(opt, ":")
			if _, err := os.Stat(host); err != nil {
				continue
			}
			d = opt
		}
		args = append(args, "--device="+d)
	}
	for _, f := range c.words("EnvironmentFile") {
		args = append(args, "--env-file="+absPath(c.q, f))
	}
	args = c.joinPod(args)
	args = append(args, c.engineArgs()...)
	if hasImage {
		args = append(args, c.imageRef(img))
	} else {
		args = append(args, "--rootfs="+rootfs.Value)
	}
	if e, ok := c.sec.Lookup("Exec"); ok {
		exec, _ := systemd.SplitWords(e.Value)
		args = append(args, exec...)
	}
	c.exec("ExecStart", args)
}

// user appends --user=USER[:GROUP].
func (c *conv) user(args []string) []string {
	u := c.sec.Value("User")
	g, hasGroup := c.sec.Lookup("Group")
	switch {
	case u == "" && hasGroup && g.Value != "":
		c.fail(g, "Group= needs User=: add User= with the user (name or UID) to run as")
	case u != "" && hasGroup && g.Value != "":
		args = append(args, "--user="+u+":"+g.Value)
	case u != "":
		args = append(args, "--user="+u)
	}
	return args
}

// reload adds ExecReload= from ReloadCmd= (run in the container) or
// ReloadSignal= (sent to it), for systemctl reload.
func (c *conv) reload(name string) {
	cmd, hasCmd := c.sec.Lookup("ReloadCmd")
	sig, hasSig := c.sec.Lookup("ReloadSignal")
	hasCmd, hasSig = hasCmd && cmd.Value != "", hasSig && sig.Value != ""
	switch {
	case hasCmd && hasSig:
		c.fail(sig, "ReloadCmd= and ReloadSignal= cannot both be set: keep one")
	case hasCmd:
		c.exec("ExecReload", append(c.cmd("exec", name), c.words("ReloadCmd")...))
	case hasSig:
		c.exec("ExecReload", c.cmd("kill", "--signal="+sig.Value, name))
	}
}

// mounts appends --mount for each word of Mount=, resolving the source of
// volume, bind, glob and image mounts (see source).
func (c *conv) mounts(args []string) []string {
	for _, e := range c.sec.All("Mount") {
		ws, _ := systemd.SplitWords(e.Value)
		for _, m := range ws {
			fields, err := csv.NewReader(strings.NewReader(m)).Read()
			if err != nil {
				c.fail(e, "invalid Mount=%s: %v", m, err)
				continue
			}
			typ, src := "", -1
			for i, f := range fields {
				switch k, v, _ := strings.Cut(f, "="); k {
				case "type":
					typ = v
				case "source", "src":
					src = i
				}
			}
			if typ == "" {
				c.fail(e, "invalid Mount=%s: add type=bind, volume, tmpfs, image, …", m)
				continue
			}
			if src >= 0 && (typ == "volume" || typ == "bind" || typ == "glob" || typ == "image") {
				k, v, _ := strings.Cut(fields[src], "=")
				fields[src] = k + "=" + c.source(e, v, typ == "image")
				m = joinCSV(fields)
			}
			args = append(args, "--mount="+m)
		}
	}
	return args
}

func joinCSV(fields []string) string {
	var b strings.Builder
	w := csv.NewWriter(&b)
	_ = w.Write(fields) // a strings.Builder does not fail
	w.Flush()
	return strings.TrimSuffix(b.String(), "\n")
}

// joinPod appends --pod for Pod=NAME.pod and binds the container's service
// to the pod's; the pod's service starts the container (StartWithPod=).
func (c *conv) joinPod(args []string) []string {
	e, ok := c.sec.Lookup("Pod")
	if !ok || e.Value == "" {
		return args
	}
	if !strings.HasSuffix(e.Value, ".pod") {
		c.fail(e, "Pod=%s: name a .pod quadlet file, e.g. Pod=web.pod", e.Value)
		return args
	}
	pod := c.ref(e, e.Value)
	if pod == nil {
		return args
	}
	c.unit.Add("BindsTo", pod.service)
	c.unit.Add("After", pod.service)
	return append(args, "--pod="+pod.resource)
}

// pod converts a .pod file: ExecStartPre creates the pod, ExecStart starts
// it, and systemd follows the infra container's monitor through its PID
// file. The pod's service wants and precedes its member containers'.
func (c *conv) pod() {
	name := c.q.resource
	for _, m := range c.q.podMembers {
		c.unit.Add("Wants", m)
		c.unit.Add("Before", m)
	}
	c.setUnitEnv()
	c.svc.Default("SyslogIdentifier", "%N")
	c.svc.Set("Type", "forking")
	c.svc.Default("Restart", "on-failure")
	c.svc.Set("PIDFile", "%t/%N.pid")

	policy := c.sec.Value("ExitPolicy")
	if policy == "" {
		policy = "stop"
	}
	create := c.cmd("pod", "create", "--infra-conmon-pidfile=%t/%N.pid", "--exit-policy="+policy, "--replace")
	create = c.flags(create)
	create = c.networks(create)
	create = c.volumes(create)
	create = append(create, "--infra-name="+name+"-infra", "--name="+name)
	c.exec("ExecStartPre", append(create, c.engineArgs()...))
	c.exec("ExecStart", c.cmd("pod", "start", name))
	c.exec("ExecStop", c.cmd("pod", "stop", "--ignore", "--time=10", name))
	c.exec("ExecStopPost", c.cmd("pod", "rm", "--ignore", "--force", name))
}
