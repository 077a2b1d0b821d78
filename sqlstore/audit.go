package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/dnadb/dnadb"
)

// appendAudit appends rec to the audit trail inside tx: it reads the head, chains
// the new entry to it and moves the head on. Write transactions are serialised, so
// no two appends read the same head.
func (s *Store) appendAudit(ctx context.Context, tx *sql.Tx, rec dnadb.AuditRecord) error {
	var head dnadb.AuditEntry
	err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).
		Scan(&head.Seq, &head.Hash)
	if err != nil {
		return fmt.Errorf("read audit head: %w", err)
	}

	e := dnadb.AuditEntry{
		Seq:       head.Seq + 1,
		At:        s.now().UTC().Truncate(time.Microsecond),
		OrgID:     rec.OrgID,
		TokenID:   rec.TokenID,
		Action:    rec.Action,
		Target:    rec.Target,
		RequestID: rec.RequestID,
		Outcome:   rec.Outcome,
		PrevHash:  head.Hash,
	}
	e.Hash = e.Seal(s.auditKey)
	_, err = tx.ExecContext(ctx, `
		INSERT INTO audit (seq, at, org_id, token_id, action, target, request_id, outcome,
			prev_hash, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		e.Seq, e.At.UnixMicro(), e.OrgID, e.TokenID, e.Action, e.Target, e.RequestID,
		e.Outcome, e.PrevHash, e.Hash)
	if err != nil {
		return fmt.Errorf("append audit entry: %w", err)
	}
	_, err = tx.ExecContext(ctx, `UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1`,
		e.Seq, e.Hash)
	if err != nil {
		return fmt.Errorf("move audit head: %w", err)
	}
	return nil
}

// Audit appends rec to the trail in a transaction of its own.
func (s *Store) Audit(ctx context.Context, rec dnadb.AuditRecord) error {
	err := s.tx(ctx, func(tx *sql.Tx) error { return s.appendAudit(ctx, tx, rec) })
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// AuditEntries returns up to limit entries after seq after, in order.
func (s *Store) AuditEntries(ctx context.Context, after int64, limit int) ([]dnadb.AuditEntry,
	error) {
	if limit <= 0 || limit > dnadb.MaxPageSize {
		limit = dnadb.MaxPageSize
	}
	rows, err := s.db.QueryContext(ctx, `
		SELECT seq, at, org_id, token_id, action, target, request_id, outcome, prev_hash, hash
		FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("audit entries: %w", err)
	}
	defer rows.Close()

	out := []dnadb.AuditEntry{}
	for rows.Next() {
		var e dnadb.AuditEntry
		var at int64
		err := rows.Scan(&e.Seq, &at, &e.OrgID, &e.TokenID, &e.Action, &e.Target,
			&e.RequestID, &e.Outcome, &e.PrevHash, &e.Hash)
		if err != nil {
			return nil, fmt.Errorf("audit entries: %w", err)
		}
		e.At = time.UnixMicro(at).UTC()
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit entries: %w", err)
	}
	return out, nil
}

// AuditHead returns the sequence number and hash of the last entry appended.
func (s *Store) AuditHead(ctx context.Context) (int64, string, error) {
	var seq int64
	var hash string
	err := s.db.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).
		Scan(&seq, &hash)
	if err != nil {
		return 0, "", fmt.Errorf("audit head: %w", err)
	}
	return seq, hash, nil
}

// SetAuditKey makes the store seal new audit entries with key (see
// dnadb.AuditEntry.Seal). Every process writing to one database must use the same
// key; a nil key seals with plain SHA-256. Call it before the store is used.
func (s *Store) SetAuditKey(key []byte) error {
	if err := dnadb.CheckAuditKey(key); err != nil {
		return err
	}
	s.auditKey = key
	return nil
}
