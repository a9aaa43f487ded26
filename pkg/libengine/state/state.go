// Package state owns the engine's SQLite database: container records, their
// runtime state and the event log, with schema migrations. It knows nothing
// of runtimes, stores or processes; callers hold per-container locks around
// read-modify-write sequences that span more than one call.
package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/engine-oss/engine/pkg/libengine/define"
	sqlite3 "github.com/mattn/go-sqlite3"
)

// Container is one container's record.
type Container struct {
	ID        string
	Name      string
	ImageID   string
	ImageName string
	Command   []string
	Labels    map[string]string
	Created   time.Time
	// Config is the engine's description of the container (JSON), opaque here.
	Config []byte
	State  ContainerState
	// Volumes names the volumes the container mounts. AddContainer records
	// them with the container; while it exists, they cannot be removed.
	Volumes []string
	// Networks are the networks the container joins, in order. AddContainer
	// records them with the container; while it exists, they cannot be
	// removed.
	Networks []NetworkAttachment
	// Pod is the ID of the pod the container belongs to, or empty. While
	// it has containers, a pod cannot be removed.
	Pod string
}

// ContainerState is the part of a record that changes while it lives.
type ContainerState struct {
	Status       define.ContainerStatus
	Pid          int
	MonitorPid   int
	ExitCode     int
	StartedAt    time.Time
	FinishedAt   time.Time
	RestartCount int
	// StoppedByUser is set by stop and cleared by start, so a restart
	// policy does not bring back a container the user stopped.
	StoppedByUser bool
	// Error is the last failure to start, shown by inspect.
	Error string
	// OOMKilled is set when the kernel's OOM killer ended the container's
	// last run, and cleared by start.
	OOMKilled bool
}

// Event is one entry of the event log.
type Event struct {
	Time       time.Time
	Type       string // container, image, volume, pod, network
	Action     string // create, start, die, pull, ...
	ID         string
	Name       string
	Attributes map[string]string
}

// EventFilter selects events; zero fields match everything.
type EventFilter struct {
	Since, Until time.Time
	AfterSeq     int64
}

// DB is an open state database. It is safe for concurrent use, and many
// processes may open the same file at once.
type DB struct {
	db *sql.DB
}

// Open opens (creating and migrating if needed) the database at path.
func Open(ctx context.Context, path string) (*DB, error) {
	q := url.Values{}
	q.Set("_busy_timeout", "30000")
	q.Set("_journal_mode", "WAL")
	q.Set("_foreign_keys", "on")
	q.Set("_synchronous", "NORMAL")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite3", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open state database %s: %w", path, err)
	}
	d := &DB{db: db}
	if err := d.migrate(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("state database %s: %w", path, err)
	}
	return d, nil
}

// Close closes the database.
func (d *DB) Close() error { return d.db.Close() }

