package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/engine-oss/engine/cmd/engine/internal/format"
	"github.com/engine-oss/engine/pkg/libengine"
	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/network"
	"github.com/engine-oss/engine/pkg/specgen"
	"github.com/spf13/cobra"
)

func newNetworkCreateCommand(g *globalOptions) *cobra.Command {
	var opts network.CreateOptions
	var labels, options []string
	var ignore bool
	cmd := &cobra.Command{
		Use:   "create [options] [NAME]",
		Short: "Create a bridge network",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Name = args[0]
			}
			var err error
			if opts.Labels, err = keyValues("--label", labels); err != nil {
				return err
			}
			if opts.Options, err = keyValues("--opt", options); err != nil {
				return err
			}
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				n, err := e.NetworkCreate(cmd.Context(), opts)
				if ignore && errors.Is(err, define.ErrNetworkExists) {
					_, err = fmt.Fprintln(cmd.OutOrStdout(), opts.Name)
					return err
				}
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(cmd.OutOrStdout(), n.Name)
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Driver, "driver", "d", network.DriverBridge, "driver to manage the network (bridge)")
	f.StringArrayVar(&opts.Subnets, "subnet", nil, "subnet in CIDR format (repeatable, one per address family)")
	f.StringArrayVar(&opts.Gateways, "gateway", nil, "gateway of the --subnet in the same position")
	f.StringArrayVar(&opts.IPRanges, "ip-range", nil, "addresses to lease in the --subnet in the same position: CIDR or START-END")
	f.BoolVar(&opts.Internal, "internal", false, "restrict external access from this network")
	f.BoolVar(&opts.IPv6, "ipv6", false, "add an IPv6 subnet (a random fd00::/8 /64 when no --subnet is IPv6)")
	f.BoolVar(&opts.DisableDNS, "disable-dns", false, "do not list the network's containers in each other's /etc/hosts")
	f.StringArrayVar(&opts.DNSServers, "dns", nil, "name server of the network's containers that set no --dns of their own (repeatable)")
	f.StringVar(&opts.IPAMDriver, "ipam-driver", "", "IP address management driver: host-local (the only one)")
	f.StringVar(&opts.Interface, "interface-name", "", "name of the network's bridge (default: engine + 9 characters of the ID)")
	f.StringArrayVar(&labels, "label", nil, "set metadata on the network (KEY=VALUE)")
	f.StringArrayVarP(&options, "opt", "o", nil, "driver option: mtu=N")
	f.BoolVar(&ignore, "ignore", false, "succeed when a network of that name exists, leaving it as it is")
	return cmd
}

// networkRow is what ls prints and its templates see.
type networkRow struct {
	ID, Name, Driver, NetworkInterface string
	Created                            time.Time
	Subnets                            []network.Subnet
	IPv6Enabled, Internal, DNSEnabled  bool
	Labels, Options                    map[string]string
}

func newNetworkLsCommand(g *globalOptions) *cobra.Command {
	var opts libengine.NetworkListOptions
	var tmpl string
	var quiet, noTrunc, noHeading bool
	cmd := &cobra.Command{
		Use:     "ls [options]",
		Aliases: []string{"list"},
		Short:   "List networks",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				nets, err := e.NetworkList(cmd.Context(), opts)
				if err != nil {
					return err
				}
				w := cmd.OutOrStdout()
				if tmpl == format.JSON {
					if nets == nil {
						nets = []*network.Network{}
					}
					return format.PrintJSON(w, nets)
				}
				if quiet {
					tmpl = "{{.Name}}"
				}
				rows := make([]networkRow, 0, len(nets))
				for _, n := range nets {
					id := n.ID
					if !noTrunc {
						id = id[:min(12, len(id))]
					}
					rows = append(rows, networkRow{ID: id, Name: n.Name, Driver: n.Driver, NetworkInterface: n.Interface,
						Created: n.Created, Subnets: n.Subnets, IPv6Enabled: n.IPv6Enabled, Internal: n.Internal,
						DNSEnabled: n.DNSEnabled, Labels: n.Labels, Options: n.Options})
				}
				def := "table {{.ID}}\t{{.Name}}\t{{.Driver}}"
				if noHeading {
					def = strings.TrimPrefix(def, "table ")
					tmpl = strings.TrimPrefix(tmpl, "table ")
				}
				return format.Print(w, tmpl, def, rows, map[string]string{"ID": "NETWORK ID"})
			})
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&opts.Filters, "filter", nil, "name=, id=, driver=, label=, label!=, dangling=, until= (repeatable)")
	f.StringVar(&tmpl, "format", "", "json, table or a Go template over .ID .Name .Driver .NetworkInterface .Subnets .Labels …")
	f.BoolVarP(&quiet, "quiet", "q", false, "print the names only")
	f.BoolVar(&noTrunc, "no-trunc", false, "print full network IDs")
	f.BoolVar(&noHeading, "noheading", false, "print no header")
	return cmd
}

func newNetworkInspectCommand(g *globalOptions) *cobra.Command {
	var tmpl string
	cmd := &cobra.Command{
		Use:   "inspect [options] NETWORK [NETWORK...]",
		Short: "Show the definition of networks",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				nets, err := e.NetworkInspect(cmd.Context(), args)
				if err != nil {
					return err
				}
				if tmpl == "" || tmpl == format.JSON {
					return format.PrintJSON(cmd.OutOrStdout(), nets)
				}
				values := make([]any, 0, len(nets))
				for _, n := range nets {
					values = append(values, n)
				}
				return format.Template(cmd.OutOrStdout(), tmpl, values)
			})
		},
	}
	cmd.Flags().StringVarP(&tmpl, "format", "f", "", "json or a Go template over the network's fields (.Name, .Subnets, …)")
	return cmd
}

