package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/dnadb/dnadb"
)

// The feed and the snapshot each read one snapshot of the database, in a read-only
// transaction at the dialect's snapshot isolation, and take their upper bound from
// the last change that snapshot holds.
//
// Why a page never moves past a change that is yet to commit: every write
// transaction numbers its changes under the store's write lock (BEGIN IMMEDIATE on
// SQLite, the advisory lock on PostgreSQL) and holds that lock until it has
// committed. PostgreSQL makes a transaction visible before it releases its locks,
// so when a snapshot holds change N, every transaction that numbered a change below
// N had committed before N's was begun, and the snapshot holds it too. The changes
// a snapshot holds are therefore every change up to its last one (less the numbers
// of transactions that rolled back, which never appear), and a page that ends at
// or before that last change skips nothing that commits later.

// Feed returns a page of the consumer feed after change after.
func (s *Store) Feed(ctx context.Context, after int64, limit int) (dnadb.FeedPage, error) {
	if limit == 0 {
		limit = dnadb.DefaultPageSize
	}
	if limit < 0 || limit > dnadb.MaxPageSize {
		return dnadb.FeedPage{}, dnadb.Errorf(dnadb.ErrInvalid, "feed limit %d is outside 1..%d",
			limit, dnadb.MaxPageSize)
	}
	if after < 0 {
		return dnadb.FeedPage{}, dnadb.Errorf(dnadb.ErrInvalid, "feed position %d is negative",
			after)
	}

	// A consumer's copy carries its leak markers: make them on its first read.
	org, consumer := consumerOrg(ctx)
	if consumer {
		if err := s.ensureMarkers(ctx, org, after, true); err != nil {
			return dnadb.FeedPage{}, fmt.Errorf("feed: %w", err)
		}
	}
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: s.dialect.snapshot})
	if err != nil {
		return dnadb.FeedPage{}, fmt.Errorf("feed: %w", err)
	}
	defer tx.Rollback()

	// Read the last change of the snapshot: the page covers no further.
	head, err := lastChange(ctx, tx)
	if err != nil {
		return dnadb.FeedPage{}, fmt.Errorf("feed: %w", err)
	}
	if after > head {
		return dnadb.FeedPage{}, dnadb.Errorf(dnadb.ErrInvalid,
			"feed position %d is past the last change, %d: it is not from this registry",
			after, head)
	}

	// Walk the decisions of at most MaxFeedScan changes, each with the status the
	// item had before it, the item's status now and the size of its signals.
	hi := min(head, after+dnadb.MaxFeedScan)
	var marks []dnadb.LeakMarker
	if consumer {
		marks, err = queryMarkers(ctx, tx, `SELECT `+markerColumns+` FROM leak_markers
			WHERE org_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq, item_id`,
			org, after, hi)
		if err != nil {
			return dnadb.FeedPage{}, fmt.Errorf("feed: %w", err)
		}
	}
	entries, last, err := feedEntries(ctx, tx, after, hi, limit, marks)
	if err != nil {
		return dnadb.FeedPage{}, fmt.Errorf("feed: %w", err)
	}
	page := dnadb.FeedPage{Entries: entries, Seq: last, More: last < head}

	// Attach the signals of the items the page adds.
	if err := attachSignals(ctx, tx, page.Entries); err != nil {
		return dnadb.FeedPage{}, fmt.Errorf("feed: %w", err)
	}
	return page, nil
}