// migrations are applied in order; the schema version is their count.
var migrations = []string{
	`CREATE TABLE containers (
		id TEXT PRIMARY KEY,
		name TEXT NOT NULL UNIQUE,
		image_id TEXT NOT NULL,
		image_name TEXT NOT NULL,
		command TEXT NOT NULL,
		labels TEXT NOT NULL,
		created INTEGER NOT NULL,
		config BLOB NOT NULL,
		status TEXT NOT NULL,
		pid INTEGER NOT NULL DEFAULT 0,
		monitor_pid INTEGER NOT NULL DEFAULT 0,
		exit_code INTEGER NOT NULL DEFAULT 0,
		started_at INTEGER NOT NULL DEFAULT 0,
		finished_at INTEGER NOT NULL DEFAULT 0,
		restart_count INTEGER NOT NULL DEFAULT 0,
		stopped_by_user INTEGER NOT NULL DEFAULT 0,
		error TEXT NOT NULL DEFAULT ''
	);
	CREATE TABLE events (
		seq INTEGER PRIMARY KEY AUTOINCREMENT,
		time INTEGER NOT NULL,
		type TEXT NOT NULL,
		action TEXT NOT NULL,
		object_id TEXT NOT NULL,
		name TEXT NOT NULL,
		attributes TEXT NOT NULL
	);
	CREATE INDEX events_time ON events(time);`,
	// 2: volumes, and which containers mount them.
	`CREATE TABLE volumes (
		name TEXT PRIMARY KEY,
		driver TEXT NOT NULL,
		mountpoint TEXT NOT NULL,
		created INTEGER NOT NULL,
		labels TEXT NOT NULL,
		options TEXT NOT NULL,
		anonymous INTEGER NOT NULL DEFAULT 0,
		uid INTEGER NOT NULL DEFAULT -1,
		gid INTEGER NOT NULL DEFAULT -1,
		needs_copy_up INTEGER NOT NULL DEFAULT 0,
		needs_chown INTEGER NOT NULL DEFAULT 0,
		mount_count INTEGER NOT NULL DEFAULT 0
	);
	CREATE TABLE container_volumes (
		container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
		volume TEXT NOT NULL REFERENCES volumes(name) ON DELETE RESTRICT,
		PRIMARY KEY (container_id, volume)
	);
	CREATE INDEX container_volumes_volume ON container_volumes(volume);`,
	// 3: networks, and which containers join them.
	`CREATE TABLE networks (
		name TEXT PRIMARY KEY,
		id TEXT NOT NULL UNIQUE,
		created INTEGER NOT NULL,
		config BLOB NOT NULL
	);
	CREATE TABLE container_networks (
		container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
		network TEXT NOT NULL REFERENCES networks(name) ON DELETE RESTRICT,
		position INTEGER NOT NULL,
		options BLOB NOT NULL,
		PRIMARY KEY (container_id, network)
	);
	CREATE INDEX container_networks_network ON container_networks(network);`,
	// 4: health check results (see health.go).
	`CREATE TABLE container_health (
		container_id TEXT PRIMARY KEY REFERENCES containers(id) ON DELETE CASCADE,
		health BLOB NOT NULL
	);`,
	// 5: pods (see pod.go), and the pod of each container.
	`CREATE TABLE pods (
		id TEXT PRIMARY KEY,
		name TEXT NOT NULL UNIQUE,
		created INTEGER NOT NULL,
		labels TEXT NOT NULL,
		infra_id TEXT NOT NULL DEFAULT '',
		config BLOB NOT NULL
	);
	ALTER TABLE containers ADD COLUMN pod_id TEXT REFERENCES pods(id) ON DELETE RESTRICT;
	CREATE INDEX containers_pod ON containers(pod_id);`,
	// 6: whether the OOM killer ended the container's last run.
	`ALTER TABLE containers ADD COLUMN oom_killed INTEGER NOT NULL DEFAULT 0;`,
}

func (d *DB) migrate(ctx context.Context) error {
	// Most opens find the schema current: check without the write lock a
	// migration transaction takes, so concurrent invocations do not queue.
	var current int
	if err := d.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&current); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if current == len(migrations) {
		return nil
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin migration: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this engine knows (%d): upgrade engine", version, len(migrations))
	}
	if version == len(migrations) {
		return nil
	}
	for i := version; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migrations))); err != nil {
		return fmt.Errorf("write schema version: %w", err)
	}
	return tx.Commit()
}

const containerColumns = `id, name, image_id, image_name, command, labels, created, config,
	status, pid, monitor_pid, exit_code, started_at, finished_at, restart_count, stopped_by_user, error, pod_id, oom_killed`

