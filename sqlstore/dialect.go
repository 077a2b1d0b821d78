package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/pressly/goose/v3"
)

// writeLockKey is the PostgreSQL advisory lock that every write transaction holds.
// It is "dnadb" in ASCII; any other program sharing the database must not use it.
const writeLockKey int64 = 0x646e616462

// dialect holds what differs between the databases the store runs on. The query
// text itself is shared: both drivers bind $N placeholders by number.
type dialect struct {
	// driver is the database/sql driver name.
	driver string
	// goose is the migration dialect, and migrations the folder of the embedded
	// migrations filesystem that holds the backend's migrations.
	goose      goose.Dialect
	migrations string
	// snapshot is the isolation level of a read-only transaction whose queries must
	// all see one snapshot of the database.
	snapshot sql.IsolationLevel
	// lockWrites says whether a write transaction begins by taking writeLockKey.
	lockWrites bool
}

var (
	// sqliteDialect is SQLite through modernc.org/sqlite. The DSN that Open builds
	// begins every transaction with BEGIN IMMEDIATE, so writers already run one at
	// a time, and a transaction always reads one snapshot.
	sqliteDialect = dialect{
		driver:     "sqlite",
		goose:      goose.DialectSQLite3,
		migrations: "migrations/sqlite",
		snapshot:   sql.LevelDefault,
	}

	// postgresDialect is PostgreSQL through pgx's database/sql driver.
	//
	// PostgreSQL hands out identity values when a row is inserted, not when it
	// commits, so two concurrent writers could commit change seq 8 before seq 7; a
	// follower that has read 8 and continues after it would never see 7. Each write
	// transaction therefore first takes one advisory lock, held until it ends: seq
	// values, and the audit chain that reads the last entry to append the next,
	// are then allocated and committed in one order.
	//
	// The default isolation, READ COMMITTED, gives every statement its own
	// snapshot, so a read of several statements that must agree (the last seq and
	// the rows it covers) uses REPEATABLE READ.
	postgresDialect = dialect{
		driver:     "pgx",
		goose:      goose.DialectPostgres,
		migrations: "migrations/postgres",
		snapshot:   sql.LevelRepeatableRead,
		lockWrites: true,
	}
)

// isPostgresURL reports whether dsn is a PostgreSQL connection URL.
func isPostgresURL(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// redactDSN returns dsn with any password replaced, for messages.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://..."
	}
	return u.Redacted()
}

// beginWrite begins a write transaction in dialect d.
func (d dialect) beginWrite(ctx context.Context, db *sql.DB) (*sql.Tx, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	if d.lockWrites {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`,
			writeLockKey); err != nil {
			tx.Rollback()
			return nil, fmt.Errorf("take write lock: %w", err)
		}
	}
	return tx, nil
}

// reserveItemID takes the next id of the items' sequence without leaving an item,
// so that no item is ever given it.
func (d dialect) reserveItemID(ctx context.Context, tx *sql.Tx) (int64, error) {
	var id int64
	if d.driver == "pgx" {
		err := tx.QueryRowContext(ctx,
			`SELECT nextval(pg_get_serial_sequence('items', 'id'))`).Scan(&id)
		if err != nil {
			return 0, fmt.Errorf("reserve item id: %w", err)
		}
		return id, nil
	}
	// SQLite's AUTOINCREMENT never hands out an id again, even once its row is
	// gone.
	err := tx.QueryRowContext(ctx, `
		INSERT INTO items (category, status, created_at, updated_at)
		VALUES ('other', 'reserved', 0, 0) RETURNING id`).Scan(&id)
	if err == nil {
		_, err = tx.ExecContext(ctx, `DELETE FROM items WHERE id = $1`, id)
	}
	if err != nil {
		return 0, fmt.Errorf("reserve item id: %w", err)
	}
	return id, nil
}
