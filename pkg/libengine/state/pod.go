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

// Pod is a pod's record. Its containers name it in Container.Pod; while it
// has any, it cannot be removed.
type Pod struct {
	ID      string
	Name    string
	Created time.Time
	Labels  map[string]string
	// InfraID is the pod's infra container, empty for a pod without one
	// (or while PodCreate has not made it yet).
	InfraID string
	// Config is the engine's description of the pod (JSON), opaque here.
	Config []byte
}

const podColumns = `id, name, created, labels, infra_id, config`

// AddPod inserts a pod. A taken name gives define.ErrPodExists.
func (d *DB) AddPod(ctx context.Context, p *Pod) error {
	_, err := d.db.ExecContext(ctx, `INSERT INTO pods (`+podColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
		p.ID, p.Name, p.Created.UnixNano(), mustJSON(p.Labels), p.InfraID, p.Config)
	var se sqlite3.Error
	if errors.As(err, &se) && se.Code == sqlite3.ErrConstraint {
		return fmt.Errorf("name %q is in use: %w", p.Name, define.ErrPodExists)
	}
	if err != nil {
		return fmt.Errorf("add pod %s: %w", p.Name, err)
	}
	return nil
}

// SetPodInfra records the pod's infra container.
func (d *DB) SetPodInfra(ctx context.Context, podID, infraID string) error {
	res, err := d.db.ExecContext(ctx, `UPDATE pods SET infra_id = ? WHERE id = ?`, infraID, podID)
	return checkOnePod(res, err, podID)
}

// Pod finds a pod by full ID, exact name, or unique ID prefix (at least 3
// characters). Errors wrap define.ErrNoSuchPod, or define.ErrInvalidArg for
// an ambiguous prefix.
func (d *DB) Pod(ctx context.Context, idOrName string) (*Pod, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+podColumns+` FROM pods
		WHERE id = ?1 OR name = ?1 OR (length(?1) >= 3 AND substr(id, 1, length(?1)) = ?1) LIMIT 3`, idOrName)
	if err != nil {
		return nil, fmt.Errorf("look up pod %q: %w", idOrName, err)
	}
	pods, err := scanPods(rows)
	if err != nil {
		return nil, err
	}
	return pickMatch(pods, idOrName, func(p *Pod) bool { return p.ID == idOrName || p.Name == idOrName },
		fmt.Errorf("no pod with name or ID %s found: %w", idOrName, define.ErrNoSuchPod), "pod", "use a longer id")
}

// Pods lists every pod, oldest first.
func (d *DB) Pods(ctx context.Context) ([]*Pod, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+podColumns+` FROM pods ORDER BY created`)
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	return scanPods(rows)
}

// PodContainers returns the IDs of a pod's containers, oldest first.
func (d *DB) PodContainers(ctx context.Context, podID string) ([]string, error) {
	return d.queryStrings(ctx, "containers of pod "+podID, `SELECT id FROM containers WHERE pod_id = ? ORDER BY created`, podID)
}

// RemovePod deletes a pod that has no containers left. Errors wrap
// define.ErrNoSuchPod, or define.ErrCtrStateInvalid while containers
// belong to it.
func (d *DB) RemovePod(ctx context.Context, id string) error {
	res, err := d.db.ExecContext(ctx, `DELETE FROM pods WHERE id = ?`, id)
	var se sqlite3.Error
	if errors.As(err, &se) && se.Code == sqlite3.ErrConstraint {
		return fmt.Errorf("pod %s still has containers: remove them first: %w", id, define.ErrCtrStateInvalid)
	}
	return checkOnePod(res, err, id)
}

func scanPods(rows *sql.Rows) ([]*Pod, error) {
	return collect(rows, "pods", func() (*Pod, error) {
		p := &Pod{}
		var created int64
		var labels string
		if err := rows.Scan(&p.ID, &p.Name, &created, &labels, &p.InfraID, &p.Config); err != nil {
			return nil, err
		}
		p.Created = time.Unix(0, created)
		if err := unmarshalJSON(labels, &p.Labels); err != nil {
			return nil, err
		}
		return p, nil
	})
}

func checkOnePod(res sql.Result, err error, id string) error {
	return affectedOne(res, err, "pod "+id, fmt.Errorf("no pod with name or ID %s found: %w", id, define.ErrNoSuchPod))
}
