// Package sqlstore keeps the dnadb registry in a SQL database: SQLite by default, in
// one file, or PostgreSQL, with schema migrations applied on open. Both run the same
// query text; what differs between them is in dialect.go.
//
// All times are stored as unix microseconds set by the application, so that every
// backend and every test agrees on them. Every write is one transaction holding the
// item, its signals and its change log entry.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/dnadb/dnadb"
)

//go:embed migrations
var migrations embed.FS

// Store is a dnadb.Store over database/sql.
type Store struct {
	db *sql.DB
	// dialect is what is particular to the database behind db.
	dialect dialect
	// auditKey seals audit entries; nil means plain SHA-256.
	auditKey []byte
	// now returns the current time; tests may replace it.
	now func() time.Time
	// markers is how many leak markers each consumer's copy carries: zero means
	// dnadb.MarkersPerConsumer, negative none.
	markers int
	// marked holds the ids of the consumer organisations known to have all their
	// leak markers.
	marked sync.Map
}

var _ dnadb.Store = (*Store)(nil)

// Open opens the store named by dsn and brings its schema up to date. A dsn that
// starts with "postgres://" or "postgresql://" is a PostgreSQL connection URL, as
// pgx reads it. Any other dsn is a path to a SQLite file, optionally written
// "sqlite:PATH"; the file is created if it does not exist.
func Open(ctx context.Context, dsn string) (*Store, error) {
	// Pick the backend and the driver's data source; name is for messages.
	d, src, name := postgresDialect, dsn, redactDSN(dsn)
	if !isPostgresURL(dsn) {
		path := strings.TrimPrefix(dsn, "sqlite:")
		if path == "" {
			return nil, dnadb.Errorf(dnadb.ErrInvalid, "store: empty path")
		}
		if strings.Contains(path, "://") {
			return nil, dnadb.Errorf(dnadb.ErrUnsupported,
				"store %q: only SQLite files and PostgreSQL URLs are supported", dsn)
		}

		// WAL lets readers run beside the single writer; an immediate transaction
		// takes the write lock at BEGIN, so two writers never deadlock upgrading a
		// read lock.
		q := url.Values{}
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Set("_txlock", "immediate")
		d, src, name = sqliteDialect, "file:"+path+"?"+q.Encode(), path
	}

	// Open the pool; it connects on first use, which migrating is.
	db, err := sql.Open(d.driver, src)
	if err != nil {
		return nil, fmt.Errorf("open store %q: %w", name, err)
	}

	s := &Store{db: db, dialect: d, now: time.Now}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %q: %w", name, err)
	}
	return s, nil
}

