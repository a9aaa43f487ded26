package state

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/engine-oss/engine/pkg/libengine/define"
)

// pickMatch chooses among the rows a name-or-ID lookup found: one whose
// name or ID is key exactly wins over prefixes of other IDs, a single
// prefix match is taken, none is notFound, several are ambiguous (kind
// names the thing, as in "use a longer id" messages).
func pickMatch[T any](rows []T, key string, exact func(T) bool, notFound error, kind, longer string) (T, error) {
	var zero T
	for _, r := range rows {
		if exact(r) {
			return r, nil
		}
	}
	switch len(rows) {
	case 0:
		return zero, notFound
	case 1:
		return rows[0], nil
	}
	return zero, fmt.Errorf("%q matches more than one %s: %s: %w", key, kind, longer, define.ErrInvalidArg)
}

// queryStrings runs a query of one text column and returns its values;
// what names the list in errors.
func (d *DB) queryStrings(ctx context.Context, what, query string, args ...any) ([]string, error) {
	rows, err := d.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return collect(rows, what, func() (string, error) {
		var s string
		err := rows.Scan(&s)
		return s, err
	})
}

// collect reads every row with row, which scans the current one, and
// closes rows; what names the rows in errors.
func collect[T any](rows *sql.Rows, what string, row func() (T, error)) ([]T, error) {
	defer func() { _ = rows.Close() }()
	var out []T
	for rows.Next() {
		v, err := row()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	return out, nil
}
