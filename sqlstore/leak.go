package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/dnadb/dnadb"
)

// Leak markers are made for a consumer organisation the first time it reads the
// feed or a snapshot while something is distributable, in one write transaction,
// and stored: a restart, or another server on the same store, hands out the same
// markers. Their hashes are derived from the audit key, or without one from a
// secret made once and kept in leak_secret, so that nobody without the key can
// tell which hashes are markers.
//
// Why a consumer cannot tell a marker from a real item:
//   - its item id comes from the items' own id sequence, and the ids a consumer
//     sees always have gaps (pending and rejected items never reach it);
//   - it joins the set at the end of the change log, as a newly confirmed item
//     does, and the snapshot lists it in id order among the others;
//   - its category, signal types and PDQ profile are those of a recently
//     confirmed item, its quality is in the range real photos have, and its PDQ
//     hash is as random as a photo's.
//
// BUG(leak): consumers that compare their copies with each other can find their
// markers: the entries one holds and another lacks. Asking the central matcher
// or reporting a sighting does not give a marker away: both treat a consumer's
// own markers as items of its copy.

// maxMarkerTemplates is how many of the most recently confirmed items markers are
// modelled on.
const maxMarkerTemplates = 1000

// consumerOrg returns the organisation of the principal in ctx when it reads the
// feed as a consumer, whose copy carries markers.
func consumerOrg(ctx context.Context) (int64, bool) {
	p, ok := dnadb.PrincipalFrom(ctx)
	if !ok || p.Org.ID == 0 || !slices.Contains(p.Token.Roles, dnadb.RoleConsumer) {
		return 0, false
	}
	return p.Org.ID, true
}

// SetLeakMarkers sets how many leak markers each consumer organisation's copy
// carries from now on: zero means dnadb.MarkersPerConsumer, negative none (for
// tests that compare a consumer's copy with the distributable set). Markers
// already made stay. Call it before the store is used.
func (s *Store) SetLeakMarkers(n int) { s.markers = n }

// ensureMarkers makes org's markers if it has fewer than MarkersPerConsumer and
// something is distributable. A feed read from after joins them to the set after
// the last change, or after the next one when after is already the last; a
// snapshot (feed false) after the last change.
func (s *Store) ensureMarkers(ctx context.Context, org, after int64, feed bool) error {
	want := s.markers
	if want == 0 {
		want = dnadb.MarkersPerConsumer
	}
	if _, ok := s.marked.Load(org); ok || want < 0 {
		return nil
	}
	done := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// Count what the organisation has; most reads stop here.
		var n, next int
		err := tx.QueryRowContext(ctx, `
			SELECT COUNT(*), COALESCE(MAX(idx) + 1, 0) FROM leak_markers WHERE org_id = $1`,
			org).Scan(&n, &next)
		if err != nil {
			return err
		}
		if n >= want {
			done = true
			return nil
		}

		// Model the markers on recently confirmed photos; with none, wait.
		templates, err := markerTemplates(ctx, tx)
		if err != nil || len(templates) == 0 {
			return err
		}

		// Read the key, every PDQ hash a marker must stay far from, and where
		// the markers join the set.
		key, err := s.leakKey(ctx, tx)
		if err != nil {
			return err
		}
		taken, err := takenHashes(ctx, tx)
		if err != nil {
			return err
		}
		seq, err := lastChange(ctx, tx)
		if err != nil {
			return err
		}
		if feed && after >= seq {
			seq++
		}

		// Derive markers until there are enough, skipping any too near a hash.
		for idx := next; n < want; idx++ {
			if idx > next+1000 {
				return fmt.Errorf("no marker far enough from the store's hashes")
			}
			h, _ := dnadb.MarkerHash(key, org, idx)
			if tooNear(h, taken) {
				continue
			}
			tb := dnadb.MarkerBytes(key, org, idx, "template")
			t := templates[binary.BigEndian.Uint64(tb[:8])%uint64(len(templates))]
			m := dnadb.LeakMarker{OrgID: org, Index: idx, Seq: seq, Category: t.Category}
			for _, sg := range t.Signals {
				switch sg.Type {
				case dnadb.SignalPDQ:
					// The quality is the template's, so that it is as common among
					// the consumer's items as that item's.
					sg.Value = h.String()
				default:
					sg.Value = dnadb.MarkerDigest(key, org, idx, sg.Type, len(sg.Value)/2)
				}
				m.Signals = append(m.Signals, sg)
			}
			if m.ItemID, err = s.dialect.reserveItemID(ctx, tx); err != nil {
				return err
			}
			if err := insertMarker(ctx, tx, m); err != nil {
				return err
			}
			taken = append(taken, h)
			n++
		}
		done = true
		return nil
	})
	if err != nil {
		return fmt.Errorf("leak markers of org %d: %w", org, err)
	}
	if done {
		s.marked.Store(org, struct{}{})
	}
	return nil
}

