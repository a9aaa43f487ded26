package libengine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/engine-oss/engine/pkg/libengine/config"
	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/libengine/state"
	"github.com/engine-oss/engine/pkg/network"
)

// netManager is the network plumbing of this engine: host-wide state for
// root; per-user state and the user's rootless namespace, where the
// bridges live, otherwise.
func (e *Engine) netManager() *network.Manager {
	m := &network.Manager{StateDir: filepath.Join(config.RuntimeDir(), "engine", "network")}
	if config.Rootless() {
		m.UserMode, m.NetNS = true, network.RootlessNetNS(m.StateDir)
	}
	return m
}

// defaultNetwork is the network named in engine.conf, built from its
// settings rather than stored, so that a changed subnet takes effect.
func (e *Engine) defaultNetwork() (*network.Network, error) {
	c := e.cfg.Network
	subnet, err := netip.ParsePrefix(c.DefaultSubnet)
	if err != nil || !subnet.Addr().Is4() {
		return nil, fmt.Errorf("engine.conf [network] default_subnet %q: use an IPv4 CIDR such as 10.88.0.0/16: %w", c.DefaultSubnet, define.ErrInvalidArg)
	}
	n := network.DefaultNetwork(c.DefaultNetwork, c.DefaultInterface, subnet.Masked())
	return n, nil
}

// lookupNetwork finds a network by name, ID or ID prefix. Errors wrap
// define.ErrNoSuchNetwork.
func (e *Engine) lookupNetwork(ctx context.Context, nameOrID string) (*network.Network, error) {
	def, err := e.defaultNetwork()
	if err != nil {
		return nil, err
	}
	if nameOrID == def.Name || nameOrID == def.ID {
		return def, nil
	}
	rec, err := e.db.Network(ctx, nameOrID)
	if err != nil {
		return nil, err
	}
	return decodeNetwork(rec)
}

func decodeNetwork(rec *state.Network) (*network.Network, error) {
	n := &network.Network{}
	if err := json.Unmarshal(rec.Config, n); err != nil {
		return nil, fmt.Errorf("network %s: decode stored definition: %w", rec.Name, err)
	}
	return n, nil
}

// ensureNetworkRecord stores the default network the first time a
// container joins it, so that the database's relation can refer to it.
func (e *Engine) ensureNetworkRecord(ctx context.Context, n *network.Network) error {
	if _, err := e.db.Network(ctx, n.Name); err == nil || !errors.Is(err, define.ErrNoSuchNetwork) {
		return err
	}
	cfg, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("encode network %s: %w", n.Name, err)
	}
	err = e.db.AddNetwork(ctx, &state.Network{Name: n.Name, ID: n.ID, Created: time.Now(), Config: cfg})
	if errors.Is(err, define.ErrNetworkExists) {
		return nil
	}
	return err
}

// NetworkCreate defines a bridge network. Its subnet, when not given, is
// the first free /24 of 10.89.0.0/16: free of the store's networks and of
// the host's routes. Errors wrap define.ErrInvalidArg (bad or overlapping
// subnet, gateway or range, unknown option) or define.ErrNetworkExists.
func (e *Engine) NetworkCreate(ctx context.Context, opts network.CreateOptions) (*network.Network, error) {
	existing, err := e.networks(ctx)
	if err != nil {
		return nil, err
	}
	routes, err := network.HostRoutes()
	if err != nil {
		return nil, err
	}
	n, err := network.New(opts, existing, routes)
	if err != nil {
		return nil, err
	}
	cfg, err := json.Marshal(n)
	if err != nil {
		return nil, fmt.Errorf("encode network %s: %w", n.Name, err)
	}
	if err := e.db.AddNetwork(ctx, &state.Network{Name: n.Name, ID: n.ID, Created: n.Created, Config: cfg}); err != nil {
		return nil, err
	}
	e.event(ctx, "network", "create", n.ID, n.Name, map[string]string{"driver": n.Driver})
	return n, nil
}