// printNetworkReports prints the name of each network acted on and an
// error line for each failure; the exit code is 1 when every failure is a
// missing network, 2 when one is in use, else 125.
func printNetworkReports(w io.Writer, reports []libengine.NetworkReport) error {
	return printOutcomes(w, reports,
		func(r libengine.NetworkReport) (string, error) { return r.Name, r.Err },
		func(failed []error) int {
			switch {
			case allAre(failed, define.ErrNoSuchNetwork):
				return 1
			case allAre(failed, define.ErrNetworkInUse):
				return 2
			}
			return 0
		})
}

func newNetworkRmCommand(g *globalOptions) *cobra.Command {
	var opts libengine.NetworkRemoveOptions
	var timeout uint
	cmd := &cobra.Command{
		Use:     "rm [options] NETWORK [NETWORK...]",
		Aliases: []string{"remove"},
		Short:   "Remove networks",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("time") {
				opts.Timeout = &timeout
			}
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				return printNetworkReports(cmd.OutOrStdout(), e.NetworkRemove(cmd.Context(), args, opts))
			})
		},
	}
	cmd.Flags().BoolVarP(&opts.Force, "force", "f", false, "remove the containers using the network first")
	cmd.Flags().UintVarP(&timeout, "time", "t", 10, "seconds to wait for those containers to stop before killing them")
	return cmd
}

func newNetworkPruneCommand(g *globalOptions) *cobra.Command {
	var opts libengine.NetworkPruneOptions
	var force bool
	cmd := &cobra.Command{
		Use:   "prune [options]",
		Short: "Remove the networks no container uses",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !force {
				ok, err := confirm(cmd.InOrStdin(), cmd.OutOrStdout(), "WARNING! This will remove all networks not used by at least one container.")
				if err != nil || !ok {
					return err
				}
			}
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				reports, err := e.NetworkPrune(cmd.Context(), opts)
				if err != nil {
					return err
				}
				return printNetworkReports(cmd.OutOrStdout(), reports)
			})
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "do not ask for confirmation")
	cmd.Flags().StringArrayVar(&opts.Filters, "filter", nil, "prune only networks matching label=, label!=, until= (repeatable)")
	return cmd
}

func newNetworkExistsCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "exists NETWORK",
		Short: "Check whether a network exists",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				ok, err := e.NetworkExists(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if !ok {
					return &define.ExitError{Code: 1, Silent: true}
				}
				return nil
			})
		},
	}
}

func newNetworkConnectCommand(g *globalOptions) *cobra.Command {
	var opts specgen.NetworkAttach
	var ip, ip6 string
	cmd := &cobra.Command{
		Use:   "connect [options] NETWORK CONTAINER",
		Short: "Connect a container to a network",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, a := range []string{ip, ip6} {
				if a != "" {
					opts.IPs = append(opts.IPs, a)
				}
			}
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				return e.NetworkConnect(cmd.Context(), args[0], args[1], opts)
			})
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&opts.Aliases, "alias", nil, "another name of the container on this network (repeatable)")
	f.StringVar(&ip, "ip", "", "static IPv4 address")
	f.StringVar(&ip6, "ip6", "", "static IPv6 address")
	f.StringVar(&opts.MAC, "mac-address", "", "static MAC address")
	return cmd
}

func newNetworkDisconnectCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "disconnect [options] NETWORK CONTAINER",
		Short: "Disconnect a container from a network",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				return e.NetworkDisconnect(cmd.Context(), args[0], args[1])
			})
		},
	}
	// Accepted for podman's scripts: disconnecting never needs to stop anything.
	cmd.Flags().BoolP("force", "f", false, "accepted for compatibility; has no effect")
	return cmd
}

func newNetworkReloadCommand(g *globalOptions) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "reload [options] [CONTAINER...]",
		Short: "Restore the firewall rules of networks and containers' published ports",
		RunE: func(cmd *cobra.Command, args []string) error {
			if all == (len(args) > 0) {
				return fmt.Errorf("name containers or pass --all, not both nor neither: %w", define.ErrInvalidArg)
			}
			return g.withEngine(cmd, func(e *libengine.Engine) error {
				reports, err := e.NetworkReload(cmd.Context(), args, all)
				if err != nil {
					return err
				}
				return printReports(cmd.OutOrStdout(), reports, 0)
			})
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "reload the rules of every running container")
	return cmd
}

// newNetworkPortForwarderCommand builds the hidden command the engine
// starts, detached, to publish a rootless bridge container's ports
// (network.RunPortForwarder). It closes its stderr once the ports are
// bound; what it writes there before is its error.
func newNetworkPortForwarderCommand() *cobra.Command {
	return &cobra.Command{
		Use:    "port-forwarder NETNS TARGET PORTS-JSON",
		Hidden: true,
		Args:   cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			target, err := netip.ParseAddr(args[1])
			if err != nil {
				return fmt.Errorf("target %q: %w: %w", args[1], err, define.ErrInvalidArg)
			}
			var ports []network.PortMapping
			if err := json.Unmarshal([]byte(args[2]), &ports); err != nil {
				return fmt.Errorf("ports: %w: %w", err, define.ErrInvalidArg)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			return network.RunPortForwarder(ctx, args[0], ports, target, os.Stderr)
		},
	}
}
