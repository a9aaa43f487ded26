package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/specgen"
	"github.com/spf13/cobra"
)

// podCreateFlags are pod create's flags as typed.
type podCreateFlags struct {
	opts         libengine.PodCreateOptions
	infra        bool
	noInfra      bool
	share        string
	infraCommand string
	labels       []string
	network      []string
	ip, ip6, mac string
	aliases      []string
	shmSize      string
	volumes      []string
	// userNS holds the user namespace flags, which are refused (see
	// userNSFlags).
	userNS struct {
		mode, subUID, subGID string
		uidMap, gidMap       []string
	}
}

// userNSFlags are pod create's user namespace flags: accepted so that a
// command line or quadlet using them fails with a message rather than as
// an unknown flag, as the engine cannot give a pod a user namespace yet.
var userNSFlags = []string{"userns", "uidmap", "gidmap", "subuidname", "subgidname"}

func newPodCreateCommand(g *globalOptions) *cobra.Command {
	f := &podCreateFlags{}
	cmd := &cobra.Command{
		Use:   "create [options] [NAME]",
		Short: "Create a new empty pod",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := f.options(cmd, args)
			if err != nil {
				return err
			}
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				rep, err := e.PodCreate(cmd.Context(), *opts)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(cmd.OutOrStdout(), rep.ID)
				return err
			})
		},
	}
	f.add(cmd)
	return cmd
}

// add defines pod create's flags on cmd.
func (f *podCreateFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	o := &f.opts
	fl.StringVarP(&o.Name, "name", "n", "", "name of the pod")
	fl.StringVar(&o.Hostname, "hostname", "", "hostname of the pod's containers (default: the pod's name)")
	fl.StringArrayVarP(&f.labels, "label", "l", nil, "set metadata on the pod (KEY=VALUE)")
	fl.StringVar(&f.share, "share", "", "namespaces the containers share: cgroup, ipc, net, pid, uts, or none; +NS adds to the default (ipc,net,uts)")
	fl.BoolVar(&f.infra, "infra", true, "create an infra container to hold the shared namespaces")
	fl.BoolVar(&f.noInfra, "no-infra", false, "create no infra container (same as --infra=false)")
	fl.StringVar(&o.InfraImage, "infra-image", "", "image of the infra container (default: "+libengine.PauseImageName()+", built locally)")
	fl.StringVar(&f.infraCommand, "infra-command", "", "command of the infra container (a JSON array, or words split on spaces)")
	fl.StringVar(&o.InfraName, "infra-name", "", "name of the infra container (default: <pod ID prefix>-infra)")
	fl.StringArrayVarP(&o.Publish, "publish", "p", nil, "publish a port of the pod to the host: [[IP:][HOST-PORT]:]CONTAINER-PORT[/PROTOCOL]")
	fl.StringArrayVar(&f.network, "network", nil, "network mode or networks of the pod, as run --network")
	fl.StringArrayVar(&f.network, "net", nil, "alias of --network")
	_ = fl.MarkHidden("net")
	fl.StringVar(&f.ip, "ip", "", "static IP address of the pod on its network")
	fl.StringVar(&f.ip6, "ip6", "", "static IPv6 address of the pod on its network")
	fl.StringVar(&f.mac, "mac-address", "", "static MAC address of the pod's network interface")
	fl.StringArrayVar(&f.aliases, "network-alias", nil, "another name of the pod on its networks")
	fl.StringArrayVar(&o.HostAdd, "add-host", nil, "add a host-to-IP mapping to the pod's /etc/hosts (host:ip)")
	fl.StringArrayVar(&o.DNSServers, "dns", nil, "DNS servers of the pod")
	fl.StringArrayVar(&o.DNSSearch, "dns-search", nil, "DNS search domains of the pod")
	fl.StringArrayVar(&o.DNSOptions, "dns-option", nil, "DNS options of the pod")
	fl.StringVar(&f.shmSize, "shm-size", "", "size of the /dev/shm the pod's containers share (default 64m, 0: unlimited)")
	fl.StringArrayVarP(&f.volumes, "volume", "v", nil, "mount in every container of the pod, as run --volume (repeatable)")
	fl.StringVar(&o.InfraConmonPidFile, "infra-conmon-pidfile", "", "write the pid of the infra container's monitor to FILE each time the pod starts")
	fl.StringVar(&o.ExitPolicy, "exit-policy", libengine.PodExitPolicyContinue, "when the last container exits: continue, or stop the pod")
	fl.BoolVar(&o.Replace, "replace", false, "remove a pod of the same name, with its containers, first")
	const later = " (not supported yet)"
	fl.StringVar(&f.userNS.mode, "userns", "", "user namespace of the pod"+later)
	fl.StringArrayVar(&f.userNS.uidMap, "uidmap", nil, "UID map of the pod's user namespace"+later)
	fl.StringArrayVar(&f.userNS.gidMap, "gidmap", nil, "GID map of the pod's user namespace"+later)
	fl.StringVar(&f.userNS.subUID, "subuidname", "", "user namespace with the UID ranges of NAME in /etc/subuid"+later)
	fl.StringVar(&f.userNS.subGID, "subgidname", "", "user namespace with the GID ranges of NAME in /etc/subgid"+later)
}

// options turns the flags into PodCreateOptions.
func (f *podCreateFlags) options(cmd *cobra.Command, args []string) (*libengine.PodCreateOptions, error) {
	o := f.opts
	if len(args) == 1 {
		if o.Name != "" && o.Name != args[0] {
			return nil, fmt.Errorf("the pod is named twice, %q and --name %q: give one: %w", args[0], o.Name, define.ErrInvalidArg)
		}
		o.Name = args[0]
	}
	for _, name := range userNSFlags {
		if cmd.Flags().Changed(name) {
			return nil, fmt.Errorf("--%s: a pod with a user namespace of its own is not supported yet: drop the flag (in a quadlet, the UserNS=, UIDMap=, GIDMap=,"+
				" SubUIDMap= and SubGIDMap= keys of the .pod file); a container outside a pod can have one (engine run --%s): %w", name, name, define.ErrNotImplemented)
		}
	}
	o.NoInfra = f.noInfra || !f.infra
	if cmd.Flags().Changed("share") {
		share, err := libengine.ParsePodShare(f.share)
		if err != nil {
			return nil, err
		}
		o.Share = share
	}
	if f.infraCommand != "" {
		if err := json.Unmarshal([]byte(f.infraCommand), &o.InfraCommand); err != nil {
			o.InfraCommand = strings.Fields(f.infraCommand)
		}
	}
	var err error
	if o.Labels, err = keyValues("--label", f.labels); err != nil {
		return nil, err
	}
	o.Network, o.Networks, err = specgen.ParseNetworks(specgen.NetworkFlags{Network: f.network, IP: f.ip, IP6: f.ip6, MAC: f.mac, Aliases: f.aliases})
	if err != nil {
		return nil, err
	}
	if f.shmSize != "" {
		size, err := specgen.ParseSize("--shm-size", f.shmSize)
		if err != nil {
			return nil, err
		}
		o.ShmSize = &size
	}
	for _, v := range f.volumes {
		m, err := specgen.ParseMountVolumeFlag(v)
		if err != nil {
			return nil, err
		}
		o.Volumes = append(o.Volumes, m)
	}
	o.CreateCommand = os.Args
	return &o, nil
}