// networks returns the default network and the store's others, by name.
func (e *Engine) networks(ctx context.Context) ([]*network.Network, error) {
	def, err := e.defaultNetwork()
	if err != nil {
		return nil, err
	}
	recs, err := e.db.Networks(ctx)
	if err != nil {
		return nil, err
	}
	out := []*network.Network{def}
	for _, r := range recs {
		if r.Name == def.Name {
			continue
		}
		n, err := decodeNetwork(r)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b *network.Network) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// NetworkListOptions filter NetworkList: name=REGEX, id=PREFIX,
// driver=NAME, label=KEY[=VALUE], label!=KEY[=VALUE], dangling=BOOL (no
// container joins it) and until=TIME. Values of one key are ORed, keys
// ANDed.
type NetworkListOptions struct {
	Filters []string
}

// NetworkList returns the networks that match the filters, by name.
// Errors wrap define.ErrInvalidArg for a bad filter.
func (e *Engine) NetworkList(ctx context.Context, opts NetworkListOptions) ([]*network.Network, error) {
	match, err := e.networkFilter(ctx, opts.Filters)
	if err != nil {
		return nil, err
	}
	all, err := e.networks(ctx)
	if err != nil {
		return nil, err
	}
	var out []*network.Network
	for _, n := range all {
		ok, err := match(n)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, n)
		}
	}
	return out, nil
}

// networkFilter parses ls and prune filters into a predicate.
func (e *Engine) networkFilter(ctx context.Context, filters []string) (func(*network.Network) (bool, error), error) {
	byKey := map[string][]string{}
	for _, f := range filters {
		k, v, ok := strings.Cut(f, "=")
		if !ok || v == "" {
			return nil, fmt.Errorf("--filter %q: use KEY=VALUE with name, id, driver, label, label!, dangling or until: %w", f, define.ErrInvalidArg)
		}
		switch k {
		case "name", "id", "driver", "label", "label!", "dangling", "until":
		default:
			return nil, fmt.Errorf("--filter %s: unknown key: use name, id, driver, label, label!, dangling or until: %w", k, define.ErrInvalidArg)
		}
		byKey[k] = append(byKey[k], v)
	}
	var names []*regexp.Regexp
	for _, v := range byKey["name"] {
		re, err := regexp.Compile(v)
		if err != nil {
			return nil, fmt.Errorf("--filter name=%s: %w: %w", v, err, define.ErrInvalidArg)
		}
		names = append(names, re)
	}
	var until time.Time
	if vs := byKey["until"]; len(vs) > 0 {
		var err error
		if until, err = parseUntil(vs[len(vs)-1], time.Now()); err != nil {
			return nil, err
		}
	}
	for _, v := range byKey["dangling"] {
		if v != "true" && v != "false" {
			return nil, fmt.Errorf("--filter dangling=%s: use true or false: %w", v, define.ErrInvalidArg)
		}
	}
	return func(n *network.Network) (bool, error) {
		if len(names) > 0 && !slices.ContainsFunc(names, func(re *regexp.Regexp) bool { return re.MatchString(n.Name) }) {
			return false, nil
		}
		if ids := byKey["id"]; len(ids) > 0 && !slices.ContainsFunc(ids, func(id string) bool { return strings.HasPrefix(n.ID, id) }) {
			return false, nil
		}
		if ds := byKey["driver"]; len(ds) > 0 && !slices.Contains(ds, n.Driver) {
			return false, nil
		}
		for _, l := range byKey["label"] {
			if !labelMatches(n.Labels, l) {
				return false, nil
			}
		}
		for _, l := range byKey["label!"] {
			if labelMatches(n.Labels, l) {
				return false, nil
			}
		}
		if !until.IsZero() && !n.Created.Before(until) {
			return false, nil
		}
		if ds := byKey["dangling"]; len(ds) > 0 {
			users, err := e.db.NetworkUsers(ctx, n.Name)
			if err != nil {
				return false, err
			}
			if (len(users) == 0) != (ds[len(ds)-1] == "true") {
				return false, nil
			}
		}
		return true, nil
	}, nil
}

// labelMatches reports whether labels has KEY, or KEY=VALUE, as f says.
func labelMatches(labels map[string]string, f string) bool {
	k, v, hasValue := strings.Cut(f, "=")
	got, ok := labels[k]
	return ok && (!hasValue || got == v)
}