// migrate applies every pending schema migration of the store's dialect.
func (s *Store) migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, s.dialect.migrations)
	if err != nil {
		return err
	}
	// On PostgreSQL, servers starting at once on a new database take turns: a
	// session lock is held while migrating.
	var opts []goose.ProviderOption
	if s.dialect.lockWrites {
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return fmt.Errorf("migrations: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(s.dialect.goose, s.db, sub, opts...)
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

// CreateItem stores a pending item, its signals, its first source, a "created"
// change and an audit entry in one transaction.
func (s *Store) CreateItem(ctx context.Context, n dnadb.NewItem) (dnadb.Item, error) {
	regs, err := s.Register(ctx, []dnadb.NewItem{n}, nil)
	if err != nil {
		return dnadb.Item{}, err
	}
	return regs[0].Item, nil
}

// Register stores registrations in one transaction, asking known under the write
// lock whether each is of material already registered.
func (s *Store) Register(ctx context.Context, ns []dnadb.NewItem,
	known dnadb.KnownFunc) ([]dnadb.Registered, error) {
	// Check every registration before storing any.
	ns = slices.Clone(ns)
	for i, n := range ns {
		nn, err := n.Normalize()
		if err != nil {
			if len(ns) > 1 {
				err = dnadb.Errorf(dnadb.KindOf(err), "items[%d]: %w", i, err)
			}
			return nil, err
		}
		ns[i] = nn
	}
	now := s.now().UTC().Truncate(time.Microsecond)

	out := make([]dnadb.Registered, len(ns))
	err := s.tx(ctx, func(tx *sql.Tx) error {
		orgs := map[string]int64{}
		var created []dnadb.Item
		for i, n := range ns {
			org, ok := orgs[n.Source]
			if !ok {
				var err error
				if org, err = orgID(ctx, tx, n.Source); err != nil {
					return err
				}
				orgs[n.Source] = org
			}

			// Link known material to its item; store the rest as new items.
			if known != nil {
				id, ok, err := known(ctx, n, created)
				if err != nil {
					return err
				}
				if ok {
					if err := s.link(ctx, tx, id, org, n, now); err != nil {
						return err
					}
					out[i] = dnadb.Registered{Item: dnadb.Item{ID: id}, Duplicate: true}
					continue
				}
			}
			id, err := s.insertItem(ctx, tx, n, org, now)
			if err != nil {
				return err
			}
			out[i].Item = dnadb.Item{ID: id, Signals: n.Signals}
			created = append(created, out[i].Item)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}

	// Read the items back as they now stand.
	ids := make([]any, len(out))
	marks := make([]string, len(out))
	for i, r := range out {
		ids[i], marks[i] = r.Item.ID, fmt.Sprintf("$%d", i+1)
	}
	items, err := s.queryItems(ctx, `WHERE id IN (`+strings.Join(marks, ", ")+`) ORDER BY id`,
		ids...)
	if err != nil {
		return nil, fmt.Errorf("register: read back: %w", err)
	}
	byID := map[int64]dnadb.Item{}
	for _, it := range items {
		byID[it.ID] = it
	}
	for i := range out {
		out[i].Item = byID[out[i].Item.ID]
	}
	return out, nil
}

// link records org's registration of known item id inside tx: a further source,
// unless org already stands as one.
func (s *Store) link(ctx context.Context, tx *sql.Tx, id, org int64, n dnadb.NewItem,
	now time.Time) error {
	st, err := itemStatus(ctx, tx, id)
	if err != nil {
		return err
	}
	var standing int
	err = tx.QueryRowContext(ctx, `
		SELECT COUNT(*) FROM item_sources
		WHERE item_id = $1 AND org_id = $2 AND withdrawn_at = 0`, id, org).Scan(&standing)
	if err != nil {
		return err
	}
	if standing > 0 {
		return nil
	}
	if err := insertSource(ctx, tx, id, org, n.Reference, now); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE items SET updated_at = $1 WHERE id = $2`,
		now.UnixMicro(), id)
	if err != nil {
		return err
	}
	if err := appendChange(ctx, tx, id, dnadb.ChangeSourced, st, n.Source, now); err != nil {
		return err
	}
	return s.appendAudit(ctx, tx, dnadb.AuditFor(ctx, "item.source", itemTarget(id),
		dnadb.OutcomeOK))
}

// insertItem inserts one item with its first source and signals, logs the change
// and audits the act, inside tx.
func (s *Store) insertItem(ctx context.Context, tx *sql.Tx, n dnadb.NewItem, org int64,
	now time.Time) (int64, error) {
	// Insert the item itself and its first source.
	var id int64
	err := tx.QueryRowContext(ctx, `
		INSERT INTO items (category, status, created_at, updated_at)
		VALUES ($1, $2, $3, $3) RETURNING id`,
		n.Category, dnadb.StatusPending, now.UnixMicro(),
	).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("insert item: %w", err)
	}
	if err := insertSource(ctx, tx, id, org, n.Reference, now); err != nil {
		return 0, err
	}

	// Insert its signals.
	for i, sg := range n.Signals {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO signals (item_id, type, value, quality, profile)
			VALUES ($1, $2, $3, $4, $5)`,
			id, sg.Type, sg.Value, sg.Quality, sg.Profile)
		if err != nil {
			return 0, fmt.Errorf("insert signal %d: %w", i, err)
		}
	}

	// Record the change, so that followers of the log see the new item, and the
	// act, for the audit trail.
	err = appendChange(ctx, tx, id, dnadb.ChangeCreated, dnadb.StatusPending, n.Source, now)
	if err != nil {
		return 0, err
	}
	err = s.appendAudit(ctx, tx, dnadb.AuditFor(ctx, "item.create", itemTarget(id),
		dnadb.OutcomeOK))
	return id, err
}

// AddSource links a further registration of item id by org.
func (s *Store) AddSource(ctx context.Context, id int64, org, reference string) (dnadb.Item,
	error) {
	if len(reference) > dnadb.MaxReferenceLen {
		return dnadb.Item{}, dnadb.Errorf(dnadb.ErrInvalid, "reference is %d bytes, limit %d",
			len(reference), dnadb.MaxReferenceLen)
	}
	now := s.now().UTC().Truncate(time.Microsecond)

	err := s.tx(ctx, func(tx *sql.Tx) error {
		oid, err := orgID(ctx, tx, org)
		if err != nil {
			return err
		}
		st, err := itemStatus(ctx, tx, id)
		if err != nil {
			return err
		}

		// An organisation stands as a source of an item once.
		var n int
		err = tx.QueryRowContext(ctx, `
			SELECT COUNT(*) FROM item_sources
			WHERE item_id = $1 AND org_id = $2 AND withdrawn_at = 0`, id, oid).Scan(&n)
		if err != nil {
			return err
		}
		if n > 0 {
			return dnadb.Errorf(dnadb.ErrConflict, "item %d: %s is already a source", id, org)
		}

		if err := insertSource(ctx, tx, id, oid, reference, now); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE items SET updated_at = $1 WHERE id = $2`,
			now.UnixMicro(), id)
		if err != nil {
			return err
		}
		if err := appendChange(ctx, tx, id, dnadb.ChangeSourced, st, org, now); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, dnadb.AuditFor(ctx, "item.source", itemTarget(id),
			dnadb.OutcomeOK))
	})
	if err != nil {
		return dnadb.Item{}, fmt.Errorf("add source to item %d: %w", id, err)
	}
	return s.Item(ctx, id)
}

// WithdrawSource withdraws org's registration of item id, and the item with it
// when no other source stands.
func (s *Store) WithdrawSource(ctx context.Context, id int64, org string) (dnadb.Item,
	error) {
	now := s.now().UTC().Truncate(time.Microsecond)

	err := s.tx(ctx, func(tx *sql.Tx) error {
		oid, err := orgID(ctx, tx, org)
		if err != nil {
			return err
		}
		from, err := itemStatus(ctx, tx, id)
		if err != nil {
			return err
		}

		// Withdraw the org's own registration.
		res, err := tx.ExecContext(ctx, `
			UPDATE item_sources SET withdrawn_at = $1
			WHERE item_id = $2 AND org_id = $3 AND withdrawn_at = 0`, now.UnixMicro(), id, oid)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return dnadb.Errorf(dnadb.ErrNotFound, "item %d has no standing source %s", id, org)
		}

		// The item goes with its last standing source.
		var standing int
		err = tx.QueryRowContext(ctx, `
			SELECT COUNT(*) FROM item_sources WHERE item_id = $1 AND withdrawn_at = 0`,
			id).Scan(&standing)
		if err != nil {
			return err
		}
		// A rejection stands: the last source leaving does not undo the evaluation.
		action := "item.source.withdraw"
		if standing == 0 && (from == dnadb.StatusPending || from == dnadb.StatusConfirmed) {
			action = "item.withdraw"
			if err := s.setStatus(ctx, tx, id, dnadb.StatusWithdrawn, org, now); err != nil {
				return err
			}
		}
		return s.appendAudit(ctx, tx, dnadb.AuditFor(ctx, action, itemTarget(id),
			dnadb.OutcomeOK))
	})
	if err != nil {
		return dnadb.Item{}, fmt.Errorf("withdraw source of item %d: %w", id, err)
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
	if f.Source != "" {
		args = append(args, f.Source)
		where = append(where, fmt.Sprintf(`id IN (SELECT s.item_id FROM item_sources s
			JOIN orgs o ON o.id = s.org_id WHERE o.name = $%d)`, len(args)))
	}
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
		from, err := itemStatus(ctx, tx, id)
		if err != nil {
			return err
		}
		if !d.Allowed(from) {
			return dnadb.Errorf(dnadb.ErrConflict, "item %d is %s: cannot %s it", id, from, d)
		}

		// Apply the decision, log it and audit it.
		if err := s.setStatus(ctx, tx, id, to, actor, now); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, dnadb.AuditFor(ctx, "item."+string(d), itemTarget(id),
			dnadb.OutcomeOK))
	})
	if err != nil {
		return dnadb.Item{}, fmt.Errorf("decide item %d: %w", id, err)
	}
	return s.Item(ctx, id)
}

// setStatus moves item id to status st as decided by actor, and logs the change.
func (s *Store) setStatus(ctx context.Context, tx *sql.Tx, id int64, st dnadb.Status,
	actor string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `
		UPDATE items SET status = $1, decided_by = $2, decided_at = $3, updated_at = $3
		WHERE id = $4`, st, actor, now.UnixMicro(), id)
	if err != nil {
		return fmt.Errorf("update item: %w", err)
	}
	return appendChange(ctx, tx, id, dnadb.ChangeDecided, st, actor, now)
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

// IndexedSignals returns every signal of type t of an item in one of the statuses
// st, read in one transaction together with the last change sequence number, so
// that a follower that continues from that number misses nothing.
func (s *Store) IndexedSignals(ctx context.Context, t dnadb.SignalType,
	st ...dnadb.Status) ([]dnadb.IndexedSignal, int64, error) {
	// Both queries must read one snapshot, or a change committed between them would
	// be both in the signals and after seq. On PostgreSQL that takes REPEATABLE READ,
	// since READ COMMITTED gives each statement a snapshot of its own.
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: s.dialect.snapshot})
	if err != nil {
		return nil, 0, fmt.Errorf("indexed signals: %w", err)
	}
	defer tx.Rollback()

	var seq int64
	err = tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM changes`).Scan(&seq)
	if err != nil {
		return nil, 0, fmt.Errorf("indexed signals: %w", err)
	}
	args := []any{t}
	var in []string
	for _, v := range st {
		args = append(args, v)
		in = append(in, fmt.Sprintf("$%d", len(args)))
	}
	if len(in) == 0 {
		return nil, seq, nil
	}
	rows, err := tx.QueryContext(ctx, `
		SELECT s.item_id, i.category, i.status, s.type, s.value, s.quality, s.profile
		FROM signals s JOIN items i ON i.id = s.item_id
		WHERE s.type = $1 AND i.status IN (`+strings.Join(in, ", ")+`) ORDER BY s.id`,
		args...)
	if err != nil {
		return nil, 0, fmt.Errorf("indexed signals: %w", err)
	}
	defer rows.Close()

	var out []dnadb.IndexedSignal
	for rows.Next() {
		var is dnadb.IndexedSignal
		sg := &is.Signal
		err := rows.Scan(&is.ItemID, &is.Category, &is.Status, &sg.Type, &sg.Value,
			&sg.Quality, &sg.Profile)
		if err != nil {
			return nil, 0, fmt.Errorf("indexed signals: %w", err)
		}
		out = append(out, is)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("indexed signals: %w", err)
	}
	return out, seq, nil
}

// queryItems runs a SELECT on items with the given clause and attaches their
// sources and signals.
func (s *Store) queryItems(ctx context.Context, clause string, args ...any) ([]dnadb.Item,
	error) {
	rows, err := s.db.QueryContext(ctx, `
		SELECT id, category, status, created_at, updated_at, decided_by, decided_at
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
		err := rows.Scan(&it.ID, &it.Category, &it.Status, &created, &updated,
			&it.DecidedBy, &decided)
		if err != nil {
			return nil, err
		}
		it.CreatedAt = time.UnixMicro(created).UTC()
		it.UpdatedAt = time.UnixMicro(updated).UTC()
		if decided != 0 {
			it.DecidedAt = time.UnixMicro(decided).UTC()
		}
		it.Sources = []dnadb.Source{}
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

	// Attach the sources and the signals of the whole page with a query each.
	page := `(SELECT id FROM items ` + clause + `)`
	srcRows, err := s.db.QueryContext(ctx, `
		SELECT s.item_id, o.name, s.reference, s.added_at, s.withdrawn_at
		FROM item_sources s JOIN orgs o ON o.id = s.org_id
		WHERE s.item_id IN `+page+` ORDER BY s.id`, args...)
	if err != nil {
		return nil, err
	}
	defer srcRows.Close()
	for srcRows.Next() {
		var id, added, withdrawn int64
		var src dnadb.Source
		if err := srcRows.Scan(&id, &src.Org, &src.Reference, &added, &withdrawn); err != nil {
			return nil, err
		}
		src.AddedAt = time.UnixMicro(added).UTC()
		if withdrawn != 0 {
			src.WithdrawnAt = time.UnixMicro(withdrawn).UTC()
		}
		if i, ok := byID[id]; ok {
			items[i].Sources = append(items[i].Sources, src)
		}
	}
	if err := srcRows.Err(); err != nil {
		return nil, err
	}

	sigRows, err := s.db.QueryContext(ctx, `
		SELECT item_id, type, value, quality, profile FROM signals
		WHERE item_id IN `+page+` ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	defer sigRows.Close()
	for sigRows.Next() {
		var id int64
		var sg dnadb.Signal
		if err := sigRows.Scan(&id, &sg.Type, &sg.Value, &sg.Quality, &sg.Profile); err != nil {
			return nil, err
		}
		if i, ok := byID[id]; ok {
			items[i].Signals = append(items[i].Signals, sg)
		}
	}
	return items, sigRows.Err()
}

// tx runs fn in a write transaction, committing if fn returns nil. On PostgreSQL the
// transaction first takes the store's advisory write lock, so that writers, and the
// change log and audit entries they append, commit in the order they number them.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.dialect.beginWrite(ctx, s.db)
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
