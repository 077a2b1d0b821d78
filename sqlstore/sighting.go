package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dnadb/dnadb"
)

// ReportSightings stores sighting reports, each once, with one audit entry, in one
// transaction.
func (s *Store) ReportSightings(ctx context.Context, ns []dnadb.NewSighting) (int, int,
	error) {
	// Check every report before storing any.
	if len(ns) == 0 {
		return 0, 0, dnadb.Errorf(dnadb.ErrInvalid, "sightings: empty; send at least one")
	}
	if len(ns) > dnadb.MaxSightings {
		return 0, 0, dnadb.Errorf(dnadb.ErrTooLarge, "sightings: %d in one call, limit %d",
			len(ns), dnadb.MaxSightings)
	}
	checked := make([]dnadb.NewSighting, len(ns))
	for i, n := range ns {
		nn, err := n.Normalize()
		if err != nil {
			return 0, 0, dnadb.Errorf(dnadb.KindOf(err), "sightings[%d]: %w", i, err)
		}
		if nn.Platform == "" {
			nn.Platform = nn.Reporter
		}
		checked[i] = nn
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	for i, n := range checked {
		// A sighting cannot come from the future; an hour allows for clocks.
		if n.SeenAt.After(now.Add(time.Hour)) {
			return 0, 0, dnadb.Errorf(dnadb.ErrInvalid,
				"sightings[%d]: seen_at %s is in the future", i, n.SeenAt.Format(time.RFC3339))
		}
	}

	var accepted, duplicates, markers int
	err := s.tx(ctx, func(tx *sql.Tx) error {
		accepted, duplicates, markers = 0, 0, 0
		orgs := map[string]int64{}
		sighted := map[int64]bool{}
		for i, n := range checked {
			// The reporter must be known, and the item one it could have matched.
			org, ok := orgs[n.Reporter]
			if !ok {
				var err error
				if org, err = orgID(ctx, tx, n.Reporter); err != nil {
					return dnadb.Errorf(dnadb.KindOf(err), "sightings[%d]: %w", i, err)
				}
				orgs[n.Reporter] = org
			}
			ok, seen := sighted[n.ItemID]
			if !seen {
				var err error
				if ok, err = everConfirmed(ctx, tx, n.ItemID); err != nil {
					return err
				}
				sighted[n.ItemID] = ok
			}
			if !ok {
				// A sighting of the reporter's own leak-tracing marker is taken like any
				// other, so that reporting one cannot tell a marker from a real item;
				// it is not counted, but the audit trail keeps it as a leak's trace.
				marker, err := ownMarker(ctx, tx, org, n.ItemID)
				if err != nil {
					return err
				}
				if !marker {
					return dnadb.Errorf(dnadb.ErrInvalid,
						"sightings[%d]: item %d is not a confirmed item", i, n.ItemID)
				}
				markers++
				accepted++
				continue
			}

			// A report sent before is counted once, if it says the same.
			prev, found, err := sighting(ctx, tx, org, n.ReportID)
			if err != nil {
				return err
			}
			if found {
				if prev.ItemID != n.ItemID || prev.Platform != n.Platform ||
					prev.Where != n.Where || !prev.SeenAt.Equal(n.SeenAt) ||
					prev.Action != n.Action {
					return dnadb.Errorf(dnadb.ErrConflict,
						"sightings[%d]: report %q was sent before with other content", i,
						n.ReportID)
				}
				duplicates++
				continue
			}
			_, err = tx.ExecContext(ctx, `
				INSERT INTO sightings (org_id, report_id, item_id, platform, location,
					seen_at, action, reported_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
				org, n.ReportID, n.ItemID, n.Platform, n.Where, n.SeenAt.UnixMicro(),
				n.Action, now.UnixMicro())
			if err != nil {
				return fmt.Errorf("insert sighting %d: %w", i, err)
			}
			accepted++
		}
		if markers > 0 {
			err := s.appendAudit(ctx, tx, dnadb.AuditFor(ctx, "sighting.marker",
				fmt.Sprintf("sightings:markers=%d", markers), dnadb.OutcomeOK))
			if err != nil {
				return err
			}
		}
		return s.appendAudit(ctx, tx, dnadb.AuditFor(ctx, "sighting.report",
			fmt.Sprintf("sightings:accepted=%d,duplicates=%d", accepted-markers, duplicates),
			dnadb.OutcomeOK))
	})
	if err != nil {
		return 0, 0, fmt.Errorf("report sightings: %w", err)
	}
	return accepted, duplicates, nil
}

// everConfirmed reports whether item id exists and was confirmed at some time: a
// filter may report an item that has since left distribution, never one it could
// not have matched.
func everConfirmed(ctx context.Context, tx *sql.Tx, id int64) (bool, error) {
	var n int
	err := tx.QueryRowContext(ctx, `
		SELECT COUNT(*) FROM changes
		WHERE item_id = $1 AND kind = $2 AND status = $3`,
		id, dnadb.ChangeDecided, dnadb.StatusConfirmed).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("read item %d decisions: %w", id, err)
	}
	return n > 0, nil
}

// sighting returns the report org stored under id, and false if none.
func sighting(ctx context.Context, tx *sql.Tx, org int64, id string) (dnadb.NewSighting,
	bool, error) {
	n := dnadb.NewSighting{ReportID: id}
	var seen int64
	err := tx.QueryRowContext(ctx, `
		SELECT item_id, platform, location, seen_at, action FROM sightings
		WHERE org_id = $1 AND report_id = $2`, org, id).Scan(&n.ItemID, &n.Platform,
		&n.Where, &seen, &n.Action)
	if errors.Is(err, sql.ErrNoRows) {
		return n, false, nil
	}
	if err != nil {
		return n, false, fmt.Errorf("read sighting %q: %w", id, err)
	}
	n.SeenAt = time.UnixMicro(seen).UTC()
	return n, true, nil
}

// Circulation counts the sightings of the items f selects per item and platform.
func (s *Store) Circulation(ctx context.Context, f dnadb.CirculationFilter) (
	[]dnadb.Circulation, error) {
	limit := f.Limit
	if limit == 0 {
		limit = dnadb.DefaultPageSize
	}
	if limit < 0 || limit > dnadb.MaxPageSize {
		return nil, dnadb.Errorf(dnadb.ErrInvalid, "limit %d is outside 1..%d", limit,
			dnadb.MaxPageSize)
	}

	// Select the page of items first, then count their sightings.
	where := []string{"item_id > $1"}
	args := []any{f.After}
	if f.ItemID != 0 {
		args = append(args, f.ItemID)
		where = append(where, fmt.Sprintf("item_id = $%d", len(args)))
	}
	if f.Platform != "" {
		args = append(args, f.Platform)
		where = append(where, fmt.Sprintf("platform = $%d", len(args)))
	}
	if f.Source != "" {
		args = append(args, f.Source)
		where = append(where, fmt.Sprintf(`item_id IN (SELECT src.item_id
			FROM item_sources src JOIN orgs o ON o.id = src.org_id WHERE o.name = $%d)`,
			len(args)))
	}
	cond := strings.Join(where, " AND ")
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, `
		SELECT item_id, platform, COUNT(*),
			SUM(CASE WHEN action = 'blocked' THEN 1 ELSE 0 END),
			SUM(CASE WHEN action = 'flagged' THEN 1 ELSE 0 END),
			SUM(CASE WHEN action = 'removed' THEN 1 ELSE 0 END),
			MIN(seen_at), MAX(seen_at)
		FROM sightings
		WHERE `+cond+` AND item_id IN (SELECT DISTINCT item_id FROM sightings
			WHERE `+cond+` ORDER BY item_id LIMIT $`+fmt.Sprint(len(args))+`)
		GROUP BY item_id, platform ORDER BY item_id, platform`, args...)
	if err != nil {
		return nil, fmt.Errorf("circulation: %w", err)
	}
	defer rows.Close()

	out := []dnadb.Circulation{}
	for rows.Next() {
		var c dnadb.Circulation
		var first, last int64
		if err := rows.Scan(&c.ItemID, &c.Platform, &c.Sightings, &c.Blocked, &c.Flagged,
			&c.Removed, &first, &last); err != nil {
			return nil, fmt.Errorf("circulation: %w", err)
		}
		c.FirstSeen, c.LastSeen = time.UnixMicro(first).UTC(), time.UnixMicro(last).UTC()
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("circulation: %w", err)
	}
	return out, nil
}

// ownMarker reports whether item id is one of org's leak-tracing markers.
func ownMarker(ctx context.Context, tx *sql.Tx, org, id int64) (bool, error) {
	var n int
	err := tx.QueryRowContext(ctx, `
		SELECT COUNT(*) FROM leak_markers WHERE org_id = $1 AND item_id = $2`, org, id).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("look up leak marker %d: %w", id, err)
	}
	return n > 0, nil
}
