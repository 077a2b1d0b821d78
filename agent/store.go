package agent

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/dnadb/dnadb"
)

//go:embed migrations
var migrations embed.FS

// Store is the agent's own SQLite copy of the distributable set and the feed
// cursor it reflects. Each change to it is one transaction that moves the cursor
// with the entries, so a copy never holds a page without its cursor, or the
// reverse.
type Store struct {
	db *sql.DB
}

// State is where a copy stands.
type State struct {
	// Cursor is the feed cursor to continue from; empty when the copy was never
	// filled, and a snapshot is needed.
	Cursor string
	// SyncedAt is when the central server last answered; zero if never.
	SyncedAt time.Time
	// Entries is the number of items in the copy.
	Entries int
}

// OpenStore opens the SQLite file at path, creating it if need be, and brings its
// schema up to date.
func OpenStore(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, dnadb.Errorf(dnadb.ErrInvalid, "agent store: empty path")
	}
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open agent store %q: %w", path, err)
	}
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		db.Close()
		return nil, err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, sub)
	if err == nil {
		_, err = p.Up(ctx)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open agent store %q: migrate: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// State reads where the copy stands.
func (s *Store) State(ctx context.Context) (State, error) {
	var st State
	var synced int64
	err := s.db.QueryRowContext(ctx,
		`SELECT cursor, synced_at FROM feed_state WHERE id = 1`).Scan(&st.Cursor, &synced)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return st, fmt.Errorf("read feed state: %w", err)
	default:
		st.SyncedAt = time.UnixMilli(synced)
	}
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM entries`).Scan(&st.Entries); err != nil {
		return st, fmt.Errorf("count entries: %w", err)
	}
	return st, nil
}

// Each calls fn with every item of the copy, in item order.
func (s *Store) Each(ctx context.Context, fn func(dnadb.FeedItem) error) error {
	rows, err := s.db.QueryContext(ctx,
		`SELECT item_id, category, signals FROM entries ORDER BY item_id`)
	if err != nil {
		return fmt.Errorf("read entries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var it dnadb.FeedItem
		var sigs string
		if err := rows.Scan(&it.ItemID, &it.Category, &sigs); err != nil {
			return fmt.Errorf("read entries: %w", err)
		}
		if err := json.Unmarshal([]byte(sigs), &it.Signals); err != nil {
			return fmt.Errorf("read entry of item %d: %w", it.ItemID, err)
		}
		if err := fn(it); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Apply applies one page of the feed and moves the cursor to cursor, in one
// transaction. An add replaces what the copy held for its item; a remove of an
// item the copy lacks is no error. It returns the number of entries after.
func (s *Store) Apply(ctx context.Context, entries []dnadb.FeedEntry, cursor string,
	at time.Time) (int, error) {
	var n int
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, e := range entries {
			if err := applyEntry(ctx, tx, e); err != nil {
				return fmt.Errorf("item %d: %w", e.ItemID, err)
			}
		}
		return finish(ctx, tx, cursor, at, &n)
	})
	if err != nil {
		return 0, fmt.Errorf("apply feed page: %w", err)
	}
	return n, nil
}

// Replace makes the copy the snapshot that load streams, through add, and moves
// the cursor to what load returns, in one transaction: a snapshot cut short
// leaves the copy as it was.
func (s *Store) Replace(ctx context.Context,
	load func(add func(dnadb.FeedItem) error) (string, error), at time.Time) (int, error) {
	var n int
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM entries`); err != nil {
			return err
		}
		cursor, err := load(func(it dnadb.FeedItem) error {
			return applyEntry(ctx, tx, dnadb.FeedEntry{Op: dnadb.FeedAdd, ItemID: it.ItemID,
				Category: it.Category, Signals: it.Signals})
		})
		if err != nil {
			return err
		}
		return finish(ctx, tx, cursor, at, &n)
	})
	if err != nil {
		return 0, fmt.Errorf("load snapshot: %w", err)
	}
	return n, nil
}

// Touch records that the central server answered at at, with nothing new.
func (s *Store) Touch(ctx context.Context, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE feed_state SET synced_at = $1 WHERE id = 1`,
		at.UnixMilli())
	if err != nil {
		return fmt.Errorf("record sync time: %w", err)
	}
	return nil
}

// tx runs fn in a transaction, committing if it returns nil.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// applyEntry writes one feed entry.
func applyEntry(ctx context.Context, tx *sql.Tx, e dnadb.FeedEntry) error {
	switch e.Op {
	case dnadb.FeedAdd:
		sigs, err := json.Marshal(e.Signals)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO entries (item_id, category, signals)
			VALUES ($1, $2, $3) ON CONFLICT (item_id) DO UPDATE
			SET category = excluded.category, signals = excluded.signals`,
			e.ItemID, e.Category, string(sigs))
		return err
	case dnadb.FeedRemove:
		_, err := tx.ExecContext(ctx, `DELETE FROM entries WHERE item_id = $1`, e.ItemID)
		return err
	}
	return dnadb.Errorf(dnadb.ErrInvalid, "feed op %q is not add or remove", e.Op)
}

// finish moves the cursor and counts the entries, at the end of a transaction.
func finish(ctx context.Context, tx *sql.Tx, cursor string, at time.Time, n *int) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO feed_state (id, cursor, synced_at)
		VALUES (1, $1, $2) ON CONFLICT (id) DO UPDATE
		SET cursor = excluded.cursor, synced_at = excluded.synced_at`, cursor, at.UnixMilli())
	if err != nil {
		return err
	}
	return tx.QueryRowContext(ctx, `SELECT count(*) FROM entries`).Scan(n)
}
