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

// Volume is one volume's record. The relation of containers to the volumes
// they mount (Container.Volumes) keeps a volume in use from being removed.
type Volume struct {
	Name   string
	Driver string
	// Mountpoint is the host directory containers bind-mount.
	Mountpoint string
	Created    time.Time
	Labels     map[string]string
	// Options are the driver options as given when the volume was created.
	Options map[string]string
	// Anonymous is set for a volume made for one container's mount rather
	// than by name; removing that container with its volumes removes it.
	Anonymous bool
	// UID and GID own the volume's root when set at creation; -1 is unset.
	UID, GID int
	State    VolumeState
}

// VolumeState is the part of a volume record that changes with use.
type VolumeState struct {
	// NeedsCopyUp is set until a container mounting the volume fills it
	// from its image's content at the mount destination.
	NeedsCopyUp bool
	// NeedsChown is set until a container mounting the volume gives its
	// root to the container's user.
	NeedsChown bool
	// MountCount counts the users of a volume whose filesystem the engine
	// mounts (one with a device or a type); zero means unmounted.
	MountCount int
}

const volumeColumns = `name, driver, mountpoint, created, labels, options, anonymous, uid, gid,
	needs_copy_up, needs_chown, mount_count`

// AddVolume inserts a new record. A taken name gives define.ErrVolumeExists.
func (d *DB) AddVolume(ctx context.Context, v *Volume) error {
	_, err := d.db.ExecContext(ctx, `INSERT INTO volumes (`+volumeColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		v.Name, v.Driver, v.Mountpoint, v.Created.UnixNano(), mustJSON(v.Labels), mustJSON(v.Options), v.Anonymous,
		v.UID, v.GID, v.State.NeedsCopyUp, v.State.NeedsChown, v.State.MountCount)
	var se sqlite3.Error
	if errors.As(err, &se) && se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey {
		return fmt.Errorf("volume %q: %w", v.Name, define.ErrVolumeExists)
	}
	if err != nil {
		return fmt.Errorf("add volume %s: %w", v.Name, err)
	}
	return nil
}

// Volume finds a record by exact name or, failing that, by unique name
// prefix of at least 3 characters. Errors wrap define.ErrNoSuchVolume, or
// define.ErrInvalidArg for an ambiguous prefix.
func (d *DB) Volume(ctx context.Context, nameOrPrefix string) (*Volume, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+volumeColumns+` FROM volumes
		WHERE name = ?1 OR (length(?1) >= 3 AND substr(name, 1, length(?1)) = ?1) LIMIT 3`, nameOrPrefix)
	if err != nil {
		return nil, fmt.Errorf("look up volume %q: %w", nameOrPrefix, err)
	}
	vols, err := scanVolumes(rows)
	if err != nil {
		return nil, err
	}
	return pickMatch(vols, nameOrPrefix, func(v *Volume) bool { return v.Name == nameOrPrefix },
		fmt.Errorf("%s: %w", nameOrPrefix, define.ErrNoSuchVolume), "volume", "use the full name")
}

// Volumes lists every record, oldest first.
func (d *DB) Volumes(ctx context.Context) ([]*Volume, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+volumeColumns+` FROM volumes ORDER BY created, name`)
	if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	return scanVolumes(rows)
}

// UpdateVolumeState replaces a volume's changing state.
func (d *DB) UpdateVolumeState(ctx context.Context, name string, st VolumeState) error {
	res, err := d.db.ExecContext(ctx, `UPDATE volumes SET needs_copy_up = ?, needs_chown = ?, mount_count = ? WHERE name = ?`,
		st.NeedsCopyUp, st.NeedsChown, st.MountCount, name)
	return checkOneVolume(res, err, name)
}

// ResetVolumeMounts sets every mount count to zero, for after a reboot.
func (d *DB) ResetVolumeMounts(ctx context.Context) error {
	if _, err := d.db.ExecContext(ctx, `UPDATE volumes SET mount_count = 0`); err != nil {
		return fmt.Errorf("reset volume mount counts: %w", err)
	}
	return nil
}