// feedEntries returns the feed entries of the changes in (after, hi], up to limit
// of them and MaxFeedBytes of signals, without their signals, and the seq of the
// last change they cover. The markers, in seq order, each join as an add with
// its signals after the change of their seq, counting towards the limit.
func feedEntries(ctx context.Context, tx *sql.Tx, after, hi int64, limit int,
	marks []dnadb.LeakMarker) ([]dnadb.FeedEntry, int64, error) {
	rows, err := tx.QueryContext(ctx, `
		SELECT c.seq, c.item_id, c.status, i.status, i.category,
			(SELECT p.status FROM changes p
				WHERE p.item_id = c.item_id AND p.seq < c.seq ORDER BY p.seq DESC LIMIT 1),
			CASE WHEN c.status = $3 AND i.status = $3 THEN
				(SELECT COALESCE(SUM(LENGTH(g.value)), 0) FROM signals g
					WHERE g.item_id = c.item_id)
			ELSE 0 END
		FROM changes c JOIN items i ON i.id = c.item_id
		WHERE c.seq > $1 AND c.seq <= $2 AND c.kind = $4
		ORDER BY c.seq`, after, hi, dnadb.StatusConfirmed, dnadb.ChangeDecided)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()

	out := []dnadb.FeedEntry{}
	var size int64
	// addMarkers adds the markers that join before change seq, and reports the
	// seq the page ends at if that fills it.
	addMarkers := func(seq int64) (int64, bool) {
		for len(marks) > 0 && marks[0].Seq < seq {
			m := marks[0]
			marks = marks[1:]
			out = append(out, dnadb.FeedEntry{Op: dnadb.FeedAdd, ItemID: m.ItemID,
				Category: m.Category, Signals: m.Signals})
			if len(out) == limit {
				return m.Seq, true
			}
		}
		return 0, false
	}
	for rows.Next() {
		var seq, id, n int64
		var to, now dnadb.Status
		var cat dnadb.Category
		var before sql.NullString
		if err := rows.Scan(&seq, &id, &to, &now, &cat, &before, &n); err != nil {
			return nil, 0, err
		}
		if last, full := addMarkers(seq); full {
			return out, last, nil
		}
		switch {
		case to == dnadb.StatusConfirmed && now == dnadb.StatusConfirmed:
			// Confirmed and still so: its signals are distributable.
			if len(out) > 0 && size+n > dnadb.MaxFeedBytes {
				// The page is full: end it just before this change, so that the
				// next page begins with it.
				return out, seq - 1, nil
			}
			out = append(out, dnadb.FeedEntry{Op: dnadb.FeedAdd, ItemID: id, Category: cat})
			size += n
		case to != dnadb.StatusConfirmed &&
			dnadb.Status(before.String) == dnadb.StatusConfirmed:
			// Out of distribution: every copy must drop it.
			out = append(out, dnadb.FeedEntry{Op: dnadb.FeedRemove, ItemID: id})
		}
		if len(out) == limit {
			return out, seq, nil
		}
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	if last, full := addMarkers(hi + 1); full {
		return out, last, nil
	}
	return out, hi, nil
}

// attachSignals reads the signals of the items that entries add.
func attachSignals(ctx context.Context, tx *sql.Tx, entries []dnadb.FeedEntry) error {
	byID := map[int64]int{}
	var args []any
	var marks []string
	for i, e := range entries {
		if e.Op != dnadb.FeedAdd || e.Signals != nil {
			continue
		}
		byID[e.ItemID] = i
		args = append(args, e.ItemID)
		marks = append(marks, fmt.Sprintf("$%d", len(args)))
	}
	if len(args) == 0 {
		return nil
	}
	rows, err := tx.QueryContext(ctx, `
		SELECT item_id, type, value, quality, profile FROM signals
		WHERE item_id IN (`+strings.Join(marks, ", ")+`) ORDER BY id`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var sg dnadb.Signal
		if err := rows.Scan(&id, &sg.Type, &sg.Value, &sg.Quality, &sg.Profile); err != nil {
			return err
		}
		e := &entries[byID[id]]
		e.Signals = append(e.Signals, sg)
	}
	return rows.Err()
}

// Distributable calls fn with every confirmed item and its signals, read from one
// snapshot together with the last change it reflects.
//
// BUG(feed): the snapshot's read transaction stays open while fn runs, which for
// the server is while the set is written to the consumer; a slow consumer holds
// back PostgreSQL's vacuum and SQLite's checkpoints for that long.
func (s *Store) Distributable(ctx context.Context, fn func(dnadb.FeedItem) error) (int64,
	error) {
	// A consumer's copy carries its leak markers: make them on its first read.
	org, consumer := consumerOrg(ctx)
	if consumer {
		if err := s.ensureMarkers(ctx, org, 0, false); err != nil {
			return 0, fmt.Errorf("distributable: %w", err)
		}
	}
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: s.dialect.snapshot})
	if err != nil {
		return 0, fmt.Errorf("distributable: %w", err)
	}
	defer tx.Rollback()

	// Read the last change first: on SQLite the snapshot begins with the
	// transaction's first read, on PostgreSQL with its first statement.
	seq, err := lastChange(ctx, tx)
	if err != nil {
		return 0, fmt.Errorf("distributable: %w", err)
	}
	var marks []dnadb.LeakMarker
	if consumer {
		marks, err = queryMarkers(ctx, tx, `SELECT `+markerColumns+` FROM leak_markers
			WHERE org_id = $1 AND seq <= $2 ORDER BY item_id`, org, seq)
		if err != nil {
			return 0, fmt.Errorf("distributable: %w", err)
		}
	}
	// emit hands on the markers numbered below id, then it (unless zero).
	emit := func(it dnadb.FeedItem) error {
		for len(marks) > 0 && (it.ItemID == 0 || marks[0].ItemID < it.ItemID) {
			m := marks[0]
			marks = marks[1:]
			err := fn(dnadb.FeedItem{ItemID: m.ItemID, Category: m.Category,
				Signals: m.Signals})
			if err != nil {
				return err
			}
		}
		if it.ItemID == 0 {
			return nil
		}
		return fn(it)
	}

	// Stream the confirmed items' signals in item order, handing each item on once
	// its last signal has been read.
	rows, err := tx.QueryContext(ctx, `
		SELECT i.id, i.category, s.type, s.value, s.quality, s.profile
		FROM items i JOIN signals s ON s.item_id = i.id
		WHERE i.status = $1 ORDER BY i.id, s.id`, dnadb.StatusConfirmed)
	if err != nil {
		return 0, fmt.Errorf("distributable: %w", err)
	}
	defer rows.Close()
	var cur dnadb.FeedItem
	for rows.Next() {
		var id int64
		var cat dnadb.Category
		var sg dnadb.Signal
		if err := rows.Scan(&id, &cat, &sg.Type, &sg.Value, &sg.Quality, &sg.Profile); err != nil {
			return 0, fmt.Errorf("distributable: %w", err)
		}
		if id != cur.ItemID && cur.ItemID != 0 {
			if err := emit(cur); err != nil {
				return 0, err
			}
		}
		if id != cur.ItemID {
			cur = dnadb.FeedItem{ItemID: id, Category: cat}
		}
		cur.Signals = append(cur.Signals, sg)
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("distributable: %w", err)
	}
	if err := emit(cur); err != nil {
		return 0, err
	}
	if err := emit(dnadb.FeedItem{}); err != nil {
		return 0, err
	}
	return seq, nil
}

// lastChange returns the seq of the last change that tx sees, zero if none.
func lastChange(ctx context.Context, tx *sql.Tx) (int64, error) {
	var seq int64
	err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM changes`).Scan(&seq)
	return seq, err
}
