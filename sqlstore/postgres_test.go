package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/internal/pgtest"
)

// openPostgres opens a store in a fresh PostgreSQL schema, closed and dropped when
// t ends.
func openPostgres(t *testing.T) dnadb.Store {
	t.Helper()
	s, err := Open(context.Background(), pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestPostgresFeedOrder checks the change-feed ordering trap that postgresDialect
// describes. A slow writer in another process holds change seq N uncommitted while
// the store's writers run; a follower that polls Changes(after=cursor) must see
// every committed change exactly once and in order, N included. Without the write
// lock it passes N, which the "unlocked" subtest shows, so that a test that cannot
// see the trap would itself fail.
//
// The follower reads either the change log itself or the consumer feed, which is
// derived from it: the feed's cursor must not pass N either, and its entries must
// add every item confirmed, the slow writer's included.
func TestPostgresFeedOrder(t *testing.T) {
	for _, via := range []string{"changes", "feed"} {
		t.Run(via+"/locked", func(t *testing.T) { testFeedOrder(t, true, via == "feed") })
		t.Run(via+"/unlocked", func(t *testing.T) { testFeedOrder(t, false, via == "feed") })
	}
}

func testFeedOrder(t *testing.T, locked, viaFeed bool) {
	// Without the lock, concurrent store writers would also collide on the audit
	// chain's next seq, so there one store writer runs beside the slow one.
	writers, perWriter := 4, 5
	if !locked {
		writers = 1
	}
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	s, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.dialect.lockWrites = locked

	// Register the items the writers will decide; the follower starts after them.
	if _, err := s.CreateOrg(ctx, "police", dnadb.OrgPolice); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for i := range writers*perWriter + 1 {
		it, err := s.CreateItem(ctx, policeItem(byte('a'+i%6)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, it.ID)
	}
	before, err := s.Changes(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	start := before[len(before)-1].Seq

	// Follow the log from start, recording every seq, until stop is closed; then
	// read what is left once more and end.
	var seen []int64
	var cursor atomic.Int64
	cursor.Store(start)
	stop := make(chan struct{})
	followed := make(chan error, 1)
	go func() {
		after := start
		for {
			var stopped bool
			select {
			case <-stop:
				stopped = true
			default:
			}
			var n int
			if viaFeed {
				// Record the items the feed adds, in order.
				page, err := s.Feed(ctx, after, 0)
				if err != nil {
					followed <- err
					return
				}
				for _, e := range page.Entries {
					seen = append(seen, e.ItemID)
				}
				n, after = len(page.Entries), page.Seq
				if page.More {
					n++
				}
			} else {
				page, err := s.Changes(ctx, after, 0)
				if err != nil {
					followed <- err
					return
				}
				for _, c := range page {
					seen = append(seen, c.Seq)
					after = c.Seq
				}
				n = len(page)
			}
			cursor.Store(after)
			switch {
			case stopped && n == 0:
				followed <- nil
				return
			case n == 0:
				time.Sleep(time.Millisecond)
			}
		}
	}()

	// The slow writer, on a pool of its own as another process would be, takes the
	// lock as the store does, confirms the first item and leaves the transaction
	// open, holding seq held.
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	slow, err := raw.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Rollback()
	now := time.Now().UnixMicro()
	_, err = slow.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, writeLockKey)
	if err != nil {
		t.Fatal(err)
	}
	_, err = slow.ExecContext(ctx, `
		UPDATE items SET status = $1, decided_by = $2, decided_at = $3, updated_at = $3
		WHERE id = $4`, dnadb.StatusConfirmed, "slow", now, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	var held int64
	err = slow.QueryRowContext(ctx, `
		INSERT INTO changes (item_id, kind, status, actor, at) VALUES ($1, $2, $3, $4, $5)
		RETURNING seq`, ids[0], dnadb.ChangeDecided, dnadb.StatusConfirmed, "slow", now).
		Scan(&held)
	if err != nil {
		t.Fatal(err)
	}

	// Run the store's writers beside it: each decides items and registers new ones.
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				id := ids[1+w*perWriter+i]
				_, err := s.Decide(ctx, id, dnadb.DecisionConfirm, fmt.Sprintf("e%d", w))
				if err == nil {
					_, err = s.CreateItem(ctx, policeItem('f'))
				}
				if err != nil {
					errs[w] = err
					return
				}
			}
		})
	}

	// Hold seq held open until the follower passes it, or for a while if it must
	// not; then commit it late.
	hold := 300 * time.Millisecond
	if !locked {
		hold = 10 * time.Second
	}
	for deadline := time.Now().Add(hold); time.Now().Before(deadline); {
		if cursor.Load() > held {
			break
		}
		time.Sleep(time.Millisecond)
	}
	passed := cursor.Load() > held
	if err := slow.Commit(); err != nil {
		t.Fatal(err)
	}

	// Let every writer finish, then the follower.
	wg.Wait()
	close(stop)
	if err := <-followed; err != nil {
		t.Fatalf("follower: %v", err)
	}
	for w, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", w, err)
		}
	}

	// Compare what the follower saw with the whole log after start.
	all, err := s.Changes(ctx, start, 0)
	if err != nil {
		t.Fatal(err)
	}
	var want []int64
	for _, c := range all {
		want = append(want, c.Seq)
	}
	if got := len(want); got != 1+2*writers*perWriter {
		t.Fatalf("log holds %d changes after %d, want %d", got, start, 1+2*writers*perWriter)
	}
	late := held
	if viaFeed {
		// The feed adds each confirmed item, in the order of its confirmation.
		want = want[:0]
		for _, c := range all {
			if c.Kind == dnadb.ChangeDecided && c.Status == dnadb.StatusConfirmed {
				want = append(want, c.ItemID)
			}
		}
		late = ids[0]
	}
	if !locked {
		if !passed || slices.Contains(seen, late) {
			t.Errorf("without the write lock the follower saw late seq %d of item %d "+
				"(passed it: %v); this test cannot see the ordering trap", held, ids[0], passed)
		}
		return
	}
	if passed {
		t.Errorf("follower passed seq %d while it was uncommitted", held)
	}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("seqs the follower saw (-committed +seen):\n%s", diff)
	}
}

// policeItem is an item that organisation "police" registers, with one PDQ hash
// written as the hex digit c repeated.
func policeItem(c byte) dnadb.NewItem {
	return dnadb.NewItem{
		Category: dnadb.CategoryCSAM, Source: "police",
		Signals: []dnadb.Signal{{Type: dnadb.SignalPDQ, Value: hashOf(c), Quality: 90}},
	}
}
