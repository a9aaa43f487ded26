package quadlet

import (
	"path/filepath"
	"strings"

	"github.com/engine-oss/engine/pkg/systemd"
)

// volume converts a .volume file into a oneshot service that creates the
// volume unless it exists.
func (c *conv) volume() {
	args := c.cmd("volume", "create", "--ignore")
	driver := c.sec.Value("Driver")
	if driver != "" {
		args = append(args, "--driver="+driver)
	}
	if driver == "image" {
		if img, ok := c.sec.Lookup("Image"); ok && img.Value != "" {
			args = append(args, "--opt=image="+c.imageRef(img))
		} else {
			c.failFile("Driver=image needs Image= in section [Volume]: add the image the volume shows")
		}
	} else {
		var mountOpts []string
		if u := c.sec.Value("User"); u != "" {
			mountOpts = append(mountOpts, "uid="+u)
		}
		if g := c.sec.Value("Group"); g != "" {
			mountOpts = append(mountOpts, "gid="+g)
		}
		if v := c.sec.Value("Copy"); v != "" {
			if copyUp, _ := parseBool(v); copyUp {
				args = append(args, "--opt=copy")
			} else {
				args = append(args, "--opt=nocopy")
			}
		}
		dev := c.sec.Value("Device")
		if dev != "" {
			args = append(args, "--opt=device="+dev)
		}
		if e, ok := c.sec.Lookup("Type"); ok && e.Value != "" {
			if dev == "" {
				c.fail(e, "Type= needs Device=: add the device (or directory) to mount")
			}
			args = append(args, "--opt=type="+e.Value)
			if e.Value == "bind" {
				c.unit.Add("RequiresMountsFor", dev)
			}
		}
		if e, ok := c.sec.Lookup("Options"); ok && e.Value != "" {
			if dev == "" {
				c.fail(e, "Options= needs Device=: add the device (or directory) to mount")
			}
			mountOpts = append(mountOpts, e.Value)
		}
		if len(mountOpts) > 0 {
			args = append(args, "--opt=o="+strings.Join(mountOpts, ","))
		}
	}
	args = c.flags(args)
	args = append(args, c.engineArgs()...)
	c.exec("ExecStart", append(args, c.q.resource))
	c.oneshot(true)
}

// network converts a .network file into a oneshot service that creates the
// network unless it exists (and removes it on stop with NetworkDeleteOnStop=).
func (c *conv) network() {
	name := c.q.resource
	if del, _ := parseBool(c.sec.Value("NetworkDeleteOnStop")); del {
		c.exec("ExecStopPost", c.cmd("network", "rm", name))
	}
	args := c.flags(c.cmd("network", "create", "--ignore"))
	subnets, gateways, ranges := c.sec.All("Subnet"), c.sec.All("Gateway"), c.sec.All("IPRange")
	for _, more := range [][]systemd.Entry{gateways, ranges} {
		if len(more) > len(subnets) {
			e := more[len(subnets)]
			c.fail(e, "%s=%s has no Subnet= to belong to: each Gateway= and IPRange= pairs with the Subnet= in the same position", e.Key, e.Value)
		}
	}
	for i, s := range subnets {
		args = append(args, "--subnet="+s.Value)
		if i < len(gateways) {
			args = append(args, "--gateway="+gateways[i].Value)
		}
		if i < len(ranges) {
			args = append(args, "--ip-range="+ranges[i].Value)
		}
	}
	args = append(args, c.engineArgs()...)
	c.exec("ExecStart", append(args, name))
	c.oneshot(true)
}

// kube refuses a .kube file: the engine cannot play Kubernetes YAML.
func (c *conv) kube() {
	c.failFile(".kube files are not supported: the engine has no kube play: write a .pod file and a .container file for each container of the YAML instead")
}

// imagePull converts a .image file into a oneshot service that pulls the image.
func (c *conv) imagePull() {
	img, ok := c.sec.Lookup("Image")
	if !ok || img.Value == "" {
		c.failFile("no Image= in section [Image]: add Image=IMAGE to pull")
	}
	args := c.flags(c.cmd("image", "pull"))
	args = append(args, c.engineArgs()...)
	c.exec("ExecStart", append(args, img.Value))
	c.oneshot(true)
}

// build converts a .build file into a oneshot service that builds the
// image. The context is SetWorkingDirectory= (a path or URL; "unit" or
// "file" for the directory of the quadlet file or of File=), else the
// service's WorkingDirectory=.
func (c *conv) build() {
	if len(c.sec.All("ImageTag")) == 0 {
		c.failFile("no ImageTag= in section [Build]: add ImageTag=NAME for the image built")
	}
	args := c.flags(c.cmd("build"))
	args = c.networks(args)
	args = c.volumes(args)

	file := c.sec.Value("File")
	context := ""
	switch swd, _ := c.sec.Lookup("SetWorkingDirectory"); strings.ToLower(swd.Value) {
	case "":
	case "unit":
		c.svc.Default("WorkingDirectory", filepath.Dir(c.q.path))
	case "file":
		if file == "" {
			c.fail(swd, "SetWorkingDirectory=file needs File=: add the Containerfile's path")
		}
		c.svc.Default("WorkingDirectory", filepath.Dir(absPath(c.q, file)))
	default:
		context = swd.Value
		if !filepath.IsAbs(context) && !isURL(context) {
			c.svc.Default("WorkingDirectory", filepath.Dir(c.q.path))
		}
	}
	wd := c.svc.Value("WorkingDirectory")
	if file != "" {
		args = append(args, "--file="+file)
	}
	args = append(args, c.engineArgs()...)
	switch {
	case context != "":
		args = append(args, context)
	case file != "" && (filepath.IsAbs(file) || isURL(file)):
	case wd != "":
		args = append(args, wd)
	default:
		c.failFile("section [Build] does not say where to build: add SetWorkingDirectory= (unit, file, a path or a URL) or File= with an absolute path")
	}
	c.exec("ExecStart", args)
	c.oneshot(false)
}

// isURL reports whether a build context or Containerfile is remote.
func isURL(s string) bool {
	for _, p := range []string{"http://", "https://", "git://", "github.com/"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