// NetworkInspect returns the named networks. Errors wrap
// define.ErrNoSuchNetwork.
func (e *Engine) NetworkInspect(ctx context.Context, names []string) ([]*network.Network, error) {
	out := make([]*network.Network, 0, len(names))
	for _, name := range names {
		n, err := e.lookupNetwork(ctx, name)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// NetworkExists reports whether a network of that name or ID exists.
func (e *Engine) NetworkExists(ctx context.Context, nameOrID string) (bool, error) {
	_, err := e.lookupNetwork(ctx, nameOrID)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, define.ErrNoSuchNetwork):
		return false, nil
	}
	return false, err
}

// NetworkRemoveOptions configure NetworkRemove.
type NetworkRemoveOptions struct {
	// Force removes the containers joining the network first.
	Force bool
	// Timeout overrides their stop timeout with Force.
	Timeout *uint
}

// NetworkReport is the outcome for one network.
type NetworkReport struct {
	Name string
	Err  error
}

// NetworkRemove deletes networks no container joins (with Force, it
// removes those containers first). The default network cannot be removed.
// Each network gets a report; errors wrap define.ErrNoSuchNetwork,
// define.ErrNetworkInUse or define.ErrInvalidArg.
func (e *Engine) NetworkRemove(ctx context.Context, names []string, opts NetworkRemoveOptions) []NetworkReport {
	reports := make([]NetworkReport, 0, len(names))
	for _, name := range names {
		reports = append(reports, NetworkReport{Name: name, Err: e.removeNetwork(ctx, name, opts)})
	}
	return reports
}

func (e *Engine) removeNetwork(ctx context.Context, name string, opts NetworkRemoveOptions) error {
	n, err := e.lookupNetwork(ctx, name)
	if err != nil {
		return err
	}
	if n.Name == e.cfg.Network.DefaultNetwork {
		return fmt.Errorf("default network %s cannot be removed: %w", n.Name, define.ErrInvalidArg)
	}
	users, err := e.db.NetworkUsers(ctx, n.Name)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		if !opts.Force {
			var names []string
			for _, id := range users {
				if c, err := e.db.Container(ctx, id); err == nil {
					names = append(names, c.Name)
				}
			}
			return fmt.Errorf("network %s is being used by containers %s: remove them first, or use network rm -f: %w",
				n.Name, strings.Join(names, ", "), define.ErrNetworkInUse)
		}
		reps, err := e.ContainerRemove(ctx, users, ContainerRemoveOptions{Force: true, Timeout: opts.Timeout, Ignore: true})
		if err != nil {
			return err
		}
		for _, r := range reps {
			if r.Err != nil {
				return fmt.Errorf("network %s: remove container %s: %w", n.Name, r.RawInput, r.Err)
			}
		}
	}
	if err := e.db.RemoveNetwork(ctx, n.Name); err != nil {
		return err
	}
	mgr := e.netManager()
	release, err := mgr.Lock([]*network.Network{n}, false)
	if err != nil {
		return err
	}
	defer release()
	if err := mgr.RemoveBridge(n); err != nil {
		return err
	}
	e.event(ctx, "network", "remove", n.ID, n.Name, nil)
	return nil
}

// NetworkPruneOptions select the networks NetworkPrune removes, with the
// filters of NetworkList.
type NetworkPruneOptions struct {
	Filters []string
}

// NetworkPrune removes the networks no container joins (never the default
// one) that match the filters, with a report for each.
func (e *Engine) NetworkPrune(ctx context.Context, opts NetworkPruneOptions) ([]NetworkReport, error) {
	nets, err := e.NetworkList(ctx, NetworkListOptions(opts))
	if err != nil {
		return nil, err
	}
	var reports []NetworkReport
	for _, n := range nets {
		if n.Name == e.cfg.Network.DefaultNetwork {
			continue
		}
		users, err := e.db.NetworkUsers(ctx, n.Name)
		if err != nil {
			return nil, err
		}
		if len(users) > 0 {
			continue
		}
		reports = append(reports, NetworkReport{Name: n.Name, Err: e.removeNetwork(ctx, n.Name, NetworkRemoveOptions{})})
	}
	return reports, nil
}
