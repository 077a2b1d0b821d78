// Package sqlstore keeps the dnadb registry in a SQL database: SQLite by default, in
// one file, with schema migrations applied on open.
//
// All times are stored as unix microseconds set by the application, so that every
// backend and every test agrees on them. Every write is one transaction holding the
// item, its signals and its change log entry.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/dnadb/dnadb"
)

//go:embed migrations
var migrations embed.FS

// Store is a dnadb.Store over database/sql.
type Store struct {
	db *sql.DB
	// now returns the current time; tests may replace it.
	now func() time.Time
}

var _ dnadb.Store = (*Store)(nil)

// Open opens the store named by dsn and brings its schema up to date. A dsn is a
// path to a SQLite file, optionally written "sqlite:PATH"; the file is created if
// it does not exist.
func Open(ctx context.Context, dsn string) (*Store, error) {
	path := strings.TrimPrefix(dsn, "sqlite:")
	if path == "" {
		return nil, dnadb.Errorf(dnadb.ErrInvalid, "store: empty path")
	}
	if strings.Contains(path, "://") {
		return nil, dnadb.Errorf(dnadb.ErrUnsupported, "store %q: only SQLite files are supported",
			dsn)
	}

	// WAL lets readers run beside the single writer; an immediate transaction takes
	// the write lock at BEGIN, so two writers never deadlock upgrading a read lock.
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open store %q: %w", path, err)
	}

	s := &Store{db: db, now: time.Now}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %q: %w", path, err)
	}
	return s, nil
}

// migrate applies every pending schema migration.
func (s *Store) migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations/sqlite")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, s.db, sub)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// CreateItem stores a pending item, its signals and a "created" change in one
// transaction.
func (s *Store) CreateItem(ctx context.Context, n dnadb.NewItem) (dnadb.Item, error) {
	n, err := n.Normalize()
	if err != nil {
		return dnadb.Item{}, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)

	var id int64
	err = s.tx(ctx, func(tx *sql.Tx) error {
		// Insert the item itself.
		err := tx.QueryRowContext(ctx, `
			INSERT INTO items (category, source, reference, status, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $5) RETURNING id`,
			n.Category, n.Source, n.Reference, dnadb.StatusPending, now.UnixMicro(),
		).Scan(&id)
		if err != nil {
			return fmt.Errorf("insert item: %w", err)
		}

		// Insert its signals.
		for i, sg := range n.Signals {
			_, err := tx.ExecContext(ctx, `
				INSERT INTO signals (item_id, type, value, quality, profile)
				VALUES ($1, $2, $3, $4, $5)`,
				id, sg.Type, sg.Value, sg.Quality, sg.Profile)
			if err != nil {
				return fmt.Errorf("insert signal %d: %w", i, err)
			}
		}

		// Record the change, so that followers of the log see the new item.
		return appendChange(ctx, tx, id, dnadb.ChangeCreated, dnadb.StatusPending,
			n.Source, now)
	})
	if err != nil {
		return dnadb.Item{}, fmt.Errorf("create item: %w", err)
	}
	return s.Item(ctx, id)
}

// Item returns one item with its signals.
func (s *Store) Item(ctx context.Context, id int64) (dnadb.Item, error) {
	items, err := s.queryItems(ctx, `WHERE id = $1`, id)
	if err != nil {
		return dnadb.Item{}, fmt.Errorf("item %d: %w", id, err)
	}
	if len(items) == 0 {
		return dnadb.Item{}, dnadb.Errorf(dnadb.ErrNotFound, "item %d not found", id)
	}
	return items[0], nil
}

// Items lists items matching f in ascending id order.
func (s *Store) Items(ctx context.Context, f dnadb.ItemFilter) ([]dnadb.Item, error) {
	if f.Status != "" && !f.Status.Valid() {
		return nil, dnadb.Errorf(dnadb.ErrInvalid, "status %q is not valid", f.Status)
	}
	if f.Category != "" && !f.Category.Valid() {
		return nil, dnadb.Errorf(dnadb.ErrInvalid, "category %q is not valid", f.Category)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = dnadb.DefaultPageSize
	}
	if limit > dnadb.MaxPageSize {
		return nil, dnadb.Errorf(dnadb.ErrInvalid, "limit %d is over %d", limit,
			dnadb.MaxPageSize)
	}

	where := []string{"id > $1"}
	args := []any{f.After}
	add := func(col string, v string) {
		if v != "" {
			args = append(args, v)
			where = append(where, fmt.Sprintf("%s = $%d", col, len(args)))
		}
	}
	add("status", string(f.Status))
	add("category", string(f.Category))
	add("source", f.Source)
	args = append(args, limit)
	clause := fmt.Sprintf("WHERE %s ORDER BY id LIMIT $%d", strings.Join(where, " AND "),
		len(args))

	items, err := s.queryItems(ctx, clause, args...)
	if err != nil {
		return nil, fmt.Errorf("list items: %w", err)
	}
	return items, nil
}