// AddContainer inserts a new record with its volumes. A taken name gives
// define.ErrCtrExists; a volume that does not exist define.ErrNoSuchVolume;
// a pod that does not exist define.ErrNoSuchPod.
func (d *DB) AddContainer(ctx context.Context, c *Container) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("add container %s: %w", c.Name, err)
	}
	defer func() { _ = tx.Rollback() }()
	_, err = tx.ExecContext(ctx, `INSERT INTO containers (`+containerColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.Name, c.ImageID, c.ImageName, mustJSON(c.Command), mustJSON(c.Labels), c.Created.UnixNano(), c.Config,
		string(c.State.Status), c.State.Pid, c.State.MonitorPid, c.State.ExitCode,
		unixNano(c.State.StartedAt), unixNano(c.State.FinishedAt), c.State.RestartCount, c.State.StoppedByUser, c.State.Error,
		sql.NullString{String: c.Pod, Valid: c.Pod != ""}, c.State.OOMKilled)
	var se sqlite3.Error
	if errors.As(err, &se) && se.ExtendedCode == sqlite3.ErrConstraintUnique {
		return fmt.Errorf("name %q: %w", c.Name, define.ErrCtrExists)
	}
	if errors.As(err, &se) && se.ExtendedCode == sqlite3.ErrConstraintForeignKey {
		return fmt.Errorf("container %s: pod %s: %w", c.Name, c.Pod, define.ErrNoSuchPod)
	}
	if err != nil {
		return fmt.Errorf("add container %s: %w", c.Name, err)
	}
	if err := addContainerVolumes(ctx, tx, c.ID, c.Volumes); err != nil {
		return err
	}
	if err := addContainerNetworks(ctx, tx, c.ID, c.Networks); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("add container %s: %w", c.Name, err)
	}
	return nil
}

// Container finds a record by full ID, exact name, or unique ID prefix.
func (d *DB) Container(ctx context.Context, idOrName string) (*Container, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+containerColumns+` FROM containers
		WHERE id = ?1 OR name = ?1 OR (length(?1) >= 3 AND substr(id, 1, length(?1)) = ?1) LIMIT 3`, idOrName)
	if err != nil {
		return nil, fmt.Errorf("look up container %q: %w", idOrName, err)
	}
	ctrs, err := scanContainers(rows)
	if err != nil {
		return nil, err
	}
	found, err := pickMatch(ctrs, idOrName, func(c *Container) bool { return c.ID == idOrName || c.Name == idOrName },
		fmt.Errorf("%q: %w", idOrName, define.ErrNoSuchContainer), "container", "use a longer id")
	if err != nil {
		return nil, err
	}
	if err := d.fillVolumes(ctx, []*Container{found}); err != nil {
		return nil, err
	}
	if err := d.fillNetworks(ctx, []*Container{found}); err != nil {
		return nil, err
	}
	return found, nil
}

// Containers lists every record, oldest first.
func (d *DB) Containers(ctx context.Context) ([]*Container, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+containerColumns+` FROM containers ORDER BY created`)
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	ctrs, err := scanContainers(rows)
	if err != nil {
		return nil, err
	}
	if err := d.fillVolumes(ctx, ctrs); err != nil {
		return nil, err
	}
	return ctrs, d.fillNetworks(ctx, ctrs)
}

// UpdateState replaces a container's changing state.
func (d *DB) UpdateState(ctx context.Context, id string, st ContainerState) error {
	res, err := d.db.ExecContext(ctx, `UPDATE containers SET status = ?, pid = ?, monitor_pid = ?, exit_code = ?,
		started_at = ?, finished_at = ?, restart_count = ?, stopped_by_user = ?, error = ?, oom_killed = ? WHERE id = ?`,
		string(st.Status), st.Pid, st.MonitorPid, st.ExitCode, unixNano(st.StartedAt), unixNano(st.FinishedAt),
		st.RestartCount, st.StoppedByUser, st.Error, st.OOMKilled, id)
	return checkOne(res, err, id)
}

// Rename changes a container's name; a taken name gives define.ErrCtrExists.
func (d *DB) Rename(ctx context.Context, id, name string) error {
	res, err := d.db.ExecContext(ctx, `UPDATE containers SET name = ? WHERE id = ?`, name, id)
	var se sqlite3.Error
	if errors.As(err, &se) && se.ExtendedCode == sqlite3.ErrConstraintUnique {
		return fmt.Errorf("name %q: %w", name, define.ErrCtrExists)
	}
	return checkOne(res, err, id)
}

