package agent

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dnadb/dnadb"
)

// QueuedSighting is a sighting report waiting in the queue, with its place in it.
type QueuedSighting struct {
	Seq int64
	dnadb.NewSighting
}

// EnqueueSightings queues sighting reports for the central server, in one
// transaction: all of them or none. A report whose id is already queued is kept
// as first queued. It returns the number of reports queued after.
func (s *Store) EnqueueSightings(ctx context.Context, ns []dnadb.NewSighting) (int, error) {
	var n int
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for i, r := range ns {
			b, err := json.Marshal(r)
			if err != nil {
				return fmt.Errorf("sightings[%d]: %w", i, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO sightings_queue (report_id, report)
				VALUES ($1, $2) ON CONFLICT (report_id) DO NOTHING`,
				r.ReportID, string(b)); err != nil {
				return fmt.Errorf("sightings[%d]: %w", i, err)
			}
		}
		return tx.QueryRowContext(ctx, `SELECT count(*) FROM sightings_queue`).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("queue sightings: %w", err)
	}
	return n, nil
}

// PendingSightings returns up to limit queued reports, oldest first.
func (s *Store) PendingSightings(ctx context.Context, limit int) ([]QueuedSighting, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT seq, report FROM sightings_queue ORDER BY seq LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("read sightings queue: %w", err)
	}
	defer rows.Close()
	var out []QueuedSighting
	for rows.Next() {
		var q QueuedSighting
		var b string
		if err := rows.Scan(&q.Seq, &b); err != nil {
			return nil, fmt.Errorf("read sightings queue: %w", err)
		}
		if err := json.Unmarshal([]byte(b), &q.NewSighting); err != nil {
			return nil, fmt.Errorf("read queued sighting %d: %w", q.Seq, err)
		}
		out = append(out, q)
	}
	return out, rows.Err()
}

// DeleteSightings removes reports from the queue, in one transaction, and returns
// the number queued after.
func (s *Store) DeleteSightings(ctx context.Context, qs []QueuedSighting) (int, error) {
	var n int
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, q := range qs {
			if _, err := tx.ExecContext(ctx, `DELETE FROM sightings_queue WHERE seq = $1`,
				q.Seq); err != nil {
				return err
			}
		}
		return tx.QueryRowContext(ctx, `SELECT count(*) FROM sightings_queue`).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("dequeue sightings: %w", err)
	}
	return n, nil
}

// QueuedSightings counts the reports in the queue.
func (s *Store) QueuedSightings(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx,
		`SELECT count(*) FROM sightings_queue`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count queued sightings: %w", err)
	}
	return n, nil
}

// QueueSightings checks sighting reports and queues them for the central server.
// A malformed report fails the whole batch with ErrInvalid naming it, as the
// central server would. It returns the number of reports queued after.
func (a *Agent) QueueSightings(ctx context.Context, ns []dnadb.NewSighting) (int, error) {
	// Check every report before queueing any, as the centre does.
	if len(ns) == 0 {
		return 0, dnadb.Errorf(dnadb.ErrInvalid, "sightings: empty; send at least one")
	}
	if len(ns) > dnadb.MaxSightings {
		return 0, dnadb.Errorf(dnadb.ErrTooLarge, "sightings: %d in one request, limit %d",
			len(ns), dnadb.MaxSightings)
	}
	for i, n := range ns {
		v, err := n.Normalize()
		if err != nil {
			return 0, dnadb.Errorf(dnadb.KindOf(err), "sightings[%d]: %w", i, err)
		}
		ns[i] = v
	}

	// Queue them in one transaction and wake the sender.
	n, err := a.store.EnqueueSightings(ctx, ns)
	if err != nil {
		return 0, err
	}
	a.sightMu.Lock()
	a.queued = n
	a.sightMu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
	return n, nil
}

// SendSightings sends queued sighting reports to the central server until ctx
// ends or the server refuses the token, and returns nil in both cases. Reports
// go in batches of up to dnadb.MaxSightings, oldest first, and leave the queue
// only once the centre accepted them; as report ids make a report sent again
// count once, a crash between sending and dequeueing loses nothing and counts
// nothing twice. Failures are retried with the sync loop's backoff.
func (a *Agent) SendSightings(ctx context.Context) error {
	failures := 0
	for ctx.Err() == nil {
		// Take the oldest batch; wait for more when the queue is empty.
		batch, err := a.store.PendingSightings(ctx, dnadb.MaxSightings)
		if err == nil && len(batch) == 0 {
			select {
			case <-a.wake:
			case <-ctx.Done():
			}
			continue
		}

		// Send it, and dequeue what the centre took.
		if err == nil {
			err = a.sendBatch(ctx, batch)
		}
		switch {
		case ctx.Err() != nil:
			return nil
		case err == nil:
			if failures > 0 {
				a.log.Info("sightings sending resumed", "after_failures", failures)
			}
			failures = 0
			a.setSightingsError("")
			continue
		case isRefused(err):
			// Retrying cannot help a refused token; the reports stay queued.
			reason := fmt.Sprintf("the central server refused the token: %v", err)
			a.setSightingsError(reason)
			a.log.Error("sightings sending stopped; reports stay queued",
				"reason", reason, "queued", a.queuedSightings())
			return nil
		}
		failures++
		a.setSightingsError(err.Error())
		d := backoff(a.cfg.MinBackoff, a.cfg.MaxBackoff, failures)
		a.log.Error("send sightings", "err", err, "failures", failures, "retry_in", d)
		sleep(ctx, d)
	}
	return nil
}

// sendBatch sends one batch and dequeues it. When the centre refuses the batch
// as invalid or conflicting, it is sent again one report at a time, and a report
// the centre refuses alone is dropped with an error log: it would block the
// queue for ever.
func (a *Agent) sendBatch(ctx context.Context, batch []QueuedSighting) error {
	start := time.Now()
	resp, err := a.cfg.Client.ReportSightings(ctx, reports(batch))
	if rejected(err) && len(batch) > 1 {
		for _, q := range batch {
			if err := a.sendBatch(ctx, []QueuedSighting{q}); err != nil {
				return err
			}
		}
		return nil
	}
	if rejected(err) {
		a.log.Error("sighting refused by the central server; dropped",
			"report_id", batch[0].ReportID, "item_id", batch[0].ItemID, "err", err)
	} else if err != nil {
		return err
	}
	n, err := a.store.DeleteSightings(ctx, batch)
	if err != nil {
		return err
	}
	a.sightMu.Lock()
	a.queued = n
	a.sightMu.Unlock()
	a.log.Info("sightings sent", "reports", len(batch), "accepted", resp.Accepted,
		"duplicates", resp.Duplicates, "queued", n, "elapsed", time.Since(start))
	return nil
}

// rejected reports whether err is the central server refusing a batch for its
// content, which sending it again cannot change.
func rejected(err error) bool {
	return errors.Is(err, dnadb.ErrInvalid) || errors.Is(err, dnadb.ErrConflict)
}

func reports(qs []QueuedSighting) []dnadb.NewSighting {
	out := make([]dnadb.NewSighting, len(qs))
	for i, q := range qs {
		out[i] = q.NewSighting
	}
	return out
}

func (a *Agent) setSightingsError(msg string) {
	a.sightMu.Lock()
	a.sightErr = msg
	a.sightMu.Unlock()
}

func (a *Agent) queuedSightings() int {
	a.sightMu.Lock()
	defer a.sightMu.Unlock()
	return a.queued
}