// RemoveVolume deletes a record. A volume some container uses is kept and
// gives define.ErrVolumeInUse; a missing one define.ErrNoSuchVolume.
func (d *DB) RemoveVolume(ctx context.Context, name string) error {
	res, err := d.db.ExecContext(ctx, `DELETE FROM volumes WHERE name = ?`, name)
	// A volume row can only fail the foreign key of container_volumes
	// (SQLite reports a RESTRICT failure with the plain constraint code).
	var se sqlite3.Error
	if errors.As(err, &se) && se.Code == sqlite3.ErrConstraint {
		return fmt.Errorf("volume %s: %w", name, define.ErrVolumeInUse)
	}
	return checkOneVolume(res, err, name)
}

// VolumeUsers returns the IDs of the containers that mount a volume.
func (d *DB) VolumeUsers(ctx context.Context, name string) ([]string, error) {
	return d.queryStrings(ctx, "users of volume "+name,
		`SELECT container_id FROM container_volumes WHERE volume = ? ORDER BY container_id`, name)
}

// addContainerVolumes records, inside the transaction adding a container,
// the volumes it mounts. A volume removed meanwhile gives
// define.ErrNoSuchVolume.
func addContainerVolumes(ctx context.Context, tx *sql.Tx, id string, volumes []string) error {
	for _, v := range volumes {
		_, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO container_volumes (container_id, volume) VALUES (?, ?)`, id, v)
		var se sqlite3.Error
		if errors.As(err, &se) && se.Code == sqlite3.ErrConstraint { // the only constraint left is the foreign key
			return fmt.Errorf("volume %s was removed while the container was created: %w", v, define.ErrNoSuchVolume)
		}
		if err != nil {
			return fmt.Errorf("record volume %s of container %s: %w", v, id, err)
		}
	}
	return nil
}

// fillVolumes sets the Volumes of each container record from the relation.
func (d *DB) fillVolumes(ctx context.Context, ctrs []*Container) error {
	if len(ctrs) == 0 {
		return nil
	}
	q, args := `SELECT container_id, volume FROM container_volumes ORDER BY volume`, []any{}
	if len(ctrs) == 1 {
		q, args = `SELECT container_id, volume FROM container_volumes WHERE container_id = ? ORDER BY volume`, []any{ctrs[0].ID}
	}
	rows, err := d.db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("read container volumes: %w", err)
	}
	defer func() { _ = rows.Close() }()
	byID := make(map[string]*Container, len(ctrs))
	for _, c := range ctrs {
		byID[c.ID] = c
	}
	for rows.Next() {
		var id, vol string
		if err := rows.Scan(&id, &vol); err != nil {
			return fmt.Errorf("read container volumes: %w", err)
		}
		if c := byID[id]; c != nil {
			c.Volumes = append(c.Volumes, vol)
		}
	}
	return rows.Err()
}

func scanVolumes(rows *sql.Rows) ([]*Volume, error) {
	return collect(rows, "volumes", func() (*Volume, error) {
		v := &Volume{}
		var labels, options string
		var created int64
		if err := rows.Scan(&v.Name, &v.Driver, &v.Mountpoint, &created, &labels, &options, &v.Anonymous, &v.UID, &v.GID,
			&v.State.NeedsCopyUp, &v.State.NeedsChown, &v.State.MountCount); err != nil {
			return nil, err
		}
		v.Created = time.Unix(0, created)
		if err := unmarshalJSON(labels, &v.Labels); err != nil {
			return nil, err
		}
		if err := unmarshalJSON(options, &v.Options); err != nil {
			return nil, err
		}
		return v, nil
	})
}

func checkOneVolume(res sql.Result, err error, name string) error {
	return affectedOne(res, err, "volume "+name, fmt.Errorf("%s: %w", name, define.ErrNoSuchVolume))
}
