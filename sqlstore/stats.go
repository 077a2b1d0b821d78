package sqlstore

import (
	"context"
	"fmt"

	"github.com/dnadb/dnadb"
)

// Stats counts the items by status and category, and standing sources by kind of
// organisation.
func (s *Store) Stats(ctx context.Context) (dnadb.Stats, error) {
	st := dnadb.Stats{
		ByStatus:   map[dnadb.Status]int64{},
		ByCategory: map[dnadb.Category]int64{},
		Sources:    map[dnadb.OrgKind]int64{},
	}
	rows, err := s.db.QueryContext(ctx, `
		SELECT status, category, COUNT(*) FROM items GROUP BY status, category`)
	if err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var status dnadb.Status
		var cat dnadb.Category
		var n int64
		if err := rows.Scan(&status, &cat, &n); err != nil {
			return st, fmt.Errorf("stats: %w", err)
		}
		st.Items += n
		st.ByStatus[status] += n
		st.ByCategory[cat] += n
	}
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}

	srcRows, err := s.db.QueryContext(ctx, `
		SELECT o.kind, COUNT(*) FROM item_sources s JOIN orgs o ON o.id = s.org_id
		WHERE s.withdrawn_at = 0 GROUP BY o.kind`)
	if err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}
	defer srcRows.Close()
	for srcRows.Next() {
		var kind dnadb.OrgKind
		var n int64
		if err := srcRows.Scan(&kind, &n); err != nil {
			return st, fmt.Errorf("stats: %w", err)
		}
		st.Sources[kind] = n
	}
	return st, srcRows.Err()
}