// RemoveContainer deletes a record.
func (d *DB) RemoveContainer(ctx context.Context, id string) error {
	res, err := d.db.ExecContext(ctx, `DELETE FROM containers WHERE id = ?`, id)
	return checkOne(res, err, id)
}

// AddEvent appends to the event log.
func (d *DB) AddEvent(ctx context.Context, ev Event) error {
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	_, err := d.db.ExecContext(ctx, `INSERT INTO events (time, type, action, object_id, name, attributes)
		VALUES (?, ?, ?, ?, ?, ?)`, ev.Time.UnixNano(), ev.Type, ev.Action, ev.ID, ev.Name, mustJSON(ev.Attributes))
	if err != nil {
		return fmt.Errorf("record %s %s event: %w", ev.Type, ev.Action, err)
	}
	return nil
}

// Events returns matching events in order with their sequence numbers, so a
// follower can ask for what came after the last one it saw.
func (d *DB) Events(ctx context.Context, f EventFilter) ([]Event, []int64, error) {
	var conds []string
	var args []any
	if !f.Since.IsZero() {
		conds, args = append(conds, "time >= ?"), append(args, f.Since.UnixNano())
	}
	if !f.Until.IsZero() {
		conds, args = append(conds, "time <= ?"), append(args, f.Until.UnixNano())
	}
	if f.AfterSeq > 0 {
		conds, args = append(conds, "seq > ?"), append(args, f.AfterSeq)
	}
	q := `SELECT seq, time, type, action, object_id, name, attributes FROM events`
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	rows, err := d.db.QueryContext(ctx, q+" ORDER BY seq", args...)
	if err != nil {
		return nil, nil, fmt.Errorf("read events: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var evs []Event
	var seqs []int64
	for rows.Next() {
		var ev Event
		var seq, t int64
		var attrs string
		if err := rows.Scan(&seq, &t, &ev.Type, &ev.Action, &ev.ID, &ev.Name, &attrs); err != nil {
			return nil, nil, fmt.Errorf("read event: %w", err)
		}
		ev.Time = time.Unix(0, t)
		if err := unmarshalJSON(attrs, &ev.Attributes); err != nil {
			return nil, nil, err
		}
		evs, seqs = append(evs, ev), append(seqs, seq)
	}
	return evs, seqs, rows.Err()
}

func scanContainers(rows *sql.Rows) ([]*Container, error) {
	return collect(rows, "containers", func() (*Container, error) {
		c := &Container{}
		var command, labels, status string
		var created, started, finished int64
		var pod sql.NullString
		if err := rows.Scan(&c.ID, &c.Name, &c.ImageID, &c.ImageName, &command, &labels, &created, &c.Config,
			&status, &c.State.Pid, &c.State.MonitorPid, &c.State.ExitCode, &started, &finished,
			&c.State.RestartCount, &c.State.StoppedByUser, &c.State.Error, &pod, &c.State.OOMKilled); err != nil {
			return nil, err
		}
		c.Created = time.Unix(0, created)
		c.Pod = pod.String
		c.State.Status = define.ContainerStatus(status)
		c.State.StartedAt = fromUnixNano(started)
		c.State.FinishedAt = fromUnixNano(finished)
		if err := unmarshalJSON(command, &c.Command); err != nil {
			return nil, err
		}
		if err := unmarshalJSON(labels, &c.Labels); err != nil {
			return nil, err
		}
		return c, nil
	})
}

// affectedOne turns the result of a statement on one row into an error:
// err wrapped with the object's name, or notFound when no row matched.
func affectedOne(res sql.Result, err error, name string, notFound error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if n == 0 {
		return notFound
	}
	return nil
}

// checkOne is affectedOne for a container.
func checkOne(res sql.Result, err error, id string) error {
	return affectedOne(res, err, "container "+id, fmt.Errorf("%q: %w", id, define.ErrNoSuchContainer))
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}
