package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/engine-oss/engine/pkg/libengine/define"
	sqlite3 "github.com/mattn/go-sqlite3"
)

// Network is a network definition. The relation of containers to the
// networks they join (Container.Networks) keeps a network in use from
// being removed.
type Network struct {
	Name    string
	ID      string
	Created time.Time
	// Config is the network's definition (JSON), opaque here.
	Config []byte
}

// NetworkAttachment is a container's membership of a network, in the order
// the container joins them.
type NetworkAttachment struct {
	Network string
	// Options are the engine's per-network settings of the container
	// (aliases, static addresses, interface name) as JSON, opaque here.
	Options []byte
}

// AddNetwork inserts a network. A taken name gives define.ErrNetworkExists.
func (d *DB) AddNetwork(ctx context.Context, n *Network) error {
	_, err := d.db.ExecContext(ctx, `INSERT INTO networks (name, id, created, config) VALUES (?, ?, ?, ?)`,
		n.Name, n.ID, n.Created.UnixNano(), n.Config)
	var se sqlite3.Error
	if errors.As(err, &se) && se.Code == sqlite3.ErrConstraint {
		return fmt.Errorf("network %s: %w", n.Name, define.ErrNetworkExists)
	}
	if err != nil {
		return fmt.Errorf("add network %s: %w", n.Name, err)
	}
	return nil
}

// Network finds a network by exact name, full ID or unique ID prefix.
// Errors wrap define.ErrNoSuchNetwork, or define.ErrInvalidArg for an
// ambiguous prefix.
func (d *DB) Network(ctx context.Context, nameOrID string) (*Network, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT name, id, created, config FROM networks
		WHERE name = ?1 OR id = ?1 OR (length(?1) >= 3 AND substr(id, 1, length(?1)) = ?1) LIMIT 3`, nameOrID)
	if err != nil {
		return nil, fmt.Errorf("look up network %q: %w", nameOrID, err)
	}
	nets, err := scanNetworks(rows)
	if err != nil {
		return nil, err
	}
	return pickMatch(nets, nameOrID, func(n *Network) bool { return n.Name == nameOrID || n.ID == nameOrID },
		fmt.Errorf("unable to find network with name or ID %s: %w", nameOrID, define.ErrNoSuchNetwork), "network", "use a longer id")
}

// Networks lists every network by name.
func (d *DB) Networks(ctx context.Context) ([]*Network, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT name, id, created, config FROM networks ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list networks: %w", err)
	}
	return scanNetworks(rows)
}

// RemoveNetwork deletes a network no container joins. Errors wrap
// define.ErrNoSuchNetwork or define.ErrNetworkInUse.
func (d *DB) RemoveNetwork(ctx context.Context, name string) error {
	res, err := d.db.ExecContext(ctx, `DELETE FROM networks WHERE name = ?`, name)
	var se sqlite3.Error
	if errors.As(err, &se) && se.Code == sqlite3.ErrConstraint {
		return fmt.Errorf("network %s has containers: %w", name, define.ErrNetworkInUse)
	}
	return affectedOne(res, err, "remove network "+name,
		fmt.Errorf("unable to find network with name or ID %s: %w", name, define.ErrNoSuchNetwork))
}

// NetworkUsers returns the IDs of the containers joining a network.
func (d *DB) NetworkUsers(ctx context.Context, name string) ([]string, error) {
	return d.queryStrings(ctx, "users of network "+name,
		`SELECT container_id FROM container_networks WHERE network = ? ORDER BY container_id`, name)
}

// ConnectNetwork adds a network to a container's, last. Errors wrap
// define.ErrNetworkConnected when it is already there, and
// define.ErrNoSuchNetwork or define.ErrNoSuchContainer when either is gone.
func (d *DB) ConnectNetwork(ctx context.Context, id string, a NetworkAttachment) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("connect container %s: %w", id, err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := addContainerNetworks(ctx, tx, id, []NetworkAttachment{a}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("connect container %s: %w", id, err)
	}
	return nil
}

// DisconnectNetwork removes a network from a container's. Errors wrap
// define.ErrNotConnected.
func (d *DB) DisconnectNetwork(ctx context.Context, id, network string) error {
	res, err := d.db.ExecContext(ctx, `DELETE FROM container_networks WHERE container_id = ? AND network = ?`, id, network)
	return affectedOne(res, err, fmt.Sprintf("disconnect container %s from %s", id, network),
		fmt.Errorf("container %s is not connected to network %s: %w", id, network, define.ErrNotConnected))
}

// addContainerNetworks appends networks to a container's inside tx.
func addContainerNetworks(ctx context.Context, tx *sql.Tx, id string, nets []NetworkAttachment) error {
	for _, a := range nets {
		_, err := tx.ExecContext(ctx, `INSERT INTO container_networks (container_id, network, position, options)
			VALUES (?1, ?2, (SELECT coalesce(max(position), -1) + 1 FROM container_networks WHERE container_id = ?1), ?3)`,
			id, a.Network, a.Options)
		var se sqlite3.Error
		switch {
		case errors.As(err, &se) && se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey:
			return fmt.Errorf("container %s is already connected to network %s: %w", id, a.Network, define.ErrNetworkConnected)
		case errors.As(err, &se) && se.Code == sqlite3.ErrConstraint:
			var exists bool
			if qerr := tx.QueryRowContext(ctx, `SELECT EXISTS(SELECT 1 FROM networks WHERE name = ?)`, a.Network).Scan(&exists); qerr == nil && !exists {
				return fmt.Errorf("unable to find network with name or ID %s: %w", a.Network, define.ErrNoSuchNetwork)
			}
			return fmt.Errorf("%q: %w", id, define.ErrNoSuchContainer)
		case err != nil:
			return fmt.Errorf("record network %s of container %s: %w", a.Network, id, err)
		}
	}
	return nil
}

// fillNetworks sets the Networks of each container record, in order.
func (d *DB) fillNetworks(ctx context.Context, ctrs []*Container) error {
	if len(ctrs) == 0 {
		return nil
	}
	q, args := `SELECT container_id, network, options FROM container_networks ORDER BY container_id, position`, []any{}
	if len(ctrs) == 1 {
		q, args = `SELECT container_id, network, options FROM container_networks WHERE container_id = ? ORDER BY position`, []any{ctrs[0].ID}
	}
	rows, err := d.db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("read container networks: %w", err)
	}
	defer func() { _ = rows.Close() }()
	byID := make(map[string]*Container, len(ctrs))
	for _, c := range ctrs {
		byID[c.ID] = c
	}
	for rows.Next() {
		var id string
		var a NetworkAttachment
		if err := rows.Scan(&id, &a.Network, &a.Options); err != nil {
			return fmt.Errorf("read container networks: %w", err)
		}
		if c := byID[id]; c != nil {
			c.Networks = append(c.Networks, a)
		}
	}
	return rows.Err()
}

func scanNetworks(rows *sql.Rows) ([]*Network, error) {
	return collect(rows, "networks", func() (*Network, error) {
		n := &Network{}
		var created int64
		if err := rows.Scan(&n.Name, &n.ID, &created, &n.Config); err != nil {
			return nil, err
		}
		n.Created = time.Unix(0, created)
		return n, nil
	})
}
