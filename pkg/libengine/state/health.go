package state

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Health is what a container's health checks found. A container without
// a health check, or never checked, has none.
type Health struct {
	// Status is "starting", "healthy" or "unhealthy".
	Status string `json:"status"`
	// FailingStreak counts the failed checks since the last one passed.
	FailingStreak int `json:"failingStreak,omitempty"`
	// Log holds the last checks, oldest first.
	Log []HealthLog `json:"log,omitempty"`
}

// HealthLog is one check.
type HealthLog struct {
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	ExitCode int       `json:"exitCode"`
	Output   string    `json:"output,omitempty"`
}

// Health returns a container's health, or nil when it has none recorded.
func (d *DB) Health(ctx context.Context, id string) (*Health, error) {
	var b []byte
	err := d.db.QueryRowContext(ctx, `SELECT health FROM container_health WHERE container_id = ?`, id).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("container %s: read health: %w", id, err)
	}
	h := &Health{}
	if err := json.Unmarshal(b, h); err != nil {
		return nil, fmt.Errorf("container %s: decode stored health: %w", id, err)
	}
	return h, nil
}

// Healths returns the recorded health of every container that has one,
// by container ID.
func (d *DB) Healths(ctx context.Context) (map[string]*Health, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT container_id, health FROM container_health`)
	if err != nil {
		return nil, fmt.Errorf("read health: %w", err)
	}
	defer func() { _ = rows.Close() }()
	out := map[string]*Health{}
	for rows.Next() {
		var id string
		var b []byte
		if err := rows.Scan(&id, &b); err != nil {
			return nil, fmt.Errorf("read health: %w", err)
		}
		h := &Health{}
		if err := json.Unmarshal(b, h); err != nil {
			return nil, fmt.Errorf("container %s: decode stored health: %w", id, err)
		}
		out[id] = h
	}
	return out, rows.Err()
}

// SetHealth records a container's health, replacing what was recorded.
// It returns define.ErrNoSuchContainer for an unknown container.
func (d *DB) SetHealth(ctx context.Context, id string, h *Health) error {
	b, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("container %s: encode health: %w", id, err)
	}
	res, err := d.db.ExecContext(ctx, `INSERT INTO container_health (container_id, health)
		SELECT id, ? FROM containers WHERE id = ?
		ON CONFLICT (container_id) DO UPDATE SET health = excluded.health`, b, id)
	return checkOne(res, err, id)
}
