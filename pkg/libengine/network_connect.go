package libengine

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"path/filepath"
	"strconv"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/libengine/state"
	"github.com/engine-oss/engine/pkg/network"
	"github.com/engine-oss/engine/pkg/specgen"
)

// NetworkConnect joins a container to a network with the given settings
// (its Name is ignored). A running container gets the interface at once;
// the peers on DNS-enabled networks see its name. Errors wrap
// define.ErrNoSuchNetwork, define.ErrNoSuchContainer,
// define.ErrNetworkConnected (already joined), define.ErrInvalidArg (not a
// bridge-mode container, an address outside the network) or
// define.ErrAddressInUse.
func (e *Engine) NetworkConnect(ctx context.Context, netName, ctrName string, opts specgen.NetworkAttach) error {
	n, err := e.lookupNetwork(ctx, netName)
	if err != nil {
		return err
	}
	return e.withCtr(ctx, ctrName, func(c *ctr) error {
		if kind, _ := c.netMode(); kind != specgen.NetworkBridge {
			return fmt.Errorf("container %s uses --network %s: only containers on bridge networks can join others: %w", c.Name, kind, define.ErrInvalidArg)
		}
		for _, a := range c.Networks {
			if a.Network == n.Name {
				return fmt.Errorf("container %s is already connected to network %s: %w", c.Name, n.Name, define.ErrNetworkConnected)
			}
		}
		if _, err := staticIPs(n, opts.IPs); err != nil {
			return err
		}
		if n.Name == e.cfg.Network.DefaultNetwork {
			if err := e.ensureNetworkRecord(ctx, n); err != nil {
				return err
			}
		}
		atts, err := e.attachments(ctx, c)
		if err != nil {
			return err
		}
		taken := map[string]bool{}
		for _, a := range atts {
			taken[a.opts.Interface] = true
		}
		ao := netAttachOptions{Aliases: opts.Aliases, IPs: opts.IPs, MAC: opts.MAC, Interface: opts.Interface}
		for i := 0; ao.Interface == ""; i++ {
			if name := "eth" + strconv.Itoa(i); !taken[name] {
				ao.Interface = name
			}
		}
		b, err := json.Marshal(ao)
		if err != nil {
			return fmt.Errorf("encode network options: %w", err)
		}
		if err := e.db.ConnectNetwork(ctx, c.ID, state.NetworkAttachment{Network: n.Name, Options: b}); err != nil {
			return err
		}
		if st, err := e.readNetStatus(c.ID); err == nil && c.running() {
			if err := e.attachRunning(ctx, c, st, ctrAttachment{net: n, opts: ao}); err != nil {
				_ = e.db.DisconnectNetwork(context.WithoutCancel(ctx), c.ID, n.Name)
				return err
			}
		}
		e.event(ctx, "network", "connect", n.ID, n.Name, map[string]string{"container": c.ID})
		return nil
	})
}

// attachRunning adds an interface to a running container's namespace.
func (e *Engine) attachRunning(ctx context.Context, c *ctr, st *netStatus, a ctrAttachment) error {
	mgr := e.netManager()
	release, err := mgr.Lock([]*network.Network{a.net}, false)
	if err != nil {
		return err
	}
	defer release()
	pa, err := a.plumbing()
	if err != nil {
		return err
	}
	iface, err := mgr.Attach(c.ID, st.NetNS, pa, len(st.Interfaces) == 0)
	if err != nil {
		return err
	}
	st.Interfaces = append(st.Interfaces, *iface)
	if err := writeJSON(filepath.Join(e.runDir(c.ID), netStatusFile), st); err != nil {
		_ = mgr.Detach(c.ID, pa)
		return err
	}
	e.refreshHosts(ctx, []*network.Network{a.net})
	return nil
}

// NetworkDisconnect removes a container from a network, taking the
// interface out of a running one. Errors wrap define.ErrNoSuchNetwork,
// define.ErrNoSuchContainer or define.ErrNotConnected.
func (e *Engine) NetworkDisconnect(ctx context.Context, netName, ctrName string) error {
	n, err := e.lookupNetwork(ctx, netName)
	if err != nil {
		return err
	}
	return e.withCtr(ctx, ctrName, func(c *ctr) error {
		atts, err := e.attachments(ctx, c)
		if err != nil {
			return err
		}
		var found *ctrAttachment
		for i := range atts {
			if atts[i].net.Name == n.Name {
				found = &atts[i]
			}
		}
		if found == nil {
			return fmt.Errorf("container %s is not connected to network %s: %w", c.Name, n.Name, define.ErrNotConnected)
		}
		if st, err := e.readNetStatus(c.ID); err == nil {
			mgr := e.netManager()
			release, err := mgr.Lock([]*network.Network{n}, false)
			if err != nil {
				return err
			}
			err = mgr.Detach(c.ID, network.Attachment{Network: n, IfName: found.opts.Interface})
			if err == nil {
				kept := st.Interfaces[:0]
				for _, i := range st.Interfaces {
					if i.Network != n.Name {
						kept = append(kept, i)
					}
				}
				st.Interfaces = kept
				err = writeJSON(filepath.Join(e.runDir(c.ID), netStatusFile), st)
			}
			if err == nil {
				err = e.db.DisconnectNetwork(ctx, c.ID, n.Name)
			}
			e.refreshHosts(ctx, []*network.Network{n})
			release()
			if err != nil {
				return err
			}
		} else if err := e.db.DisconnectNetwork(ctx, c.ID, n.Name); err != nil {
			return err
		}
		e.event(ctx, "network", "disconnect", n.ID, n.Name, map[string]string{"container": c.ID})
		return nil
	})
}

// NetworkReload puts back the firewall rules of the networks in use and of
// the named running containers' published ports (every running one with
// all), as after a firewall restart or `nft flush ruleset`. Each container
// gets a report.
func (e *Engine) NetworkReload(ctx context.Context, names []string, all bool) ([]ContainerReport, error) {
	nets, err := e.networks(ctx)
	if err != nil {
		return nil, err
	}
	var fwds []network.Forward
	running := map[string]bool{}
	reports, err := e.eachCtr(ctx, names, all, false, func(c *ctr) error {
		if !c.running() {
			if all {
				return nil
			}
			return fmt.Errorf("container %s is not running: %w", c.Name, define.ErrCtrStateInvalid)
		}
		running[c.ID] = true
		st, err := e.readNetStatus(c.ID)
		if err != nil || len(st.Ports) == 0 || len(st.Interfaces) == 0 {
			return nil //nolint:nilerr // no network of the engine's: nothing to reload
		}
		var addrs []netip.Addr
		for _, p := range st.Interfaces[0].Addresses {
			addrs = append(addrs, p.Addr())
		}
		fwds = append(fwds, network.Forward{Container: c.ID, Ports: st.Ports, Addresses: addrs})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if all {
		kept := reports[:0]
		for _, r := range reports {
			if running[r.ID] {
				r.RawInput = r.ID
				kept = append(kept, r)
			}
		}
		reports = kept
	}
	if err := e.netManager().Reload(nets, fwds); err != nil {
		return nil, err
	}
	return reports, nil
}
