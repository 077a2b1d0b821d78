package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/dnadb/dnadb"
)

// orgID returns the id of the organisation named name, or ErrInvalid if there is
// none: a registration must come from a known organisation.
func orgID(ctx context.Context, tx *sql.Tx, name string) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM orgs WHERE name = $1`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, dnadb.Errorf(dnadb.ErrInvalid, "source %q is not a known organisation", name)
	}
	if err != nil {
		return 0, fmt.Errorf("look up organisation: %w", err)
	}
	return id, nil
}

// itemStatus returns the status of item id, or ErrNotFound.
func itemStatus(ctx context.Context, tx *sql.Tx, id int64) (dnadb.Status, error) {
	var st dnadb.Status
	err := tx.QueryRowContext(ctx, `SELECT status FROM items WHERE id = $1`, id).Scan(&st)
	if errors.Is(err, sql.ErrNoRows) {
		return "", dnadb.Errorf(dnadb.ErrNotFound, "item %d not found", id)
	}
	if err != nil {
		return "", fmt.Errorf("read item status: %w", err)
	}
	return st, nil
}

// insertSource records org's registration of item id.
func insertSource(ctx context.Context, tx *sql.Tx, id, org int64, ref string,
	now time.Time) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO item_sources (item_id, org_id, reference, added_at)
		VALUES ($1, $2, $3, $4)`, id, org, ref, now.UnixMicro())
	if err != nil {
		return fmt.Errorf("insert source: %w", err)
	}
	return nil
}

// itemTarget names an item as the target of an audited act.
func itemTarget(id int64) string { return "item:" + strconv.FormatInt(id, 10) }

// micros converts a time to the stored unix microseconds, zero staying zero.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// fromMicros converts stored unix microseconds to a time, zero staying zero.
func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}