// markerTemplates returns the most recently confirmed items that have a PDQ
// signal and only PDQ signals and digests.
func markerTemplates(ctx context.Context, tx *sql.Tx) ([]dnadb.FeedItem, error) {
	rows, err := tx.QueryContext(ctx, `
		SELECT i.id, i.category, s.type, s.value, s.quality, s.profile
		FROM items i JOIN signals s ON s.item_id = i.id
		WHERE i.id IN (SELECT id FROM items WHERE status = $1 ORDER BY id DESC LIMIT $2)
		ORDER BY i.id, s.id`, dnadb.StatusConfirmed, maxMarkerTemplates)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var all []dnadb.FeedItem
	for rows.Next() {
		var id int64
		var cat dnadb.Category
		var sg dnadb.Signal
		if err := rows.Scan(&id, &cat, &sg.Type, &sg.Value, &sg.Quality, &sg.Profile); err != nil {
			return nil, err
		}
		if len(all) == 0 || all[len(all)-1].ItemID != id {
			all = append(all, dnadb.FeedItem{ItemID: id, Category: cat})
		}
		all[len(all)-1].Signals = append(all[len(all)-1].Signals, sg)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []dnadb.FeedItem
	for _, it := range all {
		pdq, other := 0, 0
		for _, sg := range it.Signals {
			switch sg.Type {
			case dnadb.SignalPDQ:
				pdq++
			case dnadb.SignalMD5, dnadb.SignalSHA256:
			default:
				other++
			}
		}
		if pdq == 1 && other == 0 {
			out = append(out, it)
		}
	}
	return out, nil
}

// leakKey returns the key markers are derived from: the audit key, else the
// stored secret, made now if there is none.
func (s *Store) leakKey(ctx context.Context, tx *sql.Tx) ([]byte, error) {
	if s.auditKey != nil {
		return s.auditKey, nil
	}
	var secret string
	err := tx.QueryRowContext(ctx, `SELECT secret FROM leak_secret WHERE id = 1`).
		Scan(&secret)
	if errors.Is(err, sql.ErrNoRows) {
		b := make([]byte, 32)
		rand.Read(b)
		secret = hex.EncodeToString(b)
		_, err = tx.ExecContext(ctx,
			`INSERT INTO leak_secret (id, secret) VALUES (1, $1)`, secret)
	}
	if err != nil {
		return nil, fmt.Errorf("leak secret: %w", err)
	}
	return hex.DecodeString(secret)
}

// takenHashes returns every PDQ hash of the store's signals and markers.
func takenHashes(ctx context.Context, tx *sql.Tx) ([]dnadb.Hash256, error) {
	var out []dnadb.Hash256
	rows, err := tx.QueryContext(ctx, `SELECT value FROM signals WHERE type = $1`,
		dnadb.SignalPDQ)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		if h, err := dnadb.ParseHash256(v); err == nil {
			out = append(out, h)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	ms, err := queryMarkers(ctx, tx, `SELECT `+markerColumns+` FROM leak_markers`)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if h, ok := m.PDQ(); ok {
			out = append(out, h)
		}
	}
	return out, nil
}

// tooNear reports whether h is nearer than MinMarkerDistance to any of taken.
func tooNear(h dnadb.Hash256, taken []dnadb.Hash256) bool {
	for _, o := range taken {
		if h.Distance(o) < dnadb.MinMarkerDistance {
			return true
		}
	}
	return false
}

// insertMarker stores m.
func insertMarker(ctx context.Context, tx *sql.Tx, m dnadb.LeakMarker) error {
	sigs, err := json.Marshal(m.Signals)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO leak_markers (item_id, org_id, idx, seq, category, signals)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		m.ItemID, m.OrgID, m.Index, m.Seq, m.Category, string(sigs))
	if err != nil {
		return fmt.Errorf("insert marker: %w", err)
	}
	return nil
}

// markerColumns are the columns queryMarkers scans.
const markerColumns = `item_id, org_id, idx, seq, category, signals`

// queryMarkers returns the markers a query of markerColumns selects.
func queryMarkers(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args ...any) ([]dnadb.LeakMarker, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []dnadb.LeakMarker
	for rows.Next() {
		var m dnadb.LeakMarker
		var sigs string
		if err := rows.Scan(&m.ItemID, &m.OrgID, &m.Index, &m.Seq, &m.Category,
			&sigs); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(sigs), &m.Signals); err != nil {
			return nil, fmt.Errorf("marker %d: %w", m.ItemID, err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// LeakMarkers returns every consumer organisation's markers, by organisation and
// index. It is for the centre's leak check only: no API route reaches it.
func (s *Store) LeakMarkers(ctx context.Context) ([]dnadb.LeakMarker, error) {
	ms, err := queryMarkers(ctx, s.db, `SELECT `+markerColumns+
		` FROM leak_markers ORDER BY org_id, idx`)
	if err != nil {
		return nil, fmt.Errorf("leak markers: %w", err)
	}
	return ms, nil
}