// Decide moves item id to the status d leads to, recording actor and a change.
func (s *Store) Decide(ctx context.Context, id int64, d dnadb.Decision,
	actor string) (dnadb.Item, error) {
	to, ok := d.Status()
	if !ok {
		return dnadb.Item{}, dnadb.Errorf(dnadb.ErrInvalid,
			"decision %q is not confirm, reject or withdraw", d)
	}
	if actor == "" {
		return dnadb.Item{}, dnadb.Errorf(dnadb.ErrInvalid, "decision needs an actor")
	}
	now := s.now().UTC().Truncate(time.Microsecond)

	err := s.tx(ctx, func(tx *sql.Tx) error {
		// Read the current status inside the write transaction, so that two
		// evaluators deciding at once cannot both succeed from the same state.
		var from dnadb.Status
		err := tx.QueryRowContext(ctx, `SELECT status FROM items WHERE id = $1`, id).Scan(&from)
		if errors.Is(err, sql.ErrNoRows) {
			return dnadb.Errorf(dnadb.ErrNotFound, "item %d not found", id)
		}
		if err != nil {
			return err
		}
		if !d.Allowed(from) {
			return dnadb.Errorf(dnadb.ErrConflict, "item %d is %s: cannot %s it", id, from, d)
		}

		// Apply the decision and log it.
		_, err = tx.ExecContext(ctx, `
			UPDATE items SET status = $1, decided_by = $2, decided_at = $3, updated_at = $3
			WHERE id = $4`, to, actor, now.UnixMicro(), id)
		if err != nil {
			return fmt.Errorf("update item: %w", err)
		}
		return appendChange(ctx, tx, id, dnadb.ChangeDecided, to, actor, now)
	})
	if err != nil {
		return dnadb.Item{}, fmt.Errorf("decide item %d: %w", id, err)
	}
	return s.Item(ctx, id)
}

// Changes returns change log entries after seq after, in order.
func (s *Store) Changes(ctx context.Context, after int64, limit int) ([]dnadb.Change, error) {
	if limit <= 0 || limit > dnadb.MaxPageSize {
		limit = dnadb.MaxPageSize
	}
	rows, err := s.db.QueryContext(ctx, `
		SELECT seq, item_id, kind, status, actor, at FROM changes
		WHERE seq > $1 ORDER BY seq LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("changes: %w", err)
	}
	defer rows.Close()

	var out []dnadb.Change
	for rows.Next() {
		var c dnadb.Change
		var at int64
		if err := rows.Scan(&c.Seq, &c.ItemID, &c.Kind, &c.Status, &c.Actor, &at); err != nil {
			return nil, fmt.Errorf("changes: %w", err)
		}
		c.At = time.UnixMicro(at).UTC()
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("changes: %w", err)
	}
	return out, nil
}

// ConfirmedSignals returns every signal of type t of a confirmed item, read in one
// transaction together with the last change sequence number, so that a follower
// that continues from that number misses nothing.
func (s *Store) ConfirmedSignals(ctx context.Context,
	t dnadb.SignalType) ([]dnadb.IndexedSignal, int64, error) {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, fmt.Errorf("confirmed signals: %w", err)
	}
	defer tx.Rollback()

	var seq int64
	err = tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM changes`).Scan(&seq)
	if err != nil {
		return nil, 0, fmt.Errorf("confirmed signals: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `
		SELECT s.item_id, i.category, s.type, s.value, s.quality, s.profile
		FROM signals s JOIN items i ON i.id = s.item_id
		WHERE i.status = $1 AND s.type = $2 ORDER BY s.id`, dnadb.StatusConfirmed, t)
	if err != nil {
		return nil, 0, fmt.Errorf("confirmed signals: %w", err)
	}
	defer rows.Close()

	var out []dnadb.IndexedSignal
	for rows.Next() {
		var is dnadb.IndexedSignal
		sg := &is.Signal
		err := rows.Scan(&is.ItemID, &is.Category, &sg.Type, &sg.Value, &sg.Quality, &sg.Profile)
		if err != nil {
			return nil, 0, fmt.Errorf("confirmed signals: %w", err)
		}
		out = append(out, is)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("confirmed signals: %w", err)
	}
	return out, seq, nil
}

// queryItems runs a SELECT on items with the given clause and attaches signals.
func (s *Store) queryItems(ctx context.Context, clause string, args ...any) ([]dnadb.Item,
	error) {
	rows, err := s.db.QueryContext(ctx, `
		SELECT id, category, source, reference, status, created_at, updated_at,
			decided_by, decided_at
		FROM items `+clause, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()

	var items []dnadb.Item
	byID := map[int64]int{}
	for rows.Next() {
		var it dnadb.Item
		var created, updated, decided int64
		err := rows.Scan(&it.ID, &it.Category, &it.Source, &it.Reference, &it.Status,
			&created, &updated, &it.DecidedBy, &decided)
		if err != nil {
			return nil, err
		}
		it.CreatedAt = time.UnixMicro(created).UTC()
		it.UpdatedAt = time.UnixMicro(updated).UTC()
		if decided != 0 {
			it.DecidedAt = time.UnixMicro(decided).UTC()
		}
		it.Signals = []dnadb.Signal{}
		byID[it.ID] = len(items)
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return items, nil
	}

	// Attach the signals of the whole page with one query.
	srows, err := s.db.QueryContext(ctx, `
		SELECT item_id, type, value, quality, profile FROM signals
		WHERE item_id IN (SELECT id FROM items `+clause+`) ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	defer srows.Close()
	for srows.Next() {
		var id int64
		var sg dnadb.Signal
		if err := srows.Scan(&id, &sg.Type, &sg.Value, &sg.Quality, &sg.Profile); err != nil {
			return nil, err
		}
		if i, ok := byID[id]; ok {
			items[i].Signals = append(items[i].Signals, sg)
		}
	}
	return items, srows.Err()
}

// tx runs fn in a write transaction, committing if fn returns nil.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// appendChange adds one entry to the change log.
func appendChange(ctx context.Context, tx *sql.Tx, id int64, kind dnadb.ChangeKind,
	st dnadb.Status, actor string, at time.Time) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO changes (item_id, kind, status, actor, at) VALUES ($1, $2, $3, $4, $5)`,
		id, kind, st, actor, at.UnixMicro())
	if err != nil {
		return fmt.Errorf("append change: %w", err)
	}
	return nil
}
